"""Jobs and batches as data: states, ids, the ready-queue score, and the wire shapes.

A job is one Messages request run asynchronously (DESIGN §8). Its life::

    PENDING ──lease──► PROCESSING ──► COMPLETED            (the Message is stored)
       ▲  ▲                 │ ├─────► FAILED               (a non-retryable error, e.g. 400)
       │  └──retry (delay)──┤ ├─────► DEAD                 (retries exhausted: dead-letter set)
       │  └──release/lease expired┘
       └──────────── requeue (from DEAD or FAILED)
    PENDING or PROCESSING ──cancel──► CANCELED

Times are integer milliseconds of wall time (the injected clock's ``time()``), so every
process sharing a Redis agrees on them. Ids sort by creation within one process (time, then a
counter), which makes the ready set FIFO among equal scores even under a frozen test clock.
"""

from __future__ import annotations

import enum
import itertools
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from scalegate.priority import Priority


class JobState(enum.StrEnum):
    PENDING = "PENDING"  # ready, or waiting in the delayed set for a retry
    PROCESSING = "PROCESSING"  # leased by a worker
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"  # a non-retryable error such as an invalid request
    DEAD = "DEAD"  # retries exhausted; in the dead-letter set until requeued
    CANCELED = "CANCELED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.DEAD, JobState.CANCELED})

_counter = itertools.count()


def new_id(prefix: str, now_ms: int) -> str:
    """``<prefix>`` + 12 hex of milliseconds + 6 hex of a process counter + 8 random hex."""
    return f"{prefix}{now_ms:012x}{next(_counter) & 0xFFFFFF:06x}{secrets.token_hex(4)}"


# CRITICAL jobs score below every other job whatever their age (aging never lifts a job
# above HIGH); the offset keeps every score an exact integer in a double.
_CRITICAL_OFFSET = 4 * 10**15


def ready_score(priority: Priority, enqueued_ms: int, aging_ms: int) -> float:
    """The ready-set score: lower is leased first.

    Strict priority with bounded aging as *virtual time*: a job of rank ``r`` (HIGH 1,
    NORMAL 2, LOW 3) scores ``enqueued + (r - 1) · aging``, so after waiting ``aging`` it
    competes exactly like a job one level higher enqueued at that moment, and after waiting
    ``(r - 1) · aging`` like a HIGH one — never higher: CRITICAL jobs score below all of
    them. Among jobs enqueued within ``aging`` of each other the order is strictly by
    priority, then FIFO. Scores never change while a job waits, so aging costs nothing.
    """
    if priority is Priority.CRITICAL:
        return float(enqueued_ms - _CRITICAL_OFFSET)
    return float(enqueued_ms + (int(priority) - 1) * aging_ms)


def effective_priority(score: float, now_ms: int, aging_ms: int) -> Priority:
    """The level a waiting job competes at now (for depth-by-priority statistics)."""
    if score < 0:
        return Priority.CRITICAL
    if score <= now_ms:
        return Priority.HIGH
    if score <= now_ms + aging_ms:
        return Priority.NORMAL
    return Priority.LOW


def iso(ms: int | None) -> str | None:
    """RFC 3339 with milliseconds, as the provider writes its timestamps."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(slots=True)
class Job:
    """One queued Messages request and everything known about its progress."""

    id: str
    tenant: str | None
    priority: Priority
    payload: dict[str, Any]
    created_at: int
    state: JobState = JobState.PENDING
    attempts: int = 0
    max_attempts: int = 3
    updated_at: int = 0
    enqueued_at: int = 0  # when it last entered the queue (aging, wait time)
    ready_at: int = 0  # when it last became ready (wait-time statistics)
    score: float = 0.0
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    callback_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # forwarded upstream
    batch_id: str | None = None
    custom_id: str | None = None
    owner: str | None = None  # the worker holding (or last holding) the lease
    callback_status: str | None = None

    def public(self) -> dict[str, Any]:
        """The ``GET /v1/jobs/{id}`` document (DESIGN §10)."""
        doc: dict[str, Any] = {
            "id": self.id,
            "type": "job",
            "state": self.state.value,
            "priority": self.priority.label,
            "attempts": self.attempts,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at or self.created_at),
            "result": self.result,
            "error": self.error,
        }
        if self.callback_url is not None:
            doc["callback_url"] = self.callback_url
            doc["callback_status"] = self.callback_status
        if self.batch_id is not None:
            doc["batch_id"] = self.batch_id
            doc["custom_id"] = self.custom_id
        return doc

    def inspect(self) -> dict[str, Any]:
        """Everything, for operators (``scalegate jobs inspect``): the public document plus
        the request, the owner and the queue bookkeeping."""
        return {
            **self.public(),
            "tenant": self.tenant,
            "max_attempts": self.max_attempts,
            "owner": self.owner,
            "enqueued_at": iso(self.enqueued_at),
            "request": self.payload,
        }

    # -- the flat form stored in a Redis hash ----------------------------------------------

    def to_fields(self) -> dict[str, str | bytes]:
        fields: dict[str, str | bytes] = {
            "id": self.id,
            "priority": str(int(self.priority)),
            "payload": orjson.dumps(self.payload),
            "created_at": str(self.created_at),
            "state": self.state.value,
            "attempts": str(self.attempts),
            "max_attempts": str(self.max_attempts),
            "updated_at": str(self.updated_at),
            "enqueued_at": str(self.enqueued_at),
            "ready_at": str(self.ready_at),
            "score": repr(self.score),
        }
        optional: dict[str, str | None] = {
            "tenant": self.tenant,
            "callback_url": self.callback_url,
            "batch": self.batch_id,
            "custom_id": self.custom_id,
            "owner": self.owner,
        }
        fields.update({k: v for k, v in optional.items() if v is not None})
        if self.headers:
            fields["headers"] = orjson.dumps(self.headers)
        if self.result is not None:
            fields["result"] = orjson.dumps(self.result)
        if self.error is not None:
            fields["error"] = orjson.dumps(self.error)
        return fields

    @classmethod
    def from_fields(cls, raw: dict[bytes, bytes] | dict[str, Any]) -> Job:
        f = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}

        def text(name: str) -> str | None:
            value = f.get(name)
            if value is None:
                return None
            return value.decode() if isinstance(value, bytes) else str(value)

        def number(name: str, default: int = 0) -> int:
            value = text(name)
            return int(value) if value else default

        def document(name: str) -> Any:
            value = f.get(name)
            return None if value is None or value == b"" else orjson.loads(value)

        return cls(
            id=text("id") or "",
            tenant=text("tenant"),
            priority=Priority(number("priority", int(Priority.NORMAL))),
            payload=document("payload") or {},
            created_at=number("created_at"),
            state=JobState(text("state") or "PENDING"),
            attempts=number("attempts"),
            max_attempts=number("max_attempts", 3),
            updated_at=number("updated_at"),
            enqueued_at=number("enqueued_at"),
            ready_at=number("ready_at"),
            score=float(text("score") or 0.0),
            result=document("result"),
            error=document("error"),
            callback_url=text("callback_url"),
            headers=document("headers") or {},
            batch_id=text("batch"),
            custom_id=text("custom_id"),
            owner=text("owner"),
            callback_status=text("callback_status"),
        )


def error_doc(status: int, error_type: str, message: str) -> dict[str, Any]:
    """A job's ``error``: the provider's error object plus the HTTP status it came with."""
    return {"type": error_type, "message": message, "status": status}


@dataclass(slots=True)
class Batch:
    """A Message Batch: a group of jobs created together, with live per-outcome counts.

    Counts are kept by the same atomic step that finishes each job, so they are exact at
    every moment; ``processing`` counts jobs not yet finished.
    """

    id: str
    tenant: str | None
    created_at: int
    expires_at: int
    total: int
    processing: int
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0
    ended_at: int | None = None
    cancel_initiated_at: int | None = None

    def processing_status(self) -> str:
        if self.processing <= 0:
            return "ended"
        return "canceling" if self.cancel_initiated_at is not None else "in_progress"

    def public(self, base_url: str) -> dict[str, Any]:
        """The provider's ``message_batch`` object; ``results_url`` once it has ended."""
        ended = self.processing_status() == "ended"
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": self.processing_status(),
            "request_counts": {
                "processing": max(self.processing, 0),
                "succeeded": self.succeeded,
                "errored": self.errored,
                "canceled": self.canceled,
                "expired": self.expired,
            },
            "ended_at": iso(self.ended_at) if ended else None,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "archived_at": None,
            "cancel_initiated_at": iso(self.cancel_initiated_at),
            "results_url": f"{base_url}/v1/messages/batches/{self.id}/results" if ended else None,
        }

    def to_fields(self) -> dict[str, str]:
        fields = {
            "id": self.id,
            "created_at": str(self.created_at),
            "expires_at": str(self.expires_at),
            "total": str(self.total),
            "processing": str(self.processing),
            "succeeded": str(self.succeeded),
            "errored": str(self.errored),
            "canceled": str(self.canceled),
            "expired": str(self.expired),
        }
        if self.tenant is not None:
            fields["tenant"] = self.tenant
        return fields

    @classmethod
    def from_fields(cls, raw: dict[bytes, bytes] | dict[str, Any]) -> Batch:
        f = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()
        }

        def opt(name: str) -> int | None:
            value = f.get(name)
            return int(value) if value not in (None, "") else None

        return cls(
            id=str(f["id"]),
            tenant=f.get("tenant"),
            created_at=int(f["created_at"]),
            expires_at=int(f["expires_at"]),
            total=int(f["total"]),
            processing=int(f["processing"]),
            succeeded=int(f.get("succeeded", 0)),
            errored=int(f.get("errored", 0)),
            canceled=int(f.get("canceled", 0)),
            expired=int(f.get("expired", 0)),
            ended_at=opt("ended_at"),
            cancel_initiated_at=opt("cancel_initiated_at"),
        )


# Which batch count a job's terminal state adds to.
BATCH_OUTCOME = {
    JobState.COMPLETED: "succeeded",
    JobState.FAILED: "errored",
    JobState.DEAD: "errored",
    JobState.CANCELED: "canceled",
}
