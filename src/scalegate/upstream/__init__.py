"""Provider clients and the header rules for talking to them."""

from scalegate.upstream.client import UpstreamClient, UpstreamConnectionError, UpstreamResponse
from scalegate.upstream.headers import forward_headers, response_headers

__all__ = [
    "UpstreamClient",
    "UpstreamConnectionError",
    "UpstreamResponse",
    "forward_headers",
    "response_headers",
]
