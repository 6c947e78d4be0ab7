"""Opening the document store: MongoDB when MONGODB_URL is set, else the embedded store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from config.settings import Settings
from server.embedded_store import EmbeddedStore

log = logging.getLogger(__name__)


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
    name = database_name or settings.mongodb_database
    if settings.mongodb_url:
        from pymongo import AsyncMongoClient

        client: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url, tz_aware=True, uuidRepresentation="standard")
        store = OpenStore(db=client[name])

        async def close_client() -> None:
            await client.close()

        store._closers.append(close_client)
        log.info("document store: MongoDB database %r", name)
        return store

    path = settings.data_dir / "embedded-mongo.json" if snapshot else None
    embedded = EmbeddedStore(name, path)
    loaded = embedded.load()
    store = OpenStore(db=embedded.db, embedded=embedded)
    if path:
        task = asyncio.create_task(embedded.snapshot_forever(settings.snapshot_interval_seconds))

        async def stop_snapshots() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            embedded.write_snapshot()
            log.info("embedded store: snapshot written to %s", path)

        store._closers.append(stop_snapshots)
    log.warning(
        "document store: EMBEDDED (in-process, snapshot %s, %d documents loaded). Set MONGODB_URL for a real MongoDB.",
        path or "off",
        loaded,
    )
    return store
