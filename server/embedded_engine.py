"""What makes a mongomock collection fit to serve: reads in O(matches), and every change seen.

mongomock keeps the query, update and projection semantics we rely on, but three of its habits do
not scale: every query scans the whole collection, its cursor re-slices its result list for each
document it yields (a read of n documents costs O(n²)) and copies every match even when one page is
asked for, and a TTL index makes every access scan the collection and delete documents behind the
journal's back. `install(collection)` replaces those parts on one collection:

- Candidate selection. Each declared index's first field (top level) gets a hash index: value →
  ids, array elements filed one by one (a multikey index). A filter that names a value of `_id` or
  of an indexed field, directly or under `$and`/`$eq`/`$in`, is answered from the smallest such
  set; mongomock's `filter_applies` is still run on each candidate, so the answer is exactly the
  scan's, only found in O(candidates). Unique-index checks go through the same path.
- Compound candidates. An index of several top-level fields also gets a hash index on the tuple
  of their values, so a filter naming all of them (a unique check of `(conversationId, seq)` on
  every message write) finds its few candidates at once instead of every document sharing the
  first field's value: without it each chat message's writes cost O(messages in the
  conversation), and latency grew with the history.
- `$or`. A filter whose every `$or` branch has candidates is answered from their union (a user's
  own sessions: `tutorId` or `studentIds`), not from a scan.
- `find`. Sorts the matching stored documents (mongomock's sort key, stable, natural order as the
  last tiebreak as before), slices skip/limit, and copies a document only when it is yielded.
  When the candidates are many (more than SORTED_AT_MOST: every forum post, every session for
  MANAGEMENT) and a declared index serves the sort, the page is walked along that index instead
  (embedded_order: skip + limit matches visited, nothing sorted).
- `count_documents`. An empty filter is the collection's size, a filter of plain values of indexed
  fields its bucket's: no pass over the matches (a page's total over 100,000 documents).
- Change tracking. Between `begin()` and `end()` every id stored, deleted or handed to an update is
  collected; `end()` re-files those documents in the hash indexes and returns them, which is what
  the journal records (their after-images, or their deletion). A document whose keys for an index
  are unchanged is not re-filed there (a conversation's update no longer moves its `memberIds`
  entries out and back in), and a lookup hands out its bucket instead of a copy (a message's
  unique check no longer copies the ids of every message of its conversation).
- Single-document operations by `_id` (`insert_one`, `update_one`, `find_one_and_update`,
  `find_one`): `embedded_by_id.ById`, installed over mongomock's methods like the above. They
  note a document as changed only when it changed, so an update that changes nothing is not
  journaled.

- Unique checks. A document outside a partial unique index (`partialFilterExpression` does not
  match it: a chat message still reserved, a group conversation without `directKey`) cannot
  collide under that index, as on MongoDB, so it is not checked against it; mongomock checked it
  anyway, against every document sharing its (null) values. When the hash index of an index's
  fields shows no other document holding the same values, the collision query is skipped; else it
  runs on the other candidates only (the document itself holds its values). Nothing a check reads
  is noted as changed.

TTL expiry is switched off here; the store sweeps expired documents itself, through the journal.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any

from bson import ObjectId
from mongomock import DuplicateKeyError, filtering, helpers
from mongomock.store import CollectionStore

from server.embedded_by_id import ById, matches
from server.embedded_order import OrderedIndex

Key = tuple[Any, ...]
_NONE: frozenset[Any] = frozenset()


class _TrackedStore(CollectionStore):
    """mongomock's per-collection store, noting the ids written or deleted while `touched` is set,
    each with the top-level fields the write changed when it is known (None: any may have)."""

    touched: dict[Any, frozenset[str] | None] | None = None  # ordered: new documents keep their insertion order

    def __setitem__(self, key: Any, val: Any) -> None:
        super().__setitem__(key, val)
        if self.touched is not None:
            self.touched[key] = None

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        if self.touched is not None:
            self.touched[key] = None

    def put(self, key: Any, doc: dict[str, Any], fields: frozenset[str] | None = None) -> None:
        """`self[key] = doc` without mongomock's reader-writer lock (operations already run one at
        a time, under the embedded store's lock): the single-document path's write. `fields`: the
        top-level fields in which `doc` differs from the document it replaces (None: unknown), so
        that the indexes of the others need not be re-filed."""
        self._documents[key] = doc
        touched = self.touched
        if touched is not None:
            if key in touched:
                known = touched[key]
                touched[key] = None if known is None or fields is None else known | fields
            else:
                touched[key] = fields

    def restore(self, key: Any, doc: dict[str, Any] | None, tracked: bool) -> None:
        """Undo a `put` refused by a unique index: the old document back (or none), and `key`
        untracked again unless the write had already changed it (nothing to journal)."""
        if doc is None:
            self._documents.pop(key, None)
        else:
            self._documents[key] = doc
        if self.touched is not None and not tracked:
            self.touched.pop(key, None)

    def _remove_expired_documents(self) -> None:
        return None  # see the module docstring: expiry is the store's sweep, journaled


def _key(value: Any) -> Key | None:
    """A hashable key with MongoDB's equality (1 == 1.0, True != 1), or None when not indexable."""
    if type(value) is str:  # the usual case first
        return ("str", value)
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else ("num", value)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, (datetime, ObjectId, bytes)):
        return (type(value).__name__, value)
    return None


class FieldIndex:
    """Ids by value of one top-level field. Documents whose value cannot be keyed (a subdocument,
    an array of subdocuments) sit in `overflow` and are candidates for every lookup."""

    def __init__(self, field: str) -> None:
        self.field = field
        self.names = frozenset((field,))
        self.buckets: dict[Key, set[Any]] = {}
        self.filed: dict[Any, tuple[Key, ...]] = {}
        self.overflow: set[Any] = set()

    def _keys(self, doc: dict[str, Any]) -> tuple[Key, ...] | None:
        if self.field not in doc:
            return (("null",),)
        value = doc[self.field]
        values = value if isinstance(value, list) else [value]
        keys = [_key(v) for v in values]
        if any(k is None for k in keys):
            return None
        return tuple(dict.fromkeys(k for k in keys if k is not None))  # ["x", "x"]: filed once

    def update(self, doc_id: Any, doc: dict[str, Any] | None) -> None:
        keys = None if doc is None else self._keys(doc)
        if doc is not None and (doc_id in self.overflow if keys is None else self.filed.get(doc_id) == keys):
            return  # filed under the same keys already (an update of other fields)
        for key in self.filed.pop(doc_id, ()):
            bucket = self.buckets[key]
            bucket.discard(doc_id)
            if not bucket:
                del self.buckets[key]
        self.overflow.discard(doc_id)
        if doc is None:
            return
        if keys is None:
            self.overflow.add(doc_id)
            return
        for key in keys:
            self.buckets.setdefault(key, set()).add(doc_id)
        self.filed[doc_id] = keys

    def lookup(self, values: list[Any]) -> AbstractSet[Any] | None:
        """Candidates holding one of `values` (read only: possibly a bucket itself, not a copy:
        a lookup costs O(1), not the size of the bucket)."""
        if len(values) == 1 and not self.overflow:
            key = _key(values[0])
            return None if key is None else self.buckets.get(key, _NONE)
        found = set(self.overflow)
        for value in values:
            key = _key(value)
            if key is None:
                return None
            found |= self.buckets.get(key, set())
        return found


class CompoundIndex:
    """Ids by the tuple of values of several top-level fields. A document with an array or an
    unkeyable value in one of them sits in `overflow` (a candidate for every lookup)."""

    MAX_LOOKUP_KEYS = 64  # a lookup naming more combinations than this is left to other indexes

    def __init__(self, fields: tuple[str, ...]) -> None:
        self.fields = fields
        self.names = frozenset(fields)
        self.buckets: dict[tuple[Key, ...], set[Any]] = {}
        self.filed: dict[Any, tuple[Key, ...]] = {}
        self.overflow: set[Any] = set()

    def _key_of(self, doc: dict[str, Any]) -> tuple[Key, ...] | None:
        keys = []
        for field in self.fields:
            value = doc.get(field)
            key = None if isinstance(value, list) else _key(value)
            if key is None:
                return None
            keys.append(key)
        return tuple(keys)

    def update(self, doc_id: Any, doc: dict[str, Any] | None) -> None:
        key = None if doc is None else self._key_of(doc)
        if doc is not None and (doc_id in self.overflow if key is None else self.filed.get(doc_id) == key):
            return  # filed under the same key already
        old = self.filed.pop(doc_id, None)
        if old is not None:
            bucket = self.buckets[old]
            bucket.discard(doc_id)
            if not bucket:
                del self.buckets[old]
        self.overflow.discard(doc_id)
        if doc is None:
            return
        if key is None:
            self.overflow.add(doc_id)
            return
        self.buckets.setdefault(key, set()).add(doc_id)
        self.filed[doc_id] = key

    def lookup(self, values: dict[str, list[Any]]) -> AbstractSet[Any] | None:
        """Candidates when `values` names every field (else None); read only, as above."""
        per_field: list[list[Key]] = []
        combinations = 1
        for field in self.fields:
            if field not in values:
                return None
            keys = [_key(v) for v in values[field]]
            if any(k is None for k in keys):
                return None
            per_field.append([k for k in keys if k is not None])
            combinations *= len(per_field[-1])
        if combinations > self.MAX_LOOKUP_KEYS:
            return None
        if combinations == 1 and not self.overflow:
            return self.buckets.get(tuple(keys[0] for keys in per_field), _NONE)
        found = set(self.overflow)
        for combination in itertools.product(*per_field):
            found |= self.buckets.get(combination, set())
        return found


def _equalities(spec: Any) -> Iterator[tuple[str, list[Any]]]:
    """(field, values) pairs such that a matching document has one of `values` in `field`."""
    if not isinstance(spec, dict):
        return
    for field, condition in spec.items():
        if field == "$and" and isinstance(condition, list):
            for clause in condition:
                yield from _equalities(clause)
        elif field.startswith("$") or "." in field:
            continue
        elif isinstance(condition, dict):
            if "$eq" in condition:
                yield field, [condition["$eq"]]
            elif isinstance(condition.get("$in"), list):
                yield field, list(condition["$in"])
        elif not isinstance(condition, list):
            yield field, [condition]


def _moved(fields: frozenset[str] | None, doc: dict[str, Any] | None, names: frozenset[str]) -> bool:
    """Whether a write that changed `fields` (None: any) of `doc` (None: deleted) may have moved it
    in an index of the fields `names`."""
    return fields is None or doc is None or not fields.isdisjoint(names)


class Engine:
    """The indexes, natural order and change tracking of one mongomock collection."""

    SORTED_AT_MOST = 2048  # matches sorted rather than walked along an ordered index (~1 ms to sort)

    def __init__(self, collection: Any) -> None:
        self.collection = collection
        self.store: _TrackedStore = collection._store
        self.store.__class__ = _TrackedStore
        self.fields: dict[str, FieldIndex] = {}
        self.compounds: dict[tuple[str, ...], CompoundIndex] = {}
        self.ordered: dict[tuple[tuple[str, int], ...], OrderedIndex] = {}
        self._order = itertools.count()
        self.position: dict[Any, int] = {}
        collection._iter_documents = self.iter_documents
        collection.find = self.find
        collection._ensure_uniques = self.ensure_uniques
        self._count_documents = collection.count_documents
        collection.count_documents = self.count_documents
        self.by_id = ById(self)
        self.use_by_id(self.by_id.enabled)
        self.reindex_all()

    def use_by_id(self, enabled: bool) -> None:
        """Install (or remove, leaving mongomock's own) the single-document methods of `ById`."""
        for name, method in self.by_id.methods().items():
            if enabled:
                setattr(self.collection, name, method)
            else:
                vars(self.collection).pop(name, None)

    # ------------------------------------------------------------------ indexes and tracking

    def add_field_index(self, keys: Any) -> None:
        spec = tuple(helpers.create_index_list(keys))
        names = tuple(name for name, _ in spec)
        field = names[0]
        if not any("." in name for name in names) and all(d in (1, -1) for _, d in spec) and spec not in self.ordered:
            self.ordered[spec] = OrderedIndex(list(spec))  # built on its first use
        if field != "_id" and "." not in field and field not in self.fields:
            index = self.fields[field] = FieldIndex(field)
            for doc_id, doc in self.store._documents.items():
                index.update(doc_id, doc)
        if len(names) > 1 and not any("." in name for name in names) and names not in self.compounds:
            compound = self.compounds[names] = CompoundIndex(names)
            for doc_id, doc in self.store._documents.items():
                compound.update(doc_id, doc)

    def clear_indexes(self) -> None:
        self.fields.clear()
        self.compounds.clear()
        self.ordered.clear()

    def _hash_indexes(self) -> list[FieldIndex | CompoundIndex]:
        return [*self.fields.values(), *self.compounds.values()]

    def reindex_all(self) -> None:
        """After a bulk load or a drop: natural order and every hash index from the documents."""
        self.position = {doc_id: next(self._order) for doc_id in self.store._documents}
        for field in list(self.fields):
            self.fields[field] = FieldIndex(field)
        for names in list(self.compounds):
            self.compounds[names] = CompoundIndex(names)
        for spec in list(self.ordered):
            self.ordered[spec] = OrderedIndex(list(spec))
        indexes = self._hash_indexes()
        for doc_id, doc in self.store._documents.items():
            for index in indexes:
                index.update(doc_id, doc)

    def begin(self) -> None:
        self.store.touched = {}

    def end(self) -> list[tuple[Any, dict[str, Any] | None]]:
        """Stop tracking; re-file what changed and return (id, stored document or None if deleted).
        An index none of whose fields a write changed keeps the document where it is."""
        touched, self.store.touched = self.store.touched or {}, None
        documents = self.store._documents
        changed = []
        indexes = self._hash_indexes()
        ordered = [index for index in self.ordered.values() if index.built]
        for doc_id, fields in touched.items():
            doc = documents.get(doc_id)
            for index in indexes:
                if _moved(fields, doc, index.names):
                    index.update(doc_id, doc)
            if doc is None:
                position = self.position.pop(doc_id, 0)
            elif doc_id not in self.position:
                position = self.position[doc_id] = next(self._order)
            else:
                position = self.position[doc_id]
            for sorted_index in ordered:
                if _moved(fields, doc, sorted_index.names):
                    sorted_index.update(doc_id, doc, position)
            changed.append((doc_id, doc))
        return changed

    def ensure_uniques(self, new_data: dict[str, Any]) -> None:
        """mongomock's unique check of a document already stored, skipping the partial indexes
        that do not cover it, and the collision query when the hash index shows that no other
        document can hold the same values (the usual case: O(1) per index)."""
        for index in self.store.indexes.values():
            if not index.get("unique"):
                continue
            partial = index.get("partialFilterExpression")
            if partial is not None and not matches(partial, new_data):
                continue
            values: dict[str, Any] = {}
            for key, _ in index["key"]:
                try:
                    values[key] = helpers.get_value_by_dot(new_data, key)
                except KeyError:
                    values[key] = None
            if index.get("sparse") and set(values.values()) == {None}:
                continue
            if self._alone(values, new_data):
                continue
            spec = values if partial is None else {"$and": [partial, values]}
            if self._collides(spec, new_data):
                raise DuplicateKeyError("E11000 Duplicate Key Error", 11000)

    def _alone(self, values: dict[str, Any], new_data: dict[str, Any]) -> bool:
        """Whether the hash index of these fields shows that no other stored document holds
        `values` there: its bucket for them holds at most `new_data`, and no other document was
        changed by the write in progress (their entries may be stale). A superset of the
        collision query's matches, as every candidate set here: exact when it is empty."""
        touched = self.store.touched
        doc_id = new_data.get("_id")
        if touched is None or isinstance(doc_id, (dict, list)) or any(i != doc_id for i in touched):
            return False
        if len(values) == 1:
            ((field, value),) = values.items()
            hashed = self.fields.get(field)
            found = None if hashed is None or isinstance(value, list) else hashed.lookup([value])
        else:
            compound = self.compounds.get(tuple(values))
            found = None if compound is None else compound.lookup({name: [v] for name, v in values.items()})
        return found is not None and len(found) <= 1 and all(i == doc_id for i in found)

    def _collides(self, spec: dict[str, Any], new_data: dict[str, Any]) -> bool:
        """Whether a stored document other than `new_data` matches `spec` (mongomock counts more
        than one match, `new_data` included: the same answer without filtering `new_data`, which
        holds these values and is covered by the index). Nothing is noted as changed."""
        documents = self.store._documents
        ids = self.candidates(spec)
        source = documents.values() if ids is None else (documents[i] for i in ids if i in documents)
        exact = self.exact(spec)
        return any(doc is not new_data and (exact or matches(spec, doc)) for doc in source)

    # ------------------------------------------------------------------ reading

    def candidates(self, spec: Any) -> list[Any] | None:
        """Ids, in natural order, that include every match of `spec`; None means all documents."""
        found = self._candidate_set(spec)
        if found is None:
            return None
        position, last = self.position, len(self.position) + len(found)
        return sorted(found, key=lambda i: position.get(i, last))

    def exact(self, spec: Any) -> bool:
        """Whether the candidates of `spec` are exactly its matches: every condition is a plain
        value of an indexed field (a bucket holds exactly the documents equal to, or holding in an
        array, its value, with MongoDB's type-aware equality) and no write is under way."""
        return (
            self.store.touched is None
            and isinstance(spec, dict)
            and bool(spec)
            and all(
                field in self.fields
                and not self.fields[field].overflow
                and not isinstance(value, (dict, list))
                and _key(value) is not None
                for field, value in spec.items()
            )
        )

    def _candidate_set(self, spec: Any) -> AbstractSet[Any] | None:
        best: AbstractSet[Any] | None = None
        if self.exact(spec):  # every bucket must hold: intersect them all
            for field, value in spec.items():
                bucket = self.fields[field].lookup([value]) or set()
                best = bucket if best is None else best & bucket
            return best
        named: dict[str, list[Any]] = {}
        for field, values in _equalities(spec):
            named.setdefault(field, values)
            if field == "_id":
                if any(isinstance(v, (dict, list, bool)) for v in values):
                    continue
                found: AbstractSet[Any] | None = {v for v in values if v in self.store._documents}
            elif field in self.fields:
                found = self.fields[field].lookup(values)
            else:
                continue
            if found is not None and (best is None or len(found) < len(best)):
                best = found
        if best is None or len(best) > 1:
            for compound in self.compounds.values():
                found = compound.lookup(named)
                if found is not None and (best is None or len(found) < len(best)):
                    best = found
        branches = spec.get("$or") if isinstance(spec, dict) else None
        if isinstance(branches, list) and branches and (best is None or len(best) > 1):
            union: set[Any] = set()
            for branch in branches:  # a match matches some branch: the union holds every match
                found = self._candidate_set(branch)
                if found is None:
                    break
                union |= found
            else:
                if best is None or len(union) < len(best):
                    best = union
        if best is not None and self.store.touched:  # changed by the write in progress: stale entries
            best = best | self.store.touched.keys()
        return best

    def iter_documents(self, spec: Any) -> Iterator[dict[str, Any]]:
        """mongomock's `_iter_documents`: stored documents matching `spec`, natural order. During a
        write each one is noted as changed: mongomock updates what it yields in place."""
        documents = self.store._documents
        if not documents:
            filtering.filter_applies(spec, {})  # validates the filter, as mongomock does
        ids = self.candidates(spec)
        source: Iterable[dict[str, Any]] = (
            list(documents.values()) if ids is None else [documents[i] for i in ids if i in documents]
        )
        touched, exact = self.store.touched, spec == {} or self.exact(spec)
        for doc in source:
            if exact or filtering.filter_applies(spec, doc):
                if touched is not None:  # an update may change it in place
                    doc_id = doc["_id"]
                    touched[helpers.hashdict(doc_id) if isinstance(doc_id, dict) else doc_id] = None
                yield doc

    def count_documents(self, filter: Any, **kwargs: Any) -> int:
        """mongomock's count, without a pass over the matches when they are known: every document
        (an empty filter), or exactly a bucket of the hash indexes (plain values of indexed fields)."""
        if not kwargs and isinstance(filter, dict) and self.store.touched is None:
            spec = helpers.patch_datetime_awareness_in_document(filter)
            if not spec:
                return len(self.store._documents)
            if self.exact(spec):
                found = self._candidate_set(spec)
                if found is not None:
                    return len(found)
        count: int = self._count_documents(filter, **kwargs)
        return count

    def walk(self, spec: Any, sort: Any, skip: int, limit: int) -> list[dict[str, Any]] | None:
        """The first skip + |limit| matches of `spec` in `sort`'s order (all, with no limit), walked
        along an ordered index; None when the matches are better sorted: the hash indexes narrow
        them to a few thousand at most (a user's own list), or no ordered index serves `sort`
        over fewer documents than they do."""
        if self.store.touched is not None or not isinstance(spec, dict) or not sort:
            return None
        order = list(sort)
        if any(not isinstance(d, int) or d not in (1, -1) or field.startswith("$") for field, d in order):
            return None
        serving = [
            (index, shape)
            for index in self.ordered.values()
            if (shape := index.shape(order)) is not None and index.names_leading(spec, shape[0])
        ]
        if not serving:  # most sorted reads (a conversation's messages by seq): nothing more to look at
            return None
        found = self._candidate_set(spec)
        documents = self.store._documents
        candidates = len(documents) if found is None else len(found)
        if candidates <= self.SORTED_AT_MOST:
            return None
        for index, (k, backwards) in serving:
            if not index.built:
                index.build(documents, self.position)
            region = index.region(spec, k)
            if region is None or candidates < region[1] - region[0]:
                continue  # the hash indexes narrow the matches more: better sort those
            plain = set(spec) <= {field for field, _ in index.spec[:k]}  # the region is exactly the matches
            need = skip + abs(limit) if limit else None
            docs: list[dict[str, Any]] = []
            for doc_id in index.ids(*region, backwards):
                doc = documents[doc_id]
                if plain or filtering.filter_applies(spec, doc):
                    docs.append(doc)
                    if need is not None and len(docs) >= need:
                        break
            return docs
        return None

    def find(
        self,
        filter: Any = None,
        projection: Any = None,
        skip: int = 0,
        limit: int = 0,
        sort: Any = None,
        **_ignored: Any,
    ) -> Selection:
        return Selection(self, filter or {}, projection, skip, limit, sort)


class Selection:
    """A cursor over stored documents: sorted once, sliced, each document copied as it is yielded."""

    def __init__(self, engine: Engine, spec: Any, projection: Any, skip: int, limit: int, sort: Any) -> None:
        self._engine = engine
        self._spec = helpers.patch_datetime_awareness_in_document(spec)
        self._projection = projection
        self._skip = skip
        self._limit = limit
        self._sort = list(sort.items()) if isinstance(sort, dict) else sort
        self._page: list[dict[str, Any]] | None = None
        self._next = 0

    def sort(self, key_or_list: Any, direction: int | None = None) -> Selection:
        self._sort = helpers.create_index_list(key_or_list, direction)
        return self

    def skip(self, count: int) -> Selection:
        self._skip = count
        return self

    def limit(self, count: int) -> Selection:
        self._limit = count
        return self

    def _matches(self) -> list[dict[str, Any]]:
        docs = list(self._engine.iter_documents(self._spec))
        for field, direction in reversed(self._sort or []):
            if field == "$natural":
                if direction < 0:
                    docs.reverse()
                continue
            docs.sort(key=_sort_key(field, docs), reverse=direction < 0)
        return docs

    def page(self) -> list[dict[str, Any]]:
        """The stored documents of this page (not copies)."""
        if self._page is None:
            walked = self._engine.walk(self._spec, self._sort, self._skip, self._limit)
            docs = self._matches() if walked is None else walked
            end = self._skip + abs(self._limit) if self._limit else None
            self._page = docs[self._skip : end]
        return self._page

    def copy(self, doc: dict[str, Any]) -> dict[str, Any]:
        collection = self._engine.collection
        projection = dict(self._projection) if isinstance(self._projection, dict) else self._projection
        copied: dict[str, Any] = collection._copy_only_fields(doc, projection, dict)
        if collection.codec_options.tz_aware:
            copied = helpers.make_datetime_timezone_aware_in_document(copied)
        return copied

    def to_list(self) -> list[dict[str, Any]]:
        return [self.copy(doc) for doc in self.page()]

    def __iter__(self) -> Selection:
        return self

    def __next__(self) -> dict[str, Any]:
        page = self.page()
        if self._next >= len(page):
            raise StopIteration
        self._next += 1
        return self.copy(page[self._next - 1])

    def distinct(self, key: str, session: Any = None) -> list[Any]:
        """mongomock's `Cursor.distinct`, over every match (skip and limit do not apply)."""
        unique: set[Any] = set()
        for doc in map(self.copy, self._matches()):
            for values in filtering.iter_key_candidates(key, doc):
                if values is filtering.NOTHING:
                    continue
                for value in values if isinstance(values, (tuple, list)) else [values]:
                    unique.add(helpers.hashdict(value) if isinstance(value, dict) else value)
        return [dict(v) if isinstance(v, helpers.hashdict) else v for v in unique]

    def close(self) -> None:
        return None


_PLAIN_SORT_TYPES = (str, datetime, bool, int, float)


def _sort_key(field: str, docs: list[dict[str, Any]]) -> Callable[[dict[str, Any]], Any]:
    """mongomock's sort key, or the field's own value when every document holds a value of one
    plain type there (same order, without a comparison wrapper per value: several times faster)."""
    if "." not in field and docs:
        kinds = {_plain_kind(doc.get(field, _MISSING)) for doc in docs}
        if len(kinds) == 1 and None not in kinds:
            return operator.itemgetter(field)
    return functools.partial(filtering.resolve_sort_key, field)


_MISSING = object()


def _plain_kind(value: Any) -> type | None:
    if isinstance(value, bool):
        return bool
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else float
    if isinstance(value, (str, datetime)):
        return type(value)
    return None


def install(collection: Any) -> Engine:
    return Engine(collection)
