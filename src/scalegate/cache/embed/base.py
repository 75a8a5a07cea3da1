"""What every embedder is: text in, unit-length float32 rows out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """A blocking embedder: call :meth:`embed` from a worker thread, not the event loop."""

    name: str
    dimensions: int

    def fits(self, text: str) -> bool:
        """Whether ``text`` is embedded whole (not truncated)."""
        ...

    def embed(self, texts: list[str]) -> Vector:
        """One unit-length float32 row per text."""
        ...


@runtime_checkable
class AsyncEmbedder(Protocol):
    """An embedder the event loop awaits (an HTTP service, or a blocking one in a thread)."""

    name: str
    dimensions: int

    def fits(self, text: str) -> bool: ...

    async def aembed(self, texts: list[str]) -> Vector: ...

    async def aclose(self) -> None: ...


def normalise(rows: Vector) -> Vector:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    out: Vector = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return out
