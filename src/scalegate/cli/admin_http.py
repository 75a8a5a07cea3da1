"""The HTTP client behind the CLI's admin commands (``SCALEGATE_URL``, ``SCALEGATE_ADMIN_TOKEN``).

Admin commands talk to a running gateway over its admin API (DESIGN §12), so they act on the
live state of every replica that shares it rather than on a private copy.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from typing import Any

from scalegate.errors import ScalegateError


class AdminError(ScalegateError):
    """The gateway could not be reached or refused the admin request."""


def admin_request(method: str, path: str, body: Any = None, *, timeout: float = 30) -> Any:
    """Call the admin API; return the decoded JSON answer or raise :class:`AdminError`."""
    base = os.environ.get("SCALEGATE_URL", "http://127.0.0.1:8080").rstrip("/")
    token = os.environ.get("SCALEGATE_ADMIN_TOKEN", "")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310 - admin URL
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - admin URL
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        with contextlib.suppress(ValueError, KeyError, TypeError):
            detail = json.loads(detail)["error"]["message"]
        raise AdminError(f"{method} {path}: HTTP {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise AdminError(f"cannot reach the gateway at {base}: {exc}") from None
    return json.loads(raw) if raw else None


def print_json(doc: Any) -> None:
    print(json.dumps(doc, indent=2, sort_keys=True))
