"""What a reconcile pass shares: the report it builds, the moment it trusts, and paging.

Kept apart from `models.reconcile` so that the repairers (`reconcile_calendars`,
`reconcile_records`) and the orchestrator import it without importing each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from server.clock import as_utc
from server.context import Context

PAGE = 200  # documents read per query; the pass yields to the event loop between pages
MAX_REPAIRS = 1000  # per kind and pass: a pass that finds more stops that kind and says so
REPORT_IDS = 20  # ids listed per kind in the report


@dataclass
class Report:
    """Counts and ids (capped) of what a pass repaired, and of what it found but cannot repair."""

    started_at: datetime
    repaired: dict[str, list[str]] = field(default_factory=dict)
    unresolved: dict[str, list[str]] = field(default_factory=dict)
    truncated: set[str] = field(default_factory=set)
    finished_at: datetime | None = None

    def full(self, kind: str) -> bool:
        """True once `kind` reached MAX_REPAIRS this pass (its scan stops; the next pass goes on)."""
        if len(self.repaired.get(kind, ())) >= MAX_REPAIRS:
            self.truncated.add(kind)
            return True
        return False

    def repair(self, kind: str, doc_id: str) -> None:
        self.repaired.setdefault(kind, []).append(doc_id)

    def unresolvable(self, kind: str, doc_id: str) -> None:
        self.unresolved.setdefault(kind, []).append(doc_id)

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.repaired.values())

    def as_dict(self) -> dict[str, Any]:
        def kinds(found: dict[str, list[str]]) -> dict[str, Any]:
            return {k: {"count": len(ids), "ids": ids[:REPORT_IDS]} for k, ids in sorted(found.items())}

        return {
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "complete": not self.truncated,
            "repairedTotal": self.total,
            "repaired": kinds(self.repaired),
            "unresolved": kinds(self.unresolved),
        }


@dataclass(frozen=True)
class Window:
    """The pass's view of time: `now`, and `settled`, before which a write is no longer in flight.

    A multi-write operation's first write carries a time (`updatedAt`, `reservedAt`, `decidedAt`);
    while that time is after `settled` the operation may still be on its way to the next write,
    and "repairing" it would race the operation itself. Past it, the operation finished or died."""

    now: datetime
    settled: datetime

    @classmethod
    def of(cls, ctx: Context) -> Window:
        now = ctx.clock.now()
        return cls(now, now - timedelta(seconds=ctx.settings.reconcile_grace_seconds))

    def is_settled(self, moment: Any) -> bool:
        """A missing time (records older than the stamp) counts as settled."""
        return not isinstance(moment, datetime) or as_utc(moment) < self.settled


async def pages(
    collection: Any, where: dict[str, Any], projection: dict[str, Any] | None = None
) -> AsyncIterator[list[dict[str, Any]]]:
    """The matching documents PAGE at a time in `_id` order (keyset paging: documents the pass
    changes, or others insert, never shift a page), yielding to the event loop between pages."""
    last: str | None = None
    while True:
        query = where if last is None else {**where, "_id": {"$gt": last}}  # `where` never names _id
        batch = await collection.find(query, projection).sort([("_id", 1)]).limit(PAGE).to_list(None)
        if not batch:
            return
        yield batch
        if len(batch) < PAGE:
            return
        last = batch[-1]["_id"]
        await asyncio.sleep(0)
