"""The embedded store's ordered indexes and `$or` candidates: the same pages as mongomock's scan,
before and after writes, and a page over the whole collection costs the page, not the collection."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import mongomock
import pytest
from bson import ObjectId

from server.embedded_engine import Engine
from server.embedded_store import EmbeddedStore

MOMENT = datetime(2025, 1, 1, tzinfo=UTC)
ORDERS: list[list[tuple[str, int]]] = [
    [("at", -1), ("_id", 1)],
    [("at", 1), ("_id", -1)],  # the index reversed: it ends in `_id`, so no two entries tie
    [("owner", 1), ("at", -1), ("_id", 1)],
    [("rank", 1)],  # a declared single-field index: ties in natural order
    [("rank", -1)],
]
FILTERS: list[dict[str, Any]] = [
    {},
    {"owner": "a"},
    {"owner": "b", "at": {"$gte": MOMENT + timedelta(minutes=30)}},
    {"flag": True},
    {"$or": [{"owner": "a"}, {"tags": "x"}]},
    {"$or": [{"owner": "c"}, {"flag": False}]},  # a branch without an index: no candidates, a scan
]


def _doc(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "_id": f"d{i:04d}",
        "owner": rng.choice(["a", "b", "c"]),
        "at": MOMENT + timedelta(minutes=rng.randrange(120)),
        "rank": rng.choice([1, 2, 2.5, 3]),
        "tags": rng.sample(["x", "y"], rng.randint(0, 2)),
        "flag": rng.random() < 0.3,
    }


async def _store() -> tuple[EmbeddedStore, Any, Any]:
    plain = mongomock.MongoClient(tz_aware=True)["p"]["docs"]
    store = EmbeddedStore("t", threaded=False)
    coll = store.db["docs"]
    for keys in ([("at", -1), ("_id", 1)], [("owner", 1), ("at", -1), ("_id", 1)], [("rank", 1)], [("tags", 1)]):
        await coll.create_index(keys)
    return store, coll, plain


async def _same_pages(coll: Any, plain: Any, where: str) -> None:
    for spec in FILTERS:
        for order in ORDERS:
            for skip, limit in ((0, 5), (4, 10), (0, 0)):
                expected = [d["_id"] for d in plain.find(spec).sort(order).skip(skip).limit(limit)]
                got = [d["_id"] for d in await coll.find(spec).sort(order).skip(skip).limit(limit).to_list(None)]
                assert got == expected, (where, spec, order, skip, limit)
        assert await coll.count_documents(spec) == plain.count_documents(spec), (where, spec)


async def test_ordered_walks_answer_as_mongomock_does_through_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Engine, "SORTED_AT_MOST", 0)  # walk whenever an index serves: 300 documents here
    rng = random.Random(11)
    store, coll, plain = await _store()
    docs = [_doc(rng, i) for i in range(300)]
    for target in (coll, plain):
        result = target.insert_many([dict(d) for d in docs])
        if hasattr(result, "__await__"):
            await result
    await _same_pages(coll, plain, "loaded")
    assert all(index.built for spec, index in store.engine("docs").ordered.items() if spec[0][0] in ("at", "rank"))

    moves = [
        ({"owner": "a"}, {"$set": {"at": MOMENT + timedelta(minutes=500)}}),  # sort keys move
        ({"rank": 2}, {"$set": {"rank": 7}}),
        ({"flag": True}, {"$set": {"owner": "c"}}),  # a leading key moves
    ]
    for spec, change in moves:
        await coll.update_many(spec, change)
        plain.update_many(spec, change)
        await _same_pages(coll, plain, f"after {change}")
    for d in [_doc(rng, 1000 + i) for i in range(40)]:
        await coll.insert_one(dict(d))
        plain.insert_one(dict(d))
    await coll.delete_many({"owner": "b", "rank": 1})
    plain.delete_many({"owner": "b", "rank": 1})
    await _same_pages(coll, plain, "after inserts and deletes")

    # A value of another type: MongoDB's cross-type order applies, so the index is left unused
    # (the sorting path answers) until that document is gone.
    odd = {"_id": "odd", "owner": "a", "at": "not a date", "rank": "z", "tags": [], "flag": False}
    await coll.insert_one(dict(odd))
    plain.insert_one(dict(odd))
    await _same_pages(coll, plain, "with a string among the dates")
    engine = store.engine("docs")
    assert engine.walk({}, [("at", -1), ("_id", 1)], 0, 5) is None
    await coll.delete_one({"_id": "odd"})
    plain.delete_one({"_id": "odd"})
    await _same_pages(coll, plain, "the string gone")
    assert engine.walk({}, [("at", -1), ("_id", 1)], 0, 5) is not None


async def test_a_page_of_the_whole_collection_visits_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every forum post newest first, every session for MANAGEMENT: the page walks the index from
    its start; no filter runs on the rest of the collection and nothing else is sorted."""
    store, coll, _ = await _store()
    await coll.insert_many(
        [
            {
                "_id": ObjectId(),
                "owner": f"u{i % 50}",
                "at": MOMENT + timedelta(seconds=i),
                "rank": i,
                "even": i % 2 == 0,
            }
            for i in range(20_000)
        ]
    )
    visited = {"filter": 0, "sort": 0}
    real_filter = mongomock.filtering.filter_applies

    def counting_filter(*args: Any) -> Any:
        visited["filter"] += 1
        return real_filter(*args)

    monkeypatch.setattr(mongomock.filtering, "filter_applies", counting_filter)
    await coll.find({}).sort([("at", -1), ("_id", 1)]).limit(1).to_list(None)  # builds the index once
    engine = store.engine("docs")
    page = await coll.find({}).sort([("at", -1), ("_id", 1)]).skip(40).limit(20).to_list(None)
    assert [d["rank"] for d in page] == list(range(19_959, 19_939, -1))
    older = await coll.find({}).sort([("at", 1), ("_id", -1)]).skip(40).limit(20).to_list(None)
    assert [d["rank"] for d in older] == list(range(40, 60))
    mine = await coll.find({"owner": "u7"}).sort([("at", -1), ("_id", 1)]).limit(3).to_list(None)
    assert [d["rank"] for d in mine] == [19_957, 19_907, 19_857]
    assert await coll.count_documents({}) == 20_000  # a page's total: counted without a pass
    assert await coll.count_documents({"owner": "u7"}) == 400
    assert visited["filter"] == 0  # {} and {owner: v} are exactly their region of the index, or bucket
    filtered = await coll.find({"even": True}).sort([("at", -1), ("_id", 1)]).limit(5).to_list(None)
    assert [d["rank"] for d in filtered] == [19_998, 19_996, 19_994, 19_992, 19_990]
    assert visited["filter"] == 10  # walked from the newest until five matched
    assert engine.ordered[(("at", -1), ("_id", 1))].usable


async def test_or_filters_are_answered_from_the_branches_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's own sessions (`tutorId` or `studentIds`): the union of two index lookups."""
    store, coll, _ = await _store()
    await coll.insert_many([{"_id": i, "owner": f"u{i % 1000}", "tags": [f"t{i % 500}"]} for i in range(10_000)])
    calls = {"filter": 0}
    real_filter = mongomock.filtering.filter_applies

    def counting_filter(*args: Any) -> Any:
        calls["filter"] += 1
        return real_filter(*args)

    monkeypatch.setattr(mongomock.filtering, "filter_applies", counting_filter)
    spec = {"$or": [{"owner": "u3"}, {"tags": "t3"}]}
    assert await coll.count_documents(spec) == 20  # ids 3, 503, 1003, ...: owner u3 is every 1000th
    assert calls["filter"] == 20
    assert sorted(store.engine("docs").candidates(spec) or []) == list(range(3, 10_000, 500))
