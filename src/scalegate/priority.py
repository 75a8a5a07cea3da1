"""Request priority: CRITICAL, HIGH, NORMAL, LOW (lower rank is served first)."""

from __future__ import annotations

import enum


class Priority(enum.IntEnum):
    """Strict priority levels; the integer value is the rank (0 is served first)."""

    CRITICAL = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3

    @classmethod
    def parse(cls, value: str) -> Priority:
        """Parse a case-insensitive name; raises ``ValueError`` naming the allowed values."""
        try:
            return cls[value.strip().upper()]
        except KeyError:
            allowed = ", ".join(p.name.lower() for p in cls)
            raise ValueError(f"priority must be one of {allowed}, got {value!r}") from None

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def may_use_critical_keys(self) -> bool:
        """Keys of class ``critical`` are reserved for CRITICAL and HIGH traffic."""
        return self <= Priority.HIGH
