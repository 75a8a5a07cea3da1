"""Response caches (DESIGN §7): an exact cache and a semantic cache, both usable alone.

* :class:`ExactCache` — answers under a hash of the whole canonical request
  (:mod:`scalegate.cache.keys`), LRU bounded by entries and bytes, TTL, namespace versions;
  memory (:class:`MemoryExactStore`) or Redis (:class:`RedisExactStore`).
* :class:`SemanticCache` — answers shared between prompts whose embeddings are within the
  threshold and that the near-miss guard (:mod:`scalegate.cache.guard`) does not tell apart;
  embedders in :mod:`scalegate.cache.embed`, indexes in memory (numpy, usearch past 20k
  entries a partition) or Redis with the search module (:class:`RedisSemanticStore`).
* :func:`with_cache`, :func:`with_semantic_cache` — decorators for any async function.
* :class:`CacheService` — what the gateway holds: the per-request policy
  (:mod:`scalegate.cache.policy`), lookup before admission, store after a complete answer.
"""

from scalegate.cache.embed import (
    BatchingEmbedder,
    Embedder,
    HashingEmbedder,
    HttpEmbedder,
    MiniLMEmbedder,
    embedder_from_spec,
)
from scalegate.cache.exact import ExactCache
from scalegate.cache.guard import near_miss_reason
from scalegate.cache.helpers import with_cache, with_semantic_cache
from scalegate.cache.keys import Namespace, exact_key, semantic_prompt
from scalegate.cache.redis_semantic import RedisSemanticStore
from scalegate.cache.redis_store import RedisExactStore
from scalegate.cache.semantic import SemanticCache, SemanticLookup
from scalegate.cache.semantic_store import MemorySemanticStore, SemanticStore
from scalegate.cache.service import CacheService
from scalegate.cache.store import Bounds, ExactStore, MemoryExactStore

__all__ = [
    "BatchingEmbedder",
    "Bounds",
    "CacheService",
    "Embedder",
    "ExactCache",
    "ExactStore",
    "HashingEmbedder",
    "HttpEmbedder",
    "MemoryExactStore",
    "MemorySemanticStore",
    "MiniLMEmbedder",
    "Namespace",
    "RedisExactStore",
    "RedisSemanticStore",
    "SemanticCache",
    "SemanticLookup",
    "SemanticStore",
    "embedder_from_spec",
    "exact_key",
    "near_miss_reason",
    "semantic_prompt",
    "with_cache",
    "with_semantic_cache",
]
