"""Single-document operations addressed by a plain `_id`, done natively instead of by mongomock.

Every chat message costs the store four such writes (insert the reservation, `$inc` the
conversation's counter, number the message, record it as `lastMessage`) and mongomock spent
50–130 µs of event-loop CPU on each: `_insert` parses a version string, BSON-encodes and copies the
document, checks every unique index by a query; `find_one_and_update` is a `find_one`, an `_update`
(which finds the document again, deep-copies a snapshot, applies the update in place, compares the
whole document with the snapshot, checks the unique indexes) and another `find_one`, each patching
the datetimes of the filter and the update and copying the result twice. `ById` does that work
once, on the one document its `_id` names (bench/store_ops.py: 2–4x less CPU per operation):

- `insert_one`: mongomock's key, `$`/NUL and BSON checks, `_id` filled in on the caller's dict (an
  ObjectId, as PyMongo does), one copy with datetimes as MongoDB keeps them (naive UTC,
  milliseconds), then the unique checks (`Engine.ensure_uniques`).
- `update_one` and `find_one_and_update` (BEFORE/AFTER, no sort, no upsert) with `$set`, `$unset`,
  `$inc`, `$max`, `$min` on top-level fields and on dotted paths through subdocuments. The new
  document is built as a copy (copy-on-write along the paths the update names: the rest is shared
  with the old one) and swapped in only once complete, then the unique checks; on a duplicate key
  the old document is put back and nothing is journaled. An update that changes nothing stores
  nothing, so it is not journaled either, and reports nModified 0.
- `find_one` by `_id`, and the documents the above return: one copy, projected (inclusion of
  top-level fields; `_id` comes last, where mongomock puts it) and made timezone-aware in one pass.

Filters are matched by the `_id` lookup, then by `decide`, which answers the common conditions
itself (equality with a string or a number, None, `$lt`/`$gt`..., `$type: "string"`, under
`$and`/`$or`) and hands any other to mongomock's `filter_applies`, as before.

Anything else goes to mongomock's own method, untouched, before anything is changed: upserts,
other operators, positional or array paths, a path through a non-document, two operators on one
path (or on a path and its prefix), exclusion projections, sorts, hints, array filters, a `$inc`
that is not numeric, a `$max`/`$min` across types, a value BSON cannot hold, and an update whose
result mongomock would judge unchanged while it is not identical (`1` set to `1.0`: mongomock
stores the new value yet reports nModified 0). So what is covered keeps mongomock's answers
(results, exceptions, stored documents, field order: new fields appended) exactly; the tests run
both side by side on random operations (tests/server/test_embedded_by_id.py).

`Engine` installs these methods over mongomock's on each collection (`Engine.use_by_id`).
"""

from __future__ import annotations

import math
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import bson
from bson import ObjectId
from mongomock import DuplicateKeyError, filtering, helpers
from mongomock.collection import Collection, _copy_field
from mongomock.results import InsertOneResult, UpdateResult
from packaging import version
from pymongo import ReturnDocument

if TYPE_CHECKING:
    from server.embedded_engine import Engine

PLAIN_IDS = (str, int, bytes, ObjectId, uuid.UUID)
METHODS = ("insert_one", "update_one", "find_one_and_update", "find_one")

# mongomock's behaviour depends on the PyMongo version in places; this path follows PyMongo 4
# (no `check_keys`, an empty projection returns the whole document).
SUPPORTED = version.parse("4.0") <= helpers.PYMONGO_VERSION

_MISSING: Any = object()
_FALLBACK: Any = object()  # "let mongomock do it"
_NO_MATCH: Any = object()

# Values that mongomock's datetime patching and copying hand back as they are.
_AS_IS = frozenset({str, int, float, bool, type(None), bytes, ObjectId, uuid.UUID})
_DICTS = (dict, OrderedDict)

_SET, _UNSET, _INC, _MAX, _MIN = "$set", "$unset", "$inc", "$max", "$min"
_OPERATORS = frozenset({_SET, _UNSET, _INC, _MAX, _MIN})
# Values BSON always encodes (strings may not: a lone surrogate is not UTF-8; ints beyond 64 bits).
_ENCODABLE = frozenset({int, float, bool, type(None), datetime, ObjectId, bytes})
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NUMBERS = (int, float)  # exact types: no bool (mongomock would add True + 1), no Int64
_ORDERED = {int: "number", float: "number", str: "str", datetime: "datetime"}  # $max/$min: same family only


def plain_id(value: Any) -> bool:
    return isinstance(value, PLAIN_IDS) and not isinstance(value, bool)


# ------------------------------------------------------------------------------------ documents


def _stored_datetime(value: datetime) -> datetime:
    """mongomock's `patch_datetime_awareness_in_document` for one datetime (naive UTC, ms)."""
    mongo_us = (value.microsecond // 1000) * 1000
    if value.tzinfo:  # (the same expression, so the same error for a tzinfo without an offset)
        return (value - value.utcoffset()).replace(tzinfo=None, microsecond=mongo_us)  # type: ignore[operator]
    return value.replace(microsecond=mongo_us)


def stored(value: Any) -> Any:
    """A copy of `value` as mongomock stores it (`patch_datetime_awareness_in_document`)."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is dict:
        return {key: stored(item) for key, item in value.items()}
    if kind is list:
        return [stored(item) for item in value]
    if kind is datetime:
        return _stored_datetime(value)
    return helpers.patch_datetime_awareness_in_document(value)


def returned(value: Any) -> Any:
    """A copy of a stored value as a tz-aware mongomock returns it (`_copy_field`, then
    `make_datetime_timezone_aware_in_document`), in one pass."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is dict:
        return {key: returned(item) for key, item in value.items()}
    if kind is list:
        return [returned(item) for item in value]
    if kind is datetime:
        return value.replace(tzinfo=helpers.utc)
    return helpers.make_datetime_timezone_aware_in_document(_copy_field(value, dict))


def _projection(projection: Any) -> tuple[str, ...] | None:
    """The top-level fields an inclusion projection keeps (None: the whole document), or
    _FALLBACK for anything else."""
    if projection is None:
        return None
    if type(projection) is not dict:
        return _FALLBACK
    if not projection:
        return None  # PyMongo 4: an empty projection is the whole document
    names = []
    for name, flag in projection.items():
        if type(flag) not in (int, bool) or flag != 1:
            return _FALLBACK
        if type(name) is not str or not name or "." in name or name[0] == "$":
            return _FALLBACK
        if name != "_id":
            names.append(name)
    return tuple(names)


def _copy_out(doc: dict[str, Any], fields: tuple[str, ...] | None) -> dict[str, Any]:
    """What mongomock's `_copy_only_fields` and tz-aware cursor give for a stored document: the
    projected fields in the document's order, then `_id`."""
    if fields is None:
        copied: dict[str, Any] = returned(doc)
        return copied
    copied = {name: returned(value) for name, value in doc.items() if name in fields}
    if "_id" in doc:
        copied["_id"] = returned(doc["_id"])
    return copied


def _valid_keys(doc: dict[str, Any], top: bool) -> bool:
    """False where mongomock's `_insert` refuses the keys: not strings at the top, NUL in a key
    (of the document or of a subdocument outside arrays), `$` first at the top."""
    for key, value in doc.items():
        if type(key) is not str or "\0" in key or (top and key[:1] == "$"):
            return False
        kind = type(value)
        if kind is dict:
            if not _valid_keys(value, top=False):
                return False
        elif kind not in _AS_IS and kind is not list and kind is not datetime and isinstance(value, Mapping):
            return False  # another mapping: mongomock checks it (let it)
    return True


def _identical(a: Any, b: Any) -> bool:
    """Equal, and stored the same way (types, key order, the sign of zero): what makes an
    update that leaves `a` as `b` a no-op rather than a change mongomock would not count."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict or kind is OrderedDict:
        return list(a) == list(b) and all(_identical(a[key], b[key]) for key in a)
    if kind is list:
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b, strict=True))
    if kind is float:
        return bool(a == b and math.copysign(1.0, a) == math.copysign(1.0, b))
    if kind is datetime:
        return bool(a == b and a.tzinfo is b.tzinfo and a.fold == b.fold)
    return bool(a == b)


# ------------------------------------------------------------------------------------ filters

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "$lt": lambda a, b: bool(a < b),
    "$lte": lambda a, b: bool(a <= b),
    "$gt": lambda a, b: bool(a > b),
    "$gte": lambda a, b: bool(a >= b),
}
# Types mongomock's comparison brackets apart from numbers (a `$lt: 5` never matches them).
_NOT_NUMBERS = frozenset({type(None), bool, str, dict, OrderedDict, datetime, ObjectId, bytes, uuid.UUID})


def _value(doc: dict[str, Any], path: str) -> Any:
    """The value at `path` through subdocuments (_MISSING if absent), or _FALLBACK when the path
    crosses anything else (an array: several candidates)."""
    if "." not in path:
        return doc.get(path, _MISSING)
    parts = path.split(".")
    current: Any = doc
    for part in parts[:-1]:
        current = current.get(part, _MISSING)
        if current is _MISSING:
            return _MISSING
        if type(current) not in _DICTS:
            return _FALLBACK
    return current.get(parts[-1], _MISSING)


def decide(spec: dict[str, Any], doc: dict[str, Any], skip: Any = _MISSING) -> bool | None:
    """`filter_applies(spec, doc)` for the shapes it answers without surprises: `$and`/`$or` of
    clauses, each field (top level or a path through subdocuments) compared with a string or a
    number (equal, or held by an array), with None (missing or null, outside arrays), by
    `$lt`/`$lte`/`$gt`/`$gte` with a number, or by `$type: "string"`. None when another shape is
    met (ask `filter_applies`). Conditions are taken in mongomock's order, stopping where it
    stops, with its own Python expressions (so 1 == 1.0 == True, as there). `skip`: a top-level
    field already known to match."""
    for key, wanted in spec.items():
        if key == skip:
            continue
        if type(key) is not str or not key:
            return None
        if key[0] == "$":
            if (key != "$or" and key != "$and") or type(wanted) is not list or not wanted:
                return None
            wanted_answer = key == "$or"  # what settles it: a clause matching $or, failing $and
            settled = False
            for clause in wanted:
                if type(clause) is not dict:
                    return None
                answer = decide(clause, doc)
                if answer is None:
                    return None
                if answer is wanted_answer:
                    settled = True
                    break
            if settled is not wanted_answer:  # no clause matched the $or, or one failed the $and
                return False
            continue
        value = _value(doc, key)
        if value is _FALLBACK:
            return None
        kind = type(wanted)
        if kind is str or kind is int or kind is float:  # mongomock's own expressions (1 == 1.0)
            if type(value) in (list, tuple):
                if wanted not in value:
                    return False
            elif value != wanted:
                return False
        elif wanted is None:
            if type(value) in (list, tuple):
                return None
            if value is not None and value is not _MISSING:
                return False
        elif kind is dict and len(wanted) == 1:
            ((operator, operand),) = wanted.items()
            if operator == "$type" and operand == "string" and type(operand) is str:  # mongomock's _type_op
                held = value if type(value) in (list, tuple) else ()
                if not isinstance(value, str) and not any(isinstance(item, str) for item in held):
                    return False
                continue
            compare = _COMPARISONS.get(operator)
            if compare is None or type(operand) not in _NUMBERS:
                return None
            if type(value) in _NUMBERS:
                if not compare(value, operand):
                    return False
            elif value is _MISSING or type(value) in _NOT_NUMBERS:
                return False
            else:
                return None
        else:
            return None
    return True


def matches(spec: dict[str, Any], doc: dict[str, Any]) -> bool:
    """`filter_applies(spec, doc)`, answered here when `decide` can."""
    answer = decide(spec, doc)
    return bool(filtering.filter_applies(spec, doc)) if answer is None else answer


# ------------------------------------------------------------------------------------ updates

Plan = list[tuple[str, list[str], Any]]


def _plan(update: Any) -> Plan | None:
    """(operator, path parts, stored value) in mongomock's order of application; None when the
    update is not one this path covers."""
    if type(update) is not dict or not update:
        return None
    plan: Plan = []
    named: set[str] = set()  # the paths so far
    inner: set[str] = set()  # and their proper prefixes
    to_check: list[Any] = []
    for operator, fields in update.items():
        if operator not in _OPERATORS or type(fields) is not dict or not fields:
            return None
        for path, value in fields.items():
            if type(path) is not str or not path or path in named or path in inner or "$" in path or "\0" in path:
                return None
            if "." in path:
                parts = path.split(".")
                if "" in parts:
                    return None
                for end in range(1, len(parts)):
                    prefix = ".".join(parts[:end])
                    if prefix in named:
                        return None
                    inner.add(prefix)
            else:
                parts = [path]
            if parts[0] == "_id":
                return None
            named.add(path)
            if operator != _UNSET:
                kind = type(value)
                if kind not in _AS_IS:
                    try:
                        value = _stored_datetime(value) if kind is datetime else stored(value)
                    except Exception:
                        return None
                    kind = type(value)
                if operator == _SET:
                    if kind not in _ENCODABLE or (kind is int and not _INT64_MIN <= value <= _INT64_MAX):
                        to_check.append(value)
                elif operator == _INC:
                    if kind not in _NUMBERS:
                        return None
                elif kind not in _ORDERED:
                    return None
            plan.append((operator, parts, value))
    if to_check:
        try:  # what mongomock's `_set_updater` refuses (an int beyond 64 bits, an unknown type)
            bson.encode({"v": to_check})
        except Exception:
            return None
    return plan


def _apply(doc: dict[str, Any], plan: Plan) -> tuple[dict[str, Any], bool] | None:
    """The document after `plan`, as a copy sharing what the plan does not touch, and whether it
    changed; None when mongomock is to apply it (see the module docstring)."""
    new = doc.copy()
    fresh = {id(new)}
    changed = ambiguous = False
    for operator, parts, value in plan:
        parent: dict[str, Any] | None = new
        for part in parts[:-1]:
            assert parent is not None
            child = parent.get(part, _MISSING)
            if child is _MISSING:
                if operator == _UNSET:
                    parent = None  # mongomock creates nothing to remove nothing
                    break
                child = {}
                parent[part] = child
                fresh.add(id(child))
            elif type(child) in _DICTS:
                if id(child) not in fresh:
                    child = child.copy()
                    parent[part] = child
                    fresh.add(id(child))
            else:
                return None  # an array path, or a path through a scalar (mongomock ignores it)
            parent = child
        if parent is None:
            continue
        name = parts[-1]
        old = parent.get(name, _MISSING)
        if operator == _UNSET:
            if old is not _MISSING:
                del parent[name]
                changed = True
            continue
        if operator == _SET:
            result = value
        elif old is _MISSING:
            result = 0 + value if operator == _INC else value
        elif operator == _INC:
            if type(old) not in _NUMBERS:
                return None
            result = old + value
        elif _ORDERED.get(type(old)) != _ORDERED[type(value)]:
            return None
        else:
            result = max(old, value) if operator == _MAX else min(old, value)
        parent[name] = result
        if old is _MISSING:
            changed = True
        elif result is old:  # (mongomock compares containers: `is` first, so a NaN kept is no change)
            continue
        elif old != result:
            changed = True
        elif not _identical(old, result):
            ambiguous = True
    if ambiguous and not changed:
        return None
    return new, changed


# ------------------------------------------------------------------------------------ the methods


class ById:
    """The fast methods of one collection; `Engine` installs them over mongomock's."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        collection = engine.collection
        self.original: dict[str, Callable[..., Any]] = {
            name: getattr(Collection, name).__get__(collection) for name in METHODS
        }
        self.connection_id = collection.database.client._id
        self.enabled = SUPPORTED and bool(collection.codec_options.tz_aware)

    # ----------------------------------------------------------------------- matching

    def _find(self, spec: Any) -> dict[str, Any] | None:
        """The stored document `spec` names by `_id` and matches; _FALLBACK when `spec` does not
        name one by a plain `_id`, or when the collection is empty (mongomock then validates the
        filter against an empty document)."""
        if type(spec) is not dict:
            return _FALLBACK
        doc_id = spec.get("_id", _MISSING)
        documents = self.engine.store._documents
        if not plain_id(doc_id) or not documents:
            return _FALLBACK
        doc = documents.get(doc_id)
        if doc is None:
            return None
        stored_id = doc.get("_id", _MISSING)  # the key's (unless a failed mongomock update left it otherwise)
        matched = type(stored_id) is type(doc_id) and stored_id == doc_id
        answer = decide(spec, doc, skip="_id" if matched else _MISSING)
        if answer is None:  # as mongomock's update and cursor run it: datetimes patched
            answer = bool(filtering.filter_applies(stored(spec), doc))
        return doc if answer else None

    # ----------------------------------------------------------------------- writing

    def _modify(self, spec: Any, update: Any) -> Any:
        """Apply `update` to the document `spec` names: (before, after) stored documents (the
        same one when nothing changed), _NO_MATCH, or _FALLBACK with nothing changed."""
        plan = _plan(update)
        if plan is None:
            return _FALLBACK
        doc = self._find(spec)
        if doc is _FALLBACK:
            return _FALLBACK
        if doc is None:
            return _NO_MATCH
        applied = _apply(doc, plan)
        if applied is None:
            return _FALLBACK
        new, changed = applied
        if not changed:
            return doc, doc
        store = self.engine.store
        key = doc["_id"]
        tracked = store.touched is not None and key in store.touched
        store.put(key, new, frozenset([parts[0] for _, parts, _ in plan]))
        try:
            self.engine.ensure_uniques(new)
        except DuplicateKeyError:
            store.restore(key, doc, tracked)
            raise
        return doc, new

    def insert_one(self, document: Any, bypass_document_validation: bool = False, session: Any = None) -> Any:
        if bypass_document_validation or session or type(document) is not dict:
            return self.original["insert_one"](document, bypass_document_validation, session)
        doc_id = document.get("_id", _MISSING)
        if doc_id is not _MISSING and not plain_id(doc_id):
            return self.original["insert_one"](document, bypass_document_validation, session)
        try:  # mongomock's `_insert` checks; whatever fails, it raises itself
            valid = _valid_keys(document, top=True)
            if valid:
                bson.encode(document)
                new = stored(document)
        except Exception:
            valid = False
        if not valid:
            return self.original["insert_one"](document, bypass_document_validation, session)
        if doc_id is _MISSING:
            doc_id = document["_id"] = new["_id"] = ObjectId()
        store = self.engine.store
        if doc_id in store._documents:
            raise DuplicateKeyError("E11000 Duplicate Key Error", 11000)
        tracked = store.touched is not None and doc_id in store.touched
        store.put(doc_id, new)
        try:
            self.engine.ensure_uniques(new)
        except DuplicateKeyError:
            store.restore(doc_id, None, tracked)
            raise
        return InsertOneResult(doc_id, acknowledged=True)

    def update_one(
        self,
        filter: Any,
        update: Any,
        upsert: bool = False,
        bypass_document_validation: bool = False,
        collation: Any = None,
        array_filters: Any = None,
        hint: Any = None,
        session: Any = None,
        let: Any = None,
    ) -> Any:
        outcome = _FALLBACK
        if not (upsert or bypass_document_validation or collation or array_filters or hint or session or let):
            outcome = self._modify(filter, update)
        if outcome is _FALLBACK:
            return self.original["update_one"](
                filter, update, upsert, bypass_document_validation, collation, array_filters, hint, session, let
            )
        matched = outcome is not _NO_MATCH
        raw = {
            "connectionId": self.connection_id,
            "err": None,
            "n": int(matched),
            "nModified": int(matched and outcome[0] is not outcome[1]),
            "ok": 1,
            "upserted": None,
            "updatedExisting": matched,
        }
        return UpdateResult(raw, acknowledged=True)

    def find_one_and_update(
        self,
        filter: Any,
        update: Any,
        projection: Any = None,
        sort: Any = None,
        upsert: bool = False,
        return_document: Any = ReturnDocument.BEFORE,
        **kwargs: Any,
    ) -> Any:
        fields = _projection(projection)
        outcome = _FALLBACK
        if sort is None and not upsert and not kwargs and fields is not _FALLBACK:
            outcome = self._modify(filter, update)
        if outcome is _FALLBACK:
            return self.original["find_one_and_update"](
                filter, update, projection, sort, upsert, return_document, **kwargs
            )
        if outcome is _NO_MATCH:
            return None
        before, after = outcome
        return _copy_out(after if return_document is ReturnDocument.AFTER else before, fields)

    def find_one(self, filter: Any = None, *args: Any, **kwargs: Any) -> Any:
        projection = args[0] if len(args) == 1 else kwargs.get("projection")
        usable = len(args) <= 1 and all(
            (key == "projection" and not args) or (key == "sort" and value is None) for key, value in kwargs.items()
        )
        fields = _projection(projection) if usable else _FALLBACK
        spec = filter if type(filter) is dict or not plain_id(filter) else {"_id": filter}
        doc: Any = _FALLBACK if fields is _FALLBACK else self._find(spec)
        if doc is _FALLBACK:
            return self.original["find_one"](filter, *args, **kwargs)
        return None if doc is None else _copy_out(doc, fields)

    def methods(self) -> dict[str, Callable[..., Any]]:
        return {name: getattr(self, name) for name in METHODS}
