"""An OpenAI-compatible ``POST {base}/embeddings`` service as the embedder.

For users who already run an embeddings service (a hosted API, text-embeddings-inference,
vLLM, Ollama's OpenAI layer …). Spec: ``openai:https://host/v1;model=NAME;key=SECRET`` (put
the key in the YAML as ``${VAR}`` so it stays out of the file). Vectors are normalised here,
whatever the service returns. A failing service is a :class:`StateBackendError`; the semantic
cache then answers a miss for that request (the exact cache and the upstream call go on).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import numpy as np

from scalegate.cache.embed.base import Vector, normalise
from scalegate.errors import ConfigError, StateBackendError

MAX_CHARS = 8000  # beyond this the service may truncate; refuse rather than embed half


class HttpEmbedder:
    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str = "text-embedding-3-small",
        *,
        api_key: str | None = None,
        dimensions: int = 1536,
        timeout: float = 10.0,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"cache.semantic.embedder: {base_url!r} is not an http(s) URL")
        self.url = base_url.rstrip("/") + "/embeddings"
        self.model = model
        self.api_key = api_key
        self.dimensions = dimensions
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_spec(cls, spec: str) -> HttpEmbedder:
        url, *params = spec.split(";")
        options: dict[str, str] = {}
        for param in params:
            name, sep, value = param.partition("=")
            if not sep or name.strip() not in ("model", "key", "dimensions"):
                raise ConfigError(f"cache.semantic.embedder: bad option {param!r}")
            options[name.strip()] = value.strip()
        dims = int(options["dimensions"]) if "dimensions" in options else 1536
        return cls(
            url.strip(),
            options.get("model", "text-embedding-3-small"),
            api_key=options.get("key"),
            dimensions=dims,
        )

    def fits(self, text: str) -> bool:
        return len(text) <= MAX_CHARS

    async def aembed(self, texts: list[str]) -> Vector:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        headers = {"content-type": "application/json"}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        body: dict[str, Any] = {"model": self.model, "input": texts}
        try:
            async with self._session.post(self.url, json=body, headers=headers) as resp:
                if resp.status != 200:
                    detail = (await resp.text())[:200]
                    raise StateBackendError(f"embeddings service answered {resp.status}: {detail}")
                doc = await resp.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise StateBackendError(f"embeddings service unreachable: {exc!r}") from exc
        try:
            rows = sorted(doc["data"], key=lambda d: d.get("index", 0))
            matrix = np.asarray([r["embedding"] for r in rows], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise StateBackendError("embeddings service answered an unexpected shape") from exc
        if matrix.shape != (len(texts), matrix.shape[1] if matrix.ndim == 2 else -1):
            raise StateBackendError("embeddings service answered the wrong number of vectors")
        self.dimensions = int(matrix.shape[1])
        return normalise(matrix)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
