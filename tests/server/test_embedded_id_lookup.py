"""The embedded store's `_id` lookup gives the same answers as mongomock's full scan."""

from __future__ import annotations

from pymongo import ReturnDocument

from server.embedded_store import EmbeddedStore


async def test_filters_naming_an_id_behave_as_a_scan_would() -> None:
    coll = EmbeddedStore("t", threaded=False).db["items"]
    await coll.insert_many([{"_id": "a", "n": 1, "tags": ["x"]}, {"_id": "b", "n": 2}, {"_id": 7, "n": 3}])
    assert (await coll.find_one({"_id": "a"}))["n"] == 1
    assert await coll.find_one({"_id": "a", "n": 2}) is None  # the rest of the filter still applies
    assert await coll.find_one({"_id": "a", "tags": "x"}) is not None
    assert await coll.find_one({"_id": "missing"}) is None
    assert (await coll.find_one({"_id": 7}))["n"] == 3
    assert [d["_id"] for d in await coll.find({"_id": {"$in": ["a", "b"]}}).to_list(None)] == ["a", "b"]
    done = await coll.find_one_and_update(
        {"_id": "b", "n": 2}, {"$inc": {"n": 1}}, return_document=ReturnDocument.AFTER
    )
    assert done["n"] == 3
    assert (await coll.update_one({"_id": "b", "n": 2}, {"$set": {"n": 0}})).matched_count == 0
    assert (await coll.delete_one({"_id": "a"})).deleted_count == 1
    assert await coll.count_documents({}) == 2


async def test_compound_unique_index_checks_only_the_named_tuple() -> None:
    """A unique index of several fields is checked through the hash of their tuple: a write meets
    the few documents that share every value, not all those sharing the first (O(1) per message
    write whatever the conversation's length); the answers stay the scan's."""
    store = EmbeddedStore("t", threaded=False)
    coll = store.db["messages"]
    await coll.create_index([("c", 1), ("seq", 1)], unique=True, partialFilterExpression={"seq": {"$gt": 0}})
    await coll.insert_many([{"_id": i, "c": "a", "seq": i + 1} for i in range(500)])
    await coll.insert_one({"_id": "r1", "c": "a", "seq": None})  # not covered by the partial index
    await coll.insert_one({"_id": "r2", "c": "a", "seq": None})
    engine = store.engine("messages")
    assert engine.candidates({"$and": [{"seq": {"$gt": 0}}, {"c": "a", "seq": 7}]}) == [6]
    assert len(engine.candidates({"c": "a", "seq": None}) or []) == 2
    try:
        await coll.update_one({"_id": "r1"}, {"$set": {"seq": 7}})
    except Exception as exc:
        assert type(exc).__name__ == "DuplicateKeyError"
    else:
        raise AssertionError("a duplicate (c, seq) was accepted")
    await coll.update_one({"_id": "r1"}, {"$set": {"seq": 501}})
    assert (await coll.find_one({"c": "a", "seq": 501}))["_id"] == "r1"
    assert await coll.count_documents({"c": "a", "seq": {"$in": [1, 2, 501]}}) == 3
    await coll.insert_one({"_id": "x", "c": ["a", "b"], "seq": 900})  # an array value: overflow
    assert (await coll.find_one({"c": "b", "seq": 900}))["_id"] == "x"
