"""The gateway's own capacity: calls in flight upstream and open streams, per process.

LLM traffic is thousands of answers that each stay open for seconds to minutes. When the
gateway itself is the limit — every upstream connection in use, or as many open streams as
the operator sized the process for (``server.max_open_streams``, memory per stream is in
docs/deployment.md) — a new call is answered at once with ``529 overloaded_error`` and a
``retry-after``: it is the gateway that is full, not the provider's quota, so it is never a
``429 rate_limit_error``. LOW traffic is shed first: each priority may fill the capacity
only up to its share (LOW 80 %, NORMAL 90 %, HIGH 97 %, CRITICAL all of it), so the last
slots are kept for the traffic that matters most. Counted by reason for metrics and health.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from scalegate.errors import OverloadedError
from scalegate.priority import Priority

SHARE = {
    Priority.LOW: 0.80,
    Priority.NORMAL: 0.90,
    Priority.HIGH: 0.97,
    Priority.CRITICAL: 1.0,
}
_LEAST_SHARE = min(SHARE.values())
RETRY_AFTER = 2.0


class GatewayCapacity:
    """Counts this process's calls in flight and open streams; refuses past the limits."""

    def __init__(self, max_calls: int, max_streams: int) -> None:
        self.max_calls = max_calls
        self.max_streams = max_streams
        self.calls = 0  # calls holding (or waiting for) an upstream connection
        self.streams = 0  # of which streamed answers
        self.refused: dict[str, int] = {"upstream_connections": 0, "open_streams": 0}

    def _check(self, priority: Priority, stream: bool) -> None:
        share = SHARE.get(priority, 0.9)
        if self.calls >= self.max_calls * share:
            self.refused["upstream_connections"] += 1
            raise OverloadedError(
                f"the gateway is at its capacity of {self.max_calls} upstream calls in "
                "flight (upstream.max_connections); try again shortly",
                retry_after=RETRY_AFTER,
            )
        if stream and self.streams >= self.max_streams * share:
            self.refused["open_streams"] += 1
            raise OverloadedError(
                f"the gateway is at its capacity of {self.max_streams} open streams "
                "(server.max_open_streams); try again shortly",
                retry_after=RETRY_AFTER,
            )

    def take(self, priority: Priority, stream: bool) -> None:
        """Hold one call (and one open stream when ``stream``) until :meth:`give_back`;
        ``OverloadedError`` (529) at once when this priority's share is used up."""
        least = _LEAST_SHARE
        if self.calls >= self.max_calls * least or (
            stream and self.streams >= self.max_streams * least
        ):
            self._check(priority, stream)  # below every share nothing can be refused
        self.calls += 1
        if stream:
            self.streams += 1

    def give_back(self, stream: bool) -> None:
        self.calls -= 1
        if stream:
            self.streams -= 1

    @contextlib.contextmanager
    def hold(self, priority: Priority, stream: bool) -> Iterator[None]:
        """:meth:`take` for the length of a ``with`` block."""
        self.take(priority, stream)
        try:
            yield
        finally:
            self.give_back(stream)

    def utilisation(self) -> float:
        """The fuller of the two, 0..1."""
        return max(self.calls / self.max_calls, self.streams / self.max_streams)
