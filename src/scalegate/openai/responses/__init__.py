"""The OpenAI Responses API (``POST /v1/responses``), translated to Anthropic Messages and back.

Pure functions and one small state machine, no I/O, like :mod:`scalegate.openai` for chat
completions (whose helpers these share): :func:`translate_responses_request` (Responses
body → Anthropic body, and what the answer needs), :func:`translate_message_to_response`
(Message → ``response`` object) and :class:`ResponsesStreamTranslator` (stream events →
Responses stream events). Errors are :class:`~scalegate.openai.errors.OpenAIRequestError`,
rendered in OpenAI's envelope by :func:`~scalegate.openai.errors.render_openai_error`.

The gateway is stateless, so what needs OpenAI's stored state — ``previous_response_id``,
``conversation``, ``item_reference`` items, stored ``prompt``, ``background`` — is a 400
asking for the whole conversation in ``input``. Built-in tools (web search, file search,
computer use, …) and ``reasoning`` effort are 400s too; see :mod:`.request` for every
parameter's fate and :mod:`.items` for the input items.
"""

from __future__ import annotations

from scalegate.openai.responses.request import ResponsesTranslation, translate_responses_request
from scalegate.openai.responses.response import translate_message_to_response
from scalegate.openai.responses.stream import ResponsesStreamTranslator

__all__ = [
    "ResponsesStreamTranslator",
    "ResponsesTranslation",
    "translate_message_to_response",
    "translate_responses_request",
]
