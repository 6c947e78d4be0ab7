"""Helpers of the reconcile tests: an independent check that derived state matches its records,
and a database stand-in whose insert loses its reply."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo.errors import AutoReconnect

from server.clock import as_utc
from server.context import Context
from tests.helpers import Api, User

LIVE_SESSION = ("PENDING", "CONFIRMED")
LIVE_ASSIGNMENT = ("ASSIGNED", "IN_PROGRESS")


async def inconsistencies(ctx: Context) -> list[str]:
    """Every disagreement between derived state and its records, computed here from scratch (not
    with the reconcile code): orphan or missing calendar intervals, counters off their records,
    approved cancellations whose session still runs. Empty when the data is consistent."""
    db, now, found = ctx.db, ctx.clock.now(), []
    sessions = {s["_id"]: s for s in await db["sessions"].find({}).to_list(None)}
    for cal in await db["tutor_calendars"].find({}).to_list(None):
        for entry in cal["busy"]:
            owner = sessions.get(entry["sessionId"])
            if owner is None or owner["status"] not in (*LIVE_SESSION, "COMPLETED"):
                found.append(f"tutor interval without a live session: {entry['sessionId']}")
    held = {(c["_id"], e["sessionId"]) for c in await db["tutor_calendars"].find({}).to_list(None) for e in c["busy"]}
    for s in sessions.values():
        if s["status"] in LIVE_SESSION and as_utc(s["endTime"]) > now and (s["tutorId"], s["_id"]) not in held:
            found.append(f"live session without its interval: {s['_id']}")
    assignments = {a["_id"]: a for a in await db["assignments"].find({}).to_list(None)}
    for cal in await db["employee_calendars"].find({}).to_list(None):
        for entry in cal["busy"]:
            owner = assignments.get(entry["assignmentId"])
            if owner is None or owner["status"] not in (*LIVE_ASSIGNMENT, "COMPLETED"):
                found.append(f"employee interval without a live assignment: {entry['assignmentId']}")
    held = {
        (c["_id"], e["assignmentId"]) for c in await db["employee_calendars"].find({}).to_list(None) for e in c["busy"]
    }
    for a in assignments.values():
        end = as_utc(a["bookingTime"]) + timedelta(hours=a["estimatedDurationHours"])
        if a["status"] in LIVE_ASSIGNMENT and end > now and (a["employeeId"], a["_id"]) not in held:
            found.append(f"live assignment without its interval: {a['_id']}")
    for b in await db["bookings"].find({}).to_list(None):
        live = sum(1 for a in assignments.values() if a["bookingId"] == b["_id"] and a["status"] != "CANCELLED")
        still_open = sum(
            1 for a in assignments.values() if a["bookingId"] == b["_id"] and a["status"] in LIVE_ASSIGNMENT
        )
        counted = (b["liveAssignments"], b.get("openAssignments"))
        if counted != (live, still_open):
            found.append(
                f"booking {b['_id']} counts {counted[0]}/{counted[1]} live/open assignments, has {live}/{still_open}"
            )
        own = [a for a in assignments.values() if a["bookingId"] == b["_id"]]
        if own and all(a["status"] == "CANCELLED" for a in own) and b["status"] != "CANCELLED":
            found.append(f"booking {b['_id']} is {b['status']} with every assignment cancelled")
    for c in await db["classes"].find({}).to_list(None):
        if c["enrolledCount"] != len(c["studentIds"]):
            found.append(f"class {c['_id']} counts {c['enrolledCount']}, has {len(c['studentIds'])}")
    for t in await db["users"].find({"role": "TUTOR"}).to_list(None):
        done = sum(1 for s in sessions.values() if s["tutorId"] == t["_id"] and s["status"] == "COMPLETED")
        if (t.get("totalSessions") or 0) != done:
            found.append(f"tutor {t['_id']} counts {t.get('totalSessions') or 0} sessions, completed {done}")
    for r in await db["cancel_requests"].find({"status": "APPROVED"}).to_list(None):
        session = sessions[r["sessionId"]]
        if r.get("outcome") is None or (r["outcome"] == "SESSION_CANCELLED") != (session["status"] == "CANCELLED"):
            found.append(f"approved request {r['_id']} has outcome {r.get('outcome')}, session {session['status']}")
    return found


async def reconcile(api: Api, admin: User) -> dict[str, Any]:
    reply = await api.post("/admin/reconcile", token=admin.token, headers={"Accept-Language": "en"})
    assert reply.status == 200, reply.body
    assert reply.body["message"] == f"Data reconciled: {reply.data['repairedTotal']} item(s) repaired"
    return reply.data


def repaired(report: dict[str, Any]) -> dict[str, tuple[int, list[str]]]:
    """`{kind: (count, sorted ids)}`: the report's repairs, order-free."""
    return {kind: (item["count"], sorted(item["ids"])) for kind, item in report["repaired"].items()}


class LostReply:
    """A `ctx.db` stand-in: the next insert into `collection` fails as if its reply were lost,
    after writing (`written=True`) or not; with `reread_fails` the re-read after it fails too."""

    def __init__(self, db: Any, collection: str, *, written: bool, reread_fails: bool = False) -> None:
        self.db, self.collection, self.written, self.reread_fails = db, collection, written, reread_fails
        self.armed, self.reads_fail = True, False

    def __getitem__(self, name: str) -> Any:
        real = self.db[name]
        return _LossyCollection(real, self) if name == self.collection else real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


class _LossyCollection:
    def __init__(self, real: Any, plan: LostReply) -> None:
        self.real, self.plan = real, plan

    async def insert_one(self, doc: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if not self.plan.armed:
            return await self.real.insert_one(doc, *args, **kwargs)
        self.plan.armed = False
        if self.plan.written:
            await self.real.insert_one(doc, *args, **kwargs)
        self.plan.reads_fail = self.plan.reread_fails
        raise AutoReconnect("connection closed before the reply")

    async def find_one(self, *args: Any, **kwargs: Any) -> Any:
        if self.plan.reads_fail:
            self.plan.reads_fail = False
            raise AutoReconnect("still down")
        return await self.real.find_one(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)
