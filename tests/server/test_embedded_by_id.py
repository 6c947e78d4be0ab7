"""The embedded store's single-document path by `_id` (server/embedded_by_id.py): the answers,
exceptions and stored documents of plain mongomock, an update that changes nothing journals
nothing, a duplicate key leaves the document and the indexes as they were, and its writes survive
kill -9."""

from __future__ import annotations

import asyncio
import copy
import math
import os
import random
import signal
import sys
import uuid
from collections import OrderedDict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar

import mongomock
import pytest
from bson import ObjectId, json_util
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from pymongo.results import InsertOneResult, UpdateResult

from server.embedded_engine import CompoundIndex, Engine, FieldIndex
from server.embedded_store import EmbeddedStore

ROOT = Path(__file__).resolve().parents[2]

INDEXES: list[tuple[list[tuple[str, int]], dict[str, Any]]] = [
    ([("u", 1)], {"unique": True, "sparse": True}),
    ([("c", 1), ("seq", 1)], {"unique": True, "partialFilterExpression": {"seq": {"$gt": 0}}}),
    ([("k", 1)], {"unique": True, "partialFilterExpression": {"k": {"$type": "string"}}}),
    ([("tags", 1), ("at", -1)], {}),
]


async def opened(data_dir: Path | None = None, threaded: bool = False) -> EmbeddedStore:
    store = EmbeddedStore("t", data_dir, threaded=threaded)
    store.open()
    return store


# ------------------------------------------------------------------------------ random operations

MOMENT = datetime(2025, 3, 4, 5, 6, 7, 891234)
IDS: list[Any] = ["d0", "d1", "d2", "d3", 1, 2, ObjectId("64b7f0c2a1b2c3d4e5f60718"), b"raw"]


class Draw:
    """The random documents, filters, updates and projections: the covered shapes and the ones
    that go to mongomock (arrays, positional paths, other operators, upserts, sorts, ...).
    Booleans stay out of indexed fields and filters: there the engine's hash indexes follow
    MongoDB (True != 1) where mongomock's scan does not."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def choice(self, options: list[Any]) -> Any:
        return self.rng.choice(options)

    def moment(self) -> datetime:
        shifted = MOMENT + timedelta(minutes=self.rng.randrange(-3, 4), microseconds=self.rng.randrange(0, 999_999))
        kind = self.rng.random()
        if kind < 0.4:
            return shifted
        if kind < 0.8:
            return shifted.replace(tzinfo=UTC)
        return shifted.replace(tzinfo=timezone(timedelta(hours=7)))

    def scalar(self, checked: bool) -> Any:
        if checked and self.rng.random() < 0.03:  # what BSON cannot hold: only where mongomock
            return self.choice([2**70, "lone \ud800", uuid.UUID(int=5)])  # checks (else the journal refuses it)
        options: list[Any] = [0, 1, 2, 3, 1.0, 2.5, -0.0, "a", "b", "x", "é", None, self.moment(), ObjectId(IDS[6])]
        return self.choice([*options, True, False, float("nan"), b"\x00\x01", (1, "t")])

    def value(self, depth: int = 0, checked: bool = True) -> Any:
        roll = self.rng.random()
        if depth < 2 and roll < 0.15:
            return [self.value(depth + 1, checked) for _ in range(self.rng.randrange(0, 3))]
        if depth < 2 and roll < 0.3:
            fields = self.rng.sample(["a", "b", "seq", "x"], self.rng.randrange(0, 3))
            made = {name: self.value(depth + 1, checked) for name in fields}
            return OrderedDict(made) if self.rng.random() < 0.05 else made
        return self.scalar(checked)

    def field_value(self, name: str) -> Any:
        if name in ("u", "k"):
            return self.choice(["a", "b", "c", 1, 2, None, self.moment()])
        if name == "c":
            return self.choice(["c1", "c2", ["c1", "c2"]])
        if name == "seq":
            return self.choice([None, 1, 2, 3, 2.0, "s"])
        if name == "tags":
            return self.rng.sample(["x", "y", "z"], self.rng.randrange(0, 3))
        if name == "m":
            return self.choice([None, {"seq": self.rng.randrange(4), "body": "hi"}, {"seq": "s"}, 5])
        if name == "reads":
            return self.choice([{}, {"u1": 2}, {"u1": 1, "u2": 5}])
        if self.rng.random() < 0.2:
            return self.value()
        if name == "nested":
            return {"a": self.choice(["a", "b", 1]), "x": {"y": self.typed("nested.x.y")}}
        return self.typed(name)

    TYPES: ClassVar[dict[str, str]] = {"n": "number", "s": "str", "at": "date", "seq": "number", "m.seq": "number"}
    TYPES |= {"m.body": "str", "reads.u1": "number", "reads.u2": "number", "nested.a": "str", "nested.x.y": "number"}

    def typed(self, path: str) -> Any:
        """A value of the type the field usually holds."""
        kind = self.TYPES.get(path, "any")
        if kind == "number":
            return self.choice([0, 1, 2, 3, 2.5, 7, -0.0, 1.0])
        if kind == "str":
            return self.choice(["a", "b", "hi", "é"])
        if kind == "date":
            return self.moment()
        return self.value(checked=False)

    def document(self) -> dict[str, Any]:
        names = self.rng.sample(["n", "m", "s", "u", "c", "seq", "k", "tags", "at", "reads", "nested"], 6)
        doc: dict[str, Any] = {}
        if self.rng.random() < 0.85:
            doc["_id"] = self.choice(IDS)
        for name in names:
            doc[name] = self.field_value(name)
        if self.rng.random() < 0.03:
            doc[self.choice(["$bad", "nul\x00key", 5])] = 1
        return doc

    def filter(self) -> Any:
        spec: dict[str, Any] = {"_id": self.choice(IDS)}
        for _ in range(self.rng.randrange(0, 3)):
            clause = self.choice(
                [
                    {"seq": None},
                    {"c": self.choice(["c1", "c2", "zz"])},
                    {"tags": self.choice(["x", "y"])},
                    {"u": self.choice(["a", 1, None])},
                    {"n": self.choice([1, 2.5, "a", None])},
                    {"$or": [{"m": None}, {"m.seq": {"$lt": self.rng.randrange(5)}}]},
                    {"$and": [{"seq": {"$gte": 1}}, {"c": "c1"}]},
                    {"m.seq": {"$gt": 1}},
                    {"n": {"$in": [1, 2]}},
                    {"at": self.moment()},
                    {"nested.a": "a"},
                    {"m.body": "hi"},
                ]
            )
            spec.update(clause)
        if self.rng.random() < 0.05:  # not a plain `_id` (one of them: mongomock projects every match
            return {"_id": {"$in": [self.choice(IDS)]}}  # of a cursor, the engine only the first)
        return spec

    PATHS: ClassVar[list[str]] = ["n", "m", "s", "u", "c", "seq", "k", "at", "new", "m.seq", "m.body", "m.a.b"]
    PATHS += ["reads.u1", "reads.u2", "nested.a", "nested.x.y"]
    WILD_PATHS: ClassVar[list[str]] = ["tags.0", "n.x", "m.$", "_id", "", "a..b"]  # arrays, scalars, positional

    def update(self) -> dict[str, Any]:
        """Mostly the covered operators and paths (which still go to mongomock when the stored
        values say so: a `$inc` of a string, a path through an array), sometimes anything."""
        wild = self.rng.random() < 0.2
        operators = ["$set"] * 4 + ["$unset", "$inc", "$inc", "$max", "$min"] + (["$push", "$rename"] if wild else [])
        paths = self.PATHS + (self.WILD_PATHS if wild else [])
        update: dict[str, Any] = {}
        for _ in range(self.rng.randrange(1, 3)):
            operator = self.choice(operators)
            fields = update.setdefault(operator, {})
            for _ in range(self.rng.randrange(1, 3)):
                path = self.choice(paths)
                if operator in ("$inc", "$max", "$min") and self.rng.random() < 0.6:
                    path = self.choice(list(self.TYPES))
                if not wild and any(_overlap(path, named) for names in update.values() for named in names):
                    continue  # two operators on one path (or on a path and its prefix): mostly not
                if operator == "$unset":
                    fields[path] = ""
                elif operator == "$inc":
                    fields[path] = self.choice([1, -1, 2.5, 0, 0.0] + (["x", True] if wild else []))
                elif operator in ("$max", "$min") and self.rng.random() < 0.7:
                    fields[path] = self.typed(path) if path in self.TYPES else self.choice([0, "b", self.moment()])
                elif operator in ("$max", "$min"):
                    fields[path] = self.choice([0, 2, 3.5, "b", self.moment()] + ([None, [1]] if wild else []))
                elif operator == "$rename":
                    fields[path] = "renamed"
                elif path in ("u", "c", "seq", "k") or (not wild and path in ("m", "reads", "nested")):
                    fields[path] = self.field_value(path)
                elif not wild and path in self.TYPES and self.rng.random() < 0.8:
                    fields[path] = self.typed(path)
                else:
                    fields[path] = self.value(checked=operator == "$set")
        for operator, fields in update.items():
            # An `_id` path alone: mongomock then always undoes the change (after another path
            # that raises it would leave a document whose `_id` is not its key, where the
            # engine's key lookups and mongomock's scan part ways, fast path or not).
            if "_id" in fields:
                return {operator: {"_id": fields["_id"]}}
        if wild and self.rng.random() < 0.1:
            return {self.choice(["$set", "$inc"]): {}}
        return {operator: fields for operator, fields in update.items() if fields} or {"$set": {"n": 1}}

    def projection(self) -> Any:
        if self.rng.random() < 0.15:  # exclusion, `_id: 0`, a dotted path, an operator: mongomock's
            return self.choice([{"n": 0}, {"_id": 0, "n": 1}, {"m.seq": 1}, {"tags": {"$slice": 1}}])
        return self.choice([None, None, {}, {"n": 1, "m": 1}, {"seq": 1, "c": True, "_id": 1}, {"_id": 1}])

    def operation(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        method, args, kwargs = self._operation()
        if kwargs.get("upsert") and (
            isinstance(args[0].get("_id"), dict) or any("_id" in fields for fields in args[1].values())
        ):
            del kwargs["upsert"]  # an upsert without a plain `_id`: each side would draw an ObjectId
        return method, args, kwargs

    def _operation(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        roll = self.rng.random()
        if roll < 0.25:
            return "insert_one", (self.document(),), {}
        if roll < 0.55:
            kwargs: dict[str, Any] = {}
            if self.rng.random() < 0.05:
                kwargs["upsert"] = True
            return "update_one", (self.filter(), self.update()), kwargs
        if roll < 0.85:
            kwargs = {"return_document": self.choice([ReturnDocument.BEFORE, ReturnDocument.AFTER])}
            projection = self.projection()
            if projection is not None:
                kwargs["projection"] = projection
            if self.rng.random() < 0.05:
                kwargs["sort"] = [("n", 1)]
            if self.rng.random() < 0.03:
                kwargs["upsert"] = True
            return "find_one_and_update", (self.filter(), self.update()), kwargs
        if self.rng.random() < 0.2:
            return "find_one", (self.choice(IDS),), {}
        projection = self.projection()
        return "find_one", (self.filter(),) if projection is None else (self.filter(), projection), {}


def _overlap(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


# ------------------------------------------------------------------------------ comparing


def canon(value: Any) -> Any:
    """A value with everything the comparison must see: types, key order, -0.0, NaN, tzinfo."""
    if isinstance(value, dict):
        return (type(value).__name__, [(key, canon(item)) for key, item in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [canon(item) for item in value])
    if isinstance(value, float):
        return ("float", repr(value))
    if isinstance(value, datetime):
        return ("datetime", value.replace(tzinfo=None), value.utcoffset(), value.fold)
    if isinstance(value, InsertOneResult):
        return ("InsertOneResult", canon(value.inserted_id), value.acknowledged)
    if isinstance(value, UpdateResult):
        raw = {key: item for key, item in value.raw_result.items() if key != "connectionId"}
        return ("UpdateResult", canon(raw), value.acknowledged, value.matched_count, value.modified_count)
    return (type(value).__name__, value)


def outcome(method: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    try:
        return "ok", canon(method(*args, **kwargs))
    except Exception as exc:
        return "raised", (type(exc).__name__, str(exc))


async def async_outcome(method: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    try:
        return "ok", canon(await method(*args, **kwargs))
    except Exception as exc:
        return "raised", (type(exc).__name__, str(exc))


def assert_indexes_current(engine: Engine) -> None:
    """The hash indexes as re-filing every stored document from scratch gives them."""
    for field, index in engine.fields.items():
        fresh = FieldIndex(field)
        for doc_id, doc in engine.store._documents.items():
            fresh.update(doc_id, doc)
        assert (index.buckets, index.filed, index.overflow) == (fresh.buckets, fresh.filed, fresh.overflow), field
    for names, compound in engine.compounds.items():
        again = CompoundIndex(names)
        for doc_id, doc in engine.store._documents.items():
            again.update(doc_id, doc)
        assert (compound.buckets, compound.filed, compound.overflow) == (again.buckets, again.filed, again.overflow)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_operations_by_id_answer_as_plain_mongomock(seed: int) -> None:
    rng = random.Random(seed)
    draw = Draw(rng)
    plain = mongomock.MongoClient(tz_aware=True)["p"]["docs"]
    store = await opened()
    fast = store.db["docs"]
    for keys, options in INDEXES:
        plain.create_index(keys, **options)
        await fast.create_index(keys, **options)
    engine = store.engine("docs")
    fallbacks = dict.fromkeys(engine.by_id.original, 0)
    calls = dict(fallbacks)
    current: list[str] = []
    for name, method in list(engine.by_id.original.items()):

        def counted(*args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
            if current == [_name]:  # the operation itself went to mongomock (not a call inside it)
                fallbacks[_name] += 1
            return _method(*args, **kwargs)

        engine.by_id.original[name] = counted

    for step in range(1000):
        method, args, kwargs = draw.operation()
        calls[method] += 1
        current[:] = [method]
        mine_args, mine_kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
        theirs_args, theirs_kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
        mine = await async_outcome(getattr(fast, method), *mine_args, **mine_kwargs)
        if method == "insert_one" and "_id" not in args[0] and "_id" in mine_args[0]:
            theirs_args[0]["_id"] = mine_args[0]["_id"]  # the ObjectId each side would draw
        theirs = outcome(getattr(plain, method), *theirs_args, **theirs_kwargs)
        context = (seed, step, method, args, kwargs)
        assert mine == theirs, context
        if method == "insert_one":  # `_id` filled in on the caller's dict (a projection is not
            assert canon(mine_args) == canon(theirs_args), context  # touched: mongomock adds `_id`)
        stored_mine = [canon(doc) for doc in engine.store._documents.values()]
        stored_theirs = [canon(doc) for doc in plain._store._documents.values()]
        assert stored_mine == stored_theirs, context
        if step % 50 == 0:
            assert_indexes_current(engine)
    assert_indexes_current(engine)
    print({name: f"{fallbacks[name]} of {count} to mongomock" for name, count in calls.items()})
    for name, count in calls.items():  # both paths were taken, the fast one mostly
        assert 0 < fallbacks[name] < count * 0.6, (name, fallbacks[name], count)


EDGE_DOCUMENT = {
    "_id": "e",
    "n": 1,
    "f": 2.5,
    "z": 0.0,
    "nan": math.nan,
    "when": datetime(2025, 1, 1, 12, 0, 0, 123000),
    "s": "b",
    "none": None,
    "list": [1, 2],
    "sub": {"a": 1, "b": {"c": "x"}},
    "ordered": OrderedDict([("a", 1)]),
}
EDGE_UPDATES: list[dict[str, Any]] = [
    {"$min": {"nan": 0}},  # the same NaN object stays: no change
    {"$max": {"nan": 5, "n": 1}},
    {"$inc": {"nan": 0}},  # a new NaN: a change
    {"$set": {"n": 1.0}},  # equal, not identical: mongomock stores 1.0 and counts no change
    {"$set": {"z": -0.0}},
    {"$set": {"n": True}},
    {"$inc": {"n": 0}},
    {"$inc": {"n": 0.0}},
    {"$inc": {"f": 1, "new": 2.5}},
    {"$inc": {"s": 1}},
    {"$inc": {"n": True}},
    {"$max": {"s": "a", "when": datetime(2024, 1, 1, tzinfo=UTC)}},
    {"$max": {"when": datetime(2025, 1, 1, 12, 0, 0, 123999)}},  # the same millisecond
    {"$max": {"when": datetime(2025, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=2)))}},
    {"$min": {"s": 1}},
    {"$min": {"none": 1}},
    {"$max": {"missing": None}},
    {"$max": {"sub.b.d": 3, "sub.e.f": "y"}},
    {"$set": {"sub": {"b": {"c": "x"}, "a": 1}}},  # equal with the keys reordered
    {"$set": {"sub": {"a": 1, "b": {"c": "x"}}}},
    {"$set": {"ordered": {"a": 1}}},
    {"$set": {"sub.b.c": "x", "sub.a": 2}},
    {"$unset": {"sub.b.c": "", "sub.q.r": "", "missing": ""}},
    {"$unset": {"missing.deeper": ""}},
    {"$set": {"list.0": 5}},
    {"$set": {"s.x": 1}},
    {"$set": {"sub.a": 1}, "$inc": {"sub.a": 1}},
    {"$set": {"sub": 1}, "$unset": {"sub.a": ""}},
    {"$set": {"big": 2**64}},
    {"$set": {"text": "lone \ud800"}},
    {"$set": {"$bad": 1}},
    {"$set": {}},
    {"$setOnInsert": {"a": 1}},
]


@pytest.mark.parametrize("update", EDGE_UPDATES, ids=[str(u) for u in EDGE_UPDATES])
async def test_edge_updates_answer_as_plain_mongomock(update: dict[str, Any]) -> None:
    """Hand-picked corners: NaN, 1 vs 1.0 vs True, -0.0, datetimes within a millisecond or in
    another zone, type mismatches, key order, OrderedDict, paths through scalars and arrays,
    conflicting paths, what BSON refuses, empty and unsupported operators."""
    plain = mongomock.MongoClient(tz_aware=True)["p"]["docs"]
    store = await opened()
    fast = store.db["docs"]
    plain.insert_one(copy.deepcopy(EDGE_DOCUMENT))
    await fast.insert_one(copy.deepcopy(EDGE_DOCUMENT))
    for method, kwargs in (
        ("update_one", {}),
        ("find_one_and_update", {"return_document": ReturnDocument.AFTER}),
        ("find_one_and_update", {"projection": {"n": 1, "nan": 1}}),
    ):
        mine = await async_outcome(getattr(fast, method), {"_id": "e"}, copy.deepcopy(update), **kwargs)
        theirs = outcome(getattr(plain, method), {"_id": "e"}, copy.deepcopy(update), **kwargs)
        assert mine == theirs, (method, kwargs)
        assert canon(store.engine("docs").store._documents["e"]) == canon(plain._store._documents["e"])


async def test_covered_shapes_stay_on_the_fast_path() -> None:
    """The chat send path's calls do not go to mongomock."""
    store = await opened()
    coll = store.db["c"]
    engine = store.engine("c")
    engine.by_id.original = {name: _refuse(name) for name in engine.by_id.original}
    await coll.insert_one({"_id": "c1", "memberIds": ["a", "b"], "lastSeq": 0, "lastMessage": None, "reads": {}})
    counter = await coll.find_one_and_update(
        {"_id": "c1", "memberIds": "a"},
        {"$inc": {"lastSeq": 1}},
        projection={"lastSeq": 1, "memberIds": 1},
        return_document=ReturnDocument.AFTER,
    )
    assert counter == {"memberIds": ["a", "b"], "lastSeq": 1, "_id": "c1"}
    when = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    message = {"id": "m1", "seq": 1, "createdAt": when}
    result = await coll.update_one(
        {"_id": "c1", "$or": [{"lastMessage": None}, {"lastMessage.seq": {"$lt": 1}}]},
        {"$set": {"lastMessage": message}, "$max": {"reads.a": 1, "lastActivityAt": when}},
    )
    assert (result.matched_count, result.modified_count) == (1, 1)
    stored = await coll.find_one("c1")
    assert stored["reads"] == {"a": 1} and list(stored)[-1] == "lastActivityAt"
    assert stored["lastActivityAt"] == when.replace(microsecond=678000)
    oid = {"n": 1}
    assert (await coll.insert_one(oid)).inserted_id == oid["_id"] and list(oid) == ["n", "_id"]


def _refuse(name: str) -> Any:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{name} went to mongomock: {args} {kwargs}")

    return refused


async def test_an_update_that_changes_nothing_journals_nothing(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    try:
        coll = store.db["items"]
        await coll.insert_one({"_id": "a", "n": 1, "m": {"seq": 2}, "at": datetime(2025, 1, 1, tzinfo=UTC)})
        journal = store._journal
        assert journal is not None
        appended = journal._appended
        result = await coll.update_one(
            {"_id": "a"},
            {"$set": {"n": 1, "m.seq": 2}, "$max": {"at": datetime(2024, 1, 1, tzinfo=UTC)}, "$unset": {"gone": ""}},
        )
        assert (result.matched_count, result.modified_count) == (1, 0)
        assert await coll.find_one_and_update({"_id": "a"}, {"$inc": {"n": 0}, "$min": {"m.seq": 5}}) is not None
        assert journal._appended == appended  # nothing was appended
        await coll.update_one({"_id": "a"}, {"$inc": {"n": 1}})
        assert journal._appended == appended + 1
    finally:
        await store.close()


async def test_a_duplicate_key_leaves_the_document_and_the_indexes_as_they_were(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    try:
        coll = store.db["messages"]
        await coll.create_index([("c", 1), ("seq", 1)], unique=True, partialFilterExpression={"seq": {"$gt": 0}})
        await coll.create_index([("tags", 1)])
        await coll.insert_one({"_id": "m1", "c": "a", "seq": 1, "tags": ["x"]})
        await coll.insert_one({"_id": "m2", "c": "a", "seq": None, "tags": ["y"], "note": {"n": 1}})
        engine = store.engine("messages")
        journal = store._journal
        assert journal is not None
        before = copy.deepcopy(dict(engine.store._documents))
        snapshot = (
            copy.deepcopy(engine.fields["tags"].buckets),
            copy.deepcopy(engine.compounds[("c", "seq")].buckets),
            dict(engine.position),
        )
        appended = journal._appended
        with pytest.raises(DuplicateKeyError):
            await coll.update_one({"_id": "m2"}, {"$set": {"seq": 1, "tags": ["z"], "note.n": 2}})
        with pytest.raises(DuplicateKeyError):
            await coll.find_one_and_update(
                {"_id": "m2", "seq": None}, {"$set": {"seq": 1.0}}, return_document=ReturnDocument.AFTER
            )
        with pytest.raises(DuplicateKeyError):  # the same (c, seq) as m1
            await coll.insert_one({"_id": "m3", "c": "a", "seq": 1.0, "tags": ["w"]})
        with pytest.raises(DuplicateKeyError):  # the same _id
            await coll.insert_one({"_id": "m1", "c": "b", "seq": 9})
        assert dict(engine.store._documents) == before
        assert engine.store._documents["m2"]["note"] == {"n": 1}
        assert (engine.fields["tags"].buckets, engine.compounds[("c", "seq")].buckets, engine.position) == snapshot
        assert_indexes_current(engine)
        assert journal._appended == appended  # nothing to journal
        assert await coll.find_one({"tags": "z"}) is None and await coll.find_one({"c": "a", "seq": 1}) is not None
        await coll.update_one({"_id": "m2"}, {"$set": {"seq": 2}})  # and the next write goes through
        assert (await coll.find_one({"c": "a", "seq": 2}))["_id"] == "m2"
    finally:
        await store.close()


# ------------------------------------------------------------------------------ kill -9

WRITER = """
import asyncio, sys
from datetime import UTC, datetime
from pathlib import Path
from bson import json_util
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from server.embedded_store import EmbeddedStore

async def main():
    store = EmbeddedStore("t", Path(sys.argv[1]))  # threaded, the background group-commit journal
    store.open()
    coll = store.db["conversations"]
    await coll.create_index([("directKey", 1)], unique=True, partialFilterExpression={"directKey": {"$type": "string"}})
    when = datetime(2025, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    for i in range(20):
        await coll.insert_one({"_id": f"c{i}", "directKey": f"k{i}", "lastSeq": 0, "lastMessage": None, "reads": {}})
    for n in range(1, 30):
        cid = f"c{n % 20}"
        counter = await coll.find_one_and_update(
            {"_id": cid}, {"$inc": {"lastSeq": 1}}, projection={"lastSeq": 1}, return_document=ReturnDocument.AFTER
        )
        seq = counter["lastSeq"]
        await coll.update_one(
            {"_id": cid, "$or": [{"lastMessage": None}, {"lastMessage.seq": {"$lt": seq}}]},
            {
                "$set": {"lastMessage": {"seq": seq, "at": when}},
                "$max": {f"reads.u{n % 3}": seq, "lastActivityAt": when},
            },
        )
    await coll.update_one({"_id": "c1"}, {"$unset": {"reads": ""}, "$set": {"title": "renamed"}})
    try:
        await coll.update_one({"_id": "c2"}, {"$set": {"directKey": "k3"}})
    except DuplicateKeyError:
        pass
    documents = await coll.find({}).sort("_id", 1).to_list(None)
    print(json_util.dumps(documents), flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_writes_by_id_survive_kill_9(tmp_path: Path) -> None:
    if os.environ.get("MONGODB_URL"):
        pytest.skip("kill -9 durability is the embedded store's promise")
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, str(tmp_path), cwd=ROOT, stdout=asyncio.subprocess.PIPE, start_new_session=True
    )
    try:
        assert writer.stdout is not None
        line = await asyncio.wait_for(writer.stdout.readline(), 120)  # every write above was acknowledged by now
    finally:
        os.killpg(writer.pid, signal.SIGKILL)  # nothing gets a chance to flush
        await writer.wait()
    acknowledged = json_util.loads(line, json_options=json_util.JSONOptions(tz_aware=True))
    assert len(acknowledged) == 20
    reopened = await opened(tmp_path)
    try:
        replayed = await reopened.db["conversations"].find({}).sort("_id", 1).to_list(None)
        assert canon(replayed) == canon(acknowledged)
        by_id = {doc["_id"]: doc for doc in replayed}
        assert "reads" not in by_id["c1"] and by_id["c1"]["title"] == "renamed"
        assert by_id["c2"]["directKey"] == "k2"
        assert by_id["c9"]["lastMessage"]["at"] == datetime(2025, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
        assert sum(doc["lastSeq"] for doc in replayed) == 29
        with pytest.raises(DuplicateKeyError):  # the unique index came back too
            await reopened.db["conversations"].update_one({"_id": "c2"}, {"$set": {"directKey": "k3"}})
    finally:
        await reopened.close()


def test_canon_tells_apart_what_stored_documents_must_keep() -> None:
    assert canon({"a": 1, "b": 2}) != canon({"b": 2, "a": 1})
    assert canon(1) != canon(1.0) and canon(0.0) != canon(-0.0) and canon(math.nan) == canon(math.nan)
    assert canon(datetime(2025, 1, 1)) != canon(datetime(2025, 1, 1, tzinfo=UTC))
