"""The backend factory maps URLs to backends; Redis is a real server."""

from __future__ import annotations

import pytest
from redis.asyncio.connection import Connection
from redis.exceptions import DataError

from scalegate.errors import ConfigError, StateBackendError
from scalegate.state import MemoryBackend, RedisBackend, backend_from_url
from scalegate.state.backend import PackedConnection, redacted


def test_memory_is_the_default() -> None:
    assert isinstance(backend_from_url(None), MemoryBackend)
    assert isinstance(backend_from_url("memory://"), MemoryBackend)


def test_unknown_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unsupported scheme"):
        backend_from_url("mongodb://x")


async def test_redis_backend_pings(redis_url: str) -> None:
    backend = backend_from_url(redis_url)
    assert isinstance(backend, RedisBackend)
    await backend.start()
    assert await backend.client.set("scalegate:test:x", b"1")
    await backend.close()


async def test_unreachable_redis_is_a_typed_error() -> None:
    backend = backend_from_url("redis://:hunter2@127.0.0.1:1/0")
    with pytest.raises(StateBackendError) as info:
        await backend.start()
    assert "hunter2" not in str(info.value)
    await backend.close()


def test_passwords_are_redacted() -> None:
    assert redacted("redis://user:pw@h:1/0") == "redis://user:***@h:1/0"
    assert redacted("redis://h:1/0") == "redis://h:1/0"


@pytest.mark.parametrize(
    "args",
    [
        ("EVALSHA", "a" * 40, 3, "scalegate:keys:k", b"\x00\xffbin", 0.1 + 0.2, -1, 1e-7, "héllo"),
        ("CONFIG GET", "maxmemory"),
        (b"CLIENT SETNAME", b"x"),
        ("SET", "k", 12345678901234567890),
    ],
)
def test_packed_connection_sends_what_redis_py_would(args: tuple[object, ...]) -> None:
    ours = PackedConnection()
    theirs = Connection()
    assert b"".join(ours.pack_command(*args)) == b"".join(theirs.pack_command(*args))


def test_packed_connection_refuses_what_redis_py_refuses() -> None:
    with pytest.raises(DataError):
        PackedConnection().pack_command("SET", "k", True)
