"""Deterministic answers: the same model and last user message always get the same reply.

The reply is a sequence of words and **each word is one output token**. Its natural length
(20–80 words) and its words come from a hash of (model, the last user message's text).
Directives in the last user message:

* ``[sim:tokens=N]`` — exactly N words (before ``max_tokens`` and stop sequences apply);
* ``[sim:tool]`` / ``[sim:tool=NAME]`` — answer with a ``tool_use`` block (needs ``tools``).

A ``tool_choice`` of ``any`` or ``tool`` also forces a tool call; ``none`` forbids it. A tool
call's output tokens are ``ceil(UTF-8 bytes of name + input JSON / 4)``, capped at
``max_tokens``. Text stops at ``max_tokens`` words (``stop_reason: max_tokens``) or when a
stop sequence is completed (``stop_sequence``; the words generated so far, including the one
that completed it, are the output tokens; the text ends before the sequence).

With structured outputs (``output_config.format``) the reply is one text block holding JSON
that validates against the schema (a deterministic minimal instance), ``ceil(bytes / 4)``
output tokens, cut at ``max_tokens`` like any text. With thinking on, the reply opens with a
``thinking`` block (10–40 words, within ``budget_tokens`` and ``max_tokens``) carrying a
``signature``; its words count as output tokens and leave the rest of ``max_tokens`` for the
answer. Streamed, it arrives as ``thinking_delta``s and one ``signature_delta`` just before its
``content_block_stop``, as the provider sends them.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from scalegate.simulator.tool_input import fill_schema
from scalegate.simulator.validation import MessagesRequest

WORDS_PER_DELTA = 3
JSON_CHARS_PER_DELTA = 24

_TOKENS = re.compile(r"\[sim:tokens=(\d+)\]")
_TOOL = re.compile(r"\[sim:tool(?:=([^\]\s]+))?\]")

# Mostly English, with some accented, Greek, Cyrillic and CJK words on purpose: clients and
# the gateway must cope with multi-byte UTF-8 split across stream chunks.
VOCABULARY = (
    "the", "a", "of", "to", "and", "in", "is", "it", "that", "for", "on", "with", "as", "this",
    "system", "request", "token", "limit", "key", "gateway", "queue", "stream", "latency",
    "answer", "model", "provider", "simulated", "response", "capacity", "bucket", "minute",
    "retry", "cache", "prompt", "signal", "budget", "traffic", "launch", "rehearsal", "scale",
    "steady", "burst", "careful", "quick", "quiet", "bright", "honest", "simple", "useful",
    "measure", "observe", "balance", "deliver", "compute", "recover", "share", "plan", "wait",
    "window", "header", "client", "server", "worker", "priority", "fair", "ready", "calm",
    "river", "mountain", "garden", "harbor", "lantern", "meadow", "orchard", "signal", "thread",
    "café", "naïve", "résumé", "über", "façade", "λόγος", "данные", "ответ", "東京", "データ",
    "模型", "응답", "niño", "smörgåsbord", "jalapeño", "coöperate",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Chunk:
    """One ``content_block_delta``: the block it belongs to, its delta, its output tokens."""

    index: int
    delta: dict[str, Any]
    tokens: int


@dataclass(frozen=True, slots=True)
class Answer:
    """A planned reply: final blocks (non-streaming) and the chunks that stream them."""

    blocks: list[dict[str, Any]]
    starts: list[dict[str, Any]]  # each block as ``content_block_start`` announces it
    chunks: list[Chunk] = field(default_factory=list)
    output_tokens: int = 0
    stop_reason: str = "end_turn"
    stop_sequence: str | None = None


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last user message (text blocks and tool results joined by newlines)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        return "\n".join(_texts(content))
    return ""


def _texts(blocks: Any) -> list[str]:
    texts: list[str] = []
    for block in blocks if isinstance(blocks, list) else ():
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            texts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_result":
            inner = block.get("content", "")
            texts.extend([inner] if isinstance(inner, str) else _texts(inner))
    return texts


def answer_words(model: str, text: str) -> list[str]:
    """The natural reply for (``model``, ``text``), honouring ``[sim:tokens=N]``."""
    seed = hashlib.blake2b(f"{model}\x00{text}".encode(), digest_size=32).digest()
    forced = _TOKENS.search(text)
    count = int(forced[1]) if forced else 20 + int.from_bytes(seed[:2], "big") % 61
    return _words(seed, count)


def _words(seed: bytes, count: int) -> list[str]:
    words: list[str] = []
    sentence_left = 0
    block = 0
    while len(words) < count:
        stream = hashlib.blake2b(seed + block.to_bytes(8, "big"), digest_size=64).digest()
        block += 1
        for i in range(0, 64, 2):
            if len(words) >= count:
                break
            word = VOCABULARY[int.from_bytes(stream[i : i + 2], "big") % len(VOCABULARY)]
            if sentence_left == 0:
                word = word.capitalize()
                sentence_left = 6 + stream[i] % 9
            sentence_left -= 1
            if sentence_left == 0:
                word += "."
            words.append(word)
    if words and not words[-1].endswith("."):
        words[-1] += "."
    return words


def plan_answer(request: MessagesRequest) -> Answer:
    """The reply to a validated request, deterministic except for the tool call's id."""
    text = last_user_text(request.messages)
    limit = request.max_tokens
    thought = None
    if request.thinking is not None:
        thought = _thinking_answer(request, text)
        limit -= thought.output_tokens
        if limit <= 0:  # thinking used all of max_tokens: no answer after it
            return Answer(thought.blocks, thought.starts, thought.chunks,
                          thought.output_tokens, "max_tokens")  # fmt: skip
    body = _body_answer(request, text, limit)
    return body if thought is None else _after(thought, body)


def _body_answer(request: MessagesRequest, text: str, limit: int) -> Answer:
    tool = _chosen_tool(request, text)
    if tool is not None:
        return _tool_answer(request, tool, text, limit)
    if request.output_schema is not None:
        return _json_answer(request, request.output_schema, text, limit)
    return _text_answer(request, answer_words(request.model, text), limit)


def _after(first: Answer, second: Answer) -> Answer:
    """``first``'s blocks, then ``second``'s (its chunks re-indexed behind them)."""
    offset = len(first.starts)
    moved = [Chunk(c.index + offset, c.delta, c.tokens) for c in second.chunks]
    return Answer(
        blocks=first.blocks + second.blocks,
        starts=first.starts + second.starts,
        chunks=first.chunks + moved,
        output_tokens=first.output_tokens + second.output_tokens,
        stop_reason=second.stop_reason,
        stop_sequence=second.stop_sequence,
    )


def _thinking_answer(request: MessagesRequest, text: str) -> Answer:
    """A ``thinking`` block: its words (one token each), then its signature."""
    assert request.thinking is not None
    seed = hashlib.blake2b(f"thinking\x00{request.model}\x00{text}".encode()).digest()
    count = 10 + seed[0] % 31
    budget = request.thinking.budget_tokens
    count = min(count, request.max_tokens, budget if budget is not None else count)
    words = _words(seed, count)
    thinking = " ".join(words)
    signature = base64.b64encode(
        hashlib.blake2b(f"{request.model}\x00{thinking}".encode(), digest_size=48).digest()
    ).decode()
    chunks: list[Chunk] = []
    if request.thinking.omitted:  # display "omitted": the signature alone, tokens still spent
        thinking = ""
    else:
        for start in range(0, len(words), WORDS_PER_DELTA):
            group = " ".join(words[start : start + WORDS_PER_DELTA])
            piece = group if start == 0 else " " + group
            delta = {"type": "thinking_delta", "thinking": piece}
            chunks.append(Chunk(0, delta, len(words[start : start + WORDS_PER_DELTA])))
    spent = sum(c.tokens for c in chunks)
    chunks.append(Chunk(0, {"type": "signature_delta", "signature": signature}, count - spent))
    return Answer(
        blocks=[{"type": "thinking", "thinking": thinking, "signature": signature}],
        starts=[{"type": "thinking", "thinking": "", "signature": ""}],
        chunks=chunks,
        output_tokens=count,
    )


def _json_answer(request: MessagesRequest, schema: dict[str, Any], text: str, limit: int) -> Answer:
    """Structured outputs: JSON valid for ``schema`` as the text, cut at ``limit`` tokens."""
    seed = f"{request.model}\x00{text}\x00json".encode()
    payload = orjson.dumps(fill_schema(schema, seed)).decode()
    tokens = max(1, math.ceil(len(payload.encode()) / 4))
    stop_reason = "end_turn"
    if tokens > limit:
        payload = payload[: len(payload) * limit // tokens]
        tokens, stop_reason = limit, "max_tokens"
    chunks = _spread(payload, tokens, lambda piece: {"type": "text_delta", "text": piece})
    return Answer(
        blocks=[{"type": "text", "text": payload}],
        starts=[{"type": "text", "text": ""}],
        chunks=chunks,
        output_tokens=tokens,
        stop_reason=stop_reason,
    )


def _spread(payload: str, tokens: int, delta: Any) -> list[Chunk]:
    """``payload`` in deltas of ``JSON_CHARS_PER_DELTA`` characters, ``tokens`` spread over them."""
    chunks: list[Chunk] = []
    sent = 0
    for start in range(0, len(payload), JSON_CHARS_PER_DELTA):
        end = min(len(payload), start + JSON_CHARS_PER_DELTA)
        through = math.ceil(tokens * end / len(payload))
        chunks.append(Chunk(0, delta(payload[start:end]), through - sent))
        sent = through
    return chunks


def _chosen_tool(request: MessagesRequest, text: str) -> dict[str, Any] | None:
    if not request.tools:
        return None
    choice = request.tool_choice or {"type": "auto"}
    if choice["type"] == "none":
        return None
    if choice["type"] == "tool":
        return next(t for t in request.tools if t.get("name") == choice.get("name"))
    directive = _TOOL.search(text)
    if choice["type"] == "any" or directive is not None:
        wanted = directive[1] if directive is not None else None
        named = [t for t in request.tools if t.get("name") == wanted]
        return named[0] if named else request.tools[0]
    return None


def _tool_answer(request: MessagesRequest, tool: dict[str, Any], text: str, limit: int) -> Answer:
    name = str(tool["name"])
    seed = f"{request.model}\x00{text}\x00{name}".encode()
    tool_input = fill_schema(tool.get("input_schema", {}), seed)
    if not isinstance(tool_input, dict):
        tool_input = {}
    payload = orjson.dumps(tool_input).decode()
    tokens = min(limit, math.ceil((len(name.encode()) + len(payload.encode())) / 4))
    block_id = "toolu_sim" + uuid.uuid4().hex[:20]
    chunks = _spread(
        payload, tokens, lambda piece: {"type": "input_json_delta", "partial_json": piece}
    )
    return Answer(
        blocks=[{"type": "tool_use", "id": block_id, "name": name, "input": tool_input}],
        starts=[{"type": "tool_use", "id": block_id, "name": name, "input": {}}],
        chunks=chunks,
        output_tokens=tokens,
        stop_reason="tool_use",
    )


def _text_answer(request: MessagesRequest, words: list[str], limit: int) -> Answer:
    generated = words[:limit]
    pieces = [w if i == 0 else " " + w for i, w in enumerate(generated)]
    stop_reason = "max_tokens" if len(words) > limit else "end_turn"
    stop_sequence = None
    full = "".join(pieces)
    cut = _first_stop(full, request.stop_sequences)
    if cut is not None:
        position, end, stop_sequence = cut
        stop_reason = "stop_sequence"
        pieces = _truncate(pieces, position, end)
    chunks = []
    for start in range(0, len(pieces), WORDS_PER_DELTA):
        group = pieces[start : start + WORDS_PER_DELTA]
        chunks.append(Chunk(0, {"type": "text_delta", "text": "".join(group)}, len(group)))
    text = "".join(pieces)
    return Answer(
        blocks=[{"type": "text", "text": text}],
        starts=[{"type": "text", "text": ""}],
        chunks=chunks,
        output_tokens=len(pieces),
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
    )


def _first_stop(text: str, stops: list[str]) -> tuple[int, int, str] | None:
    """(start, end, sequence) of the stop sequence that is completed first, if any."""
    best: tuple[int, int, str] | None = None
    for stop in stops:
        position = text.find(stop)
        if position < 0:
            continue
        end = position + len(stop)
        if best is None or end < best[1] or (end == best[1] and position < best[0]):
            best = (position, end, stop)
    return best


def _truncate(pieces: list[str], position: int, end: int) -> list[str]:
    """The pieces generated until one reaches ``end``, their text cut at ``position``."""
    kept: list[str] = []
    offset = 0
    for piece in pieces:
        kept.append(piece[: max(0, position - offset)])
        offset += len(piece)
        if offset >= end:
            break
    return kept
