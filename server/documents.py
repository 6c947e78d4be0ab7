"""Small document helpers shared by the models."""

from __future__ import annotations

from typing import Any

from server.errors import NotFound


async def find_or_404(collection: Any, doc_id: str, not_found_key: str, projection: Any = None) -> dict[str, Any]:
    """The document with `_id`, or `NotFound(not_found_key)`."""
    doc = await collection.find_one({"_id": doc_id}, projection)
    if doc is None:
        raise NotFound(not_found_key)
    return doc
