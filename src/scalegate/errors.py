"""Errors scalegate raises, and the one renderer that turns them into the provider's envelope.

The tree::

    ScalegateError
    ├── ConfigError                  bad configuration; the CLI prints it and exits 2
    ├── StateBackendError            a state store (Redis) failed; the caller applies its policy
    └── ProviderError                anything a client sees as an HTTP error
        ├── InvalidRequestError      400 invalid_request_error
        │   └── UnadmittableError    400: no key could ever admit this request
        ├── AuthenticationError      401 authentication_error
        ├── PermissionError_         403 permission_error
        ├── NotFoundError            404 not_found_error
        ├── RequestTooLargeError     413 request_too_large
        ├── BillingError             402 billing_error (a tenant's budget is spent)
        ├── RateLimitError           429 rate_limit_error (carries retry-after)
        │   └── TenantRateLimited    429: over the tenant's own limit
        ├── ApiError                 500 api_error
        ├── OverloadedError          529 overloaded_error (carries retry-after)
        └── UpstreamFailure          the provider's own error, passed on as it came

Every route and middleware renders a ``ProviderError`` with :func:`render_error`, so a client
always gets ``{"type": "error", "error": {"type": …, "message": …}, "request_id": …}`` with
the matching status and a ``request-id`` header, exactly as the provider would answer.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping

import orjson

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "request_too_large",
    415: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type_for(status: int) -> str:
    """The provider's error type for an HTTP status."""
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "invalid_request_error" if status < 500 else "api_error"


class ScalegateError(Exception):
    """Root of every error scalegate raises on purpose."""


class ConfigError(ScalegateError):
    """The configuration is invalid; the message names the offending field."""


class StateBackendError(ScalegateError):
    """A shared state backend (Redis) could not be reached or answered wrongly."""


class ProviderError(ScalegateError):
    """An error a client receives, in the provider's own envelope."""

    status: int = 500

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        should_retry: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.retry_after = retry_after
        self.should_retry = should_retry
        self.extra_headers = headers or {}

    @property
    def error_type(self) -> str:
        return error_type_for(self.status)


class InvalidRequestError(ProviderError):
    status = 400


class UnadmittableError(InvalidRequestError):
    """The request needs more than any eligible key's per-minute capacity: waiting cannot help."""

    def __init__(self, message: str) -> None:
        super().__init__(message, should_retry=False)


class AuthenticationError(ProviderError):
    status = 401


class PermissionError_(ProviderError):
    status = 403


class NotFoundError(ProviderError):
    status = 404


class RequestTooLargeError(ProviderError):
    """The body is over the limit (the server then closes the connection cleanly: the rest
    of the body was never read; see ``scalegate.server.GuardedProtocol``)."""

    status = 413


class RateLimitError(ProviderError):
    status = 429


class TenantRateLimited(RateLimitError):
    """Over the tenant's own limit (not the keys'): deferred work waits, a request gets 429."""


class BillingError(ProviderError):
    """A tenant's monthly budget is spent."""

    status = 402


class ApiError(ProviderError):
    status = 500


class OverloadedError(ProviderError):
    status = 529


class UpstreamFailure(ProviderError):
    """The provider answered with an error after every retry; its body is passed on verbatim."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"upstream error {status}", status=status, headers=headers)
        self.body = body


_BY_STATUS: dict[int, type[ProviderError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    402: BillingError,
    403: PermissionError_,
    404: NotFoundError,
    413: RequestTooLargeError,
    429: RateLimitError,
    500: ApiError,
    529: OverloadedError,
}


def error_from_reply(status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
    """The exception for an error answer in the provider's envelope (the provider's own or
    one the gateway passed on): its class by status, its message, its ``retry-after``."""
    message = ""
    with contextlib.suppress(orjson.JSONDecodeError):
        doc = orjson.loads(body)
        if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
            message = str(doc["error"].get("message") or "")
    retry_after = None
    with contextlib.suppress(KeyError, ValueError):
        retry_after = float(headers["retry-after"])
    cls = _BY_STATUS.get(status, ProviderError)
    return cls(message or f"upstream error {status}", status=status, retry_after=retry_after)


def retry_after_header(seconds: float) -> str:
    """``retry-after`` in whole seconds, rounded up so a client never comes back too early."""
    return str(max(1, math.ceil(seconds)))


def error_headers(error: ProviderError, request_id: str) -> dict[str, str]:
    headers = {"request-id": request_id, **error.extra_headers}
    if error.retry_after is not None:
        headers["retry-after"] = retry_after_header(error.retry_after)
    if error.should_retry is not None:
        headers["x-should-retry"] = "true" if error.should_retry else "false"
    return headers


def error_body(status: int, message: str, request_id: str, error_type: str | None = None) -> bytes:
    """The provider's error envelope as JSON bytes."""
    return orjson.dumps(
        {
            "type": "error",
            "error": {"type": error_type or error_type_for(status), "message": message},
            "request_id": request_id,
        }
    )


def render_error(error: ProviderError, request_id: str) -> tuple[int, bytes, dict[str, str]]:
    """Status, body and headers for ``error`` in the Anthropic envelope."""
    headers = error_headers(error, request_id)
    if isinstance(error, UpstreamFailure):
        return error.status, error.body, headers
    return (
        error.status,
        error_body(error.status, error.message, request_id, error.error_type),
        headers,
    )
