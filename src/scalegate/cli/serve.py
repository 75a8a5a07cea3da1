"""``scalegate serve`` and ``scalegate simulate``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from types import FrameType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scalegate.config import Settings, load_settings
from scalegate.errors import ConfigError

if TYPE_CHECKING:
    import uvicorn

    from scalegate.gateway import Gateway

_LOCAL = {"127.0.0.1", "localhost", "0.0.0.0", "::", "::1"}  # noqa: S104 - names, not binds


def check_not_self(settings: Settings, host: str, port: int) -> None:
    """Refuse an upstream that is the gateway's own listen address (a request loop)."""
    if settings.simulated:
        return
    url = urlsplit(settings.upstream.base_url)
    up_port = url.port or (443 if url.scheme == "https" else 80)
    same_host = url.hostname == host or (url.hostname in _LOCAL and host in _LOCAL)
    if same_host and up_port == port:
        raise ConfigError(
            f"upstream base_url {settings.upstream.base_url} is this gateway's own address "
            f"({host}:{port}); it would proxy to itself"
        )


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from scalegate.app import create_app
    from scalegate.process import raise_open_files_limit, tune_gc
    from scalegate.server import uvicorn_options

    overrides = {}
    if args.upstream:
        overrides["upstream.base_url"] = args.upstream
    settings = load_settings(args.config, **overrides)
    check_not_self(settings, args.host, args.port)
    if args.workers > 1:
        return _serve_processes(args, settings)
    app = create_app(settings, reload=lambda: load_settings(args.config, **overrides))
    config = uvicorn.Config(app, host=args.host, port=args.port, **uvicorn_options(settings))
    # uvicorn drains on SIGTERM, then re-raises the signal so the process dies of it (status
    # 143). A completed drain is a clean exit: this handler, which uvicorn restores after
    # its own, turns that re-raise (or a SIGTERM before uvicorn took over) into exit 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    raise_open_files_limit()
    tune_gc()
    draining_server(config, app.state.gateway).run()
    return 0


def draining_server(config: uvicorn.Config, gateway: Gateway) -> uvicorn.Server:
    """uvicorn's server, telling the gateway the moment a shutdown signal arrives."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            with contextlib.suppress(RuntimeError):  # no running loop yet: nothing to drain
                asyncio.get_running_loop().call_soon(gateway.begin_shutdown)

    return Server(config)


def _serve_processes(args: argparse.Namespace, settings: Settings) -> int:
    """``--workers N``: N processes on one port, sharing every limit through Redis.

    Python gives a process one core; several processes multiply throughput, and shared mode
    keeps them one gateway: quotas, breakers, quarantines and caches live in Redis.
    """
    import os

    if not settings.redis_url:
        raise ConfigError(
            f"--workers {args.workers} needs shared mode: set REDIS_URL (or redis_url in the "
            "configuration) so the processes enforce one set of key limits, not one each"
        )
    if settings.simulated:
        raise ConfigError(
            "--workers needs upstream keys: each process would otherwise start its own "
            "simulated provider"
        )
    # The worker processes build their settings the same way, from the same sources.
    if args.config:
        os.environ["SCALEGATE_CONFIG"] = args.config
    if args.upstream:
        os.environ["ANTHROPIC_BASE_URL"] = args.upstream
    os.environ["SCALEGATE_LOG_LEVEL"] = args.log_level
    os.environ["SCALEGATE_LOG_FORMAT"] = args.log_format
    signal.signal(signal.SIGTERM, _exit_cleanly)
    # Metrics of all the processes in one scrape: prometheus_client's multiprocess files.
    from scalegate.observe.multiprocess import prepared_dir

    with prepared_dir():
        _run_processes(args, settings)
    return 0


def _run_processes(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from scalegate.server import uvicorn_options

    uvicorn.run(
        "scalegate.app:app_from_environment",
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
        **uvicorn_options(settings),
    )


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _simulate(args: argparse.Namespace) -> int:
    from scalegate.simulator import SimulatorConfig, load_simulator_config, run_simulator

    # Without a file, any key is welcome (with the provider's entry-tier limits): a
    # simulator that refuses every key would be of no use to anyone.
    config = load_simulator_config(args.config) if args.config else None
    if config is None:
        config = SimulatorConfig(accept_unknown_keys=True)
    run_simulator(config, args.host, args.port)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--config", help="YAML configuration file (or SCALEGATE_CONFIG)")
    serve.add_argument("--upstream", help="provider base URL (overrides the file)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (requires REDIS_URL: limits are shared through it)",
    )
    serve.set_defaults(func=_serve)

    simulate = sub.add_parser("simulate", help="run the simulated Anthropic provider")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=8090)
    simulate.add_argument("--config", help="simulator YAML/JSON configuration")
    simulate.set_defaults(func=_simulate)
