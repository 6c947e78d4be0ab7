"""Reconcile the busy calendars (tutors', employees') with the records that own their intervals.

A calendar is derived state: an interval belongs in it exactly while its record (a session, an
assignment) holds the time. Writes that change both go one after another (reserve, then insert;
change the status, then release), so a crash between them leaves either an interval nobody holds
(the person is busy for a free slot) or a live record without its interval (the slot could be
booked twice). This pass finds both:

- Removal: an interval whose record is terminal (CANCELLED, REJECTED) goes at once, since a
  terminal record never comes back. One whose record does not exist goes only once it is older
  than the grace period and a fresh read still finds no record: a younger one may belong to an
  insert that is on its way (reserve comes first).
- Addition: a live record missing from its calendar gets its interval back with the same
  single-document condition a booking uses (nothing overlapping, not there yet). If something
  else now overlaps, the time was booked twice: that is reported as unresolved, for a person to
  settle, never forced. After the push the record is read again; if it stopped being live in the
  meantime (a cancel ran between our two reads) the interval is pulled back out.

Every write is a conditional single-document update, so two passes at once, or a pass beside
live traffic, cannot undo each other's work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from models import assignments, calendars, sessions
from models.reconcile_report import Report, Window, pages
from server.clock import as_utc
from server.context import Context
from server.documents import absent

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class CalendarKind:
    """One kind of calendar and the records behind its intervals."""

    name: str  # report prefix
    calendars: str  # collection of `{_id: owner, busy: [{<ref>, start, end, ...}]}`
    ref: str  # the entry's field naming its record
    records: str  # collection of the records
    owner: str  # the record's field naming the calendar
    live: tuple[str, ...]  # statuses that must hold an interval
    kept: tuple[str, ...]  # statuses that may keep it until pruned (finished work)
    interval: Callable[[dict[str, Any]], Interval]
    upcoming: Callable[[Window], dict[str, Any]]  # records that may still end after now


def _session_interval(doc: dict[str, Any]) -> Interval:
    return as_utc(doc["startTime"]), as_utc(doc["endTime"])


def _assignment_interval(doc: dict[str, Any]) -> Interval:
    start = as_utc(doc["bookingTime"])
    return start, start + timedelta(hours=float(doc["estimatedDurationHours"]))


TUTORS = CalendarKind(
    name="tutorCalendar",
    calendars=calendars.COLLECTION,
    ref="sessionId",
    records=sessions.COLLECTION,
    owner="tutorId",
    live=sessions.ACTIVE,
    kept=("COMPLETED",),
    interval=_session_interval,
    upcoming=lambda window: {"endTime": {"$gt": window.now}},
)
EMPLOYEES = CalendarKind(
    name="employeeCalendar",
    calendars=assignments.CALENDARS,
    ref="assignmentId",
    records=assignments.ASSIGNMENTS,
    owner="employeeId",
    live=("ASSIGNED", "IN_PROGRESS"),
    kept=("COMPLETED",),
    interval=_assignment_interval,
    # Jobs last at most 24 hours (NewBooking), so one that started a day ago has ended.
    upcoming=lambda window: {"bookingTime": {"$gt": window.now - timedelta(hours=24)}},
)
KINDS = (TUTORS, EMPLOYEES)


async def remove_orphans(ctx: Context, kind: CalendarKind, window: Window, report: Report) -> None:
    removed = f"{kind.name}Removed"
    async for page in pages(ctx.db[kind.calendars], {"busy.0": {"$exists": True}}):
        for calendar in page:
            entries = calendar.get("busy") or []
            ids = [e[kind.ref] for e in entries]
            records = await ctx.db[kind.records].find({"_id": {"$in": ids}}, {"status": 1}).to_list(None)
            status = {r["_id"]: r["status"] for r in records}
            for entry in entries:
                if report.full(removed):
                    return
                ref = entry[kind.ref]
                if ref in status:
                    if status[ref] in kind.live or status[ref] in kind.kept:
                        continue
                elif not window.is_settled(entry.get("reservedAt")) or not await absent(ctx.db[kind.records], ref):
                    continue  # an insert may be on its way, or we cannot tell: next pass
                result = await ctx.db[kind.calendars].update_one(
                    {"_id": calendar["_id"]}, {"$pull": {"busy": {kind.ref: ref}}}
                )
                if result.modified_count:
                    report.repair(removed, ref)


async def _ensure_calendar(ctx: Context, kind: CalendarKind, owner: str) -> None:
    try:
        await ctx.db[kind.calendars].update_one({"_id": owner}, {"$setOnInsert": {"busy": []}}, upsert=True)
    except DuplicateKeyError:
        pass  # created concurrently: just as good


async def add_missing(ctx: Context, kind: CalendarKind, window: Window, report: Report) -> None:
    added, overlap = f"{kind.name}Added", f"{kind.name}Overlap"
    where = {"status": {"$in": list(kind.live)}, **kind.upcoming(window)}
    async for page in pages(ctx.db[kind.records], where):
        owners = sorted({r[kind.owner] for r in page})
        held = {
            e[kind.ref]
            for c in await ctx.db[kind.calendars].find({"_id": {"$in": owners}}).to_list(None)
            for e in c.get("busy") or []
        }
        for record in page:
            start, end = kind.interval(record)
            if record["_id"] in held or end <= window.now:
                continue
            if report.full(added):
                return
            if await _put_back(ctx, kind, record, start, end, window):
                report.repair(added, record["_id"])
            elif await _overlaps(ctx, kind, record, start, end):
                report.unresolvable(overlap, record["_id"])


async def _put_back(
    ctx: Context, kind: CalendarKind, record: dict[str, Any], start: datetime, end: datetime, window: Window
) -> bool:
    """Push the record's interval where nothing overlaps and it is not there yet; undo if the
    record stopped being live meanwhile. True when the calendar now holds it because of us."""
    owner, ref = record[kind.owner], record["_id"]
    await _ensure_calendar(ctx, kind, owner)
    entry: dict[str, Any] = {kind.ref: ref, "start": start, "end": end, "reservedAt": window.now}
    if kind is TUTORS:
        entry["slotKey"] = record.get("slotKey")
    taken = await ctx.db[kind.calendars].find_one_and_update(
        {
            "_id": owner,
            f"busy.{kind.ref}": {"$ne": ref},
            "busy": {"$not": {"$elemMatch": {"start": {"$lt": end}, "end": {"$gt": start}}}},
        },
        {"$push": {"busy": entry}},
        projection={"_id": 1},
    )
    if taken is None:
        return False
    again = await ctx.db[kind.records].find_one({"_id": ref}, {"status": 1})
    if again is None or again["status"] not in kind.live:
        await ctx.db[kind.calendars].update_one({"_id": owner}, {"$pull": {"busy": {kind.ref: ref}}})
        return False
    return True


async def _overlaps(ctx: Context, kind: CalendarKind, record: dict[str, Any], start: datetime, end: datetime) -> bool:
    """Whether another interval holds the record's time (a double booking), rather than the record's
    own interval having been put back by a concurrent pass."""
    calendar = await ctx.db[kind.calendars].find_one({"_id": record[kind.owner]}) or {}
    return any(
        e[kind.ref] != record["_id"] and as_utc(e["start"]) < end and as_utc(e["end"]) > start
        for e in calendar.get("busy") or []
    )


async def reconcile_calendars(ctx: Context, window: Window, report: Report) -> None:
    for kind in KINDS:
        await remove_orphans(ctx, kind, window, report)
        await add_missing(ctx, kind, window, report)
