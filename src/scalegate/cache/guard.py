"""The near-miss guard, now the verifier in :mod:`scalegate.cache.verify`.

Kept so that ``from scalegate.cache.guard import near_miss_reason`` (the package's public
API re-exports it) goes on working; the word lists it used to be made of are gone — see
:mod:`scalegate.cache.verify` for what decides now.
"""

from scalegate.cache.verify import near_miss_reason

__all__ = ["near_miss_reason"]
