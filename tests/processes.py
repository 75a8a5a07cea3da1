"""Gateway replicas as real processes (``python -m scalegate.cli serve``) for shared-mode tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import request
from tests.redis_server import free_port


class GatewayProcess:
    """One ``scalegate serve`` process with its own YAML config on a free port."""

    def __init__(
        self,
        config: dict[str, Any],
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        global_args: list[str] | None = None,
    ) -> None:
        self.args = args or []  # after `serve`
        self.global_args = global_args or []  # before it (`--log-level debug`, …)
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="scalegate-gw-")
        self.config_path = Path(self._dir.name) / "gateway.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.log_path = Path(self._dir.name) / "gateway.log"
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ANTHROPIC", "SCALEGATE", "REDIS"))
        }
        self.env = {**clean, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> GatewayProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scalegate.cli",
                *self.global_args,
                "serve",
                "--port",
                str(self.port),
                "--config",
                str(self.config_path),
                *self.args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                if request(self.url, "GET", "/healthz", timeout=1).status == 200:
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"gateway did not start:\n{self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()
