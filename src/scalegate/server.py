"""How ``scalegate serve`` runs uvicorn: its options from ``server:``, and an HTTP protocol
that bounds what one slow or oversized client can hold.

Measured with uvicorn 0.54 and httptools 0.9 as ``serve`` configured them before this module
existed: a connection that sent nothing, half a request line, half a header line, complete
headers and then no body, or a body trickled one byte a second, was held open indefinitely
(still open after 40 s; uvicorn's only timer is the keep-alive one, armed after a response
and cancelled by any byte received). Headers had no size limit at all (16 MB of one header
was parsed and answered 200). A malformed request got uvicorn's ``400`` in ``text/plain``.

:class:`GuardedProtocol` is uvicorn's httptools protocol with three limits added, each
answered in the provider's envelope (the OpenAI one under ``/v1/chat/completions``):

* **The request head** (request line and headers) must arrive within
  ``header_timeout_seconds`` of the connection opening, or of its first byte on a kept-alive
  connection: a connection that sent nothing is closed silently, one that sent part of a
  head gets a ``408``.
* **The head** may not exceed ``max_header_bytes``: a ``431``, checked while it arrives (so
  memory stays bounded) and exactly once it is complete.
* **The body** must arrive within ``body_timeout_seconds``, plus one second for every
  ``body_min_bytes_per_second`` bytes received (a large upload on a slow link is fine, a
  trickle is not): a ``408`` if no response has started, else the connection is closed.

A request the parser rejects (``400``) that arrived behind complete requests, in the same
read, is answered after them, in order: their answers are not dropped by the close.

The timers cost nothing when a request arrives in one read (the usual case): they are armed
only when a read ends in the middle of a head or a body.

uvicorn's ``limit_concurrency`` is deliberately not used: it answers ``text/plain`` 503s and
counts idle keep-alive connections, while the gateway's admission queue already bounds the
work waiting for a key (``admission.max_waiters``). ``h11_max_incomplete_event_size`` applies
to the h11 parser only; ``max_header_bytes`` is its counterpart here.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from scalegate.asgi import new_request_id, render_for_path
from scalegate.config import ServerConfig, Settings
from scalegate.errors import InvalidRequestError, ProviderError

_HEAD, _BODY, _IDLE = 0, 1, 2  # where the current request is; _IDLE: read completely
LINGER_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout: float
    body_timeout: float
    body_min_rate: float
    max_header_bytes: int

    @classmethod
    def from_config(cls, server: ServerConfig) -> ConnectionLimits:
        return cls(
            header_timeout=server.header_timeout_seconds,
            body_timeout=server.body_timeout_seconds,
            body_min_rate=server.body_min_bytes_per_second,
            max_header_bytes=server.max_header_bytes,
        )


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing a request that was refused."""


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with head/body deadlines and a head size limit."""

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._phase = _HEAD
        self._messages = 0  # requests begun on this connection
        self._timer: asyncio.TimerHandle | None = None
        self._timer_phase = _IDLE
        self._phase_started = 0.0
        self._head_seen = 0  # bytes of reads that ended inside the current head
        self._read = 0  # bytes of the read being parsed
        self._body_seen = 0  # bytes read while a body was due (counted once timed)
        self._refusal: ProviderError | None = None
        self._deferred: ProviderError | None = None  # answered once the responses before it are

    # -- connection events ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn's protocol types the transport loosely
        super().connection_made(transport)
        self._arm()  # the first head's deadline runs from the connection's start

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return  # refused and closing: nothing more is read
        was_head = self._phase == _HEAD
        self._read = len(data)
        super().data_received(data)
        if self._refusal is not None or self.transport.is_closing():
            return
        if self._phase == _IDLE and (self.cycle is None or self.cycle.response_complete):
            self._phase = _HEAD  # bytes that began no request: they get a head's deadline
        if self._phase == _HEAD:
            if was_head:
                self._head_seen += len(data)
            if self._head_seen > self.limits.max_header_bytes:
                self._refuse(self._too_large())
                return
        if self._phase == _BODY and self._timer is not None:
            self._body_seen += len(data)
        if self._phase != _IDLE and self._timer is None:
            self._arm()

    # -- parser callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._messages:
            self._disarm()  # a kept-alive connection: this head's deadline starts now
        self._messages += 1
        self._phase = _HEAD
        self._head_seen = self._body_seen = 0
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        limit = self.limits.max_header_bytes
        # Exact only when the reads could hold more: a head within one read of at most the
        # limit is within the limit (nearly every request is checked by this comparison).
        if self._head_seen + self._read > limit and self._head_size() > limit:
            self._refusal = self._too_large()
            raise _Refused  # httptools stops; uvicorn calls send_400_response()
        self._disarm()
        self._phase = _BODY
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._phase = _IDLE
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to anything the parser rejects, in the provider's envelope."""
        error = self._refusal or InvalidRequestError("the request is not valid HTTP/1.1")
        self._refusal = None
        self._refuse(error)

    # -- deadlines --------------------------------------------------------------------------

    def _arm(self) -> None:
        self._disarm()
        self._timer_phase = self._phase
        self._phase_started = self.loop.time()
        delay = self.limits.header_timeout if self._phase == _HEAD else self.limits.body_timeout
        self._timer = self.loop.call_later(delay, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self._phase != self._timer_phase:
            return
        now = self.loop.time()
        if self._phase == _BODY:
            allowed = self.limits.body_timeout + self._body_seen / self.limits.body_min_rate
            if now < self._phase_started + allowed:
                remaining = self._phase_started + allowed - now
                self._timer = self.loop.call_later(remaining, self._expired)
                return
            seconds = f"{self.limits.body_timeout:g}"
            self._refuse(
                ProviderError(f"the request body did not arrive within {seconds}s", status=408)
            )
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head waits behind a response still being written: that is not
            # the client's slowness, so its deadline starts again.
            self._arm()
            return
        if self._messages == 0:
            self.transport.close()  # nothing was asked: an idle connection, closed quietly
            return
        seconds = f"{self.limits.header_timeout:g}"
        self._refuse(
            ProviderError(f"the request headers did not arrive within {seconds}s", status=408)
        )

    def _head_size(self) -> int:
        """The request target and header fields as parsed (": " and CRLF counted)."""
        return len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)

    def _too_large(self) -> ProviderError:
        limit = self.limits.max_header_bytes
        return ProviderError(f"request headers are larger than the {limit}-byte limit", status=431)

    def on_response_complete(self) -> None:
        """An answer given before the request's body was read (a 413 for an oversized
        upload): the rest of the body will never be read, so the connection ends here,
        cleanly (``_linger``) — not kept alive to time out later with an unsolicited 408."""
        if self._phase == _BODY and not self.transport.is_closing():
            self.server_state.total_requests += 1
            self._disarm()
            self._linger()
            return
        if self._deferred is not None and not self.pipeline and not self.transport.is_closing():
            self.server_state.total_requests += 1
            error, self._deferred = self._deferred, None
            self._answer(error)  # the request the parser refused, after those before it
            return
        super().on_response_complete()

    # -- answering --------------------------------------------------------------------------

    def _refuse(self, error: ProviderError) -> None:
        """Answer ``error`` (if the connection may still carry an answer) and close."""
        self._disarm()
        self._refusal = error
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if self._phase == _BODY and cycle is not None:
            if cycle.response_started:
                self.transport.close()  # the app answered or is answering: only close
                return
            # The app is waiting for the body: it sees a disconnect, and whatever it sends
            # afterwards is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        elif cycle is not None and not cycle.response_complete:
            # Behind a response still being written (bytes the parser rejected after a
            # complete request, read in the same packet): that response goes out first, and
            # any pipelined before this, then this answer (:meth:`on_response_complete`).
            self._deferred = error
            return
        self._answer(error)

    def _answer(self, error: ProviderError) -> None:
        """Write ``error`` in the client's envelope with ``connection: close``, then linger."""
        request_id = new_request_id()
        path = getattr(self, "url", b"").decode("latin-1")
        status, body, headers = render_for_path(path, error, request_id)
        headers = {**headers, "x-scalegate-request-id": request_id}
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode()]
        head.extend(f"{k}: {v}\r\n".encode("latin-1") for k, v in headers.items())
        head.append(b"content-type: application/json\r\n")
        head.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join(head) + body)
        self._linger()

    def _linger(self) -> None:
        """Close after the answer, but not on a client still sending: closing a socket with
        unread data resets it, and the reset can destroy the answer before it is read. So
        stop writing, read and drop what still comes for up to ``LINGER_SECONDS`` (or until
        the client's own close), then close."""
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self.flow.resume_reading()
        self._timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config`` / ``uvicorn.run`` (everything but the app,
    host and port), from the ``server:`` section."""
    server = settings.server
    return {
        "loop": "uvloop",
        "http": functools.partial(GuardedProtocol, limits=ConnectionLimits.from_config(server)),
        "ws": "none",  # no WebSocket routes: upgrade requests are plain HTTP requests
        "lifespan": "on",
        "access_log": False,
        "log_config": None,
        "server_header": False,
        # x-forwarded-proto / -for only from a proxy the operator says sets them (and
        # clients cannot): the dashboard cookie's Secure flag and client addresses follow.
        "proxy_headers": server.trust_forwarded_proto,
        "forwarded_allow_ips": "*" if server.trust_forwarded_proto else None,
        "timeout_keep_alive": server.keep_alive_seconds,
        "timeout_graceful_shutdown": int(server.graceful_shutdown_seconds),
        "backlog": 4096,
    }
