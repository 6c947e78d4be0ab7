"""Calendars: one document per owner (a tutor, a room, a projector...) that makes double booking impossible.

A calendar collection holds `{_id: ownerId, busy: [{start, end, ...holder fields}, ...]}`: the
intervals the owner is taken for. An interval is taken with ONE conditional update on this
document — push only where no busy interval overlaps — so two requests for overlapping times
cannot both succeed, whatever their interleaving and whichever process serves them (a
single-document update is atomic in MongoDB and in the embedded store). Intervals are half-open:
one ending at 10:00 and one starting at 10:00 do not overlap. Each interval is stamped
`reservedAt`, so the reconcile pass can tell one whose record insert is still on its way (young)
from one a crash orphaned (old).

The document is created first with its own upsert, then the conditional push runs without upsert:
an upsert whose filter carries the overlap condition would, on a conflict, try to insert a second
document with the same `_id` and fail with a duplicate key instead of saying "busy".

`tutor_calendars` (`TUTORS`, the module functions below) lists the intervals of a tutor's active
sessions (PENDING, CONFIRMED, and COMPLETED ones until they are pruned), each entry
`{sessionId, start, end, slotKey}`. Resource calendars are `models.allocations`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from server.clock import as_utc
from server.context import Context

COLLECTION = "tutor_calendars"


def _overlapping(start: datetime, end: datetime) -> dict[str, Any]:
    return {"$elemMatch": {"start": {"$lt": end}, "end": {"$gt": start}}}


@dataclass(frozen=True)
class Calendar:
    """The busy intervals of owners, one document per owner in `collection`."""

    collection: str

    async def _ensure(self, ctx: Context, owner_id: str) -> None:
        try:
            await ctx.db[self.collection].update_one({"_id": owner_id}, {"$setOnInsert": {"busy": []}}, upsert=True)
        except DuplicateKeyError:
            pass  # a concurrent first reservation created it: just as good

    async def reserve(
        self, ctx: Context, owner_id: str, start: datetime, end: datetime, holder: dict[str, Any]
    ) -> bool:
        """Take [start, end) for `holder` (the fields that say whose interval it is); False when it
        overlaps a busy interval."""
        await self._ensure(ctx, owner_id)
        entry = {**holder, "start": start, "end": end, "reservedAt": ctx.clock.now()}
        taken = await ctx.db[self.collection].find_one_and_update(
            {"_id": owner_id, "busy": {"$not": _overlapping(start, end)}},
            {"$push": {"busy": entry}},
            projection={"_id": 1},
        )
        if taken is None:
            return False
        # Intervals that have ended can never conflict with a new (future) reservation: drop them so
        # the document stays small. A separate update: $pull and $push on one path cannot share one.
        await ctx.db[self.collection].update_one(
            {"_id": owner_id}, {"$pull": {"busy": {"end": {"$lte": ctx.clock.now()}}}}
        )
        return True

    async def overlapping(self, ctx: Context, owner_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The busy intervals of the owner that overlap [start, end) (to say what a refusal clashed with)."""
        doc = await ctx.db[self.collection].find_one({"_id": owner_id})
        return [b for b in (doc or {}).get("busy", []) if as_utc(b["start"]) < end and as_utc(b["end"]) > start]

    async def release(self, ctx: Context, owner_id: str, holder: dict[str, Any]) -> None:
        """Free the intervals whose entries match `holder`."""
        await ctx.db[self.collection].update_one({"_id": owner_id}, {"$pull": {"busy": holder}})


TUTORS = Calendar(COLLECTION)


async def reserve(
    ctx: Context, tutor_id: str, session_id: str, start: datetime, end: datetime, slot_key: str | None = None
) -> bool:
    """Take [start, end) in the tutor's calendar for a session; False when it overlaps a busy interval."""
    return await TUTORS.reserve(ctx, tutor_id, start, end, {"sessionId": session_id, "slotKey": slot_key})


async def overlapping(ctx: Context, tutor_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The busy intervals of the tutor that overlap [start, end)."""
    return await TUTORS.overlapping(ctx, tutor_id, start, end)


async def release(ctx: Context, tutor_id: str, session_id: str) -> None:
    """Free a session's interval (rejected, cancelled, or a booking whose insert failed)."""
    await TUTORS.release(ctx, tutor_id, {"sessionId": session_id})
