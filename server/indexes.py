"""Index declarations: each model module lists `INDEXES: list[IndexSpec]`, its area passes them on,
and the composition root creates them at start."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# (collection, [(field, direction), ...], create_index options)
IndexSpec = tuple[str, list[tuple[str, int]], dict[str, Any]]


async def ensure_indexes(db: Any, indexes: Sequence[IndexSpec]) -> None:
    for collection, keys, options in indexes:
        await db[collection].create_index(keys, **options)
