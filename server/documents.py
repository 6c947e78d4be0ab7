"""Small document helpers shared by the models."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from server.errors import NotFound

log = logging.getLogger(__name__)


async def find_or_404(collection: Any, doc_id: str, not_found_key: str, projection: Any = None) -> dict[str, Any]:
    """The document with `_id`, or `NotFound(not_found_key)`."""
    doc = await collection.find_one({"_id": doc_id}, projection)
    if doc is None:
        raise NotFound(not_found_key)
    return doc


async def absent(collection: Any, doc_id: str) -> bool:
    """True only when a fresh read says no document has `_id`: what a failed insert must know before
    undoing what came before it (its reply may have been lost while the write happened).

    False when the document exists, and also when the read itself fails or is cancelled: "not
    known to be absent" leaves the undo to the reconcile pass instead of guessing."""
    try:
        return await collection.find_one({"_id": doc_id}, {"_id": 1}) is None
    except (Exception, asyncio.CancelledError):
        log.warning("re-read of %s in %s failed: left for reconcile", doc_id, getattr(collection, "name", "?"))
        return False


def durable_at_end(db: Any) -> contextlib.AbstractAsyncContextManager[None]:
    """A run of writes that need only be durable together: on the embedded store each write inside
    returns once applied, and leaving the block waits until all of them are journaled (one commit
    wait instead of one per write; the journal commits in order, so the last one covers the rest).
    Do nothing outside that others may see as a consequence (emit, enqueue, answer) inside the block.
    On MongoDB writes are acknowledged as usual."""
    block = getattr(db, "durable_at_end", None)
    return contextlib.nullcontext() if block is None else block()
