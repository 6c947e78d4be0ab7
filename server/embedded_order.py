"""Ordered indexes of the embedded store: a sorted page without sorting every match.

The hash indexes (embedded_engine) find a query's candidates; a page is then the candidates
sorted, sliced. That is O(candidates log candidates) per request: flat for a user's own list (their
notifications, their assignments), but not for a list over the whole collection (every forum post,
every session for MANAGEMENT) nor for a large group of equal keys. An `OrderedIndex` keeps the ids
of a declared index in that index's order, so that such a page walks the index from the start of
its range and stops after skip + limit matches.

It is exact, or not used: an entry is `(value_1, ..., value_n, position, _id)`, each value as
MongoDB orders it within one type (a descending field stored negated, or wrapped), `position` the
document's natural order (the tiebreak the sorting path uses); a document whose value of a field
is missing, not of a plain type, or of another type than the first document's there (where
MongoDB's cross-type order would apply) is `irregular`, and an index with an irregular document is
not walked. It is built on the first query that can use it and kept up to date by every write
after that (`update`, O(log n) comparisons and one list move per write of a filed field).
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

_EPOCH_NAIVE = datetime(1970, 1, 1)
_EPOCH_AWARE = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class _Desc:
    """A value that sorts in reverse (strings and ObjectIds of a descending field)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.value == other.value

    def __lt__(self, other: object) -> bool:
        return bool(other.value < self.value) if isinstance(other, _Desc) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return bool(other.value > self.value) if isinstance(other, _Desc) else NotImplemented

    __hash__ = None  # type: ignore[assignment]


class _Top:
    """Greater than any value: the end of a range of equal leading values."""

    def __eq__(self, other: object) -> bool:
        return other is self

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return other is not self

    __hash__ = None  # type: ignore[assignment]


_TOP = _Top()


def _kind(value: Any) -> str | None:
    """The type MongoDB orders `value` within, when Python orders it the same way; else None."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else "num"
    if isinstance(value, str):
        return "str"
    if isinstance(value, datetime):
        return "naive" if value.tzinfo is None else "aware"
    if isinstance(value, ObjectId):
        return "oid"
    return None


def _ordered(value: Any, kind: str, direction: int) -> Any:
    if direction > 0:
        return value
    if kind == "num" or kind == "bool":
        return -value
    if kind == "naive":
        return -((value - _EPOCH_NAIVE) // _MICROSECOND)
    if kind == "aware":
        return -((value - _EPOCH_AWARE) // _MICROSECOND)
    return _Desc(value)


class OrderedIndex:
    """The ids of one collection in the order of `spec` ([(field, 1 | -1), ...], fields top level)."""

    CHUNK = 4096

    def __init__(self, spec: list[tuple[str, int]]) -> None:
        self.spec = spec
        self.names = frozenset(field for field, _ in spec)
        self.entries: list[tuple[Any, ...]] | None = None  # None until built
        self.filed: dict[Any, tuple[Any, ...]] = {}
        self.kinds: list[str | None] = [None] * len(spec)
        self.irregular: set[Any] = set()

    @property
    def built(self) -> bool:
        return self.entries is not None

    @property
    def usable(self) -> bool:
        return self.entries is not None and not self.irregular

    def _entry(self, doc_id: Any, doc: dict[str, Any], position: int) -> tuple[Any, ...] | None:
        values = []
        for i, (field, direction) in enumerate(self.spec):
            if field not in doc:
                return None
            value = doc[field]
            kind = _kind(value)
            if kind is None or (self.kinds[i] is not None and self.kinds[i] != kind):
                return None
            self.kinds[i] = kind
            values.append(_ordered(value, kind, direction))
        return (*values, position, doc_id)

    def build(self, documents: dict[Any, dict[str, Any]], position: dict[Any, int]) -> None:
        self.filed, self.irregular, self.kinds = {}, set(), [None] * len(self.spec)
        for doc_id, doc in documents.items():
            at = position.get(doc_id)  # (every stored document has one; if not, the index stays unused)
            entry = None if at is None else self._entry(doc_id, doc, at)
            if entry is None:
                self.irregular.add(doc_id)
            else:
                self.filed[doc_id] = entry
        # Sorted in chunks, then merged in Python: one sort of everything is one C call that would
        # hold the interpreter (and the event loop) for as long as it takes.
        filed = list(self.filed.values())
        chunks = [sorted(filed[at : at + self.CHUNK]) for at in range(0, len(filed), self.CHUNK)]
        self.entries = list(heapq.merge(*chunks))

    def update(self, doc_id: Any, doc: dict[str, Any] | None, position: int) -> None:
        """Re-file one document after a write (None: deleted). Only once built."""
        entries = self.entries
        if entries is None:
            return
        old = self.filed.pop(doc_id, None)
        if old is not None:
            at = bisect.bisect_left(entries, old)
            del entries[at]
        self.irregular.discard(doc_id)
        if doc is None:
            return
        entry = self._entry(doc_id, doc, position)
        if entry is None:
            self.irregular.add(doc_id)
            return
        bisect.insort(entries, entry)
        self.filed[doc_id] = entry

    def shape(self, sort: list[tuple[str, int]]) -> tuple[int, bool] | None:
        """(k, backwards) when this index serves `sort`: `sort` is the index's fields after k
        leading ones, directions as declared (or all reversed, when the last field is `_id`, so
        that no two entries tie). Else None."""
        k = len(self.spec) - len(sort)
        if not sort or k < 0:
            return None
        rest = self.spec[k:]
        if [f for f, _ in sort] != [f for f, _ in rest]:
            return None
        if all((d > 0) == (r > 0) for (_, d), (_, r) in zip(sort, rest, strict=True)):
            return k, False
        if self.spec[-1][0] == "_id" and all((d > 0) != (r > 0) for (_, d), (_, r) in zip(sort, rest, strict=True)):
            return k, True
        return None

    def names_leading(self, spec: dict[str, Any], k: int) -> bool:
        """Whether `spec` names a single plain value for each of the k leading fields (checked
        before building: an index the query cannot use is not built for it)."""
        return all(field in spec and _kind(spec[field]) is not None for field, _ in self.spec[:k])

    def region(self, spec: dict[str, Any], k: int) -> tuple[int, int] | None:
        """(start, end) of the entries whose k leading fields hold the single plain values `spec`
        names for them (all entries when k = 0); None when `spec` does not name them so, or the
        index is not usable."""
        if not self.usable:
            return None
        prefix = []
        for i, (field, direction) in enumerate(self.spec[:k]):
            if field not in spec:
                return None
            value = spec[field]
            kind = _kind(value)
            if kind is None or kind != self.kinds[i]:
                return None
            prefix.append(_ordered(value, kind, direction))
        entries = self.entries or []
        if not prefix:
            return 0, len(entries)
        return bisect.bisect_left(entries, tuple(prefix)), bisect.bisect_left(entries, (*prefix, _TOP))

    def ids(self, start: int, end: int, backwards: bool) -> Iterator[Any]:
        entries = self.entries or []
        walk = range(end - 1, start - 1, -1) if backwards else range(start, end)
        for i in walk:
            yield entries[i][-1]
