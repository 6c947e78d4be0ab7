"""The store's document copies (server/embedded_copy.py) are deep copies like `copy.deepcopy`'s."""

from __future__ import annotations

import copy
from collections import OrderedDict
from datetime import UTC, datetime

from bson import ObjectId

from server import embedded_copy
from server.context import Context


def test_copies_rebuild_every_dict_and_list_and_keep_values_equal() -> None:
    doc = {
        "_id": ObjectId(),
        "at": datetime(2026, 1, 2, tzinfo=UTC),
        "n": 1,
        "x": 1.5,
        "tags": ["a", {"deep": [1, 2, {"deeper": None}]}],
        "map": {"k": {"v": b"bytes"}},
        "ordered": OrderedDict(a=[1]),
    }
    copied = embedded_copy.deepcopy(doc)
    assert copied == copy.deepcopy(doc)
    copied["tags"][1]["deep"][2]["deeper"] = "changed"
    copied["map"]["k"]["v"] = b"other"
    copied["ordered"]["a"].append(2)
    assert doc["tags"][1]["deep"][2]["deeper"] is None
    assert doc["map"]["k"]["v"] == b"bytes"
    assert doc["ordered"]["a"] == [1]  # other containers go through copy.deepcopy
    shallow = embedded_copy.copy(doc["tags"])
    assert shallow == doc["tags"] and shallow is not doc["tags"]


async def test_a_failed_update_leaves_the_stored_document_as_it_was(ctx: Context) -> None:
    from pymongo.errors import DuplicateKeyError

    coll = ctx.db["copy_checks"]
    await coll.create_index("code", unique=True)
    await coll.insert_many([{"_id": 1, "code": "a", "items": [{"n": 1}]}, {"_id": 2, "code": "b", "items": []}])
    try:
        await coll.update_one({"_id": 2}, {"$set": {"code": "a"}, "$push": {"items": {"n": 2}}})
    except DuplicateKeyError:
        pass
    else:
        raise AssertionError("the duplicate code was accepted")
    assert await coll.find_one({"_id": 2}) == {"_id": 2, "code": "b", "items": []}
