"""Reconcile counters and statuses with the records they summarize, and finish approved cancels.

- Bookings: `liveAssignments` is the number of the booking's assignments not CANCELLED,
  `openAssignments` of those still ASSIGNED or IN_PROGRESS (the counter completion waits on), and the
  booking's status follows them (PENDING → CONFIRMED once assigned → IN_PROGRESS once one checked
  in → COMPLETED once none is open; CANCELLED once all are cancelled). Only a booking whose
  document and assignments all settled (untouched for the grace period) is repaired: an assign or
  a cancel in flight changes the counter and the assignment in two writes, and correcting the
  counter between them would leave it wrong by one the other way.
- Classes: `enrolledCount` is the length of `studentIds` (one atomic update keeps them together;
  this only catches documents edited by hand or by an older version).
- Tutors: `totalSessions` counts their COMPLETED sessions, and `ratingSum`/`ratingCount` (and
  the raw average `rating`) sum their evaluations; a
  tutor with a session completed or an evaluation made within the grace period waits.
- Cancellation requests APPROVED without an `outcome`: the process died between the decision and
  the session's cancel; the pass claims the request and runs the rest of the approval.

Each write is conditional on the values the pass read (and their `updatedAt`), so a change made
meanwhile by anyone makes it match nothing: the next pass looks again.
"""

from __future__ import annotations

import logging
from typing import Any

from models import assignments, cancel_requests, classes, sessions
from models.assignments import BookingStatus
from models.cancel_request_records import COLLECTION as CANCEL_REQUESTS
from models.cancel_request_records import CancelRequestStatus
from models.evaluations import COLLECTION as EVALUATIONS
from models.reconcile_report import Report, Window, pages
from models.users import COLLECTION as USERS
from server.context import Context
from server.roles import Role

log = logging.getLogger(__name__)

OPEN_BOOKING = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.IN_PROGRESS)
_ORDER = {"PENDING": 0, "CONFIRMED": 1, "IN_PROGRESS": 2, "COMPLETED": 3, "CANCELLED": 3}


def booking_should_be(status: str, own: list[dict[str, Any]]) -> str:
    """The status a booking's assignments imply; never a step back from where it is."""
    states = [a["status"] for a in own]
    if not states:
        implied = status
    elif all(s == "CANCELLED" for s in states):
        implied = "CANCELLED"
    elif not any(s in ("ASSIGNED", "IN_PROGRESS") for s in states):
        implied = "COMPLETED"
    elif any(s in ("IN_PROGRESS", "COMPLETED") for s in states):
        implied = "IN_PROGRESS"
    else:
        implied = "CONFIRMED"
    return implied if _ORDER[implied] > _ORDER[status] else status


async def reconcile_bookings(ctx: Context, window: Window, report: Report) -> None:
    books = ctx.db[assignments.BOOKINGS]
    async for page in pages(books, {"status": {"$in": list(OPEN_BOOKING)}}):
        ids = [b["_id"] for b in page]
        found = await (
            ctx.db[assignments.ASSIGNMENTS]
            .find({"bookingId": {"$in": ids}}, {"bookingId": 1, "status": 1, "updatedAt": 1})
            .to_list(None)
        )
        by_booking: dict[str, list[dict[str, Any]]] = {}
        for a in found:
            by_booking.setdefault(a["bookingId"], []).append(a)
        for booking in page:
            if report.full("bookingCounter") or report.full("bookingStatus"):
                return
            own = by_booking.get(booking["_id"], [])
            if not window.is_settled(booking.get("updatedAt")) or not all(
                window.is_settled(a.get("updatedAt")) for a in own
            ):
                continue
            live = sum(1 for a in own if a["status"] != "CANCELLED")
            still_open = sum(1 for a in own if a["status"] in ("ASSIGNED", "IN_PROGRESS"))
            status = booking_should_be(booking["status"], own)
            counters = (live, still_open)
            seen = (booking.get("liveAssignments"), booking.get("openAssignments"))
            if counters == seen and status == booking["status"]:
                continue
            changes: dict[str, Any] = {
                "liveAssignments": live,
                "openAssignments": still_open,
                "status": status,
                "updatedAt": window.now,
            }
            if status != booking["status"] and status in ("CANCELLED", "COMPLETED"):
                changes["cancelledAt" if status == "CANCELLED" else "completedAt"] = window.now
            result = await books.update_one(
                {
                    "_id": booking["_id"],
                    "status": booking["status"],
                    "liveAssignments": booking.get("liveAssignments"),
                    "openAssignments": booking.get("openAssignments"),
                    "updatedAt": booking.get("updatedAt"),
                },
                {"$set": changes},
            )
            if result.modified_count:
                if counters != seen:
                    report.repair("bookingCounter", booking["_id"])
                if status != booking["status"]:
                    report.repair("bookingStatus", booking["_id"])


async def reconcile_classes(ctx: Context, window: Window, report: Report) -> None:
    async for page in pages(ctx.db[classes.COLLECTION], {}, {"studentIds": 1, "enrolledCount": 1}):
        for cls in page:
            count = len(cls.get("studentIds") or [])
            if cls.get("enrolledCount") == count:
                continue
            if report.full("classEnrolledCount"):
                return
            result = await ctx.db[classes.COLLECTION].update_one(
                {"_id": cls["_id"], "studentIds": cls.get("studentIds"), "enrolledCount": cls.get("enrolledCount")},
                {"$set": {"enrolledCount": count}},
            )
            if result.modified_count:
                report.repair("classEnrolledCount", cls["_id"])


async def _per_tutor(ctx: Context, collection: str, match: dict[str, Any], value: Any, stamp: str) -> dict[str, Any]:
    """`{tutorId: {"sum", "count", "last"}}` over the matching records (one aggregation per page)."""
    cursor = await ctx.db[collection].aggregate(
        [
            {"$match": match},
            {"$group": {"_id": "$tutorId", "sum": {"$sum": value}, "count": {"$sum": 1}, "last": {"$max": stamp}}},
        ]
    )
    return {row["_id"]: row for row in await cursor.to_list(None)}


async def reconcile_tutors(ctx: Context, window: Window, report: Report) -> None:
    fields = {"totalSessions": 1, "ratingSum": 1, "ratingCount": 1}
    async for page in pages(ctx.db[USERS], {"role": Role.TUTOR}, fields):
        ids = [t["_id"] for t in page]
        done = await _per_tutor(
            ctx, sessions.COLLECTION, {"tutorId": {"$in": ids}, "status": "COMPLETED"}, 1, "$updatedAt"
        )
        rated = await _per_tutor(ctx, EVALUATIONS, {"tutorId": {"$in": ids}}, "$rating", "$createdAt")
        for tutor in page:
            if report.full("tutorTotalSessions") or report.full("tutorRating"):
                return
            await _fix_total(ctx, tutor, done.get(tutor["_id"]), window, report)
            await _fix_rating(ctx, tutor, rated.get(tutor["_id"]), window, report)


async def _fix_total(
    ctx: Context, tutor: dict[str, Any], row: dict[str, Any] | None, window: Window, report: Report
) -> None:
    count = int(row["count"]) if row else 0
    seen = tutor.get("totalSessions")
    if (seen or 0) == count or (row and not window.is_settled(row["last"])):
        return
    result = await ctx.db[USERS].update_one(
        {"_id": tutor["_id"], "totalSessions": seen}, {"$set": {"totalSessions": count}}
    )
    if result.modified_count:
        report.repair("tutorTotalSessions", tutor["_id"])


async def _fix_rating(
    ctx: Context, tutor: dict[str, Any], row: dict[str, Any] | None, window: Window, report: Report
) -> None:
    total, count = (row["sum"], int(row["count"])) if row else (0, 0)
    seen_sum, seen_count = tutor.get("ratingSum"), tutor.get("ratingCount")
    if ((seen_sum or 0), (seen_count or 0)) == (total, count) or (row and not window.is_settled(row["last"])):
        return
    update: dict[str, Any] = {"$set": {"ratingSum": total, "ratingCount": count}}
    if count:
        update["$set"]["rating"] = total / count
    else:
        update["$unset"] = {"rating": ""}
    result = await ctx.db[USERS].update_one(
        {"_id": tutor["_id"], "ratingSum": seen_sum, "ratingCount": seen_count}, update
    )
    if result.modified_count:
        report.repair("tutorRating", tutor["_id"])


async def finish_approved_cancels(ctx: Context, window: Window, report: Report) -> None:
    requests = ctx.db[CANCEL_REQUESTS]
    async for page in pages(requests, {"status": CancelRequestStatus.APPROVED, "outcome": None}):
        for request in page:
            if not window.is_settled(request.get("decidedAt")):
                continue  # the approval may still be on its way to the session
            if report.full("cancelRequestFinished"):
                return
            # Claim it, so that two passes at once do not both finish it (a claim older than the
            # grace period belongs to a pass that died: take it over).
            claimed = await requests.find_one_and_update(
                {
                    "_id": request["_id"],
                    "status": CancelRequestStatus.APPROVED,
                    "outcome": None,
                    "$or": [{"reconcileClaimedAt": None}, {"reconcileClaimedAt": {"$lt": window.settled}}],
                },
                {"$set": {"reconcileClaimedAt": window.now}},
            )
            if claimed is None:
                continue
            session = await ctx.db[sessions.COLLECTION].find_one({"_id": request["sessionId"]})
            if session is None:
                report.unresolvable("cancelRequestWithoutSession", request["_id"])
                continue
            await cancel_requests.finish_approval(ctx, claimed, session)
            report.repair("cancelRequestFinished", request["_id"])
