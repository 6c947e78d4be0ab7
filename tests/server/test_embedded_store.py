"""The embedded store: the async PyMongo subset the models use, every write journaled and replayed,
exact types across a restart, reads in O(matches), and one owner per DATA_DIR."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mongomock
import pytest
from aiohttp.test_utils import TestClient, TestServer
from bson import ObjectId
from pymongo import DeleteOne, InsertOne, ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from server.datadir_lock import DataDirInUse, DataDirLock
from server.embedded_journal import SCHEMA
from server.embedded_store import JOURNAL_FILE, EmbeddedStore
from tests.helpers import Api

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["inline", "threaded"])
def threaded(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "threaded")


async def opened(data_dir: Path | None, threaded: bool = False, seed: int | None = None) -> EmbeddedStore:
    store = EmbeddedStore("t", data_dir, threaded=threaded, interleave_seed=seed)
    store.open()
    return store


@pytest.fixture
async def store(tmp_path: Path, threaded: bool) -> AsyncIterator[EmbeddedStore]:
    opened_store = await opened(tmp_path, threaded)
    yield opened_store
    await opened_store.close()


async def test_accounts_survive_a_restart(make_app, settings) -> None:
    if settings.mongodb_url:
        pytest.skip("the journal belongs to the embedded store")
    for attempt in range(2):
        app = await make_app()
        async with TestClient(TestServer(app)) as client:
            api = Api(client, settings.admin_password or "")
            if attempt == 0:
                assert (
                    await api.post(
                        "/auth/register",
                        {
                            "username": "keeper",
                            "email": "keeper@example.com",
                            "password": "long-enough",
                            "fullName": "Kept",
                            "role": "CUSTOMER",
                        },
                    )
                ).status == 201
            else:
                user = await api.login("keeper", "long-enough")  # read back from the journal
                assert user.role == "CUSTOMER"
    assert (settings.data_dir / JOURNAL_FILE).exists()


async def test_adapter_subset(store: EmbeddedStore, tmp_path: Path, threaded: bool) -> None:
    coll = store.db["things"]
    await coll.create_index([("k", 1)], unique=True)
    await coll.insert_many([{"_id": str(i), "k": i, "tag": "odd" if i % 2 else "even"} for i in range(10)])
    with pytest.raises(DuplicateKeyError):
        await coll.insert_one({"_id": "x", "k": 3})
    page = await coll.find({"tag": "odd"}).sort([("k", -1)]).skip(1).limit(2).to_list(None)
    assert [d["k"] for d in page] == [7, 5]
    assert await coll.count_documents({"tag": "even"}) == 5
    after = await coll.find_one_and_update(
        {"_id": "1", "k": 1}, {"$inc": {"k": 100}}, return_document=ReturnDocument.AFTER
    )
    assert after["k"] == 101
    assert await coll.find_one_and_update({"_id": "1", "k": 1}, {"$inc": {"k": 1}}) is None
    grouped = await (await coll.aggregate([{"$group": {"_id": "$tag", "n": {"$sum": 1}}}])).to_list(None)
    assert sorted((g["_id"], g["n"]) for g in grouped) == [("even", 5), ("odd", 5)]
    matched = await (await coll.aggregate([{"$match": {"tag": "odd"}}, {"$count": "n"}])).to_list(None)
    assert matched == [{"n": 5}]
    seen = [d["_id"] async for d in coll.find({"k": {"$gte": 8}}).sort("k", 1)]
    assert seen == ["8", "9", "1"]  # "1" now has k=101
    assert await coll.find_one({"tag": "odd"}, {"_id": 0, "k": 1}, sort=[("k", 1)]) == {"k": 3}
    assert sorted(await coll.distinct("tag")) == ["even", "odd"]
    await store.close()
    reloaded = await opened(tmp_path, threaded)
    try:
        assert await reloaded.db["things"].count_documents({}) == 10
        assert (await reloaded.db["things"].find_one({"_id": "1"}))["k"] == 101
        with pytest.raises(DuplicateKeyError):  # the unique index came back too
            await reloaded.db["things"].insert_one({"_id": "y", "k": 4})
    finally:
        await reloaded.close()


async def test_every_kind_of_write_is_journaled(store: EmbeddedStore, tmp_path: Path, threaded: bool) -> None:
    c = store.db["c"]
    await c.create_index([("u", 1)], unique=True, partialFilterExpression={"u": {"$exists": True}})
    await c.insert_one({"_id": "one", "n": 1})
    await c.insert_many([{"_id": f"m{i}", "n": i, "u": i} for i in range(5)])
    with pytest.raises(BulkWriteError):  # ordered: m5 goes in, the duplicate stops the rest
        await c.insert_many([{"_id": "m5", "n": 5, "u": 5}, {"_id": "dup", "u": 0}, {"_id": "m6", "u": 6}])
    await c.update_one({"_id": "one"}, {"$set": {"a": 1}})
    await c.update_many({"n": {"$gte": 3}}, {"$inc": {"n": 10}})
    await c.update_one({"_id": "up"}, {"$set": {"n": 7}}, upsert=True)
    await c.replace_one({"_id": "m0"}, {"n": 0, "replaced": True})
    await c.find_one_and_update({"_id": "m1"}, {"$set": {"f": "u"}})
    await c.find_one_and_replace({"_id": "m2"}, {"n": 2, "f": "r"})
    await c.find_one_and_delete({"_id": "m3"})
    await c.delete_one({"_id": "m4"})
    # (mongomock's bulk_write takes no UpdateOne from this PyMongo; the models use no bulk writes)
    await c.bulk_write([InsertOne({"_id": "b1", "n": 1}), DeleteOne({"_id": "up"})])
    await store.db["gone"].insert_one({"_id": "g"})
    await store.db.drop_collection("gone")
    await store.db["d"].insert_many([{"_id": i, "x": i % 2} for i in range(4)])
    await store.db["d"].delete_many({"x": 1})
    expected = {name: await store.db[name].find().sort("_id", 1).to_list(None) for name in ("c", "d", "gone")}
    await store.close()
    reloaded = await opened(tmp_path, threaded)
    try:
        for name, documents in expected.items():
            assert await reloaded.db[name].find().sort("_id", 1).to_list(None) == documents
        assert {d["_id"] for d in expected["c"]} == {"one", "m0", "m1", "m2", "m5", "b1"}
        assert expected["gone"] == []
        assert [d["_id"] for d in expected["d"]] == [0, 2]
    finally:
        await reloaded.close()


async def test_types_round_trip_exactly(tmp_path: Path) -> None:
    moment = datetime(2025, 9, 6, 7, 39, 22, 123456, tzinfo=UTC)
    doc = {
        "_id": "typed",
        "when": moment,
        "dates": [moment, None],
        "int": 7,
        "big": 2**53 + 1,
        "float": 1.0,
        "bool": True,
        "none": None,
        "text": "Xin chào ✓",
        "oid": ObjectId("64b7f0c2a1b2c3d4e5f60718"),
        "nested": {"list": [1, 2.5, {"deep": moment}], "empty": {}},
    }
    store = await opened(tmp_path)
    await store.db["t"].insert_one(dict(doc))
    before = await store.db["t"].find_one({"_id": "typed"})
    await store.close()
    reloaded = await opened(tmp_path)
    after = await reloaded.db["t"].find_one({"_id": "typed"})
    await reloaded.close()
    assert after == before
    assert after["when"] == moment.replace(microsecond=123000)  # MongoDB keeps milliseconds
    assert after["when"].tzinfo is not None
    assert type(after["float"]) is float and type(after["int"]) is int and after["big"] == 2**53 + 1
    assert type(after["big"]) is int  # not bson.Int64
    assert isinstance(after["oid"], ObjectId)


async def test_documents_are_journaled_as_bson_and_old_text_rows_still_load(tmp_path: Path) -> None:
    """Documents are written as BSON BLOBs; rows of earlier versions (relaxed extended JSON text)
    load with their types, and become BSON when their document is next written."""
    journal = tmp_path / JOURNAL_FILE
    conn = sqlite3.connect(journal)
    conn.executescript(SCHEMA)
    old_row = '{"_id": "old", "at": {"$date": "2025-01-02T03:04:05.006Z"}, "n": 9007199254740993, "f": 1.0}'
    conn.execute("INSERT INTO documents VALUES ('items', '\"old\"', ?)", (old_row,))
    conn.commit()
    conn.close()
    store = await opened(tmp_path)
    old = await store.db["items"].find_one({"_id": "old"})
    assert old == {"_id": "old", "at": datetime(2025, 1, 2, 3, 4, 5, 6000, tzinfo=UTC), "n": 2**53 + 1, "f": 1.0}
    assert type(old["n"]) is int and type(old["f"]) is float
    await store.db["items"].insert_one({"_id": "new", "n": 2**40})
    await store.db["items"].update_one({"_id": "old"}, {"$inc": {"n": 1}})
    await store.close()
    kinds = dict(sqlite3.connect(journal).execute("SELECT key, typeof(doc) FROM documents").fetchall())
    assert kinds == {'"old"': "blob", '"new"': "blob"}
    reloaded = await opened(tmp_path)
    docs = {d["_id"]: d for d in await reloaded.db["items"].find({}).to_list(None)}
    await reloaded.close()
    assert docs["old"]["n"] == 2**53 + 2 and docs["old"]["at"] == old["at"]
    assert docs["new"]["n"] == 2**40 and type(docs["new"]["n"]) is int


async def test_reads_cost_the_matches_not_the_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Filters are run on the candidates an index gives, and only the returned page is copied."""
    store = await opened(None)
    coll = store.db["n"]
    await coll.create_index([("userId", 1), ("at", -1)])
    await coll.insert_many([{"_id": i, "userId": f"u{i % 1000}", "at": i} for i in range(20_000)])
    calls = {"filter": 0, "copy": 0}
    real_filter, real_copy = mongomock.filtering.filter_applies, mongomock.collection.Collection._copy_only_fields

    def counting_filter(*args: Any) -> Any:
        calls["filter"] += 1
        return real_filter(*args)

    def counting_copy(self: Any, *args: Any) -> Any:
        calls["copy"] += 1
        return real_copy(self, *args)

    monkeypatch.setattr(mongomock.filtering, "filter_applies", counting_filter)
    monkeypatch.setattr(mongomock.collection.Collection, "_copy_only_fields", counting_copy)
    page = await coll.find({"userId": "u7"}).sort([("at", -1)]).skip(2).limit(5).to_list(None)
    assert [d["at"] for d in page] == [17007, 16007, 15007, 14007, 13007]
    assert await coll.count_documents({"userId": {"$in": ["u7", "u8"]}}) == 40
    assert calls == {"filter": 40, "copy": 5}  # {userId: v} is exactly its bucket: no filter to run
    everything = await coll.find({"at": {"$gte": 0}}).to_list(None)  # unindexed: one pass, one copy each
    assert len(everything) == 20_000 and calls["copy"] == 20_005


async def test_ttl_indexes_are_swept_through_the_journal(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    tokens = store.db["tokens"]
    await tokens.create_index([("purgeAt", 1)], expireAfterSeconds=0)
    now = datetime.now(UTC)
    await tokens.insert_many(
        [{"_id": "old", "purgeAt": now - timedelta(minutes=1)}, {"_id": "new", "purgeAt": now + timedelta(days=1)}]
    )
    assert await tokens.count_documents({}) == 2  # nothing expires behind the journal's back
    assert await store.sweep_expired(now) == 1
    await store.close()
    reloaded = await opened(tmp_path)
    assert [d["_id"] for d in await reloaded.db["tokens"].find().to_list(None)] == ["new"]
    await reloaded.close()


async def test_the_old_snapshot_is_imported_once(tmp_path: Path) -> None:
    (tmp_path / "embedded-mongo.json").write_text(
        '{"collections": {"users": [{"_id": "u1", "at": {"$date": "2025-01-02T03:04:05.006Z"}}]}}'
    )
    store = await opened(tmp_path)
    assert (await store.db["users"].find_one({"_id": "u1"}))["at"] == datetime(2025, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    await store.close()
    assert not (tmp_path / "embedded-mongo.json").exists()
    reloaded = await opened(tmp_path)
    assert await reloaded.db["users"].count_documents({}) == 1
    await reloaded.close()


async def test_a_second_owner_of_data_dir_is_refused(tmp_path: Path) -> None:
    first = await opened(tmp_path)
    with pytest.raises(DataDirInUse, match="MONGODB_URL") as refused:
        await opened(tmp_path)
    assert str(os.getpid()) in str(refused.value) and "DATA_DIR" in str(refused.value)
    await first.close()
    await (await opened(tmp_path)).close()  # released on close


def test_a_lock_left_by_a_killed_process_does_not_block_a_restart(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from server.datadir_lock import DataDirLock; "
            "DataDirLock(Path(sys.argv[1])).acquire(); print('locked', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    lock = DataDirLock(tmp_path)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"locked"
        with pytest.raises(DataDirInUse, match=str(holder.pid)):
            lock.acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    lock.acquire()  # the kernel dropped the dead process's lock
    lock.release()


async def test_indexed_reads_answer_as_mongomock_does() -> None:
    """The engine's candidates, exact-match shortcut and plain-value sort against mongomock's scan."""
    rng = random.Random(7)
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    docs = [
        {
            "_id": f"d{i}",
            # (no booleans among numbers: mongomock's scan takes 1 == True, MongoDB does not)
            "owner": rng.choice(["a", "b", "c", None, 1, 1.0, ["a", "b"], {"x": 1}]),
            "tags": rng.sample(["x", "y", "z"], rng.randint(0, 2)),
            "n": rng.choice([2, 2.5, "s", None, moment, False]),
            "at": moment + timedelta(minutes=rng.randrange(50)),
        }
        for i in range(300)
    ]
    plain = mongomock.MongoClient(tz_aware=True)["p"]["docs"]
    plain.insert_many([dict(d) for d in docs])
    store = await opened(None)
    coll = store.db["docs"]
    for keys in ([("owner", 1)], [("tags", 1), ("at", -1)], [("n", 1)]):
        await coll.create_index(keys)
    await coll.insert_many([dict(d) for d in docs])
    filters: list[dict[str, Any]] = [
        {"owner": "a"},
        {"owner": 1},
        {"owner": None},
        {"owner": {"$in": ["b", None]}},
        {"tags": "x"},
        {"tags": "x", "owner": "a"},
        {"n": moment},
        {"n": False},
        {"n": 2.5, "tags": "z"},
        {"$and": [{"owner": "c"}, {"at": {"$gte": moment + timedelta(minutes=20)}}]},
        {"at": {"$lt": moment + timedelta(minutes=10)}},
    ]
    for spec in filters:
        for order in ([("at", -1), ("_id", 1)], [("n", 1), ("_id", -1)], [("owner", 1), ("_id", 1)]):
            expected = list(plain.find(spec).sort(order).skip(3).limit(7))
            assert await coll.find(spec).sort(order).skip(3).limit(7).to_list(None) == expected, (spec, order)
        assert await coll.count_documents(spec) == plain.count_documents(spec), spec


async def test_writes_in_a_durable_at_end_block_are_journaled_when_it_ends(tmp_path) -> None:
    """Inside `durable_at_end` writes return once applied; leaving the block waits until the last
    of them (hence all: the journal commits in order) is committed. A write after the block, even
    by a task started inside it, waits for its own commit again."""
    from server.documents import durable_at_end

    store = EmbeddedStore("t", tmp_path)  # threaded, with the background (group-commit) journal
    store.open()
    try:
        coll = store.db["items"]
        journal = store._journal
        assert journal is not None
        async with durable_at_end(store.db):
            for i in range(20):
                await coll.insert_one({"_id": i})
            await coll.update_one({"_id": 0}, {"$set": {"n": 1}})
            last = journal._appended
        assert journal._committed >= last
        await coll.insert_one({"_id": "after"})
        assert journal._committed >= journal._appended
    finally:
        await store.close()
    reopened = EmbeddedStore("t", tmp_path)
    assert reopened.open() == 21
    await reopened.close()


@pytest.mark.parametrize("key", ["plain", "héllo wörld", '"quoted" \\ and \u2028', "", "x" * 300])
def test_string_keys_are_written_as_earlier_versions_wrote_them(key: str) -> None:
    """A row is replaced by its key: a string key must encode exactly as json_util always did."""
    from bson import json_util

    from server.embedded_journal import ENCODING, encode

    assert encode(key) == json_util.dumps(key, json_options=ENCODING)


async def test_an_array_holding_one_value_twice_is_indexed_and_updated(tmp_path: Any) -> None:
    """["x", "x"] (or [1, 1.0]) is filed once under its key; re-filing it after an update used to
    raise KeyError half-way, leaving the change unjournaled and the indexes stale."""
    store = EmbeddedStore("dup", tmp_path, threaded=False)
    await asyncio.to_thread(store.open)
    try:
        items = store.db["items"]
        await items.create_index([("tags", 1)])
        await items.insert_one({"_id": "p", "tags": ["x", "x", 1, 1.0]})
        await items.update_one({"_id": "p"}, {"$set": {"tags": ["y"]}})
        assert await items.find_one({"tags": "y"}) == {"_id": "p", "tags": ["y"]}
        assert await items.find_one({"tags": "x"}) is None
    finally:
        await store.close()
