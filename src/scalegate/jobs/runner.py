"""Running one job: the same pipeline as ``POST /v1/messages``, and what its outcome means.

=====================================================  ==========================================
the pipeline's answer                                   the job
=====================================================  ==========================================
2xx with a Message                                      COMPLETED, the Message stored
a 4xx that is the request's fault (400, 404, 413, …)    FAILED, the provider's error stored
refused by its tenant's policy (403 model, 402 budget)  FAILED, the provider-shaped error
over its tenant's rate limit (429 from the tenant)      deferred until the limit has room,
                                                        not counted as an attempt
429 / 529 / 5xx / 401-403 on every key, after the       retried with backoff, DEAD after
pipeline's own retries; no key within the wait;         ``queue.max_attempts``
a timeout; an unexpected error
=====================================================  ==========================================

Caching applies as on ``POST /v1/messages`` with the tenant's (or the gateway's) cache mode
(a job keeps no ``x-scalegate-*`` header): a hit completes the job without a key, and a
completed job's answer is stored for the next identical request or job.

A runner never raises for a bad job; the pool treats an exception like a retryable failure
anyway, so a poison job ends in the dead-letter set instead of crashing a worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from scalegate.call import Call
from scalegate.config import QueueConfig
from scalegate.errors import ProviderError, TenantRateLimited, error_type_for
from scalegate.jobs.model import Job, error_doc
from scalegate.pipeline import Pipeline
from scalegate.retry import RETRYABLE, classify_status
from scalegate.validation import validate_messages


@dataclass(slots=True)
class Outcome:
    kind: Literal["completed", "failed", "retry", "defer"]
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    retry_after: float | None = None  # the provider's or the pool's hint, in seconds

    @classmethod
    def failed(cls, status: int, message: str, error_type: str | None = None) -> Outcome:
        return cls("failed", error=error_doc(status, error_type or error_type_for(status), message))

    @classmethod
    def retry(
        cls, status: int, message: str, retry_after: float | None = None, error_type: str = ""
    ) -> Outcome:
        doc = error_doc(status, error_type or error_type_for(status), message)
        return cls("retry", error=doc, retry_after=retry_after)

    @classmethod
    def defer(cls, message: str, retry_after: float | None) -> Outcome:
        """Not a failure: come back when the tenant's limit has room (the attempt is not
        counted toward ``queue.max_attempts``)."""
        doc = error_doc(429, "rate_limit_error", message)
        return cls("defer", error=doc, retry_after=retry_after)


Runner = Callable[[Job], Awaitable[Outcome]]


def is_retryable(status: int) -> bool:
    return classify_status(status) in RETRYABLE


def _error_from_body(status: int, body: bytes) -> tuple[str, str]:
    try:
        doc = orjson.loads(body)
        error = doc["error"]
        return str(error["type"]), str(error["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return error_type_for(status), f"upstream error {status}"


class PipelineRunner:
    """Runs a job's request through :meth:`Pipeline.serve <scalegate.pipeline.Pipeline.serve>`
    as the principal the job was created by (stored on the job, so a ``scalegate worker``
    in another process applies the same tenant rules)."""

    def __init__(self, pipeline: Pipeline, config: QueueConfig) -> None:
        self.pipeline = pipeline
        self.config = config

    async def __call__(self, job: Job) -> Outcome:
        version = job.headers.get("anthropic-version", "2023-06-01")
        try:
            principal = self.pipeline.tenants.named(job.tenant)
            req = validate_messages(orjson.dumps(job.payload), version)
        except ProviderError as exc:  # 403: its tenant is gone; 400: not a valid request
            return Outcome.failed(exc.status, exc.message, exc.error_type)
        headers = [(k, v) for k, v in job.headers.items() if k != "content-type"]
        headers.append(("content-type", "application/json"))
        ctx = self.pipeline.new_context(
            principal, job.priority, self.config.job_wait_seconds, headers
        )
        try:
            async with asyncio.timeout(self.config.job_timeout_seconds):
                async with self.pipeline.serve(Call(ctx, req, job.headers)) as answer:
                    assert answer.reply is not None
                    reply = answer.reply
        except TimeoutError:
            return Outcome.retry(
                504, f"the attempt took longer than {self.config.job_timeout_seconds:g}s"
            )
        except TenantRateLimited as exc:  # deferred work: wait for the tenant's room
            if exc.should_retry is False:  # larger than the limit itself: never fits
                return Outcome.failed(exc.status, exc.message, exc.error_type)
            return Outcome.defer(exc.message, exc.retry_after)
        except ProviderError as exc:  # the gateway's own answer: 4xx but 429 is the job's fault
            if exc.status == 429 or exc.status >= 500:
                return Outcome.retry(exc.status, exc.message, exc.retry_after, exc.error_type)
            return Outcome.failed(exc.status, exc.message, exc.error_type)
        if reply.status < 300:
            return Outcome("completed", result=orjson.loads(reply.body))
        error_type, message = _error_from_body(reply.status, reply.body)
        if is_retryable(reply.status):
            return Outcome.retry(reply.status, message, None, error_type)
        return Outcome.failed(reply.status, message, error_type)
