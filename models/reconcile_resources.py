"""Reconcile the resource calendars (rooms, projectors...) with the approvals that hold them.

An approval reserves its resources first (each interval tagged with the call's `attemptId`) and
then moves to APPROVED with that id as its `allocationId`, in that order. A process killed between
the two leaves intervals that no approval holds: the room looks taken for a window nobody got.
Such an interval goes once it is older than the grace period (a younger one may belong to an
approval still on its way) and the approval does not hold it: not APPROVED, or APPROVED with
another attempt's id. The pull names the attempt, so it can never take an interval that a live
approval holds.
"""

from __future__ import annotations

from models.allocations import RESOURCES
from models.approvals import COLLECTION as APPROVALS
from models.approvals import ApprovalStatus
from models.reconcile_report import Report, Window, pages
from server.context import Context

KIND = "resourceCalendarRemoved"


async def reconcile_resources(ctx: Context, window: Window, report: Report) -> None:
    async for page in pages(ctx.db[RESOURCES.collection], {}):
        for calendar in page:
            for entry in calendar.get("busy", []):
                if report.full(KIND):
                    return
                if not window.is_settled(entry.get("reservedAt")):
                    continue
                held = await ctx.db[APPROVALS].find_one(
                    {
                        "_id": entry.get("approvalId"),
                        "status": ApprovalStatus.APPROVED,
                        "allocationId": entry.get("attemptId"),
                    },
                    {"_id": 1},
                )
                if held is None:
                    result = await ctx.db[RESOURCES.collection].update_one(
                        {"_id": calendar["_id"]}, {"$pull": {"busy": {"attemptId": entry.get("attemptId")}}}
                    )
                    if result.modified_count:
                        report.repair(KIND, calendar["_id"])
