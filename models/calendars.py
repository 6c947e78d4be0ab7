"""Tutor calendars: the one document per tutor that makes double booking impossible.

`tutor_calendars` holds `{_id: tutorId, busy: [{sessionId, start, end, slotKey}, ...]}`: the intervals of
the tutor's active sessions (PENDING, CONFIRMED, and COMPLETED ones until they are pruned), each
stamped `reservedAt` so that the reconcile pass can tell an interval whose session insert is still
on its way (young) from one a crash orphaned (old). A
session takes its interval with ONE conditional update on this document — push only where no busy
interval overlaps — so two requests for overlapping times cannot both succeed, whatever their
interleaving and whichever process serves them (a single-document update is atomic in MongoDB
and in the embedded store). Intervals are half-open: a session ending at 10:00 and one starting
at 10:00 do not overlap.

The document is created first with its own upsert, then the conditional push runs without upsert:
an upsert whose filter carries the overlap condition would, on a conflict, try to insert a second
document with the same `_id` and fail with a duplicate key instead of saying "busy".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from server.clock import as_utc
from server.context import Context

COLLECTION = "tutor_calendars"


async def _ensure(ctx: Context, tutor_id: str) -> None:
    try:
        await ctx.db[COLLECTION].update_one({"_id": tutor_id}, {"$setOnInsert": {"busy": []}}, upsert=True)
    except DuplicateKeyError:
        pass  # a concurrent first booking created it: just as good


def _overlapping(start: datetime, end: datetime) -> dict[str, Any]:
    return {"$elemMatch": {"start": {"$lt": end}, "end": {"$gt": start}}}


async def reserve(
    ctx: Context, tutor_id: str, session_id: str, start: datetime, end: datetime, slot_key: str | None = None
) -> bool:
    """Take [start, end) in the tutor's calendar for a session; False when it overlaps a busy interval."""
    await _ensure(ctx, tutor_id)
    entry = {"sessionId": session_id, "start": start, "end": end, "slotKey": slot_key, "reservedAt": ctx.clock.now()}
    taken = await ctx.db[COLLECTION].find_one_and_update(
        {"_id": tutor_id, "busy": {"$not": _overlapping(start, end)}}, {"$push": {"busy": entry}}, projection={"_id": 1}
    )
    if taken is None:
        return False
    # Intervals that have ended can never conflict with a new (future) booking: drop them so the
    # document stays small. A separate update: $pull and $push on one path cannot share an update.
    await ctx.db[COLLECTION].update_one({"_id": tutor_id}, {"$pull": {"busy": {"end": {"$lte": ctx.clock.now()}}}})
    return True


async def overlapping(ctx: Context, tutor_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The busy intervals of the tutor that overlap [start, end) (to say what a refusal clashed with)."""
    doc = await ctx.db[COLLECTION].find_one({"_id": tutor_id})
    return [b for b in (doc or {}).get("busy", []) if as_utc(b["start"]) < end and as_utc(b["end"]) > start]


async def release(ctx: Context, tutor_id: str, session_id: str) -> None:
    """Free a session's interval (rejected, cancelled, or a booking whose insert failed)."""
    await ctx.db[COLLECTION].update_one({"_id": tutor_id}, {"$pull": {"busy": {"sessionId": session_id}}})
