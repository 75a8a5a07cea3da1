"""A Message Batch upload accepted in bounded memory, whatever its size.

The body is spooled to a temporary file as it arrives (``queue.batch_max_body_bytes``
enforced while reading), then read twice with a streaming JSON parser (ijson, C backend):

1. :func:`scan` checks the whole document as ``POST /v1/messages/batches`` always has —
   valid JSON, an object, no deeper than ``server.max_json_depth``, ``requests`` a non-empty
   list of at most ``queue.batch_max_requests`` objects with a dict ``params`` and a valid,
   unique ``custom_id`` — refusing the whole batch, with the same messages and in the same
   order as before (a syntax error is worded by the parser), before anything is stored. It
   holds the custom ids (bounded by the request limit) and nothing of the requests.
2. :func:`job_chunks` parses the requests again, one at a time, and hands the queue their
   jobs :data:`JOBS_PER_CHUNK` at a time (``JobQueue.submit_batch_chunks``).

Memory while accepting a batch is thus the spool's in-memory part, the parser's buffer, the
custom ids and one chunk of jobs. Both passes run in a worker thread, so a large upload does
not stall the event loop. Where this differs from orjson and ``check_json_depth`` (the other
routes' checks): integers must lie within ±(2⁶³ − 1) (orjson also reads larger ones, as
floats); a lone surrogate escape (``"\\ud800"``) becomes ``?`` instead of a 400; and depth is
measured over the text as sent, so a member overwritten by a later one of the same name (which
a parser drops) counts too.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import tempfile
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import IO, Any

import ijson  # type: ignore[import-untyped]  # the package ships no type hints
from starlette.requests import Request

from scalegate.errors import InvalidRequestError, RequestTooLargeError
from scalegate.jobs.model import Job

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
#: Jobs built and stored per step (and held at once).
JOBS_PER_CHUNK = 500
#: The spooled body stays in memory up to this size, then moves to a temporary file.
SPOOL_IN_MEMORY = 1 << 20

try:
    _ijson: Any = ijson.get_backend("yajl2_c")
except ImportError:  # no C extension for this platform: the best backend ijson has
    _ijson = ijson
# The pure-Python backends read integers of any size; orjson (which encodes jobs) and the C
# backend stop at 64 bits.
_CHECK_INTS = _ijson.backend_name != "yajl2_c"
_ITEMS = "requests.item"  # ijson's prefix for the requests (and, sadly, for two other paths)
_ORJSON_MAX_DEPTH = 1024
_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})


async def spool(request: Request, limit: int) -> IO[bytes]:
    """The request body in a temporary file (rewound), refusing more than ``limit`` bytes
    with a 413 — by the declared length first, then while reading."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    # Not a context manager: the file outlives this function (the caller closes it).
    body: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            body.write(chunk)
        body.seek(0)
    except BaseException:
        body.close()
        raise
    return body


def _too_large(limit: int) -> RequestTooLargeError:
    return RequestTooLargeError(f"request body is larger than the {limit}-byte limit")


class _Requests:
    """One ``requests`` member of the body as the scan saw it (the last one counts, as with
    a parser that builds a dict)."""

    __slots__ = ("count", "error", "is_list", "limit", "seen", "start")

    def __init__(self, start: int, is_list: bool, limit: int) -> None:
        self.start = start  # values ijson yields at _ITEMS before this member's requests
        self.is_list = is_list
        self.limit = limit
        self.count = 0
        self.error: str | None = None  # the first refused request's message
        self.seen: set[str] = set()

    def check(self, index: int, params_is_dict: bool, custom_id: Any) -> None:
        """The checks of one request, in order; only the first failure is kept."""
        if self.error is not None or self.count > self.limit:
            return  # the answer is decided; no more custom ids are kept
        if not params_is_dict:
            self.error = f"requests.{index}: must be an object with custom_id and params"
        elif not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
            self.error = f"requests.{index}.custom_id: 1-64 characters of [a-zA-Z0-9_-]"
        elif custom_id in self.seen:
            self.error = f"requests.{index}.custom_id: {custom_id!r} is not unique"
        else:
            self.seen.add(custom_id)
            return
        self.seen = set()

    def verdict(self) -> tuple[int, int]:
        """(values to skip at _ITEMS, requests), or the refusal of the whole batch."""
        if not self.is_list or self.count == 0:
            raise InvalidRequestError(
                "requests: a non-empty list of {custom_id, params} is required"
            )
        if self.count > self.limit:
            raise InvalidRequestError(f"requests: at most {self.limit} requests per batch")
        if self.error is not None:
            raise InvalidRequestError(self.error)
        return self.start, self.count


def scan(body: IO[bytes], max_depth: int, max_requests: int) -> tuple[int, int]:
    """Check a spooled batch body without building it; return what :func:`job_chunks` needs.

    Refusals come in the order the whole-document checks always gave them: invalid JSON
    anywhere, then not an object, then nesting deeper than ``max_depth``, then the
    ``requests`` checks (the first refused request).
    """
    body.seek(0)
    try:
        events = _ijson.basic_parse(body, use_float=True)
        top_object, deepest, requests = _walk(events, max_requests)
    except (ijson.JSONError, UnicodeDecodeError, _IntegerOverflow) as exc:
        raise InvalidRequestError(f"request body is not valid JSON: {_reason(exc)}") from None
    if deepest > _ORJSON_MAX_DEPTH:  # what orjson, the other routes' parser, refuses
        raise InvalidRequestError("request body is not valid JSON: depth limit exceeded")
    if not top_object:
        raise InvalidRequestError("request body must be a JSON object")
    if deepest > max_depth:
        raise InvalidRequestError(
            f"request body is nested too deeply: at most {max_depth} levels of arrays and "
            "objects are accepted"
        )
    if requests is None:
        raise InvalidRequestError("requests: a non-empty list of {custom_id, params} is required")
    return requests.verdict()


class _IntegerOverflow(ValueError):
    pass


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "invalid UTF-8 in a string"
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text).strip().splitlines()[0] if str(text).strip() else type(exc).__name__


def _walk(events: Iterator[tuple[str, Any]], limit: int) -> tuple[bool, int, _Requests | None]:  # noqa: C901 - one state machine, kept in one loop for speed
    """(top level is an object, deepest nesting, the last ``requests`` member) of the body.

    ``depth`` counts the containers open before an event: the body's members are at 1, the
    requests at 2 and their members at 3. ``matches`` counts the values ijson's ``items``
    would yield at ``requests.item`` (the requests, but also a top-level member named
    ``requests.item`` and the member ``item`` of an object ``requests``), so that the second
    pass can skip to the ones that count.
    """
    depth = deepest = matches = 0
    top_object = False
    top_key: str | None = None
    requests: _Requests | None = None
    in_requests = in_request = False
    inner_key: str | None = None  # the current member name inside ``requests`` or a request
    index = 0
    params_is_dict = False
    custom_id: Any = None
    for event, value in events:
        if depth == 0:
            top_object = event == "start_map"
        elif depth == 1 and top_object:
            if event == "map_key":
                top_key = value
            elif event != "end_map":
                if top_key == _ITEMS:
                    matches += 1
                elif top_key == "requests":
                    requests = _Requests(matches, event == "start_array", limit)
                    in_requests = event in _OPEN
                    inner_key = None
        elif depth == 2 and in_requests:
            assert requests is not None
            if requests.is_list:
                if event != "end_array":
                    matches += 1
                    index = requests.count
                    requests.count += 1
                    if event == "start_map":
                        in_request, params_is_dict, custom_id, inner_key = True, False, None, None
                    else:
                        requests.check(index, False, None)
            elif event == "map_key":
                inner_key = value
            elif event != "end_map" and inner_key == "item":
                matches += 1
        elif depth == 3 and in_request:
            if event == "map_key":
                inner_key = value
            elif event == "end_map":
                assert requests is not None
                requests.check(index, params_is_dict, custom_id)
            elif inner_key == "params":
                params_is_dict = event == "start_map"
            elif inner_key == "custom_id":
                custom_id = value if event == "string" else None
        if event in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif event in _CLOSE:
            depth -= 1
            if depth == 2:
                in_request = False
            elif depth == 1:
                in_requests = False
        elif _CHECK_INTS and type(value) is int and not -(2**63) <= value < 2**64:
            raise _IntegerOverflow("integer overflow")
    return top_object, deepest, requests


def _chunks(
    body: IO[bytes], skip: int, count: int, make: Callable[[dict[str, Any]], Job], size: int
) -> Iterator[list[Job]]:
    body.seek(0)
    requests = itertools.islice(_ijson.items(body, _ITEMS, use_float=True), skip, skip + count)
    chunk: list[Job] = []
    for item in requests:
        if (
            type(item) is not dict
            or type(item.get("params")) is not dict
            or type(item.get("custom_id")) is not str
        ):
            raise RuntimeError("batch upload: the requests read differ from those checked")
        chunk.append(make(item))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def job_chunks(
    body: IO[bytes],
    skip: int,
    count: int,
    make: Callable[[dict[str, Any]], Job],
    size: int = JOBS_PER_CHUNK,
) -> AsyncGenerator[list[Job], None]:
    """The jobs of the ``count`` requests :func:`scan` found, ``size`` at a time, each built
    by ``make`` from one request (parsed and built in a worker thread)."""
    chunks = _chunks(body, skip, count, make, size)
    while True:
        chunk = await asyncio.to_thread(next, chunks, None)
        if chunk is None:
            return
        yield chunk
        del chunk  # not held while the next one is built
