"""State backends: ``memory://`` (one process) or ``redis://…`` (shared by replicas).

Each stateful subsystem states what it needs as a ``Protocol`` beside its memory
implementation; :func:`backend_from_url` decides which family to build, and the Redis
implementations share one connection pool (:class:`RedisBackend`). Every Redis key starts with
``scalegate:<subsystem>:`` (:mod:`scalegate.state.names`); every multi-step update is one Lua
script shipped as a ``.lua`` file (:mod:`scalegate.state.scripts`).
"""

from scalegate.state.backend import Backend, MemoryBackend, RedisBackend, backend_from_url

__all__ = ["Backend", "MemoryBackend", "RedisBackend", "backend_from_url"]
