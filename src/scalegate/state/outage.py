"""One outage policy for every shared-state subsystem, applied by one wrapper.

A state store (Redis) that fails raises :class:`~scalegate.errors.StateBackendError` at its
own boundary. What a request then gets is not decided at each call site but here, per
subsystem, from the configuration (``shared.*``):

==========  ==========================================================================
subsystem   while its store is unreachable
==========  ==========================================================================
keys        ``shared.on_redis_failure``: ``fail_closed`` → 529 with ``retry-after``;
            ``fail_open`` → each replica on a marked local share (``ResilientKeyStore``)
tenants     ``shared.tenants_on_failure`` (default: as keys): ``fail_closed`` → 529 with
            ``retry-after``; ``fail_open`` → admitted without the tenant's limits and
            budget (the spend of those calls is not recorded)
cache       bypass: a lookup is a miss, a store is skipped; the answer is never at risk
queue       submit → 529 with ``retry-after`` (nothing is accepted that was not stored);
            workers pause and resume by themselves
registry    the last key list read stays in force
sessions    dashboard sign-in and session checks answer 529 (the admin token still works)
==========  ==========================================================================

Every failure is counted in ``scalegate_state_outages_total{subsystem,action}`` and the
subsystem shows as degraded on health until its store answers again. Never a 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from scalegate.errors import OverloadedError, StateBackendError

logger = logging.getLogger(__name__)

T = TypeVar("T")
Subsystem = Literal["keys", "tenants", "cache", "queue", "registry", "sessions"]
SUBSYSTEMS: tuple[Subsystem, ...] = ("keys", "tenants", "cache", "queue", "registry", "sessions")
Action = Literal["fail_closed", "fail_open", "bypass", "keep_last", "pause"]


@dataclass(slots=True)
class Down:
    since: float  # wall clock of the first failure of this outage
    error: str  # the latest failure, for health


@dataclass
class Outages:
    """The declared policy per subsystem, what happened under it, and the wrapper."""

    policies: dict[Subsystem, Action]
    retry_after: float = 5.0
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    down: dict[Subsystem, Down] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls,
        on_redis_failure: Literal["fail_closed", "fail_open"] = "fail_closed",
        tenants_on_failure: Literal["fail_closed", "fail_open"] | None = None,
        retry_after: float = 5.0,
    ) -> Outages:
        return cls(
            {
                "keys": on_redis_failure,
                "tenants": tenants_on_failure or on_redis_failure,
                "cache": "bypass",
                "queue": "fail_closed",
                "registry": "keep_last",
                "sessions": "fail_closed",
            },
            retry_after,
        )

    def failed(self, subsystem: Subsystem, exc: BaseException) -> Action:
        """Note a failure of ``subsystem``'s store; return the action its policy takes."""
        action = self.policies[subsystem]
        slot = (subsystem, action)
        self.counts[slot] = self.counts.get(slot, 0) + 1
        if subsystem not in self.down:
            logger.warning(
                "%s state unavailable (%s): policy %s",
                subsystem,
                exc,
                action,
                extra={"event": "state_outage", "subsystem": subsystem},
            )
            self.down[subsystem] = Down(time.time(), str(exc))
        else:
            self.down[subsystem].error = str(exc)
        return action

    def recovered(self, subsystem: Subsystem) -> None:
        if self.down.pop(subsystem, None) is not None:
            logger.info(
                "%s state available again",
                subsystem,
                extra={"event": "state_recovered", "subsystem": subsystem},
            )

    def refusal(self, subsystem: Subsystem) -> OverloadedError:
        """The fail-closed answer: 529 with an honest ``retry-after``."""
        return OverloadedError(
            f"the gateway's shared state ({subsystem}) is unavailable; try again shortly",
            retry_after=self.retry_after,
        )

    async def guard(
        self,
        subsystem: Subsystem,
        op: Callable[[], Awaitable[T]],
        fallback: Callable[[], T] | None = None,
    ) -> T:
        """Run ``op``; on a store failure apply ``subsystem``'s policy: its ``fallback``
        value when the policy lets the call go on without the store, else a 529."""
        try:
            result = await op()
        except StateBackendError as exc:
            action = self.failed(subsystem, exc)
            if fallback is not None and action != "fail_closed":
                return fallback()
            raise self.refusal(subsystem) from exc
        if self.down:
            self.recovered(subsystem)
        return result

    def health(self) -> dict[str, dict[str, str]]:
        """Each subsystem that is down now, with its policy and the latest error."""
        return {
            name: {
                "status": "degraded",
                "detail": f"store unavailable since {_utc(d.since)}; "
                f"policy {self.policies[name]}: {d.error}",
            }
            for name, d in self.down.items()
        }


def _utc(wall: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(wall))
