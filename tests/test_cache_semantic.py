"""The semantic cache's contract on memory and Redis Stack; embedders, indexes, guard, replay.

MiniLM is loaded once per process (its weights are cached by directory); Redis Stack is one
server for this module, flushed per test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from aiohttp import web

from scalegate.cache import (
    Bounds,
    HashingEmbedder,
    HttpEmbedder,
    MemorySemanticStore,
    MiniLMEmbedder,
    Namespace,
    RedisSemanticStore,
    SemanticCache,
    embedder_from_spec,
    near_miss_reason,
    with_semantic_cache,
)
from scalegate.cache.embed import BatchingEmbedder
from scalegate.cache.replay import MessageAssembler, message_events
from scalegate.cache.semantic import embedding_text
from scalegate.cache.vectors import PartitionIndex, build_ann
from scalegate.cache.verify import rule
from scalegate.clock import ManualClock
from scalegate.config.schema import SemanticCacheConfig
from scalegate.errors import ConfigError, StateBackendError
from scalegate.state import RedisBackend, backend_from_url
from tests.redis_stack import RedisStackServer, stack_available


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.fixture(scope="module")
def redis_stack() -> Iterator[RedisStackServer]:
    if not stack_available():
        pytest.fail("Redis Stack is not installed: run `make test` (scripts/extras-cache.sh)")
    server = RedisStackServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["memory", "redis-stack"])
async def make_cache(request: pytest.FixtureRequest, minilm: MiniLMEmbedder) -> AsyncIterator[Any]:
    made: list[tuple[SemanticCache, RedisBackend | None]] = []

    async def make(clock: ManualClock, **bounds: Any) -> SemanticCache:
        b = Bounds(**{"max_entries": 100, "max_bytes": 1 << 22, "ttl_seconds": 60, **bounds})
        backend = None
        if request.param == "memory":
            store: Any = MemorySemanticStore(minilm.dimensions, b, clock=clock)
        else:
            server: RedisStackServer = request.getfixturevalue("redis_stack")
            assert server.command("FLUSHALL").startswith(b"+OK")
            backend = backend_from_url(server.url)
            assert isinstance(backend, RedisBackend)
            await backend.start()
            store = RedisSemanticStore(backend.client, minilm.dimensions, b, clock=clock)
            await store.start()
        cache = SemanticCache(minilm, store)
        made.append((cache, backend))
        return cache

    yield make
    for cache, backend in made:
        await cache.close()
        if backend is not None:
            await backend.close()


async def test_paraphrase_hits_and_near_miss_is_refused(make_cache: Any) -> None:
    cache: SemanticCache = await make_cache(ManualClock())
    found = await cache.lookup("What is the capital of France?", partition="p")
    assert found.hit is None
    assert found.vector is not None
    assert await cache.store(found, b"Paris")
    hit = await cache.lookup("what's the capital of france", partition="p")
    assert hit.hit is not None
    assert hit.hit.value == b"Paris"
    assert hit.similarity is not None
    assert hit.similarity >= cache.threshold
    assert (await cache.lookup("what's the capital of france", partition="q")).hit is None
    assert (await cache.lookup("what's the capital of france", namespace="web")).hit is None
    assert (await cache.lookup("How do I bake sourdough bread?", partition="p")).hit is None

    await cache.set("Convert 100 F to C", b"37.8 C", partition="p")
    swapped = await cache.lookup("Convert 100 C to F", partition="p")
    assert swapped.hit is None
    assert swapped.refused
    assert swapped.refused[0][1] == "numbers"  # "100 F" and "100 C" are two values
    assert swapped.refused[0][0] >= 0.92  # the embedding alone would have served it
    stats = cache.stats()
    assert stats["hits"] == 1
    assert stats["guard_refusals"] == 1
    assert stats["guard_refusals_by_reason"] == {"numbers": 1}
    assert stats["near_misses"] >= 1
    top = await cache.top(3)
    assert top[0]["hits"] == 1


async def test_invalidation_and_ttl(make_cache: Any) -> None:
    clock = ManualClock()
    cache: SemanticCache = await make_cache(clock, ttl_seconds=30)
    await cache.set("How do I reverse a list in Python?", b"a", namespace="web")
    await cache.set("How do I reverse a list in Python?", b"b", namespace="web/beta")
    await cache.set("How do I reverse a list in Python?", b"c", namespace="mobile")
    query = "how can i reverse a list in python"
    assert (await cache.lookup(query, namespace="web")).hit is not None
    await cache.invalidate("web")
    assert (await cache.lookup(query, namespace="web")).hit is None
    assert (await cache.lookup(query, namespace="web/beta")).hit is None
    hit = (await cache.lookup(query, namespace="mobile")).hit
    assert hit is not None
    assert hit.value == b"c"
    clock.advance(31)
    assert (await cache.lookup(query, namespace="mobile")).hit is None


async def test_entry_bound(make_cache: Any) -> None:
    cache: SemanticCache = await make_cache(ManualClock(), max_entries=3)
    prompts = ["Tell me a joke", "Explain recursion", "What is a monad?", "Define entropy"]
    await cache.set(prompts[0], b"0")
    await cache.set(prompts[1], b"1")
    await cache.set(prompts[2], b"2")
    assert (await cache.lookup(prompts[0])).hit is not None  # used: young again
    await cache.set(prompts[3], b"3")
    assert (await cache.lookup(prompts[1])).hit is None  # the least recently used went
    for i in (0, 2, 3):
        assert (await cache.lookup(prompts[i])).hit is not None
    snap = await cache.snapshot()
    assert snap["store"]["entries"] == 3
    assert snap["store"]["evictions"] == 1


async def test_a_large_partition_gets_its_ann_index_off_the_event_loop() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((400, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = MemorySemanticStore(16, Bounds(max_entries=1000), ann_threshold=300)
    ns = Namespace()
    for i, v in enumerate(vectors):
        await store.add(ns, "p", f"prompt {i}", v, b"x")
    assert len(store._builds) == 1  # one build per partition, however many adds follow
    await store.wait_for_builds()
    snap = await store.snapshot()
    assert snap["ann_partitions"] == 1
    assert snap["entries"] == 400
    found = await store.search(ns, "p", vectors[123], 1, 0.9)
    assert [c.prompt for c in found] == ["prompt 123"]
    await store.close()


async def test_prompts_too_long_for_the_model_are_not_matched(minilm: MiniLMEmbedder) -> None:
    cache = SemanticCache(minilm)
    long = "word " * 400
    found = await cache.lookup(long)
    assert found.vector is None
    assert found.hit is None
    assert not await cache.store(found, b"x")
    assert cache.stats()["not_embeddable"] == 1


async def test_with_semantic_cache(minilm: MiniLMEmbedder) -> None:
    cache = SemanticCache(minilm)
    calls: list[str] = []

    @with_semantic_cache(cache, partition=lambda q, lang: lang)
    async def answer(question: str, lang: str) -> dict[str, str]:
        calls.append(question)
        return {"answer": f"about {question}"}

    first = await answer("How tall is the Eiffel Tower?", "en")
    assert await answer("how tall is the eiffel tower", "en") == first
    assert await answer("how tall is the eiffel tower", "fr") != first
    assert calls == ["How tall is the Eiffel Tower?", "how tall is the eiffel tower"]


async def test_a_verifier_that_raises_refuses_the_hit(
    minilm: MiniLMEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    """Fail closed: an exception in the verifier is a refusal (reason "error"), counted and
    logged by type and line — the prompts stay out of the log — never a 500 nor a hit."""

    def broken(a: str, b: str, strictness: str) -> str | None:
        raise ValueError(f"cannot read {a!r}")

    cache = SemanticCache(minilm, guard=broken)
    await cache.set("How tall is the Eiffel Tower?", b"330 m")
    with caplog.at_level("ERROR"):
        found = await cache.lookup("how tall is the eiffel tower")
    assert found.hit is None
    assert [reason for _, reason in found.refused] == ["error"]
    stats = cache.stats()
    assert stats["errors"] == 1
    assert stats["guard_refusals_by_reason"] == {"error": 1}
    assert "ValueError" in caplog.text
    assert "eiffel" not in caplog.text.lower()
    await cache.close()


def test_minilm_is_deterministic_and_unit_length(minilm: MiniLMEmbedder) -> None:
    one = minilm.embed(["Hello world"])
    batch = minilm.embed(["Hello world", "A much longer sentence about something else entirely"])
    assert one.shape == (1, 384)
    assert one.dtype == np.float32
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert np.allclose(one[0], batch[0], atol=1e-5)  # padding does not change a row
    assert minilm.fits("short")
    assert not minilm.fits("word " * 300)


def test_hashing_embedder_is_lexical() -> None:
    emb = HashingEmbedder()
    rows = emb.embed(["Convert 100 F to C", "Convert 100 C to F", "Turn Fahrenheit into Celsius"])
    assert rows[0] @ rows[1] > rows[0] @ rows[2]  # documented: near-duplicates, not meaning
    assert np.allclose(emb.embed(["Convert 100 F to C"]), rows[:1])


async def test_batching_embedder_groups_concurrent_lookups(minilm: MiniLMEmbedder) -> None:
    calls: list[int] = []

    class Counting:
        name, dimensions = "counting", 384

        def fits(self, text: str) -> bool:
            return True

        def embed(self, texts: list[str]) -> Any:
            calls.append(len(texts))
            return minilm.embed(texts)

    batching = BatchingEmbedder(Counting())
    texts = [f"question number {i}" for i in range(12)]
    rows = await asyncio.gather(*(batching.aembed([t]) for t in texts))
    assert len(calls) < 12
    assert sum(calls) == 12
    assert np.allclose(np.vstack(rows), minilm.embed(texts), atol=1e-5)
    await batching.aclose()


async def test_http_embedder_against_an_openai_shaped_service() -> None:
    seen: list[dict[str, Any]] = []

    async def embeddings(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append({"auth": request.headers.get("authorization"), **body})
        if body["input"] == ["fail"]:
            return web.json_response({"error": "nope"}, status=500)
        data = [
            {"index": i, "embedding": [float(len(t)), 1.0, 0.0]}
            for i, t in reversed(list(enumerate(body["input"])))
        ]
        return web.json_response({"data": data})

    app = web.Application()
    app.router.add_post("/v1/embeddings", embeddings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # a content-block union; this test's block is text
    emb = embedder_from_spec(f"openai:http://127.0.0.1:{port}/v1;model=m1;key=secret")
    try:
        assert isinstance(emb, HttpEmbedder)
        rows = await emb.aembed(["ab", "abcd"])
        assert rows.shape == (2, 3)
        assert np.allclose(np.linalg.norm(rows, axis=1), 1.0)
        assert rows[0][0] < rows[1][0]  # in input order, not the service's
        assert seen[0]["auth"] == "Bearer secret"
        assert seen[0]["model"] == "m1"
        with pytest.raises(StateBackendError):
            await emb.aembed(["fail"])
        cache = SemanticCache(emb)
        assert (await cache.lookup("fail")).vector is None
        assert cache.stats()["errors"] == 1
    finally:
        await emb.aclose()
        await runner.cleanup()


def test_embedder_specs() -> None:
    assert embedder_from_spec("hashing:64").dimensions == 64
    with pytest.raises(ConfigError):
        embedder_from_spec("word2vec")
    with pytest.raises(ConfigError):
        embedder_from_spec("minilm:/nonexistent")
    with pytest.raises(ConfigError):
        embedder_from_spec("openai:ftp://x")


def test_partition_index_moves_to_usearch_and_keeps_answers() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((300, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = PartitionIndex(32, ann_threshold=200)
    for i, v in enumerate(vectors[:250]):
        index.add(i, v)
    assert index.wants_ann
    items = index.begin_ann()
    assert not index.wants_ann  # one build at a time
    for i, v in enumerate(vectors[250:], 250):  # changes while the graph is built …
        index.add(i, v)
    index.remove(7)
    assert index.kind == "numpy"  # … are answered exactly meanwhile
    index.install_ann(build_ann(32, items))  # … and replayed onto the new index
    assert index.kind == "usearch"
    assert len(index) == 299
    assert all(item != 7 for item, _ in index.search(vectors[7], 5))
    assert index.search(vectors[280], 1)[0][0] == 280
    assert index.search(vectors[42], 1)[0][0] == 42
    index.remove(42)
    assert all(item != 42 for item, _ in index.search(vectors[42], 5))
    small = PartitionIndex(32)
    for i, v in enumerate(vectors[:50]):
        small.add(i, v)
    small.remove(3)
    best, score = small.search(vectors[10], 1)[0]
    assert small.kind == "numpy"
    assert best == 10
    assert score == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        ("Convert 100 F to C", "Convert 100 C to F", "numbers"),
        ("Convert fahrenheit to celsius", "Convert celsius to fahrenheit", "units"),
        ("Convert 5 miles to km", "Convert 5 km to miles", "numbers"),
        ("What is 15% of 80?", "What is 15% of 90?", "numbers"),
        ("Give me three tips", "Give me 4 tips", "numbers"),
        ("Is coffee bad for you?", "Is coffee not bad for you?", "negation"),
        ("Why can't I log in?", "Why can I log in?", "negation"),
        ("Flights from Paris to London", "Flights from London to Paris", "order"),
        ("What's the GDP of Germany?", "What's the GDP of France?", "unaligned"),
        ("What is the GDP of Germany?", "What's Germany's GDP?", None),
        ("Who is my sister's husband?", "Who is my husband's sister?", "order"),
        ("Summarize it in one sentence", "Summarize it in one paragraph", "unaligned"),
        ("What does 😂 mean?", "What does 😭 mean?", "symbols"),
        ("How to sort a list in python", "How to sort a list in java", "unaligned"),
        ("What does `git rebase` do?", "What does `git merge` do?", "code"),
        ("What is the largest planet?", "What is the smallest planet?", "antonym"),
        ("Is a dog bigger than a cat?", "Is a cat bigger than a dog?", "order"),
        ("What is the capital of France?", "Tell me the capital of France.", None),
        ("Convert 100 F to C", "Convert 100 °F to Celsius", None),
        ("What are three tips for sleep?", "What are 3 tips for sleep?", None),
        ("I can't log in", "I cannot log in", None),
        ("What's 15% of 80?", "Calculate 15 percent of 80", None),
        ("Which foods should I eat?", "Which foods should I avoid?", "unaligned"),
        ("How do I turn on dark mode?", "How do I turn off dark mode?", "direction"),
        ("How do I click on a link on my phone?", "How do I click a link on my phone?", None),
        ("A houseplant for a beginner", "A houseplant for beginners", None),
        ("A houseplant for beginners", "A houseplant for experts", "unaligned"),
    ],
)
def test_guard_rules(a: str, b: str, reason: str | None) -> None:
    """The package's ``near_miss_reason`` (now the verifier), compared by rule name."""
    for x, y in ((a, b), (b, a)):
        got = near_miss_reason(x, y)
        assert (rule(got) if got else None) == reason


def _pairs() -> list[dict[str, Any]]:
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "data" / "semantic_pairs.jsonl"
    return [orjson.loads(line) for line in path.read_text().splitlines() if line.strip()]


# Measured at the default threshold (0.85) on all 53,865 pairs (holdout16–35, 37–116, 119–123
# merged) with verifier v102: 28.3 % strict, 28.5 % balanced (28.9 % / 29.3 % over the 7,930 pairs
# before holdout21 with v20; v21's courtesy and v22's phrasal verbs served 54 more paraphrases of
# those). holdout16–32 are casual chat (first measured 25.0 %, 16.7 %, 18.5 %, 14.7 %, 22.4 %,
# 15.6 %, 18.1 %, 23.5 %, 18.4 %, 31.6 %, 15.5 %, 15.9 %, 17.6 %, 19.7 %, 23.5 %, 22.7 %, 28.4 %,
# 44.4 %, 33.8 %, 41.7 %, 24.0 %, 28.6 %, 25.6 %, 19.4 %, 20.8 %, 27.1 %, 18.7 %, 31.5 %, 23.4 %,
# 13.3 %, 41.4 %, 42.4 %, 40.3 %, 40.5 %, 44.3 %, 31.6 %, 39.2 %, 34.8 %, 47.5 %, 44.9 %, 42.6 %,
# 23.8 %, 24.8 %, 25.9 %, 26.9 %, 17.5 %, 32.9 %, 26.0 %, 32.9 %, 22.7 %, 34.2 %, 27.8 %, 29.3 %,
# 24.7 %, 28.1 %, 20.1 %, 24.4 %, 30.1 %, 30.5 %, 28.7 %, 29.3 %, 24.5 %, 30.5 %, 25.3 %, 36.8 %,
# 34.0 %, 31.6 %, 41.9 %, 29.7 %, 26.2 %, 26.3 %, 40.9 %, 47.6 %, 12.1 %, 17.4 %, 9.4 %, 17.8 %,
# 12.7 %, 15.3 %, 7.4 %, 7.6 %, 10.0 %, 11.1 %, 11.8 %, 10.6 %, 5.7 %, 10.9 %, 8.5 %, 6.9 %, 10.0 %,
# 16.5 %, 13.1 %, 8.9 %, 13.9 %, 6.9 %, 36.7 %, 31.4 %, 9.3 %, 13.0 %, 23.9 %, 21.6 %, 34.4 %,
# 32.1 %, 26.6 %, 31.3 %):
# merging them, not a version, moved the floor from 0.28 to 0.27. No version since v15 refuses a
# paraphrase the one before served, but two typos for v17's "a token no lexicon knows is not an
# inflection", two for v20's split senses ("turning brown" / "going brown" had aligned
# through the nouns "a turn" / "a go"), one, at balanced, for v22's phrasal "make up", and
# one for v27's particles ("get rust off"), one at balanced for v33's "only". The floor sits
# under it: a pair or two near the threshold may move with another BLAS build.
RECALL_FLOOR = 0.27


@pytest.fixture(scope="module")
def dev_vectors(minilm: MiniLMEmbedder) -> dict[str, Any]:
    """Every prompt of the development set embedded once for the module (~23,000 prompts:
    the slow part of the dev-set test, so both strictnesses share it). Batched by length,
    as few pad tokens as possible: 5.6× faster than in alphabetical order, the vectors
    within 2e-7 of it."""
    texts = sorted(
        {embedding_text(p[k]) for p in _pairs() for k in ("a", "b")},
        key=lambda t: (minilm.token_count(t), t),
    )
    vectors: dict[str, Any] = {}
    for i in range(0, len(texts), 64):
        batch = texts[i : i + 64]
        vectors.update(zip(batch, minilm.embed(batch), strict=True))
    return vectors


@pytest.mark.timeout(900)
@pytest.mark.parametrize("strictness", ["strict", "balanced"])
def test_development_set_has_no_false_hits(dev_vectors: dict[str, Any], strictness: str) -> None:
    """The whole development set through MiniLM and the verifier at the default threshold:
    not one near-miss served, and paraphrase recall above its floor (a regression fails)."""
    threshold = SemanticCacheConfig().threshold
    pairs = _pairs()
    vectors = dev_vectors
    served = {"paraphrase": 0, "near_miss": 0}
    false_hits = []
    for p in pairs:
        similarity = float(vectors[embedding_text(p["a"])] @ vectors[embedding_text(p["b"])])
        if similarity >= threshold and near_miss_reason(p["a"], p["b"], strictness) is None:
            served[p["label"]] += 1
            if p["label"] == "near_miss":
                false_hits.append((p["a"], p["b"]))
    assert false_hits == []
    recall = served["paraphrase"] / sum(p["label"] == "paraphrase" for p in pairs)
    assert recall >= RECALL_FLOOR, recall


MESSAGE: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-6",
    "content": [
        {"type": "thinking", "thinking": "Let me think.", "signature": "sig"},
        {"type": "text", "text": "Hello — ünïcode 東京"},
        {"type": "tool_use", "id": "toolu_1", "name": "t", "input": {"a": [1, 2]}},
    ],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 0},
}


def test_replay_and_assembly_are_inverse() -> None:
    stream = message_events(MESSAGE)
    assembler = MessageAssembler()
    for i in range(0, len(stream), 7):  # arbitrary chunking, split inside UTF-8 too
        assembler.feed(stream[i : i + 7])
    assert assembler.message == MESSAGE
    broken = MessageAssembler()
    broken.feed(stream[: len(stream) // 2])
    assert broken.message is None
    errored = MessageAssembler()
    errored.feed(stream[:200] + b'event: error\ndata: {"type":"error"}\n\n')
    assert errored.message is None
    assert orjson.loads(stream.split(b"data: ", 1)[1].split(b"\n", 1)[0])["type"] == "message_start"
