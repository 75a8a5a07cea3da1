"""The models the simulator serves: alias resolution, model info and ``/v1/models`` pages.

Per-model limits (output ceiling, context window, rate-limit class) come from
:mod:`scalegate.simulator.model_specs`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from scalegate.errors import InvalidRequestError
from scalegate.simulator.model_specs import spec_for

_DATED = re.compile(r"^(?P<alias>.+)-(?P<date>\d{8})$")
_EPOCH = "1970-01-01T00:00:00Z"


def display_name(model_id: str) -> str:
    """A human name: ``claude-opus-4-5-20251101`` → ``Claude Opus 4.5``.

    Derived from the id, so any configured model gets a sensible name.
    """
    match = _DATED.match(model_id)
    words: list[str] = []
    for part in (match["alias"] if match else model_id).split("-"):
        if part.isdigit() and words and words[-1][-1:].isdigit():
            words[-1] += "." + part
        else:
            words.append(part.capitalize())
    return " ".join(words)


def created_at(model_id: str) -> str:
    """The release date in the id (``…-20251101``), else the epoch, as the provider allows."""
    match = _DATED.match(model_id)
    if match is None:
        return _EPOCH
    try:
        date = datetime.strptime(match["date"], "%Y%m%d").replace(tzinfo=UTC)
    except ValueError:
        return _EPOCH
    return date.strftime("%Y-%m-%dT%H:%M:%SZ")


class ModelCatalog:
    """The configured model ids, in listing order, with their undated aliases."""

    def __init__(self, models: Iterable[str]) -> None:
        self.ids: list[str] = list(dict.fromkeys(models))
        self._resolve: dict[str, str] = {}
        for model_id in self.ids:
            match = _DATED.match(model_id)
            if match is not None:
                self._resolve.setdefault(match["alias"], model_id)
        self._resolve.update({model_id: model_id for model_id in self.ids})

    def resolve(self, name: str) -> str | None:
        """The canonical id for an id or alias, or None if the model is unknown."""
        return self._resolve.get(name)

    def max_tokens(self, model_id: str) -> int:
        """The model's published maximum output tokens (``max_tokens`` above it is a 400)."""
        return spec_for(model_id).max_output_tokens

    def context_window(self, model_id: str) -> int:
        return spec_for(model_id).context_window

    def rate_class(self, model_id: str) -> str:
        """The rate-limit bucket the model draws from (shared within a family where pooled)."""
        return spec_for(model_id).rate_class

    def cache_reads_count(self, model_id: str) -> bool:
        """Whether cache reads are charged against ITPM (no current model does)."""
        return spec_for(model_id).cache_reads_count_for_itpm

    def info(self, model_id: str) -> dict[str, Any]:
        return {
            "type": "model",
            "id": model_id,
            "display_name": display_name(model_id),
            "created_at": created_at(model_id),
            "lifecycle": "active",
            "max_input_tokens": self.context_window(model_id),
            "max_tokens": self.max_tokens(model_id),
        }

    def page(
        self, limit: int = 20, after_id: str | None = None, before_id: str | None = None
    ) -> dict[str, Any]:
        """One page of ``GET /v1/models``, paginated like the provider's lists."""
        if not 1 <= limit <= 1000:
            raise InvalidRequestError("limit: Input should be between 1 and 1000")
        if after_id is not None and before_id is not None:
            raise InvalidRequestError("after_id and before_id cannot both be given")
        ids = self.ids
        if after_id is not None:
            start = self._position(after_id, "after_id") + 1
            chosen, has_more = ids[start : start + limit], start + limit < len(ids)
        elif before_id is not None:
            end = self._position(before_id, "before_id")
            start = max(0, end - limit)
            chosen, has_more = ids[start:end], start > 0
        else:
            chosen, has_more = ids[:limit], limit < len(ids)
        return {
            "data": [self.info(model_id) for model_id in chosen],
            "has_more": has_more,
            "first_id": chosen[0] if chosen else None,
            "last_id": chosen[-1] if chosen else None,
        }

    def _position(self, model_id: str, field: str) -> int:
        canonical = self.resolve(model_id)
        if canonical is None:
            raise InvalidRequestError(f"{field}: unknown model id {model_id!r}")
        return self.ids.index(canonical)
