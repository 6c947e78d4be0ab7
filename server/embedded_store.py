"""The embedded document store: mongomock behind the async API of `pymongo.AsyncMongoClient`.

No library offers an async-PyMongo fake, so this thin adapter exposes the subset the models use
(`EmbeddedCollection`, `EmbeddedCursor`, `EmbeddedDatabase`). What it promises, and how:

- Atomic operations, like a server's. Each operation runs whole, with no other operation between
  its steps (one lock around every application): on the store's one thread, or inline on the loop
  (tests: always). In the server a *small* operation (one document named by its `_id`: the chat
  send path's five calls) runs inline when the lock is free: handing it to the thread cost more
  than running it (a thread wake-up, a self-pipe write and a GIL hand-over each way: half of the
  store thread's profile under chat load). Anything else (scans, sorts, pages, aggregates) still
  runs on the thread, so no large operation stalls the loop whatever the data volume.
- Durable. A write returns only after its changes are committed to the journal
  (`embedded_journal`); a start replays it. Inside `durable_at_end()` (server/documents.py) writes
  return once applied and the block's end waits for them all: one commit wait for a chat message's
  four writes instead of four in a row. DATA_DIR has one owner (`datadir_lock`).
- Fast reads. `embedded_engine` answers indexed lookups in O(matches) and pages in O(page).
- Cheap single-document writes. An insert, update or find-and-update of one document named by its
  `_id` (the chat send path's four writes) is done natively by `embedded_by_id`, with mongomock's
  exact results, at a quarter to a half of mongomock's CPU; an update that changes nothing is not
  journaled.
- As concurrent as a network round trip. With an interleave seed (the test suite sets one per
  test) the adapter yields to the event loop a random number of times before and after every
  operation, and between the documents of an async iteration, so a sequence of operations is never
  accidentally atomic and a read-check-write race shows up in tests as it would on MongoDB.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import random
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import mongomock
from mongomock import aggregate as mongomock_aggregate
from mongomock import helpers

from server import embedded_copy
from server.datadir_lock import DataDirLock
from server.embedded_by_id import plain_id
from server.embedded_engine import Engine
from server.embedded_journal import Journal, Record, decode, encode, encode_document

log = logging.getLogger(__name__)

T = TypeVar("T")

JOURNAL_FILE = "embedded-mongo.sqlite3"
LEGACY_SNAPSHOT = "embedded-mongo.json"  # the full-copy snapshot of earlier versions, imported once
TTL_SWEEP_SECONDS = 60.0  # as often as MongoDB's TTL monitor

# Methods run as reads (no journal); anything else reached through `__getattr__` is treated as a
# write: its changes are tracked and journaled whatever it is.
_READS = {"find_one", "count_documents", "estimated_document_count", "distinct", "index_information"}
# Methods that touch at most one document: inline on the loop when their filter names an `_id`.
_ONE_DOCUMENT = {
    "find_one",
    "update_one",
    "delete_one",
    "replace_one",
    "find_one_and_update",
    "find_one_and_delete",
    "find_one_and_replace",
}


def _is_small(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a collection call is cheap enough to run inline: it touches one document, found
    by its `_id` (or it inserts one), so its cost does not grow with the collection."""
    if method == "insert_one":
        return True
    if method not in _ONE_DOCUMENT:
        return False
    spec = args[0] if args else kwargs.get("filter")
    return isinstance(spec, dict) and plain_id(spec.get("_id")) and not kwargs.get("sort")


class _Deferred:
    """The journal seqs of the writes of one `durable_at_end` block, while it is open (a task
    started inside and still writing after the block ended waits for its own writes again)."""

    def __init__(self) -> None:
        self.open = True
        self.last = 0


_DEFERRED: contextvars.ContextVar[_Deferred | None] = contextvars.ContextVar("embedded_deferred", default=None)


class _DurableAtEnd:
    """`EmbeddedStore.durable_at_end()` (a class, not a generator: it wraps every chat message).
    A block inside another adds its writes to the outer one, which waits for them all."""

    def __init__(self, store: EmbeddedStore) -> None:
        self.store = store
        self.deferred: _Deferred | None = None
        self.token: contextvars.Token[_Deferred | None] | None = None

    async def __aenter__(self) -> None:
        current = _DEFERRED.get()
        if current is None or not current.open:
            self.deferred = _Deferred()
            self.token = _DEFERRED.set(self.deferred)

    async def __aexit__(self, *exc_info: object) -> None:
        deferred, token = self.deferred, self.token
        if deferred is None or token is None:
            return  # nested: the outer block waits
        deferred.open = False
        _DEFERRED.reset(token)
        journal = self.store._journal
        if deferred.last and journal is not None:
            await journal.durable(deferred.last)


class Interleaver:
    """Seeded random yields to the event loop: none about half the time, else 1 to 20 loop turns
    (enough for other requests' Redis round trips to complete meanwhile)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._random = random.Random(seed)

    async def pause(self) -> None:
        draw = self._random.random()
        if draw < 0.5:
            return
        for _ in range(1 if draw < 0.8 else self._random.randint(2, 20)):
            await asyncio.sleep(0)


def _insert_many(documents: list[dict[str, Any]], engine: Engine) -> Any:
    return engine.collection.insert_many(documents)


class EmbeddedStore:
    """Owns the mongomock client, the store thread, the journal and the DATA_DIR lock."""

    def __init__(
        self,
        database_name: str,
        data_dir: Path | None = None,
        *,
        threaded: bool = True,
        interleave_seed: int | None = None,
    ) -> None:
        embedded_copy.install()
        self._raw: Any = mongomock.MongoClient(tz_aware=True)[database_name]
        self._engines: dict[str, Engine] = {}
        self._ttl: dict[str, dict[str, float]] = {}  # collection -> field -> seconds
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="embedded-store") if threaded else None
        self._applying = threading.Lock()  # one operation at a time, on the thread or the loop
        self._interleaver = Interleaver(interleave_seed) if interleave_seed is not None else None
        self._lock = DataDirLock(data_dir) if data_dir is not None else None
        self._journal: Journal | None = None
        self.data_dir = data_dir
        self.threaded = threaded
        self.db = EmbeddedDatabase(self, database_name)

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> int:
        """Lock DATA_DIR and replay the journal (blocking: run it off the loop). Returns the number
        of documents loaded."""
        if self.data_dir is None or self._lock is None:
            return 0
        self._lock.acquire()
        try:
            self._journal = Journal(self.data_dir / JOURNAL_FILE, background=self.threaded)
            count = self._replay(self._journal)
            legacy = self.data_dir / LEGACY_SNAPSHOT
            if count == 0 and legacy.exists():
                count = self._import_snapshot(legacy)
        except BaseException:
            self._lock.release()
            raise
        return count

    def _replay(self, journal: Journal) -> int:
        for name, spec in journal.indexes():
            self._create_index(self.engine(name), [tuple(key) for key in spec["keys"]], spec["options"])
        count = 0
        for name, doc in journal.documents():
            self.engine(name).store._documents[doc["_id"]] = doc
            count += 1
        for engine in self._engines.values():
            engine.reindex_all()
        return count

    def _import_snapshot(self, path: Path) -> int:
        data = decode(path.read_text(encoding="utf-8"))
        count = 0
        for name, documents in data.get("collections", {}).items():
            if documents:
                _, error, _ = self._apply(name, functools.partial(_insert_many, documents), write=True)
                if error is not None:
                    raise error
                count += len(documents)
        path.rename(path.with_suffix(".imported"))
        log.warning("embedded store: imported %d documents from the old snapshot %s", count, path)
        return count

    async def close(self) -> None:
        if self._executor is not None:
            await asyncio.to_thread(self._executor.shutdown, True)
        if self._journal is not None:
            await asyncio.to_thread(self._journal.close)
            self._journal = None
        if self._lock is not None:
            self._lock.release()

    async def sweep_expired_forever(self, interval: float = TTL_SWEEP_SECONDS) -> None:
        """TTL indexes: delete expired documents through the journal, as MongoDB's monitor does."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep_expired()
            except Exception:
                log.exception("embedded store: TTL sweep failed")

    async def sweep_expired(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        removed = 0
        for name, fields in list(self._ttl.items()):
            for field, seconds in fields.items():
                cutoff = now - timedelta(seconds=seconds)
                result = await self.db[name].delete_many({field: {"$lt": cutoff}})
                removed += result.deleted_count
        return removed

    # ------------------------------------------------------------------ running operations

    def engine(self, name: str) -> Engine:
        if name not in self._engines:
            self._engines[name] = Engine(self._raw[name])
        return self._engines[name]

    async def pause(self) -> None:
        if self._interleaver is not None:
            await self._interleaver.pause()

    async def run(self, name: str, operation: Callable[[Engine], T], *, write: bool, small: bool = False) -> T:
        """Run one operation atomically on collection `name`; a write returns once journaled.
        `small`: it may run inline on the loop, when no other operation is being applied."""
        await self.pause()
        if self._executor is None:
            result, error, seq = self._apply(name, operation, write)
        elif small and self._applying.acquire(blocking=False):
            try:
                result, error, seq = self._apply_unlocked(name, operation, write)
            finally:
                self._applying.release()
        else:
            result, error, seq = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._apply, name, operation, write
            )
        if seq and self._journal is not None:
            deferred = _DEFERRED.get()
            if deferred is not None and deferred.open:
                deferred.last = max(deferred.last, seq)
            else:
                await self._journal.durable(seq)
        await self.pause()
        if error is not None:
            raise error
        return result

    def durable_at_end(self) -> _DurableAtEnd:
        """Writes inside return once applied; leaving waits until every one of them is journaled."""
        return _DurableAtEnd(self)

    async def run_on_database(self, operation: Callable[[Any], T]) -> T:
        """A read that concerns no one collection (e.g. listing them)."""
        await self.pause()
        if self._executor is not None:
            result = await asyncio.get_running_loop().run_in_executor(self._executor, self._locked, operation)
        else:
            result = operation(self._raw)
        await self.pause()
        return result

    def _locked(self, operation: Callable[[Any], T]) -> T:
        with self._applying:
            return operation(self._raw)

    def _apply(
        self, name: str, operation: Callable[[Engine], Any], write: bool
    ) -> tuple[Any, BaseException | None, int]:
        """Apply `operation` (the store thread or the loop); return (result, error, journal seq).
        A write that fails part way (a duplicate key in insert_many) still journals what it did."""
        with self._applying:
            return self._apply_unlocked(name, operation, write)

    def _apply_unlocked(
        self, name: str, operation: Callable[[Engine], Any], write: bool
    ) -> tuple[Any, BaseException | None, int]:
        engine = self.engine(name)
        if not write:
            try:
                return operation(engine), None, 0
            except Exception as exc:
                return None, exc, 0
        engine.begin()
        result, error = None, None
        try:
            result = operation(engine)
        except Exception as exc:
            error = exc
        records: list[Record] = []
        for doc_id, doc in engine.end():
            key = encode(doc_id)
            records.append(("del", name, key) if doc is None else ("put", name, key, encode_document(doc)))
        seq = self._journal.append(records) if self._journal is not None else 0
        return result, error, seq

    def _create_index(self, engine: Engine, keys: Any, options: dict[str, Any]) -> str:
        """Declare an index, or redeclare it with new options (a start after an upgrade). mongomock's
        own create_index is bypassed: it re-checks the existing documents on every call, O(n) at
        each start, and ignores `partialFilterExpression` while doing so (refusing a partial unique
        index over documents it does not cover). The documents are not re-checked here."""
        index_list = [tuple(key) for key in helpers.create_index_list(keys)]
        name: str = options.get("name") or helpers.gen_index_name(index_list)
        spec: dict[str, Any] = {"key": index_list}
        spec.update({flag: True for flag in ("unique", "sparse") if options.get(flag)})
        spec.update(
            {k: options[k] for k in ("expireAfterSeconds", "partialFilterExpression") if options.get(k) is not None}
        )
        engine.store.create_index(name, spec)
        engine.add_field_index(keys)
        if options.get("expireAfterSeconds") is not None:
            field = helpers.create_index_list(keys)[0][0]
            self._ttl.setdefault(engine.collection.name, {})[field] = float(options["expireAfterSeconds"])
        return name

    def create_index(self, engine: Engine, keys: Any, options: dict[str, Any]) -> str:
        name = self._create_index(engine, keys, options)
        if self._journal is not None:
            spec = encode({"keys": helpers.create_index_list(keys), "options": options})
            self._journal.append([("index", engine.collection.name, name, spec)])
        return name

    def drop(self, engine: Engine) -> None:
        engine.collection.drop()
        engine.clear_indexes()
        engine.reindex_all()
        self._ttl.pop(engine.collection.name, None)
        if self._journal is not None:
            self._journal.append([("drop", engine.collection.name)])


class EmbeddedCursor:
    """A cursor with the chaining, `to_list` and async iteration of `AsyncCursor`. Nothing runs
    until it is read; then the whole page is read in one operation and handed out one by one."""

    def __init__(self, store: EmbeddedStore, name: str, spec: Any, projection: Any, **options: Any) -> None:
        self._store = store
        self._name = name
        self._spec = spec
        self._projection = projection
        self._sort: Any = options.get("sort")
        self._skip: int = options.get("skip", 0)
        self._limit: int = options.get("limit", 0)
        self._buffer: deque[dict[str, Any]] | None = None

    def sort(self, key_or_list: Any, direction: int | None = None) -> EmbeddedCursor:
        self._sort = helpers.create_index_list(key_or_list, direction)
        return self

    def skip(self, count: int) -> EmbeddedCursor:
        self._skip = count
        return self

    def limit(self, count: int) -> EmbeddedCursor:
        self._limit = count
        return self

    async def _read(self) -> list[dict[str, Any]]:
        def read(engine: Engine) -> list[dict[str, Any]]:
            selection = engine.find(self._spec, self._projection, self._skip, self._limit, self._sort)
            return selection.to_list()

        return await self._store.run(self._name, read, write=False)

    async def to_list(self, length: int | None = None) -> list[dict[str, Any]]:
        if self._buffer is None:
            self._buffer = deque(await self._read())
        else:
            await self._store.pause()
        count = len(self._buffer) if length is None else min(length, len(self._buffer))
        return [self._buffer.popleft() for _ in range(count)]

    def __aiter__(self) -> EmbeddedCursor:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._buffer is None:
            self._buffer = deque(await self._read())
        else:
            await self._store.pause()
        if not self._buffer:
            raise StopAsyncIteration
        return self._buffer.popleft()

    async def close(self) -> None:
        self._buffer = deque()


class ResultCursor(EmbeddedCursor):
    """The cursor `aggregate` returns: its documents are already computed."""

    def __init__(self, store: EmbeddedStore, items: list[dict[str, Any]]) -> None:
        super().__init__(store, "", {}, None)
        self._buffer = deque(items)

    async def _read(self) -> list[dict[str, Any]]:
        return []


def _aggregate(engine: Engine, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """mongomock's aggregate, with a leading `$match` answered by the engine (its indexes)."""
    match: dict[str, Any] = {}
    if pipeline and set(pipeline[0]) == {"$match"}:
        match, pipeline = pipeline[0]["$match"], pipeline[1:]
    documents = engine.find(match).to_list()
    result: list[dict[str, Any]] = mongomock_aggregate.process_pipeline(
        documents, engine.collection.database, pipeline, None
    )
    return result


class EmbeddedCollection:
    def __init__(self, store: EmbeddedStore, name: str) -> None:
        self._store = store
        self.name = name

    def find(self, filter: Any = None, projection: Any = None, **options: Any) -> EmbeddedCursor:
        options.pop("session", None)
        return EmbeddedCursor(self._store, self.name, filter or {}, projection, **options)

    async def aggregate(self, pipeline: list[dict[str, Any]], **kwargs: Any) -> EmbeddedCursor:
        items = await self._store.run(self.name, lambda e: _aggregate(e, pipeline), write=False)
        return ResultCursor(self._store, items)

    async def create_index(self, keys: Any, **options: Any) -> str:
        options.pop("session", None)
        return await self._store.run(self.name, lambda e: self._store.create_index(e, keys, options), write=True)

    async def drop(self, **kwargs: Any) -> None:
        await self._store.run(self.name, self._store.drop, write=True)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        store, collection_name, write = self._store, self.name, name not in _READS

        async def call(*args: Any, **kwargs: Any) -> Any:
            kwargs.pop("session", None)
            return await store.run(
                collection_name,
                lambda e: getattr(e.collection, name)(*args, **kwargs),
                write=write,
                small=_is_small(name, args, kwargs),
            )

        return call


class EmbeddedDatabase:
    def __init__(self, store: EmbeddedStore, name: str) -> None:
        self._store = store
        self._collections: dict[str, EmbeddedCollection] = {}
        self.name = name

    def __getitem__(self, name: str) -> EmbeddedCollection:
        if name not in self._collections:
            self._collections[name] = EmbeddedCollection(self._store, name)
        return self._collections[name]

    def __getattr__(self, name: str) -> EmbeddedCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    async def command(self, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if name == "ping":
            return {"ok": 1.0}
        raise NotImplementedError(f"embedded store does not run command {name!r}")

    def durable_at_end(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self._store.durable_at_end()

    async def list_collection_names(self) -> list[str]:
        return await self._store.run_on_database(lambda db: db.list_collection_names())

    async def drop_collection(self, name: str) -> None:
        await self[name].drop()
