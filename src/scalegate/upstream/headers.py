"""Which headers cross the gateway, in each direction (DESIGN §12, Forwarding)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Never forwarded upstream: hop-by-hop, the client's own credentials, what aiohttp sets
# itself, and the gateway's own control headers.
_DROP_UPSTREAM = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-authenticate",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "accept-encoding",
        "authorization",
        "x-api-key",
        "cookie",
        "expect",
    }
)
_OWN_PREFIX = "x-scalegate-"

# Never returned to the client: hop-by-hop, what the server sets itself, and anything that
# describes the pool key rather than the request (rate-limit state, its organisation).
_DROP_DOWNSTREAM = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "date",
        "server",
        "set-cookie",
        "retry-after",
        "retry-after-ms",
        "anthropic-organization-id",
        "x-should-retry",
        "via",
        "alt-svc",
    }
)
_RATELIMIT_PREFIX = "anthropic-ratelimit-"


# What each header name seen so far becomes (its lower-case form, or "" when it does not
# cross): the same few names arrive on every request and answer. Bounded: past
# _NAMES_SEEN names, new ones are decided each time instead.
_NAMES_SEEN = 1024
_UPSTREAM_NAMES: dict[bytes, str] = {}
_DOWNSTREAM_NAMES: dict[str, str] = {}


def _upstream_name(name_b: bytes) -> str:
    name = name_b.decode("latin-1").lower()
    crosses = not (name in _DROP_UPSTREAM or name.startswith(_OWN_PREFIX))
    if len(_UPSTREAM_NAMES) < _NAMES_SEEN:
        _UPSTREAM_NAMES[name_b] = name if crosses else ""
    return name if crosses else ""


def _downstream_name(name: str) -> str:
    lower = name.lower()
    crosses = not (lower in _DROP_DOWNSTREAM or lower.startswith(_RATELIMIT_PREFIX))
    if len(_DOWNSTREAM_NAMES) < _NAMES_SEEN:
        _DOWNSTREAM_NAMES[name] = lower if crosses else ""
    return lower if crosses else ""


def forward_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """The client's headers that go upstream, unchanged (``anthropic-version``, betas, …)."""
    out: list[tuple[str, str]] = []
    known = _UPSTREAM_NAMES
    for name_b, value_b in raw:
        name = known.get(name_b)
        if name is None:
            name = _upstream_name(name_b)
        if name:
            out.append((name, value_b.decode("latin-1")))
    return out


def with_credentials(headers: list[tuple[str, str]], secret: str, bearer: bool) -> dict[str, str]:
    """``headers`` plus the pool key, in the same style the client used."""
    out = dict(headers)
    if bearer:
        out["authorization"] = f"Bearer {secret}"
    else:
        out["x-api-key"] = secret
    return out


def response_headers(upstream: Mapping[str, str]) -> list[tuple[str, str]]:
    """The provider's response headers that go back to the client."""
    out: list[tuple[str, str]] = []
    known = _DOWNSTREAM_NAMES
    for name, value in upstream.items():
        lower = known.get(name)
        if lower is None:
            lower = _downstream_name(name)
        if lower:
            out.append((lower, value))
    return out
