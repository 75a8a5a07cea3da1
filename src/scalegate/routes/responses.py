"""``POST /v1/responses``: the OpenAI Responses API, translated, through the one path.

The same edges as ``/v1/chat/completions`` (:mod:`scalegate.routes.openai`): tenant auth,
``x-scalegate-*`` control headers, the body limit, the OpenAI error envelope for every
error; the body is translated by :mod:`scalegate.openai.responses` and served by
:meth:`Pipeline.serve <scalegate.pipeline.Pipeline.serve>` like any other call — caches,
tenant rules, admission, retries and settlement included. Streams are translated event by
event into the Responses event sequence as they arrive.
"""

from __future__ import annotations

from typing import Any

from scalegate.openai.responses import (
    ResponsesStreamTranslator,
    translate_message_to_response,
    translate_responses_request,
)
from scalegate.routes.openai import OpenAIEndpoint, Translated


class ResponsesEndpoint(OpenAIEndpoint):
    """``POST /v1/responses`` (plain and streaming)."""

    route = "responses"

    def translate(self, body: dict[str, Any], version: str) -> Translated:
        tr = translate_responses_request(body, version)
        return Translated(
            tr.payload,
            tr.model,
            tr.max_tokens,
            tr.stream,
            tuple(tr.dropped),
            lambda doc: translate_message_to_response(doc, tr),
            lambda: ResponsesStreamTranslator(tr),
        )
