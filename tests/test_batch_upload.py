"""The streaming batch-body checks (``routes/batch_upload.py``) against the whole-document
checks they replace: for any body, the same refusal (message and order) or the same requests.

The reference below is the previous implementation: orjson over the whole body, then
``check_json_depth``, then the ``requests`` checks. Bodies are written by hand here (not by
a JSON library) so that they can repeat member names, which a parser resolves last-wins.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalegate.errors import InvalidRequestError
from scalegate.jobs.model import Job
from scalegate.priority import Priority
from scalegate.routes import batch_upload
from scalegate.routes.batch_upload import scan
from scalegate.validation import check_json_depth

_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
NOT_JSON = "request body is not valid JSON: "


def reference(raw: bytes, max_depth: int, limit: int) -> list[dict[str, Any]]:
    """The checks as they were before the upload was streamed."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(f"{NOT_JSON}{exc.msg}") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("request body must be a JSON object")
    check_json_depth(raw, body, max_depth)
    items = body.get("requests")
    if not isinstance(items, list) or not items:
        raise InvalidRequestError("requests: a non-empty list of {custom_id, params} is required")
    if len(items) > limit:
        raise InvalidRequestError(f"requests: at most {limit} requests per batch")
    seen: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("params"), dict):
            raise InvalidRequestError(f"requests.{i}: must be an object with custom_id and params")
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
            raise InvalidRequestError(f"requests.{i}.custom_id: 1-64 characters of [a-zA-Z0-9_-]")
        if custom_id in seen:
            raise InvalidRequestError(f"requests.{i}.custom_id: {custom_id!r} is not unique")
        seen.add(custom_id)
    return items


def streamed(raw: bytes, max_depth: int, limit: int) -> list[dict[str, Any]]:
    """The new path: scan, then the second pass (jobs built by an identity-like ``make``)."""
    body = io.BytesIO(raw)
    skip, count = scan(body, max_depth, limit)
    seen: list[dict[str, Any]] = []

    def make(item: dict[str, Any]) -> Job:
        seen.append(item)
        return Job(id=str(len(seen)), tenant=None, priority=Priority.LOW, payload={}, created_at=0)

    for chunk in batch_upload._chunks(body, skip, count, make, 3):
        assert 1 <= len(chunk) <= 3
    return seen


def outcome(fn: Any, raw: bytes, max_depth: int, limit: int) -> tuple[str, Any]:
    try:
        return "ok", fn(raw, max_depth, limit)
    except InvalidRequestError as exc:
        if exc.message.startswith(NOT_JSON):
            return "not json", None  # the parsers word syntax errors differently
        return "refused", exc.message


def same(raw: bytes, max_depth: int = 16, limit: int = 5) -> tuple[str, Any]:
    expected = outcome(reference, raw, max_depth, limit)
    got = outcome(streamed, raw, max_depth, limit)
    assert got == expected, raw
    return got


TOO_DEEP = "request body is nested too deeply"


def nesting(doc: Doc) -> int:
    """How deep the text nests (every member counted, repeated names included)."""
    if isinstance(doc, tuple):
        members = [v for _, v in doc[1]] if doc[0] == "obj" else doc[1]
        return 1 + max((nesting(v) for v in members), default=0)
    return 0


def repeats_names(doc: Doc) -> bool:
    if not isinstance(doc, tuple):
        return False
    if doc[0] == "obj":
        names = [k for k, _ in doc[1]]
        return len(set(names)) < len(names) or any(repeats_names(v) for _, v in doc[1])
    return any(repeats_names(v) for v in doc[1])


def params(text: str = "hi") -> dict[str, Any]:
    return {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": text}]}


def test_the_parser_is_the_c_backend() -> None:
    assert batch_upload._ijson.backend_name == "yajl2_c"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"[]",
        b"null",
        b'"requests"',
        b"{}",
        b'{"requests": []}',
        b'{"requests": {}}',
        b'{"requests": 5}',
        b'{"requests": [1]}',
        b'{"requests": [[]]}',
        b'{"requests": [{}]}',
        b'{"requests": [{"params": {}}]}',
        b'{"requests": [{"params": [], "custom_id": "a"}]}',
        b'{"requests": [{"params": {}, "custom_id": "a"}]}',
        b'{"requests": [{"params": {}, "custom_id": "a\\n"}]}',
        b'{"requests": [{"params": {}, "custom_id": ""}]}',
        b'{"requests": [{"params": {}, "custom_id": 7}]}',
        b'{"requests": [{"params": {}, "custom_id": ["a"]}]}',
        b'{"requests": [{"params": {}, "custom_id": "' + b"a" * 65 + b'"}]}',
        b'{"requests": [{"params": {}, "custom_id": "a"}, {"params": {}, "custom_id": "a"}]}',
        # repeated members: the last one counts, everywhere
        b'{"requests": [{"params": {}, "custom_id": "a"}], "requests": 3}',
        b'{"requests": 3, "requests": [{"params": {}, "custom_id": "a"}]}',
        b'{"requests": [1, 2], "requests": [{"params": {}, "custom_id": "b"}]}',
        b'{"requests": [{"params": {}, "custom_id": "a", "params": 1}]}',
        b'{"requests": [{"params": 1, "custom_id": "a", "params": {"x": 1}}]}',
        b'{"requests": [{"custom_id": "a b", "params": {}, "custom_id": "ok"}]}',
        # paths ijson also names ``requests.item``
        b'{"requests.item": {"params": {}}, "requests": [{"params": {"n": 1}, "custom_id": "a"}]}',
        b'{"requests": {"item": 1, "x": 2, "item": [3]}, "requests": [{"params": {}, '
        b'"custom_id": "a"}], "requests.item": 4, "z": {"requests": [5]}}',
        # JSON errors win over everything else, wherever they are
        b'{"requests": [1]} x',
        b'{"requests": [{"params": {}, "custom_id": "a"}], "z": [1, 2',
        b'{"requests": [{"params": {}, "custom_id": "a"}]',
        b'{"requests": [{"params": {"x": NaN}, "custom_id": "a"}]}',
        b'{"requests": [{"params": {"x": 1e999}, "custom_id": "a"}]}',
        b'{"requests": [{"params": {"x": "\xff"}, "custom_id": "a"}]}',
        b'{"requests": [{"params": {"x": "\xed\xa0\x80"}, "custom_id": "a"}]}',
        b'{"requests": [{"params": {"x": "a\x00b"}, "custom_id": "a"}]}',
        b'{"requests": [{"params": {"x": "\\udc00"}, "custom_id": "a"}]}',
        b'{"requests": [{"params": {"x": 9223372036854775807, "y": -1.5e300, "z": 0.1e-400, '
        b'"s": "\\u00e9\\ud83d\\ude00\\u0000"}, "custom_id": "a"}]}',
        # too many: the count wins over a refused request past the limit, and before it
        b'{"requests": [' + b",".join([b'{"params": {}, "custom_id": "a"}'] * 7) + b"]}",
        b'{"requests": [' + b",".join([b"1"] * 6) + b"]}",
    ],
)
def test_edge_bodies_are_judged_as_before(raw: bytes) -> None:
    same(raw)


def deep(levels: int, where: str) -> bytes:
    inner = b"[" * levels + b"1" + b"]" * levels
    item = b'{"params": {"x": %s}, "custom_id": "a"}' % (inner if where == "params" else b"1")
    other = inner if where == "other" else b"1"
    return b'{"other": %s, "requests": [%s, 1]}' % (other, item)


@pytest.mark.parametrize("where", ["params", "other"])
@pytest.mark.parametrize("levels", [10, 12, 13, 14, 15, 16, 40, 3000])
def test_depth_is_judged_as_before(levels: int, where: str) -> None:
    """Depth is checked over the whole body, before the requests (here the second one is
    refused): the message is check_json_depth's own; past orjson's 1024 levels, orjson's."""
    kind, message = same(deep(levels, where))
    total = levels + (4 if where == "params" else 1)  # the containers around it
    if 16 < total <= 1024:
        assert kind == "refused"
        assert message.startswith("request body is nested too deeply: at most 16 levels")
    elif total > 1024:
        assert kind == "not json"
    else:
        assert (kind, message) == (
            "refused",
            "requests.1: must be an object with custom_id and params",
        )


def test_a_bad_request_near_the_end_of_a_large_body_is_found() -> None:
    items = [{"custom_id": f"r{i}", "params": params("x" * 100)} for i in range(5000)]
    items[4998] = {"custom_id": "r1", "params": params()}
    raw = orjson.dumps({"requests": items})
    assert same(raw, limit=10_000) == (
        "refused",
        "requests.4998.custom_id: 'r1' is not unique",
    )


# -- generated bodies ----------------------------------------------------------------------

Doc = Any  # ("obj", [(key, Doc)]) | ("arr", [Doc]) | a scalar


def dump(doc: Doc) -> str:
    if isinstance(doc, tuple) and doc[0] == "obj":
        return "{" + ", ".join(f"{json.dumps(k)}: {dump(v)}" for k, v in doc[1]) + "}"
    if isinstance(doc, tuple) and doc[0] == "arr":
        return "[" + ", ".join(dump(v) for v in doc[1]) + "]"
    return json.dumps(doc)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1),  # yajl refuses -2**63
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
)
custom_ids = st.one_of(
    st.sampled_from(["a", "b", "c", "a\n", "", "a b", "x" * 64, "x" * 65, "é"]),
    scalars,
)
keys = st.sampled_from(["params", "custom_id", "requests", "item", "requests.item", "x"])


def _documents(width: int, leaves: int) -> st.SearchStrategy[Doc]:
    """Nested arrays and objects of at most ``width`` members and ``leaves`` scalars."""
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.tuples(st.just("arr"), st.lists(inner, max_size=width)),
            st.tuples(st.just("obj"), st.lists(st.tuples(keys, inner), max_size=width)),
        ),
        max_leaves=leaves,
    )


values = _documents(3, 12)
small_values = _documents(2, 4)
good_ids = st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "r-1", "R_2", "x" * 64])


def mostly(usual: st.SearchStrategy[Doc], odd: st.SearchStrategy[Doc]) -> st.SearchStrategy[Doc]:
    """``usual`` nine times in ten."""
    return st.integers(0, 9).flatmap(lambda n: odd if n == 0 else usual)


# Mostly what a client sends (valid ids, some repeated; params an object), in any order,
# now and then with another member or a repeated one.
good_requests = st.tuples(
    st.just("obj"),
    st.lists(st.tuples(keys, small_values), max_size=1).flatmap(
        lambda extra: st.tuples(
            st.tuples(st.just("custom_id"), mostly(good_ids, custom_ids)),
            st.tuples(
                st.just("params"),
                mostly(
                    st.tuples(st.just("obj"), st.lists(st.tuples(keys, small_values), max_size=3)),
                    small_values,
                ),
            ),
        ).flatmap(lambda pair: st.permutations([*pair, *extra]))
    ),
)
request_docs = mostly(
    good_requests,
    st.one_of(
        st.tuples(
            st.just("obj"),
            st.lists(
                st.one_of(
                    st.tuples(st.just("params"), values),
                    st.tuples(st.just("custom_id"), custom_ids),
                    st.tuples(keys, values),
                ),
                max_size=4,
            ),
        ),
        values,
    ),
)
requests_members = st.tuples(
    st.just("requests"),
    st.tuples(st.just("arr"), mostly(st.lists(request_docs, min_size=1, max_size=6), st.just([]))),
)
bodies = mostly(
    st.tuples(
        st.just("obj"),
        st.tuples(requests_members, st.lists(st.tuples(keys, small_values), max_size=2)).flatmap(
            lambda parts: st.permutations([parts[0], *parts[1]])
        ),
    ),
    st.one_of(
        st.tuples(
            st.just("obj"),
            st.lists(st.one_of(requests_members, st.tuples(keys, values)), max_size=4),
        ),
        values,
    ),
)


@settings(
    max_examples=600,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(bodies, st.integers(min_value=4, max_value=12), st.integers(min_value=1, max_value=8))
def test_generated_bodies_are_judged_as_before(doc: Doc, max_depth: int, limit: int) -> None:
    """The one difference allowed: depth is measured over the text as sent, so a member
    overwritten by a later one of the same name (which a parser drops) counts too."""
    raw = dump(doc).encode()
    expected = outcome(reference, raw, max_depth, limit)
    got = outcome(streamed, raw, max_depth, limit)
    if got != expected and got[0] == "refused" and got[1].startswith(TOO_DEEP):
        assert repeats_names(doc), raw
        assert nesting(doc) > max_depth, raw
        return
    assert got == expected, raw
