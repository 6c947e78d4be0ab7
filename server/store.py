"""Opening the document store: MongoDB when MONGODB_URL is set, else the embedded store."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from config.settings import Settings
from server.embedded_store import EmbeddedStore

log = logging.getLogger(__name__)

# A replica set elects a new primary within ~10 s; longer than that, failing fast (a 500 the client
# may retry) beats holding every request for PyMongo's default 30 s.
SERVER_SELECTION_TIMEOUT_MS = 10_000


class SharedStoreRequired(RuntimeError):
    """A process that must share its documents with a server was started without MONGODB_URL."""


def require_shared_store(settings: Settings, command: str) -> None:
    """Refuse `run.py worker` / `run.py scheduler` on the embedded store: its documents live inside
    the one process that opened it, so a separate worker would read and write documents that no
    server ever sees (and DATA_DIR's lock would stop it anyway, with a less useful message)."""
    if not settings.mongodb_url:
        raise SharedStoreRequired(
            f"`python run.py {command}` needs MONGODB_URL (and REDIS_URL): without them the documents "
            "live inside one server process, where no separate worker or scheduler can reach them. "
            "Set MONGODB_URL and REDIS_URL for every process, or run `python run.py` (the default "
            "`all`), which runs the worker and the scheduler inside the server."
        )


@dataclass
class OpenStore:
    db: Any
    embedded: EmbeddedStore | None = None
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def close(self) -> None:
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                await closer()
        self._closers.clear()


async def open_store(settings: Settings, *, snapshot: bool = True, database_name: str | None = None) -> OpenStore:
    """`snapshot=False` keeps an embedded store in memory only (no journal in DATA_DIR, no lock).
    (The name predates the journal, which replaced the snapshot.)"""
    name = database_name or settings.mongodb_database
    if settings.mongodb_url:
        from pymongo import AsyncMongoClient

        client: AsyncMongoClient = AsyncMongoClient(
            settings.mongodb_url,
            tz_aware=True,
            uuidRepresentation="standard",
            w="majority",  # acknowledged means on a majority: it survives a primary's failover
            serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS,
        )
        store = OpenStore(db=client[name])

        async def close_client() -> None:
            await client.close()

        store._closers.append(close_client)
        log.info("document store: MongoDB database %r", name)
        return store

    seed = settings.embedded_interleave_seed
    embedded = EmbeddedStore(name, settings.data_dir if snapshot else None, threaded=seed is None, interleave_seed=seed)
    loaded = await asyncio.to_thread(embedded.open)
    # The replayed documents live as long as the process: take them out of the garbage collector's
    # generations, or every full collection walks them all with the GIL held (~70 ms at 100k
    # documents), a stall of the event loop that no thread can avoid.
    gc.freeze()
    store = OpenStore(db=embedded.db, embedded=embedded)
    sweeper = asyncio.create_task(embedded.sweep_expired_forever()) if seed is None else None

    async def close_embedded() -> None:
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        await embedded.close()

    store._closers.append(close_embedded)
    log.warning(
        "document store: EMBEDDED, private to this process (pid-locked DATA_DIR %s, %d documents loaded): "
        "no other process (a worker, a scheduler, a second server) can see these documents. "
        "Set MONGODB_URL to share a MongoDB.",
        settings.data_dir.resolve() if snapshot else "none, in memory only",
        loaded,
    )
    return store
