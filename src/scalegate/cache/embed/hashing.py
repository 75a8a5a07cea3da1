"""A hashing embedder: words, word pairs and character trigrams hashed into a fixed vector.

**Lexical near-duplicates only.** It measures shared surface text, not meaning: a question
reworded with other words scores low, while two prompts that share almost every word but
differ in what matters ("100 F to C" / "100 C to F", "is" / "is not") score *higher* than true
paraphrases (measured, TOOLING-NOTES). It needs no model and is deterministic across
processes (blake2b, not Python's salted ``hash``), which makes it useful for tests and for
catching copy-paste repeats behind the near-miss guard.
"""

from __future__ import annotations

import hashlib
import itertools
import re

import numpy as np

from scalegate.cache.embed.base import Vector, normalise

_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    name = "hashing"
    default_dimensions = 512

    def __init__(self, dimensions: int = default_dimensions) -> None:
        if dimensions < 16:
            raise ValueError("dimensions must be at least 16")
        self.dimensions = dimensions

    def fits(self, text: str) -> bool:
        return True

    def _features(self, text: str) -> list[tuple[str, float]]:
        words = _WORD.findall(text.lower())
        feats: list[tuple[str, float]] = [("w:" + w, 1.0) for w in words]
        feats += [("b:" + a + " " + b, 0.7) for a, b in itertools.pairwise(words)]
        joined = " ".join(words)
        feats += [("c:" + joined[i : i + 3], 0.3) for i in range(max(0, len(joined) - 2))]
        return feats

    def embed(self, texts: list[str]) -> Vector:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, weight in self._features(text):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                sign = 1.0 if value & 1 else -1.0
                out[row, (value >> 1) % self.dimensions] += sign * weight
        return normalise(out)
