"""The OpenAI chat completions protocol, translated to Anthropic Messages and back.

Pure functions and one small state machine, no I/O; ``scalegate.routes.openai`` wires them to
the pipeline. :func:`translate_request` (OpenAI body → Anthropic body),
:func:`translate_message` (Message → ``chat.completion``), :class:`ChunkTranslator` (stream
events → ``chat.completion.chunk`` frames) and :func:`render_openai_error` (any gateway error
→ the OpenAI envelope). Each module's docstring states its part of the policy; in short,
what does *not* translate (the Responses API, ``POST /v1/responses``, lives in
:mod:`scalegate.openai.responses` and shares these helpers):

============================================  ==========================================
OpenAI                                        what the gateway does
============================================  ==========================================
``n`` > 1                                     400 ``unsupported_parameter``
``logprobs: true``, ``top_logprobs`` > 0      400 (the provider returns no log probs)
``audio``, ``modalities`` ≠ ``["text"]``      400
``input_audio`` parts, ``file_id`` files      400 (``file_data`` PDFs translate)
``prediction``, ``web_search_options``        400
``frequency_penalty``/``presence_penalty``≠0  400
``logit_bias`` (non-empty)                    400
``functions``, ``function_call``, ``function``
role (deprecated)                             400: use ``tools`` / ``tool_choice`` / ``tool``
``reasoning_effort``, ``verbosity``           400 (send ``thinking`` via ``extra_body``)
``temperature`` > 1                           400 (provider range 0–1; no silent clamp)
``tool_choice: allowed_tools``, custom tools  400
``response_format`` json_schema, non-object   400 (the root must be ``type: object``)
unknown parameter                             400 ``Unrecognized request argument supplied``
``store``, ``metadata``, ``service_tier``,
``seed``, ``prompt_cache_key``                ignored
``strict`` (tools, json_schema), image
``detail``, message ``name``                  ignored
``json_object`` response format               a forced answer tool, schema ``{type: object}``
``temperature``/``top_p``/``top_k`` under
``anthropic-version`` ≥ 2026-10-21            dropped, named in ``x-scalegate-dropped-params``
============================================  ==========================================
"""

from __future__ import annotations

from scalegate.openai.errors import OpenAIRequestError, render_openai_error
from scalegate.openai.request import (
    DEFAULT_ANTHROPIC_VERSION,
    DEFAULT_MAX_TOKENS,
    Translation,
    translate_request,
)
from scalegate.openai.response import translate_message
from scalegate.openai.stream import ChunkTranslator

__all__ = [
    "DEFAULT_ANTHROPIC_VERSION",
    "DEFAULT_MAX_TOKENS",
    "ChunkTranslator",
    "OpenAIRequestError",
    "Translation",
    "render_openai_error",
    "translate_message",
    "translate_request",
]
