"""Quota alerts: crossing 70 / 85 / 95 % of any key limit, reported once per crossing."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)

THRESHOLDS = (0.70, 0.85, 0.95)


@dataclass(frozen=True, slots=True)
class QuotaAlert:
    key: str  # fingerprint
    limit: str  # rpm, rph, rpd, itpm, otpm
    threshold: float
    ratio: float
    at: float  # wall-clock seconds

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "limit": self.limit,
            "threshold": self.threshold,
            "ratio": round(self.ratio, 4),
            "at": self.at,
        }


class AlertTracker:
    """Remembers the highest threshold each (key, limit) has crossed.

    A crossing upward is reported once; the level re-arms when the ratio falls ``hysteresis``
    below a threshold, so a limit hovering at 85 % does not log on every request.
    """

    def __init__(
        self,
        thresholds: tuple[float, ...] = THRESHOLDS,
        hysteresis: float = 0.05,
        history: int = 500,
        listeners: Sequence[Callable[[QuotaAlert], None]] = (),
    ) -> None:
        self.thresholds = thresholds
        self._lowest = min(thresholds, default=float("inf"))
        self.hysteresis = hysteresis
        self._level: dict[tuple[str, str], int] = {}
        self.recent: deque[QuotaAlert] = deque(maxlen=history)
        self.listeners: list[Callable[[QuotaAlert], None]] = list(listeners)
        self.fired_total = 0

    def observe(self, key: str, limit: str, ratio: float, wall_now: float) -> None:
        slot = (key, limit)
        level = self._level.get(slot, 0)
        if not level and ratio < self._lowest:
            return  # below every threshold, and nothing to re-arm (the common case)
        while level > 0 and ratio < self.thresholds[level - 1] - self.hysteresis:
            level -= 1
        crossed = level
        while crossed < len(self.thresholds) and ratio >= self.thresholds[crossed]:
            crossed += 1
        if crossed > level:
            alert = QuotaAlert(key, limit, self.thresholds[crossed - 1], ratio, wall_now)
            self.recent.append(alert)
            self.fired_total += 1
            logger.warning(
                "quota alert: key %s %s at %.0f%% (threshold %.0f%%)",
                key,
                limit,
                ratio * 100,
                alert.threshold * 100,
                extra={"event": "quota_alert", **alert.as_dict()},
            )
            for listener in self.listeners:
                listener(alert)
        self._level[slot] = crossed

    def level(self, key: str, limit: str) -> float | None:
        """The highest threshold currently crossed, if any."""
        idx = self._level.get((key, limit), 0)
        return self.thresholds[idx - 1] if idx else None

    def forget(self, key: str) -> None:
        for slot in [s for s in self._level if s[0] == key]:
            del self._level[slot]
