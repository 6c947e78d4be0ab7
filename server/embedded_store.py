"""The embedded document store: mongomock behind the async API of `pymongo.AsyncMongoClient`.

No library offers an async-PyMongo fake, so this thin adapter exposes the subset the models use
(see `EmbeddedCollection`). Operations run directly on the event loop: mongomock is in-memory
and each call completes without yielding, which also makes every single-document update atomic
with respect to other coroutines, as it is on a real server.

Data survives restarts through a snapshot file in DATA_DIR, written atomically every few seconds
(when something changed) and on shutdown, and loaded at start.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import mongomock
from bson import ObjectId, json_util
from mongomock.filtering import filter_applies

log = logging.getLogger(__name__)

_WRITE_METHODS = {
    "insert_one",
    "insert_many",
    "update_one",
    "update_many",
    "replace_one",
    "delete_one",
    "delete_many",
    "find_one_and_update",
    "find_one_and_replace",
    "find_one_and_delete",
    "bulk_write",
    "drop",
}


class EmbeddedCursor:
    """A cursor with the chaining and async iteration of `AsyncCursor`."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def sort(self, key_or_list: Any, direction: int | None = None) -> EmbeddedCursor:
        self._cursor = (
            self._cursor.sort(key_or_list, direction) if direction is not None else self._cursor.sort(key_or_list)
        )
        return self

    def skip(self, count: int) -> EmbeddedCursor:
        self._cursor = self._cursor.skip(count)
        return self

    def limit(self, count: int) -> EmbeddedCursor:
        self._cursor = self._cursor.limit(count)
        return self

    async def to_list(self, length: int | None = None) -> list[dict[str, Any]]:
        items = list(self._cursor)
        return items if length is None else items[:length]

    def __aiter__(self) -> EmbeddedCursor:
        return self

    async def __anext__(self) -> dict[str, Any]:
        try:
            return next(self._cursor)
        except StopIteration:
            raise StopAsyncIteration from None

    async def close(self) -> None:
        return None


def _install_id_lookup(collection: Any) -> None:
    """mongomock answers every query, update and delete by scanning all documents; a filter that
    names one `_id` (as most single-document updates do) needs one dict lookup instead. The filter
    is still applied to that document, so the result is the same, only O(1)."""
    scan = collection._iter_documents
    store = collection._store

    def iter_documents(filter: Any) -> Any:
        if isinstance(filter, dict):
            key = filter.get("_id")
            if isinstance(key, (str, int, ObjectId)) and not isinstance(key, bool):
                try:
                    doc = store[key]
                except KeyError:
                    return iter(())
                return iter((doc,) if filter_applies(filter, doc) else ())
        return scan(filter)

    collection._iter_documents = iter_documents


class EmbeddedCollection:
    def __init__(self, collection: Any, on_write: Any) -> None:
        _install_id_lookup(collection)
        self._collection = collection
        self._on_write = on_write
        self.name = collection.name

    def find(self, *args: Any, **kwargs: Any) -> EmbeddedCursor:
        return EmbeddedCursor(self._collection.find(*args, **kwargs))

    async def aggregate(self, pipeline: list[dict[str, Any]], **kwargs: Any) -> EmbeddedCursor:
        return EmbeddedCursor(iter(list(self._collection.aggregate(pipeline, **kwargs))))

    async def create_index(self, keys: Any, **kwargs: Any) -> str:
        return self._collection.create_index(keys, **kwargs)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._collection, name)
        if not callable(target):
            return target
        writes = name in _WRITE_METHODS

        async def call(*args: Any, **kwargs: Any) -> Any:
            kwargs.pop("session", None)
            result = target(*args, **kwargs)
            if writes:
                self._on_write()
            return result

        return call


class EmbeddedDatabase:
    def __init__(self, database: Any, on_write: Any) -> None:
        self._database = database
        self._on_write = on_write
        self._collections: dict[str, EmbeddedCollection] = {}
        self.name = database.name

    def __getitem__(self, name: str) -> EmbeddedCollection:
        if name not in self._collections:
            self._collections[name] = EmbeddedCollection(self._database[name], self._on_write)
        return self._collections[name]

    def __getattr__(self, name: str) -> EmbeddedCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    async def command(self, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if name == "ping":
            return {"ok": 1.0}
        raise NotImplementedError(f"embedded store does not run command {name!r}")

    async def list_collection_names(self) -> list[str]:
        return self._database.list_collection_names()

    async def drop_collection(self, name: str) -> None:
        self._database.drop_collection(name)
        self._on_write()


class EmbeddedStore:
    """Owns the mongomock client, the database handle and the snapshot file."""

    def __init__(self, database_name: str, snapshot_path: Path | None) -> None:
        self._client: Any = mongomock.MongoClient(tz_aware=True)
        self.snapshot_path = snapshot_path
        self.dirty = False
        self.db = EmbeddedDatabase(self._client[database_name], self._mark_dirty)

    def _mark_dirty(self) -> None:
        self.dirty = True

    def load(self) -> int:
        """Load the snapshot, if any. Returns the number of documents loaded."""
        if not self.snapshot_path or not self.snapshot_path.exists():
            return 0
        data = json_util.loads(
            self.snapshot_path.read_text(encoding="utf-8"), json_options=json_util.JSONOptions(tz_aware=True)
        )
        count = 0
        raw = self._client[self.db.name]
        for name, documents in data.get("collections", {}).items():
            if documents:
                raw[name].insert_many(documents)
                count += len(documents)
        self.dirty = False
        return count

    def _collections(self) -> Iterable[tuple[str, list[dict[str, Any]]]]:
        raw = self._client[self.db.name]
        for name in raw.list_collection_names():
            yield name, list(raw[name].find())

    def write_snapshot(self) -> None:
        """Write the snapshot now (on shutdown)."""
        if self.snapshot_path:
            self.dirty = False
            self._write(dict(self._collections()))

    def _write(self, collections: dict[str, list[dict[str, Any]]]) -> None:
        assert self.snapshot_path is not None
        payload = json_util.dumps({"collections": collections}, json_options=json_util.RELAXED_JSON_OPTIONS)
        self.snapshot_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.snapshot_path.with_suffix(".tmp")
        tmp.write_text(payload, encoding="utf-8")
        os.replace(tmp, self.snapshot_path)  # atomic: a crash leaves the old or the new file

    async def snapshot_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if self.dirty and self.snapshot_path:
                # Copy on the loop (consistent), encode and write off it (no stall).
                self.dirty = False
                collections = dict(self._collections())
                try:
                    await asyncio.to_thread(self._write, collections)
                except OSError:
                    log.exception("embedded store: snapshot failed")
