"""Index creation at start: every `models/*` and `workers/*` module lists its indexes in `INDEXES`."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import models
import workers


def declared_indexes() -> list[tuple[str, list[tuple[str, int]], dict[str, Any]]]:
    found = []
    for package in (models, workers):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            found.extend(getattr(module, "INDEXES", []))
    return found


async def ensure_indexes(db: Any) -> None:
    for collection, keys, options in declared_indexes():
        await db[collection].create_index(keys, **options)
