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
