"""Embedders: text in, unit vectors out (DESIGN §7).

Three implementations of :class:`Embedder`:

* :class:`MiniLMEmbedder` — all-MiniLM-L6-v2 run with numpy (the default, ``minilm``);
* :class:`HttpEmbedder` — any OpenAI-compatible ``/v1/embeddings`` service (``openai:URL``);
* :class:`HashingEmbedder` — feature hashing of words and character trigrams (``hashing``):
  **lexical near-duplicates only**. It scores "100 F to C" and "100 C to F" as identical and a
  reworded question as distant; use it for tests or for catching copy-paste repeats, never as
  a paraphrase detector.

:func:`embedder_from_spec` builds one from the ``cache.semantic.embedder`` setting.
"""

from __future__ import annotations

from scalegate.cache.embed.base import AsyncEmbedder, Embedder, Vector
from scalegate.cache.embed.batching import BatchingEmbedder
from scalegate.cache.embed.hashing import HashingEmbedder
from scalegate.cache.embed.http import HttpEmbedder
from scalegate.cache.embed.minilm import MiniLMEmbedder
from scalegate.errors import ConfigError


def embedder_from_spec(spec: str) -> AsyncEmbedder:
    """Build an embedder from ``cache.semantic.embedder``.

    ``minilm`` | ``minilm:/dir`` | ``hashing`` | ``hashing:DIMS`` |
    ``openai:URL[;model=M][;key=K][;dimensions=N]``.
    """
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "minilm":
        return BatchingEmbedder(MiniLMEmbedder(arg or None))
    if kind == "hashing":
        try:
            dims = int(arg) if arg else HashingEmbedder.default_dimensions
        except ValueError:
            raise ConfigError(f"cache.semantic.embedder: bad dimensions in {spec!r}") from None
        return BatchingEmbedder(HashingEmbedder(dims), threaded=False)
    if kind == "openai":
        return HttpEmbedder.from_spec(arg)
    raise ConfigError(
        f"cache.semantic.embedder: unknown embedder {spec!r} (minilm, hashing or openai:URL)"
    )


__all__ = [
    "AsyncEmbedder",
    "BatchingEmbedder",
    "Embedder",
    "HashingEmbedder",
    "HttpEmbedder",
    "MiniLMEmbedder",
    "Vector",
    "embedder_from_spec",
]
