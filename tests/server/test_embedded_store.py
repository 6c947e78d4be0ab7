"""The embedded store: the async PyMongo subset the models use, and data kept across a restart."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from server.embedded_store import EmbeddedStore
from tests.helpers import Api


async def test_accounts_survive_a_restart(make_app, settings) -> None:
    if settings.mongodb_url:
        pytest.skip("the snapshot belongs to the embedded store")
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
                user = await api.login("keeper", "long-enough")  # read back from the snapshot
                assert user.role == "CUSTOMER"
    assert (settings.data_dir / "embedded-mongo.json").exists()


async def test_adapter_subset(tmp_path) -> None:
    store = EmbeddedStore("t", tmp_path / "snap.json")
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
    seen = [d["_id"] async for d in coll.find({"k": {"$gte": 8}}).sort("k", 1)]
    assert seen == ["8", "9", "1"]  # "1" now has k=101
    assert store.dirty
    store.write_snapshot()
    reloaded = EmbeddedStore("t", tmp_path / "snap.json")
    assert reloaded.load() == 10
    assert (await reloaded.db["things"].find_one({"_id": "1"}))["k"] == 101
