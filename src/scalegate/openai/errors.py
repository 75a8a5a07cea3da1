"""The OpenAI error envelope for everything ``/v1/chat/completions`` and ``/v1/responses``
answer with (the Responses translation raises the same :class:`OpenAIRequestError`).

The body is ``{"error": {"message": …, "type": …, "param": …, "code": …}}`` — what the
``openai`` SDK parses into ``exc.body`` — with the *same status and headers* the Anthropic
route would send (``retry-after``, ``x-should-retry``, ``request-id``) plus ``x-request-id``,
which is where the OpenAI SDK reads ``exc.request_id`` from.

``type`` uses OpenAI's vocabulary, chosen by status (:func:`openai_error_type`). ``code`` says
more: for the gateway's own errors a fixed word per status (``rate_limit_exceeded``,
``overloaded``, …) or what :class:`OpenAIRequestError` names (``unsupported_parameter``,
``invalid_value``, …); for an error the provider answered, the provider's own error type
(``overloaded_error``, ``not_found_error``, …), so nothing it said is lost in translation.
"""

from __future__ import annotations

from typing import Any

import orjson

from scalegate.errors import (
    ERROR_TYPES,
    InvalidRequestError,
    ProviderError,
    UpstreamFailure,
    error_headers,
)

_TYPES: dict[int, str] = {
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    429: "rate_limit_error",
}
_GATEWAY_CODES: dict[int, str] = {
    401: "invalid_api_key",
    403: "permission_denied",
    404: "not_found",
    413: "request_too_large",
    429: "rate_limit_exceeded",
    502: "upstream_unreachable",
    504: "timeout",
    529: "overloaded",
}


def openai_error_type(status: int) -> str:
    """OpenAI's error ``type`` for an HTTP status (``server_error`` for every 5xx)."""
    if status in _TYPES:
        return _TYPES[status]
    return "server_error" if status >= 500 else "invalid_request_error"


class OpenAIRequestError(InvalidRequestError):
    """A 400 (by default) about one request field, with OpenAI's ``param`` and ``code``.

    ``param`` is the field's path as OpenAI writes it (``messages[2].tool_calls[0].id``).
    """

    def __init__(
        self, message: str, *, param: str | None = None, code: str | None = None, status: int = 400
    ) -> None:
        super().__init__(message, status=status)
        self.param = param
        self.code = code


def error_document(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """The envelope as a dict (also the payload of a mid-stream ``data:`` error frame)."""
    return {
        "error": {
            "message": message,
            "type": openai_error_type(status),
            "param": param,
            "code": code,
        }
    }


def from_anthropic(status: int, body: bytes) -> dict[str, Any]:
    """Translate the provider's error body (or a stream's ``error`` event) to the envelope.

    A body that is not the provider's envelope keeps a generic message; never raises.
    """
    message = f"upstream error {status}"
    code: str | None = None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        document = None
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict):
        if isinstance(error.get("message"), str) and error["message"]:
            message = error["message"]
        if isinstance(error.get("type"), str):
            code = error["type"]
    return error_document(status, message, code=code)


# The provider's error type → a status of that type (for errors that arrive mid-stream).
_STATUS_OF_TYPE = {error_type: status for status, error_type in ERROR_TYPES.items()}


def from_stream_error(data: bytes) -> dict[str, Any]:
    """The envelope for a stream's ``error`` event (typed by the provider's error type)."""
    status = 500
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        document = None
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict):
        status = _STATUS_OF_TYPE.get(str(error.get("type")), 500)
    return from_anthropic(status, data)


def render_openai_error(error: ProviderError, request_id: str) -> tuple[int, bytes, dict[str, str]]:
    """Status, body and headers for ``error`` in the OpenAI envelope."""
    headers = error_headers(error, request_id)
    headers["x-request-id"] = request_id
    if isinstance(error, UpstreamFailure):
        return error.status, orjson.dumps(from_anthropic(error.status, error.body)), headers
    if isinstance(error, OpenAIRequestError):
        document = error_document(error.status, error.message, param=error.param, code=error.code)
    else:
        document = error_document(
            error.status, error.message, code=_GATEWAY_CODES.get(error.status)
        )
    return error.status, orjson.dumps(document), headers
