"""The dashboard: its JSON behind the admin token, its session cookie, and the live page in a
real headless browser (Debian's chromium driven by Playwright).

The browser test logs in with the admin token, and after exactly N requests every number the
page shows (each sits in an element with ``data-field``/``data-value``) equals the document
``/api/monitoring/dashboard`` returned for that render; more traffic changes them without a
reload; the console stays free of errors. It takes a screenshot, and saves it as
``docs/dashboard.png`` when that file is missing or ``SCALEGATE_UPDATE_SCREENSHOT=1``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, gateway_settings, sim_config
from tests.helpers import messages_body, request
from tests.servers import ServerThread
from tests.test_metrics import ADMIN, LIMITS, TOKEN, job, post, scrape, value, wait_for

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "dashboard.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HAIKU = "claude-haiku-4-5"


@pytest.fixture
def gw(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
) -> ServerThread:
    sim = start_sim(sim_config({KEY_A: LIMITS, KEY_B: LIMITS}))
    keys = [
        {"secret": KEY_A, "name": "haiku-1", "models": ["claude-haiku-*"],
         "limits": {"rpm": 20, "itpm": 40_000, "otpm": 8_000}},
        {"secret": KEY_B, "name": "sonnet-1", "models": ["claude-sonnet-*"],
         "limits": {"rpm": 600, "itpm": 400_000, "otpm": 80_000}},
    ]  # fmt: skip
    settings = gateway_settings(
        sim.url,
        keys,
        admin_token=TOKEN,
        monitoring={"sample_seconds": 0.25},
        retry={"max_attempts": 2, "base_seconds": 0.01, "cap_seconds": 0.02},
    )
    return start_gateway(settings)


# -- without a browser ----------------------------------------------------------------------


def test_the_dashboard_data_needs_the_admin_token(
    gw: ServerThread, sim: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> None:
    assert request(gw.url, "GET", "/api/monitoring/dashboard").status == 401
    wrong = {"authorization": "Bearer not-the-token"}
    assert request(gw.url, "GET", "/api/monitoring/dashboard", headers=wrong).status == 401
    ok = request(gw.url, "GET", "/api/monitoring/dashboard", headers=ADMIN)
    assert ok.status == 200
    assert ok.headers["cache-control"] == "no-store"
    assert ok.json()["totals"]["requests"] == 0
    closed = start_gateway(gateway_settings(sim.url, [{"secret": KEY_A}]))  # no admin token
    assert request(closed.url, "GET", "/api/monitoring/dashboard", headers=ADMIN).status == 403
    session = request(closed.url, "GET", "/dashboard/session").json()
    assert session == {"authenticated": False, "admin_enabled": False}


def test_the_session_cookie(gw: ServerThread) -> None:
    assert request(gw.url, "GET", "/dashboard/session").json()["authenticated"] is False
    bad = request(gw.url, "POST", "/dashboard/session", {"token": "guess"})
    assert bad.status == 401
    assert "set-cookie" not in bad.headers
    assert request(gw.url, "POST", "/dashboard/session", b"not json").status == 400
    good = request(gw.url, "POST", "/dashboard/session", {"token": TOKEN})
    assert good.status == 204
    cookie = good.headers["set-cookie"]
    assert cookie.startswith("scalegate_session=")
    sid = cookie.split(";")[0].partition("=")[2]
    assert TOKEN not in cookie  # an opaque id, not the admin token
    assert len(sid) >= 40
    for flag in ("HttpOnly", "SameSite=strict", "Path=/", "Max-Age=43200"):
        assert flag.lower() in cookie.lower(), flag
    assert "secure" not in cookie.lower()  # plain http, no trusted proxy
    jar = {"cookie": cookie.split(";")[0]}
    assert request(gw.url, "GET", "/dashboard/session", headers=jar).json()["authenticated"]
    assert request(gw.url, "GET", "/api/monitoring/dashboard", headers=jar).status == 200
    out = request(gw.url, "DELETE", "/dashboard/session", headers=jar)
    assert out.status == 204
    assert (
        'scalegate_session=""' in out.headers["set-cookie"]
        or "Max-Age=0" in out.headers["set-cookie"]
    )
    # Revoked server-side: the old cookie no longer opens anything.
    assert request(gw.url, "GET", "/api/monitoring/dashboard", headers=jar).status == 401
    assert not request(gw.url, "GET", "/dashboard/session", headers=jar).json()["authenticated"]


def test_failed_sign_ins_are_bounded(gw: ServerThread) -> None:
    answers = [
        request(gw.url, "POST", "/dashboard/session", {"token": f"guess-{i}"}).status
        for i in range(12)
    ]
    assert answers == [401] * 10 + [429] * 2  # server.admin_login_max_failures = 10
    refused = request(gw.url, "POST", "/dashboard/session", {"token": TOKEN})
    assert refused.status == 429  # even the right token waits out the window
    assert int(refused.headers["retry-after"]) > 0


def test_the_cookie_is_secure_behind_a_trusted_tls_proxy(
    start_gateway: Callable[[Settings], ServerThread],
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
) -> None:
    sim = start_sim(sim_config({KEY_A: LIMITS}))
    keys = [{"secret": KEY_A, "limits": {"rpm": 100}}]
    trusting = start_gateway(
        gateway_settings(sim.url, keys, admin_token=TOKEN, server__trust_forwarded_proto=True)
    )
    proxied = {"x-forwarded-proto": "https"}
    good = request(trusting.url, "POST", "/dashboard/session", {"token": TOKEN}, proxied)
    assert "secure" in good.headers["set-cookie"].lower()
    plain = start_gateway(gateway_settings(sim.url, keys, admin_token=TOKEN))
    spoofed = request(plain.url, "POST", "/dashboard/session", {"token": TOKEN}, proxied)
    assert "secure" not in spoofed.headers["set-cookie"].lower()  # not trusted by default


def test_the_page_and_its_assets_work_offline(gw: ServerThread) -> None:
    page = request(gw.url, "GET", "/dashboard")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    html = page.body.decode()
    referenced = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert referenced, "the page loads its scripts and styles"
    for ref in referenced:
        assert ref.startswith("/dashboard/static/") or ref == "data:,", ref
        if ref.startswith("/"):
            asset = request(gw.url, "GET", ref)
            assert asset.status == 200, ref
            assert "content-security-policy" in asset.headers
            text = asset.body.decode()
            # Nothing is fetched from elsewhere (uPlot names the SVG namespace and, in its
            # licence banner, its project page: no more).
            urls = set(re.findall(r"https?://[\w./-]+", text)) - {
                "http://www.w3.org/2000/svg",
                "https://github.com/leeoniya/uPlot",
            }
            assert not urls, (ref, urls)
    assert request(gw.url, "GET", "/dashboard/static/../../app.py").status == 404
    assert request(gw.url, "GET", "/dashboard/static/secret.txt").status == 404


# -- in a browser ---------------------------------------------------------------------------


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail(
            "chromium is not installed: run `bash scripts/extras-observe.sh` (make test does)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: run `bash scripts/extras-observe.sh`")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def lookup(doc: Any, path: str) -> Any:
    """The page's own path rule: a list of keys is addressed by each key's fingerprint."""
    node = doc
    for part in path.split("."):
        if node is None:
            return None
        node = (
            next((k for k in node if k.get("key") == part), None)
            if isinstance(node, list)
            else node.get(part)
        )
    return node


def traffic(url: str) -> int:
    """A mix of answers; returns how many requests were sent to counted routes."""
    sent = 0
    for i in range(16):  # the haiku key to 80 % of its 20 requests a minute: alerts
        assert post(url, messages_body(f"haiku {i}", model=HAIKU)).status == 200
        sent += 1
    for i in range(6):
        assert post(url, messages_body(f"sonnet {i}")).status == 200
        sent += 1
    for _ in range(2):
        assert post(url, messages_body("streamed", stream=True)).status == 200
        sent += 1
    for _ in range(2):
        assert post(url, messages_body("cached"), **{"x-scalegate-cache": "exact"}).status == 200
        sent += 1
    assert post(url, {**messages_body(), "max_tokens": "lots"}).status == 400
    assert post(url, messages_body(), **{"x-sim-fault": "529"}).status == 529  # two attempts
    for i in range(2):
        job(url, messages_body(f"a job {i}"))
    wait_for(lambda: value(scrape(url), "scalegate_jobs_total", outcome="completed") == 2)
    return sent + 4


def test_the_live_page_shows_the_dashboard_document(
    gw: ServerThread, browser: Any, tmp_path: Path
) -> None:
    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)  # fmt: skip
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))

    n = traffic(gw.url)
    page.goto(gw.url + "/dashboard")
    page.wait_for_selector("#login-form", state="visible")
    assert page.is_hidden("#app")
    page.fill("#token", TOKEN)
    with page.expect_response(lambda r: r.url.endswith("/api/monitoring/dashboard")) as first:
        page.click("#login-form button[type=submit]")
    assert first.value.status == 200
    doc = render_of_next_poll(page)

    assert doc["totals"]["requests"] == n
    assert page.text_content("[data-field='totals.requests']") == str(n)
    compare_page_with(page, doc)
    independent = request(gw.url, "GET", "/api/monitoring/dashboard", headers=ADMIN).json()
    for stable in ("totals", "alerts", "cache", "queue", "admission"):
        assert independent[stable] == doc[stable], stable
    assert {a["threshold"] for a in doc["alerts"]["recent"]} == {0.7}
    assert page.locator("#alerts li").count() == 1
    assert page.locator("#keys tbody tr").count() == 2

    for _ in range(5):
        assert post(gw.url, messages_body("more")).status == 200
        time.sleep(0.15)
    page.wait_for_function(
        "n => document.querySelector(\"[data-field='totals.requests']\").textContent === String(n)",
        arg=n + 5,
        timeout=10_000,
    )
    later = render_of_next_poll(page)
    assert later["totals"]["requests"] == n + 5
    assert later["totals"]["by_status"]["200"] == doc["totals"]["by_status"]["200"] + 5
    compare_page_with(page, later)
    assert len(later["history"]["t"]) > len(doc["history"]["t"])

    # docs/dashboard.png is rewritten when missing or asked for, not on every run (a
    # tracked file would change with each test run).
    update = not SCREENSHOT.exists() or os.environ.get("SCALEGATE_UPDATE_SCREENSHOT") == "1"
    shot = SCREENSHOT if update else tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    assert problems == []
    page.close()


def render_of_next_poll(page: Any) -> dict[str, Any]:
    """The next document the page fetches, once the page has drawn it."""
    with page.expect_response(
        lambda r: r.url.endswith("/api/monitoring/dashboard"), timeout=10_000
    ) as polled:
        pass
    doc: dict[str, Any] = polled.value.json()
    page.wait_for_function(
        "at => document.body.dataset.generatedAt === String(at)",
        arg=doc["generated_at"],
        timeout=10_000,
    )
    return doc


def compare_page_with(page: Any, doc: dict[str, Any]) -> None:
    shown = page.eval_on_selector_all(
        "[data-field]", "els => els.map(e => [e.dataset.field, e.dataset.value])"
    )
    assert len(shown) > 60  # tiles, keys and their limits, tables
    mismatched = [
        (field, json.loads(value), lookup(doc, field))
        for field, value in shown
        if json.loads(value) != lookup(doc, field)
    ]
    assert not mismatched, mismatched[:10]
