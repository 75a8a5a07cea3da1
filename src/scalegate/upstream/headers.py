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


def forward_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """The client's headers that go upstream, unchanged (``anthropic-version``, betas, …)."""
    out: list[tuple[str, str]] = []
    for name_b, value_b in raw:
        name = name_b.decode("latin-1").lower()
        if name in _DROP_UPSTREAM or name.startswith(_OWN_PREFIX):
            continue
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
    for name, value in upstream.items():
        lower = name.lower()
        if lower in _DROP_DOWNSTREAM or lower.startswith(_RATELIMIT_PREFIX):
            continue
        out.append((lower, value))
    return out
