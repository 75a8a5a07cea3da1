"""Which fault, if any, a request suffers: forced by ``x-sim-fault`` or rolled from the rates.

Rolling: every request draws one number from the seeded RNG per fault applicable to it, in
a fixed order (500, 529, 429, drop, overloaded_first*, overloaded_midstream*, slow; * stream
only), and the first draw below its rate wins — so a given seed and request sequence always
fails the same way. ``drop_connection_rate`` drops a non-streaming request before any
response and a streaming one mid-stream. The rates are the key's own where
``faults.by_key`` names it (one key failing while the others answer), else the shared ones.

Timing relative to rate limiting (see :data:`EARLY`): 500, 529, injected 429, drop and
overloaded_first are decided after auth and validation and *before* the rate-limit check,
so they take no quota. overloaded_midstream, drop_midstream and slow happen to an admitted
request: it passes the rate limiter as usual and is charged for the output actually sent.
For a non-streaming request, ``overloaded_first``/``overloaded_midstream`` become a 529 and
``drop_midstream`` a drop, which is what such a failure looks like without a stream.
"""

from __future__ import annotations

import random
from enum import StrEnum

from scalegate.errors import InvalidRequestError
from scalegate.simulator.config import FaultConfig


class Fault(StrEnum):
    ERROR_500 = "500"
    ERROR_529 = "529"
    ERROR_429 = "429"
    OVERLOADED_FIRST = "overloaded_first"
    OVERLOADED_MIDSTREAM = "overloaded_midstream"
    DROP = "drop"
    DROP_MIDSTREAM = "drop_midstream"
    SLOW = "slow"

    @property
    def kind(self) -> str:
        """The ``kind`` recorded in stats events."""
        return f"injected_{self.value}"


#: Faults decided before the rate-limit check; they consume no quota.
EARLY = frozenset(
    {Fault.ERROR_500, Fault.ERROR_529, Fault.ERROR_429, Fault.DROP, Fault.OVERLOADED_FIRST}
)

_WITHOUT_STREAM = {
    Fault.OVERLOADED_FIRST: Fault.ERROR_529,
    Fault.OVERLOADED_MIDSTREAM: Fault.ERROR_529,
    Fault.DROP_MIDSTREAM: Fault.DROP,
}


def forced_fault(header: str | None, *, stream: bool) -> Fault | None:
    """The fault an ``x-sim-fault`` header asks for (400 if it names none)."""
    if header is None:
        return None
    try:
        fault = Fault(header.strip().lower())
    except ValueError:
        choices = "|".join(f.value for f in Fault)
        raise InvalidRequestError(f"x-sim-fault: unknown fault {header!r} ({choices})") from None
    return fault if stream else _WITHOUT_STREAM.get(fault, fault)


class FaultRoller:
    """The seeded RNG behind fault rates."""

    def __init__(self, seed: int) -> None:
        # Reproducibility, not secrecy, is the point of this generator.
        self._rng = random.Random(seed)  # noqa: S311 - seeded fault rolls, not cryptography

    def roll(self, rates: FaultConfig, *, stream: bool) -> Fault | None:
        draws: list[tuple[Fault, float]] = [
            (Fault.ERROR_500, rates.error_500_rate),
            (Fault.ERROR_529, rates.error_529_rate),
            (Fault.ERROR_429, rates.error_429_rate),
            (Fault.DROP_MIDSTREAM if stream else Fault.DROP, rates.drop_connection_rate),
        ]
        if stream:
            draws += [
                (Fault.OVERLOADED_FIRST, rates.overloaded_first_rate),
                (Fault.OVERLOADED_MIDSTREAM, rates.overloaded_midstream_rate),
            ]
        draws.append((Fault.SLOW, rates.slow_stream_rate))
        chosen: Fault | None = None
        for fault, rate in draws:
            if self._rng.random() < rate and chosen is None:
                chosen = fault
        return chosen
