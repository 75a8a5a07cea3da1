"""What makes two requests "the same": the exact key, the semantic partition, the namespace.

**Exact key** — SHA-256 over the canonical request: the parsed body with keys sorted
(``orjson.OPT_SORT_KEYS``), minus the fields that never change the answer, plus the request
headers that do. Every body field is in the key except:

* ``stream`` — a streamed answer serves a plain request and vice versa (the stored form is the
  final Message; a stream is replayed from it);
* ``metadata`` — ``metadata.user_id`` is for the provider's abuse tracking and does not change
  the output; keeping it would make caching useless across a tenant's end users. Isolation
  between groups of users is what ``x-scalegate-cache-namespace`` is for.

Everything else — model, system, messages, tools, tool_choice, max_tokens, temperature,
top_p, top_k, stop_sequences, thinking, and any field added to the API later — is part of
the key, so an unknown output-changing parameter can never be served a wrong answer. The
headers ``anthropic-version`` and ``anthropic-beta`` (its comma list, sorted) are too.
The namespace (tenant + sub-namespace) is added by the store, with its version.

**Semantic partition** — the same canonical request with the *last user turn's text* taken
out: two requests can only share an answer if everything but that text is identical (model,
system prompt, tools, the earlier turns, every output parameter, the headers above). The text
is what is embedded. Only plain-text last turns qualify (see :func:`semantic_prompt`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from scalegate.errors import InvalidRequestError

IGNORED_FIELDS = frozenset({"stream", "metadata"})
KEY_HEADERS = ("anthropic-version", "anthropic-beta")
DEFAULT_TENANT = "default"

_SUBNAMESPACE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Namespace:
    """Where entries live: a tenant, optionally narrowed by ``x-scalegate-cache-namespace``.

    Its string form is ``tenant`` or ``tenant/sub``. Invalidating ``tenant`` kills every
    sub-namespace of it too; invalidating ``tenant/sub`` kills only that one.
    """

    tenant: str = DEFAULT_TENANT
    sub: str | None = None

    def __str__(self) -> str:
        return self.tenant if self.sub is None else f"{self.tenant}/{self.sub}"

    @property
    def scopes(self) -> tuple[str, ...]:
        """The version scopes an entry depends on: the global epoch, tenant, sub-namespace."""
        if self.sub is None:
            return ("*", self.tenant, "")
        return ("*", self.tenant, str(self))

    @classmethod
    def parse(cls, text: str) -> Namespace:
        """``tenant`` or ``tenant/sub`` (for the admin API and the library)."""
        tenant, sep, sub = text.partition("/")
        if not _SUBNAMESPACE.match(tenant) or (sep and not _SUBNAMESPACE.match(sub)):
            raise ValueError(f"namespace {text!r}: expected tenant or tenant/sub ([A-Za-z0-9_.-])")
        return cls(tenant, sub if sep else None)

    @classmethod
    def for_request(cls, tenant: str | None, header: str | None) -> Namespace:
        """The request's namespace; a malformed header is a 400."""
        if header is None or header == "":
            return cls(tenant or DEFAULT_TENANT)
        if not _SUBNAMESPACE.match(header):
            raise InvalidRequestError(
                "x-scalegate-cache-namespace: 1 to 64 characters of A-Z a-z 0-9 _ . -"
            )
        return cls(tenant or DEFAULT_TENANT, header)


def _header_part(headers: Mapping[str, str]) -> list[str]:
    beta = headers.get("anthropic-beta")
    if beta:
        beta = ",".join(sorted(p.strip() for p in beta.split(",") if p.strip()))
    return [headers.get("anthropic-version") or "", beta or ""]


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(4, "little"))
        h.update(part)
    return h.hexdigest()


def canonical(payload: dict[str, Any], headers: Mapping[str, str]) -> bytes:
    """The bytes the exact key hashes (without the namespace)."""
    body = {k: v for k, v in payload.items() if k not in IGNORED_FIELDS}
    return orjson.dumps([body, _header_part(headers)], option=orjson.OPT_SORT_KEYS)


def exact_key(payload: dict[str, Any], headers: Mapping[str, str]) -> str:
    """Hex SHA-256 of :func:`canonical`."""
    return _digest(canonical(payload, headers))


@dataclass(frozen=True, slots=True)
class SemanticPrompt:
    """The text to embed and the partition its answer may be shared within."""

    text: str
    partition: str


def _text_of(content: Any) -> str | None:
    """The text of a user turn, or ``None`` when it holds anything but text blocks."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts = []
    for block in content:
        if not isinstance(block, dict) or block.get("type") != "text":
            return None  # images, documents, tool_result …: exact cache only
        if set(block) - {"type", "text", "cache_control"}:
            return None  # citations and other options: not a plain prompt
        text = block.get("text")
        if not isinstance(text, str):
            return None
        texts.append(text)
    return "\n".join(texts)


def semantic_prompt(payload: dict[str, Any], headers: Mapping[str, str]) -> SemanticPrompt | None:
    """What a semantic lookup embeds, or ``None`` when the request must not be matched loosely.

    Not eligible: a last message that is not the user's (a prefilled assistant turn), or
    whose content holds anything but text blocks — a ``tool_result`` (a tool-use turn: its
    answer depends on what the tool returned), images, documents; an empty prompt.
    """
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        return None
    text = _text_of(last.get("content"))
    if text is None or not text.strip():
        return None
    rest = {k: v for k, v in payload.items() if k not in IGNORED_FIELDS and k != "messages"}
    partition = _digest(
        orjson.dumps([rest, messages[:-1], _header_part(headers)], option=orjson.OPT_SORT_KEYS)
    )
    return SemanticPrompt(text.strip(), partition)
