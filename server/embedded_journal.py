"""The embedded store's write-ahead record: the after-image of every changed document, in SQLite.

One table holds the latest image of each document (`(collection, key) → BSON`), another the
declared indexes; a start replays both. Rows are replaced in place, so the file stays the size of
the data and needs no compaction (SQLite reuses freed pages and checkpoints its WAL by itself).

Why this is enough to survive kill -9: a write is acknowledged only after `durable(seq)` returns,
that is after the transaction holding its records has committed. In WAL mode with
`synchronous=FULL` the commit fsyncs the WAL, so the acknowledged write survives the process (and
the machine) going away at any instant; a commit in flight when that happens rolls back whole.

Why the event loop never waits on the disk: with `background=True` the records are committed by one
thread that takes everything appended since its last commit into one transaction (group commit:
one fsync for all the writes that arrived meanwhile). Records are appended in the order the writes
were applied, and a transaction commits them all or none, so whatever a restart finds is a prefix
of what was applied: never a later write without an earlier one it may depend on.
`background=False` commits inside `append` (`synchronous=NORMAL`, no fsync; survives the process
dying, not the machine): the test suite uses it so that runs are reproducible from their seed.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bson
from bson import json_util
from bson.codec_options import CodecOptions, TypeDecoder, TypeRegistry
from bson.int64 import Int64

log = logging.getLogger(__name__)

# Keys and index specs are relaxed extended JSON text: a row is replaced by its key, so keys must
# stay exactly as earlier versions wrote them.
ENCODING = json_util.RELAXED_JSON_OPTIONS
DECODING = json_util.JSONOptions(json_mode=json_util.JSONMode.RELAXED, tz_aware=False)


class _PlainInt(TypeDecoder):
    """BSON's int64 back as `int` (as extended JSON gave it), not `bson.Int64`."""

    bson_type = Int64

    def transform_bson(self, value: Any) -> Any:
        return int(value)


# Documents are BSON (a BLOB): encoded and decoded in C, ~8x faster than extended JSON's pure Python,
# with the same types back (datetime to the millisecond, which is what the store keeps, naive UTC;
# int vs float; ObjectId; nested documents and arrays). Rows written as extended JSON text by
# earlier versions still load (and become BSON when their document is next written).
DOCUMENT_CODEC: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=False, type_registry=TypeRegistry([_PlainInt()]))

# ("put", collection, key, document BSON or JSON) | ("del", collection, key) | ("drop", collection)
# | ("index", collection, name, spec JSON)
Record = tuple[Any, ...]
Waiter = tuple[int, asyncio.AbstractEventLoop, "asyncio.Future[None]"]

# `doc` keeps its TEXT declaration of earlier versions: a TEXT column stores a BLOB as it is.
SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (collection, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS indexes (
    collection TEXT NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL, PRIMARY KEY (collection, name)
);
"""


def encode(value: Any) -> str:
    if type(value) is str:  # most keys: what json_util gives a str (the stdlib's dumps), without its type walk
        return json.dumps(value)
    return json_util.dumps(value, json_options=ENCODING)


def decode(text: str) -> Any:
    return json_util.loads(text, json_options=DECODING)


def encode_document(doc: dict[str, Any]) -> bytes:
    return bson.encode(doc)  # mongomock refuses what BSON cannot hold (an int beyond 64 bits), as MongoDB does


def decode_document(stored: bytes | str) -> dict[str, Any]:
    if isinstance(stored, str):  # extended JSON text: a row written by an earlier version
        document: dict[str, Any] = decode(stored)
        return document
    return bson.decode(stored, codec_options=DOCUMENT_CODEC)


# Rows per multi-row statement, and the row counts statements are padded to (by repeating the
# last row, which writes or deletes the same thing again): a handful of distinct statements, all
# kept prepared by the connection's statement cache.
_ROWS_PER_STATEMENT = 512
_PUT = ("INSERT OR REPLACE INTO documents VALUES ", "(?, ?, ?)")
_DELETE = ("DELETE FROM documents WHERE (collection, key) IN (VALUES ", "(?, ?)", ")")


def _padded(count: int) -> int:
    return 1 << (count - 1).bit_length()


@functools.cache
def _statement(shape: tuple[str, ...], rows: int) -> str:
    return shape[0] + ", ".join([shape[1]] * rows) + (shape[2] if len(shape) > 2 else "")


def _many(shape: tuple[str, ...], rows: list[tuple[Any, ...]]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """`shape`'s statement over `rows`, in as few statements as `_ROWS_PER_STATEMENT` allows."""
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        count = _padded(len(chunk))
        chunk += [chunk[-1]] * (count - len(chunk))
        yield _statement(shape, count), tuple(value for row in chunk for value in row)


class JournalFailed(RuntimeError):
    """The journal could not commit: the writes it holds are not durable, and no later one can be."""


class Journal:
    def __init__(self, path: Path, *, background: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={'FULL' if background else 'NORMAL'}")
        self._conn.executescript(SCHEMA)
        self._background = background
        self._cond = threading.Condition()
        self._pending: list[Record] = []
        self._appended = 0  # seq of the last append
        self._committed = 0  # every append up to this seq is durable
        self._waiters: list[Waiter] = []
        self._failure: BaseException | None = None
        self._closing = False
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._commit_forever, name="embedded-journal", daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------ start

    def indexes(self) -> list[tuple[str, dict[str, Any]]]:
        return [(c, decode(s)) for c, s in self._conn.execute("SELECT collection, spec FROM indexes")]

    def documents(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for collection, doc in self._conn.execute("SELECT collection, doc FROM documents"):
            yield collection, decode_document(doc)

    # ------------------------------------------------------------------ writing

    def append(self, records: list[Record]) -> int:
        """Queue the records of one applied write; returns the seq to pass to `durable`. Called
        in the order writes are applied (the store's one thread, or the loop)."""
        with self._cond:
            if self._failure is not None:
                raise JournalFailed("the embedded store's journal failed earlier") from self._failure
            if not records:
                return self._appended  # a write that changed nothing waits for those before it
            self._appended += 1
            if not self._background:
                self._write(records)
                self._committed = self._appended
                return self._appended
            self._pending.extend(records)
            self._cond.notify()
            return self._appended

    async def durable(self, seq: int) -> None:
        """Return once every append up to `seq` has committed."""
        with self._cond:
            if self._failure is not None:
                raise JournalFailed("the embedded store's journal failed") from self._failure
            if self._committed >= seq:
                return
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((seq, loop, future))
        await future

    def _write(self, records: list[Record]) -> None:
        """One transaction for a batch. Puts and deletes only set a document's final state, so of
        several for one document only the last is written (a busy conversation is rewritten by
        every message: a group commit holds many images of it); an index or drop record is
        written in its place in the order.

        Few statements, each with many rows (`_ROWS_PER_STATEMENT`): the sqlite3 module lets go
        of the GIL for every step of a statement and then waits for it back, and while the event
        loop is busy each such wait lasts up to the interpreter's switch interval (5 ms). One
        step per row made a commit of a hundred documents last tens of milliseconds, every one of
        them added to the latency of the writes waiting for it; now a typical commit is one
        statement, run without BEGIN/COMMIT (a single statement is its own transaction)."""
        statements: list[tuple[str, tuple[Any, ...]]] = []
        latest: dict[tuple[str, str], Record] = {}

        def flush() -> None:
            dels = [(r[1], r[2]) for r in latest.values() if r[0] == "del"]
            puts = [(r[1], r[2], r[3]) for r in latest.values() if r[0] == "put"]
            statements.extend(_many(_DELETE, dels))
            statements.extend(_many(_PUT, puts))
            latest.clear()

        for record in records:
            kind, collection = record[0], record[1]
            if kind in ("put", "del"):
                latest.pop((collection, record[2]), None)
                latest[(collection, record[2])] = record
                continue
            flush()
            if kind == "index":
                statements.append(
                    ("INSERT OR REPLACE INTO indexes VALUES (?, ?, ?)", (collection, record[2], record[3]))
                )
            elif kind == "drop":
                statements.append(("DELETE FROM documents WHERE collection = ?", (collection,)))
                statements.append(("DELETE FROM indexes WHERE collection = ?", (collection,)))
        flush()
        execute = self._conn.execute
        if len(statements) == 1:
            execute(*statements[0])
            return
        execute("BEGIN")
        try:
            for sql, parameters in statements:
                execute(sql, parameters)
            execute("COMMIT")
        except BaseException:
            execute("ROLLBACK")
            raise

    def _commit_forever(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending, []
                upto = self._appended
            error: BaseException | None = None
            try:
                self._write(batch)
            except BaseException as exc:  # disk full, I/O error: refuse every write from now on
                log.exception("embedded store: journal commit failed")
                error = exc
            with self._cond:
                if error is None:
                    self._committed = upto
                else:
                    self._failure = error
                ready: list[Waiter] = []
                waiting: list[Waiter] = []
                for waiter in self._waiters:
                    (ready if waiter[0] <= upto or error is not None else waiting).append(waiter)
                self._waiters = waiting
            settled: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for _, loop, future in ready:
                settled.setdefault(loop, []).append(future)
            for loop, futures in settled.items():  # one wake-up per loop, however many waiters
                loop.call_soon_threadsafe(_settle_all, futures, error)

    def close(self) -> None:
        """Commit what is queued, stop the thread, close the file (blocking: call it off the loop)."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()
        self._conn.close()


def _settle_all(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(JournalFailed("the embedded store's journal failed"))
