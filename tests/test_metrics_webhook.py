"""Quota alerts to a webhook: delivered, retried on failure, never slowing a request."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, gateway_settings, sim_config
from tests.helpers import messages_body
from tests.servers import ServerThread
from tests.test_metrics import LIMITS, post, scrape, value, wait_for


class Receiver:
    """A local HTTP server that answers each POST with the next status of ``statuses``."""

    def __init__(self, statuses: list[int], delay: float = 0.0) -> None:
        self.bodies: list[dict[str, object]] = []
        self.attempts = 0
        self.arrived = 0  # deliveries received, answered or not
        self.gate = threading.Event()  # deliveries are held until it is set
        self.gate.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.arrived += 1
                receiver.gate.wait(timeout=60)
                time.sleep(delay)
                status = statuses[min(receiver.attempts, len(statuses) - 1)]
                receiver.attempts += 1
                if status == 200:
                    receiver.bodies.append(json.loads(body))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/quota"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(statuses: list[int], delay: float = 0.0) -> Receiver:
        receiver = Receiver(statuses, delay)
        receiver.thread.start()
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


def alerting_gateway(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    url: str,
) -> ServerThread:
    sim = start_sim(sim_config({KEY_A: LIMITS}))
    keys = [{"secret": KEY_A, "limits": {"rpm": 20}}]
    alerts = {"webhook_url": url, "webhook_retry_base_seconds": 0.01, "webhook_max_attempts": 3}
    return start_gateway(gateway_settings(sim.url, keys, alerts=alerts))


def test_alerts_are_posted_and_a_failed_delivery_is_retried(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    receivers: Callable[..., Receiver],
) -> None:
    hook = receivers([500, 200])  # the first delivery fails once, then everything succeeds
    gw = alerting_gateway(start_sim, start_gateway, hook.url)
    for _ in range(20):
        assert post(gw.url, messages_body()).status == 200
    wait_for(lambda: len(hook.bodies) == 3)
    assert hook.attempts == 4
    assert [b["threshold"] for b in hook.bodies] == [0.7, 0.85, 0.95]
    first = hook.bodies[0]
    assert first["type"] == "quota_alert"
    assert first["limit"] == "rpm"
    assert str(first["key"]).startswith("key-")
    assert "rpm at" in str(first["text"])
    assert KEY_A[8:20] not in json.dumps(hook.bodies)
    m = scrape(gw.url)
    assert value(m, "scalegate_alert_webhook_deliveries_total", outcome="sent") == 3
    assert value(m, "scalegate_alert_webhook_deliveries_total", outcome="failed") == 0


def test_a_slow_or_failing_webhook_never_slows_requests(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    receivers: Callable[..., Receiver],
) -> None:
    hook = receivers([503])  # never accepts
    hook.gate.clear()  # and holds every delivery until released
    gw = alerting_gateway(start_sim, start_gateway, hook.url)
    statuses = [post(gw.url, messages_body()).status for _ in range(20)]
    # Every request was answered while the first alert's delivery was still held at the
    # webhook: no request waited for a delivery (an invariant, not a time bound).
    assert statuses == [200] * 20
    wait_for(lambda: hook.arrived >= 1, timeout=30)
    assert hook.attempts == 0
    hook.gate.set()
    m = wait_for(
        lambda: (
            (s := scrape(gw.url))
            and value(s, "scalegate_alert_webhook_deliveries_total", outcome="failed") == 3
            and s
        ),
        timeout=30,
    )
    assert value(m, "scalegate_alert_webhook_deliveries_total", outcome="sent") == 0
    assert hook.attempts == 9  # three attempts for each of the three alerts
