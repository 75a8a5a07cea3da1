"""What a request cost, from its usage and the price table (``prices`` in the configuration)."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from scalegate.config import DEFAULT_PRICES, ModelPrice


class PriceTable:
    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None) -> None:
        # Configured entries first: they win over the built-in list prices.
        self._table = [*(overrides or {}).items(), *DEFAULT_PRICES.items()]
        self._lookup = lru_cache(maxsize=256)(self._find)

    def _find(self, model: str) -> ModelPrice | None:
        for pattern, price in self._table:
            if fnmatch.fnmatchcase(model, pattern):
                return price
        return None

    def price(self, model: str) -> ModelPrice | None:
        return self._lookup(model)

    def cost_usd(self, model: str, usage: Mapping[str, Any]) -> float:
        """Dollars for one answer's ``usage`` (0 for a model with no price)."""
        price = self._lookup(model)
        if price is None:
            return 0.0
        cache_read = price.cache_read if price.cache_read is not None else price.input * 0.1
        cache_write = price.cache_write if price.cache_write is not None else price.input * 1.25
        tokens = (
            (usage.get("input_tokens") or 0) * price.input
            + (usage.get("output_tokens") or 0) * price.output
            + (usage.get("cache_read_input_tokens") or 0) * cache_read
            + (usage.get("cache_creation_input_tokens") or 0) * cache_write
        )
        return float(tokens) / 1_000_000
