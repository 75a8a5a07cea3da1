"""What a worker pool counts (:class:`PoolCounters`): jobs leased, task restarts, scaling
steps, attempts by outcome with their durations — read by metrics, health and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Durations:
    count: int = 0
    total: float = 0.0
    max: float = 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self.max = max(self.max, seconds)


@dataclass(slots=True)
class PoolCounters:
    leased: int = 0
    restarts: int = 0
    scale_ups: int = 0
    scale_downs: int = 0
    max_active: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    durations: dict[str, Durations] = field(default_factory=dict)

    def outcome(self, kind: str, seconds: float | None = None) -> None:
        self.outcomes[kind] = self.outcomes.get(kind, 0) + 1
        if seconds is not None:
            self.durations.setdefault(kind, Durations()).add(seconds)
