"""The admin API: closed without a token, constant-time token check, keys disable/enable."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from scalegate.config import Settings
from scalegate.keys import fingerprint
from tests.conftest import KEY_A, KEY_B, gateway_settings
from tests.helpers import OLD_STYLE, messages_body, request
from tests.servers import ServerThread

TOKEN = "admin-token-for-tests"


def test_admin_is_closed_without_a_configured_token(gateway: ServerThread) -> None:
    resp = request(gateway.url, "GET", "/admin/keys", headers={"authorization": "Bearer x"})
    assert resp.status == 403
    assert resp.json()["error"]["type"] == "permission_error"


def test_disable_and_enable_a_key(
    sim: object, start_gateway: Callable[[Settings], ServerThread]
) -> None:
    gw = start_gateway(
        gateway_settings(
            sim.url,  # type: ignore[attr-defined]  # the fixture's object is typed loosely
            [{"secret": KEY_A}, {"secret": KEY_B}],
            admin_token=TOKEN,
        )
    )
    auth = {"authorization": f"Bearer {TOKEN}"}
    assert request(gw.url, "GET", "/admin/keys").status == 401
    assert (
        request(gw.url, "GET", "/admin/keys", headers={"authorization": "Bearer no"}).status == 401
    )
    keys = request(gw.url, "GET", "/admin/keys", headers=auth).json()["keys"]
    assert {k["key"] for k in keys} == {fingerprint(KEY_A), fingerprint(KEY_B)}
    assert KEY_A not in str(keys)

    fp = fingerprint(KEY_A)
    assert request(gw.url, "POST", f"/admin/keys/{fp}/disable", headers=auth).status == 200
    used = {
        request(gw.url, "POST", "/v1/messages", messages_body(), dict(OLD_STYLE)).headers[
            "x-scalegate-key"
        ]
        for _ in range(6)
    }
    assert used == {fingerprint(KEY_B)}
    assert request(gw.url, "POST", f"/admin/keys/{fp}/enable", headers=auth).status == 200
    used = {
        request(gw.url, "POST", "/v1/messages", messages_body(), dict(OLD_STYLE)).headers[
            "x-scalegate-key"
        ]
        for _ in range(6)
    }
    assert fp in used
    missing = request(gw.url, "POST", "/admin/keys/key-00000000/disable", headers=auth)
    assert missing.status == 404

    # The CLI does the same over HTTP.
    env = {**os.environ, "SCALEGATE_URL": gw.url, "SCALEGATE_ADMIN_TOKEN": TOKEN}
    out = subprocess.run(
        [sys.executable, "-m", "scalegate.cli", "keys", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert fingerprint(KEY_A) in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "scalegate.cli", "keys", "disable", "key-nope"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad.returncode == 1
    assert "404" in bad.stderr
    assert "Traceback" not in bad.stderr
