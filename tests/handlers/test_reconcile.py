"""TC-INT-014 Data consistency across features: crashes between writes, then the reconcile pass.

Each test works through the real app over HTTP with the fake clock; a crash is a crash point armed
on the Context (server/faults.py), which kills the request between two writes as `kill -9` would
(the client sees its connection dropped). The reconcile pass then runs through
`POST /admin/reconcile` or as the scheduled job, and the data is checked against its records
(`tests/reconcile_fixtures.inconsistencies`, computed independently of the reconcile code).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from app.worker import PERIODIC
from server.context import Context
from tests.helpers import Api, User
from tests.reconcile_fixtures import LostReply, inconsistencies, reconcile, repaired
from tests.tutoring_fixtures import book, interleaving, kinds, later, relogin, tutor  # noqa: F401 (fixture)
from workers.scheduler import queue_periodic

CLASS = {
    "title": "Toán 12",
    "subject": "Math",
    "capacity": 10,
    "startDate": "2025-09-08",
    "endDate": "2025-09-14",
    "schedule": [{"dayOfWeek": 3, "startTime": "18:00", "durationMinutes": 90}],  # 2025-09-10 11:00Z
}
CANCEL_BODY = {"reason": "Có việc đột xuất", "note": "Xin lỗi"}


async def crashed(call: Any) -> None:
    """The request dies at the armed crash point: its connection drops without a reply."""
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call


async def calendar(ctx: Context, collection: str, owner: str, ref: str) -> list[str]:
    doc = await ctx.db[collection].find_one({"_id": owner})
    return [entry[ref] for entry in (doc or {}).get("busy", [])]


async def confirmed(api: Api, teacher: User, student: User, start: str, minutes: int = 60) -> dict[str, Any]:
    booked = await book(api, student, teacher.id, start, minutes)
    assert booked.status == 201, booked.body
    reply = await api.post(f"/sessions/{booked.data['id']}/confirm", token=teacher.token)
    assert reply.status == 200, reply.body
    return reply.data


async def new_booking(api: Api, admin: User, customer: User, at: str, hours: float = 2) -> str:
    created = await api.post(
        "/admin/bookings",
        {
            "customerId": customer.id,
            "serviceName": "Tổng vệ sinh",
            "serviceAddress": "1 Đường A",
            "bookingTime": at,
            "estimatedDurationHours": hours,
            "pricePerUnit": 350000,
        },
        token=admin.token,
    )
    assert created.status == 201, created.body
    return str(created.data["id"])


def assign(api: Api, admin: User, booking_id: str, employee: User) -> Any:
    return api.post(
        f"/admin/bookings/{booking_id}/assignments", {"employeeId": employee.raw["employeeId"]}, token=admin.token
    )


async def bookings_by_id(api: Api, admin: User) -> dict[str, dict[str, Any]]:
    return {b["id"]: b for b in (await api.get("/customer/bookings", token=admin.token)).data}


async def test_TC_INT_014_data_consistency_across_features(api: Api, ctx: Context, clock, jobs) -> None:
    admin = await api.admin()
    teacher = await tutor(api, "Tran Thi Mai")
    s1, s2 = await api.user("STUDENT"), await api.user("STUDENT")
    customer, employee = await api.user("CUSTOMER"), await api.user("EMPLOYEE")

    # 1. Operations across features: chat, a class with its sessions, bookings, home-service jobs.
    conv = (await api.post("/conversations", {"participantIds": [teacher.id]}, token=s1.token)).data
    sent = await api.post(f"/conversations/{conv['id']}/messages", {"body": "Chào cô"}, token=s1.token)
    assert sent.status == 201, sent.body
    cls = (await api.post("/classes", CLASS, token=teacher.token)).data
    assert (await api.post(f"/classes/{cls['id']}/enroll", token=s1.token)).status == 201
    generated = await api.post(f"/classes/{cls['id']}/sessions", token=teacher.token)
    assert generated.status == 201 and generated.data["createdCount"] == 1, generated.body
    soon = await confirmed(api, teacher, s1, later(clock, hours=3))  # to be completed
    to_cancel = await confirmed(api, teacher, s2, later(clock, days=2))
    unlisted = await confirmed(api, teacher, s1, later(clock, days=1))
    kept_booking = await new_booking(api, admin, customer, later(clock, days=5))
    first = await assign(api, admin, kept_booking, employee)
    assert first.status == 201, first.body
    await jobs.run()
    assert await inconsistencies(ctx) == []

    # 2. Crashes between writes that must agree.
    # a. tutor calendar -> session insert: the tutor is busy for a slot no session holds.
    phantom_start = later(clock, days=4)
    ctx.faults.arm("session.reserved")
    await crashed(book(api, s2, teacher.id, phantom_start))
    refused = await book(api, s1, teacher.id, phantom_start)
    assert refused.status == 409, refused.body
    known = {soon["id"], to_cancel["id"], unlisted["id"], *[s["id"] for s in generated.data["created"]]}
    [phantom] = [s for s in await calendar(ctx, "tutor_calendars", teacher.id, "sessionId") if s not in known]
    # b. cancel-request decision -> session cancel: APPROVED while the session stays confirmed.
    request = await api.post(f"/sessions/{to_cancel['id']}/cancel-requests", {"reason": "Ốm"}, token=s2.token)
    assert request.status == 201, request.body
    ctx.faults.arm("cancel_request.decided")
    await crashed(api.post(f"/cancel-requests/{request.data['id']}/approve", {}, token=teacher.token))
    # c. a release after an insert whose reply was lost (the old bug): a live session without its interval.
    await ctx.db["tutor_calendars"].update_one({"_id": teacher.id}, {"$pull": {"busy": {"sessionId": unlisted["id"]}}})
    # d. employee calendar -> booking counter -> assignment insert: a counter with no assignment.
    orphan_booking = await new_booking(api, admin, customer, later(clock, days=6))
    ctx.faults.arm("assignment.counted")
    await crashed(assign(api, admin, orphan_booking, employee))
    # e. assignment cancelled -> calendar, counter, booking: the counter never returns to 0.
    ctx.faults.arm("assignment.cancelled")
    await crashed(
        api.post(f"/employee/assignments/{first.data['assignmentId']}/cancel", CANCEL_BODY, token=employee.token)
    )
    employee_busy = await calendar(ctx, "employee_calendars", employee.raw["employeeId"], "assignmentId")
    [lost_assignment] = [a for a in employee_busy if a != first.data["assignmentId"]]
    # f. a count edited out of step with the enrolments (by hand, or an older version).
    await ctx.db["classes"].update_one({"_id": cls["id"]}, {"$set": {"enrolledCount": 5}})
    # g. session completed -> tutor's totalSessions: the count misses it.
    clock.advance(hours=3, minutes=1)
    teacher, s1, s2, admin, customer, employee = await relogin(api, teacher, s1, s2, admin, customer, employee)
    ctx.faults.arm("session.completed")
    await crashed(api.post(f"/sessions/{soon['id']}/complete", token=teacher.token))
    assert ctx.faults.armed == {}

    bookings = await bookings_by_id(api, admin)
    assert (bookings[kept_booking]["status"], bookings[orphan_booking]["status"]) == ("CONFIRMED", "PENDING")
    assert sorted(await inconsistencies(ctx)) == sorted(
        [
            f"tutor interval without a live session: {phantom}",
            f"live session without its interval: {unlisted['id']}",
            f"employee interval without a live assignment: {first.data['assignmentId']}",
            f"employee interval without a live assignment: {lost_assignment}",
            f"booking {kept_booking} counts 1/1 live/open assignments, has 0/0",
            f"booking {kept_booking} is CONFIRMED with every assignment cancelled",
            f"booking {orphan_booking} counts 1/1 live/open assignments, has 0/0",
            f"class {cls['id']} counts 5, has 1",
            f"tutor {teacher.id} counts 0 sessions, completed 1",
            f"approved request {request.data['id']} has outcome None, session CONFIRMED",
        ]
    )

    # 3. The reconcile pass, once the last crash is older than the grace period.
    clock.advance(minutes=6)  # past RECONCILE_GRACE_SECONDS (300)
    admin, teacher, s1, s2, employee = await relogin(api, admin, teacher, s1, s2, employee)
    report = await reconcile(api, admin)
    assert repaired(report) == {
        "cancelRequestFinished": (1, [request.data["id"]]),
        "tutorCalendarRemoved": (1, [phantom]),
        "tutorCalendarAdded": (1, [unlisted["id"]]),
        "employeeCalendarRemoved": (2, sorted([first.data["assignmentId"], lost_assignment])),
        "bookingCounter": (2, sorted([kept_booking, orphan_booking])),
        "bookingStatus": (1, [kept_booking]),
        "classEnrolledCount": (1, [cls["id"]]),
        "tutorTotalSessions": (1, [teacher.id]),
    }
    assert report["repairedTotal"] == 10 and report["unresolved"] == {} and report["complete"] is True

    # 4. No orphans; counters and calendars match their records; the features work again.
    assert await inconsistencies(ctx) == []
    assert (await api.get(f"/sessions/{to_cancel['id']}", token=s2.token)).data["status"] == "CANCELLED"
    finished = await api.get(f"/cancel-requests/{request.data['id']}", token=s2.token)
    assert (finished.data["status"], finished.data["outcome"]) == ("APPROVED", "SESSION_CANCELLED")
    assert (await book(api, s1, teacher.id, phantom_start)).status == 201  # the phantom's slot is free again
    profile = (await api.get(f"/tutors/{teacher.id}", token=s1.token)).data
    assert profile["totalSessions"] == 1
    assert (await api.get(f"/classes/{cls['id']}", token=s1.token)).data["enrolledCount"] == 1
    bookings = await bookings_by_id(api, admin)
    assert (bookings[kept_booking]["status"], bookings[orphan_booking]["status"]) == ("CANCELLED", "PENDING")
    again = await assign(api, admin, orphan_booking, employee)
    assert again.status == 201, again.body  # the employee is free at that time again
    await jobs.run()
    assert "cancel_request.approved" in await kinds(api, s2)
    conversation = (await api.get(f"/conversations/{conv['id']}", token=teacher.token)).data
    assert conversation["unreadCount"] == 1  # chat is untouched

    # 5. Idempotent: a second pass repairs nothing.
    second = await reconcile(api, admin)
    assert (second["repairedTotal"], second["repaired"], second["unresolved"]) == (0, {}, {})
    assert await inconsistencies(ctx) == []


async def test_TC_INT_014_reconcile_leaves_work_in_flight_alone(api: Api, ctx: Context, clock) -> None:
    """What changed within the grace period may be an operation between its writes: a pass leaves it."""
    admin, teacher = await api.admin(), await tutor(api)
    student, customer, employee = await api.user("STUDENT"), await api.user("CUSTOMER"), await api.user("EMPLOYEE")
    start = later(clock, days=3)
    ctx.faults.arm("session.reserved")
    await crashed(book(api, student, teacher.id, start))
    booking = await new_booking(api, admin, customer, later(clock, days=3))
    ctx.faults.arm("assignment.counted")
    await crashed(assign(api, admin, booking, employee))
    session = await confirmed(api, teacher, student, later(clock, days=5))
    request = await api.post(f"/sessions/{session['id']}/cancel-requests", {"reason": "Ốm"}, token=student.token)
    ctx.faults.arm("cancel_request.decided")
    await crashed(api.post(f"/cancel-requests/{request.data['id']}/approve", {}, token=teacher.token))
    problems = sorted(await inconsistencies(ctx))
    assert len(problems) == 4

    clock.advance(minutes=4)  # still within RECONCILE_GRACE_SECONDS
    early = await reconcile(api, admin)
    assert (early["repairedTotal"], early["repaired"], early["unresolved"]) == (0, {}, {})
    assert sorted(await inconsistencies(ctx)) == problems
    assert (await book(api, student, teacher.id, start)).status == 409

    clock.advance(minutes=2)
    report = await reconcile(api, admin)
    assert {kind: item["count"] for kind, item in report["repaired"].items()} == {
        "tutorCalendarRemoved": 1,
        "employeeCalendarRemoved": 1,
        "bookingCounter": 1,
        "cancelRequestFinished": 1,
    }
    assert await inconsistencies(ctx) == []
    assert (await book(api, student, teacher.id, start)).status == 201


async def test_TC_INT_014_reconcile_runs_as_a_scheduled_job(api: Api, ctx: Context, clock, jobs, caplog) -> None:
    """The scheduler queues one `reconcile` job per RECONCILE_INTERVAL_SECONDS bucket (however often it
    ticks), and the worker runs the pass."""
    admin, customer, employee = await api.admin(), await api.user("CUSTOMER"), await api.user("EMPLOYEE")
    booking = await new_booking(api, admin, customer, later(clock, days=2))
    assigned = await assign(api, admin, booking, employee)
    ctx.faults.arm("assignment.cancelled")
    await crashed(
        api.post(f"/employee/assignments/{assigned.data['assignmentId']}/cancel", CANCEL_BODY, token=employee.token)
    )
    await jobs.run()
    assert len(await inconsistencies(ctx)) == 3
    clock.advance(minutes=6)

    bucket = int(clock.now().timestamp()) // 3600
    assert await queue_periodic(ctx, PERIODIC) == [f"reconcile:{bucket}"]
    assert await queue_periodic(ctx, PERIODIC) == []  # the same bucket: queued once
    assert (await ctx.queue.stats())["ready"] == 1
    caplog.set_level("INFO", logger="models.reconcile")
    assert await jobs.run() == 1
    assert await inconsistencies(ctx) == []
    [logged] = [r.getMessage() for r in caplog.records if r.name == "models.reconcile"]
    assert logged.startswith(
        "reconcile: repaired {'bookingCounter': 1, 'bookingStatus': 1, 'employeeCalendarRemoved': 1}; unresolved {}"
    )
    bookings = await bookings_by_id(api, admin)
    assert bookings[booking]["status"] == "CANCELLED"

    clock.advance(hours=1)
    assert await queue_periodic(ctx, PERIODIC) == [f"reconcile:{bucket + 1}"]
    assert await jobs.run() == 1
    assert [r.getMessage() for r in caplog.records if r.name == "models.reconcile"][-1] == (
        "reconcile: nothing to repair"
    )


async def test_reconcile_is_for_admins_only(api: Api) -> None:
    student = await api.user("STUDENT")
    reply = await api.post("/admin/reconcile", token=student.token)
    assert reply.status == 403
    assert reply.body == {"error": "Forbidden", "message": "Access denied. Required role: ADMIN"}


async def test_tutor_ratings_follow_evaluations_when_there_are_any(api: Api, ctx: Context, clock) -> None:
    """The rating counters are the sums of the tutor's evaluations (an evaluation made within the
    grace period waits for the next pass: its counters' $inc may be on its way)."""
    admin, teacher, other = await api.admin(), await tutor(api, "A"), await tutor(api, "B")
    made = clock.now()
    await ctx.db["evaluations"].insert_many(
        [
            {"_id": "e1", "sessionId": "s1", "studentId": "u1", "tutorId": teacher.id, "rating": 4, "createdAt": made},
            {"_id": "e2", "sessionId": "s2", "studentId": "u2", "tutorId": teacher.id, "rating": 5, "createdAt": made},
            {"_id": "e3", "sessionId": "s3", "studentId": "u1", "tutorId": other.id, "rating": 2, "createdAt": made},
        ]
    )
    assert (await reconcile(api, admin))["repaired"] == {}  # just made: the counters' $inc may be on its way
    clock.advance(minutes=6)
    admin = (await relogin(api, admin))[0]
    report = await reconcile(api, admin)
    assert repaired(report) == {"tutorRating": (2, sorted([teacher.id, other.id]))}
    profiles = [(await api.get(f"/tutors/{t.id}", token=admin.token)).data for t in (teacher, other)]
    assert [(p["rating"], p["ratingCount"]) for p in profiles] == [(4.5, 2), (2.0, 1)]
    assert (await reconcile(api, admin))["repaired"] == {}


# ---------------------------------------------------------------- a failed insert frees only what is free


async def test_a_lost_insert_reply_keeps_the_booked_slot(api: Api, ctx: Context, clock, monkeypatch) -> None:
    """The session was written but the reply lost: the slot stays taken (no double booking)."""
    admin, teacher, student, other = await api.admin(), await tutor(api), await api.user(), await api.user()
    start = later(clock, days=2)
    monkeypatch.setattr(ctx, "db", LostReply(ctx.db, "sessions", written=True))
    failed = await book(api, student, teacher.id, start)
    assert failed.status == 503, failed.body
    [session] = (await api.get("/sessions", token=student.token)).data
    assert session["startTime"] == start and session["status"] == "PENDING"
    assert (await book(api, other, teacher.id, start)).status == 409
    assert await inconsistencies(ctx) == []
    clock.advance(minutes=6)
    assert (await reconcile(api, (await relogin(api, admin))[0]))["repaired"] == {}


async def test_a_failed_insert_frees_the_slot_once_a_reread_shows_it_absent(api: Api, ctx: Context, clock, monkeypatch):
    teacher, student = await tutor(api), await api.user()
    start = later(clock, days=2)
    monkeypatch.setattr(ctx, "db", LostReply(ctx.db, "sessions", written=False))
    assert (await book(api, student, teacher.id, start)).status == 503
    assert await calendar(ctx, "tutor_calendars", teacher.id, "sessionId") == []
    assert (await book(api, student, teacher.id, start)).status == 201


async def test_when_the_reread_fails_too_the_slot_is_left_to_reconcile(
    api: Api, ctx: Context, clock, monkeypatch
) -> None:
    admin, teacher, student = await api.admin(), await tutor(api), await api.user()
    start = later(clock, days=2)
    monkeypatch.setattr(ctx, "db", LostReply(ctx.db, "sessions", written=False, reread_fails=True))
    assert (await book(api, student, teacher.id, start)).status == 503
    [held] = await calendar(ctx, "tutor_calendars", teacher.id, "sessionId")
    assert (await book(api, student, teacher.id, start)).status == 409  # not known to be free: kept
    clock.advance(minutes=6)
    admin, student = await relogin(api, admin, student)
    assert repaired(await reconcile(api, admin)) == {"tutorCalendarRemoved": (1, [held])}
    assert (await book(api, student, teacher.id, start)).status == 201


@pytest.mark.parametrize("written", [True, False])
async def test_a_failed_assignment_insert_undoes_only_what_did_not_happen(
    api: Api, ctx: Context, clock, monkeypatch, written: bool
) -> None:
    admin, customer, employee = await api.admin(), await api.user("CUSTOMER"), await api.user("EMPLOYEE")
    booking = await new_booking(api, admin, customer, later(clock, days=2))
    monkeypatch.setattr(ctx, "db", LostReply(ctx.db, "assignments", written=written))
    assert (await assign(api, admin, booking, employee)).status == 503
    busy = await calendar(ctx, "employee_calendars", employee.raw["employeeId"], "assignmentId")
    counted = (await ctx.db["bookings"].find_one({"_id": booking}))["liveAssignments"]
    assert (len(busy), counted) == ((1, 1) if written else (0, 0))
    assert await inconsistencies(ctx) == []
    clock.advance(minutes=6)
    report = await reconcile(api, (await relogin(api, admin))[0])
    assert repaired(report) == ({"bookingStatus": (1, [booking])} if written else {})  # PENDING -> CONFIRMED


async def test_TC_INT_014_passes_beside_live_bookings_change_nothing(
    api: Api, ctx: Context, clock, interleaving
) -> None:
    """Reconcile passes running while students race for one slot (every store call yielding to the
    loop): the booking rule still lets exactly one win, and the passes repair nothing."""
    admin, teacher = await api.admin(), await tutor(api)
    students = [await api.user() for _ in range(8)]
    start = later(clock, days=2)
    replies = await asyncio.gather(
        *(book(api, s, teacher.id, start) for s in students), *(reconcile(api, admin) for _ in range(3))
    )
    bookings, reports = replies[:8], replies[8:]
    assert sorted(r.status for r in bookings) == [201] + [409] * 7
    assert [r["repaired"] for r in reports] == [{}, {}, {}]
    assert await inconsistencies(ctx) == []


async def test_TC_INT_014_resources_reserved_by_a_dead_approval_are_freed(api: Api, ctx: Context, clock) -> None:
    """An approval killed between reserving its room and becoming APPROVED leaves the room taken for
    nobody; the pass frees it once the grace period is over, and never touches an APPROVED one's."""
    from tests.handlers.test_approvals import ask, busy, window

    admin, manager, teacher = await api.admin(), await api.user("MANAGEMENT"), await api.user("TUTOR")
    kept = await ask(api, teacher, *window(clock, 9))
    lost = await ask(api, teacher, *window(clock, 11))
    approved = await api.post(
        f"/approvals/{kept['id']}/approve", {"allocatedResources": {"room": "C303"}}, token=manager.token
    )
    assert approved.status == 200, approved.body
    ctx.faults.arm("approval.reserved")
    await crashed(
        api.post(f"/approvals/{lost['id']}/approve", {"allocatedResources": {"room": "C303"}}, token=manager.token)
    )
    assert sorted(e["approvalId"] for e in await busy(ctx, "room", "C303")) == sorted([kept["id"], lost["id"]])
    assert (await api.get(f"/approvals/{lost['id']}", token=manager.token)).data["status"] == "PENDING"

    assert (await reconcile(api, admin))["repaired"] == {}  # within the grace period: may be on its way
    clock.advance(minutes=6)
    admin, manager = await relogin(api, admin, manager)
    assert repaired(await reconcile(api, admin)) == {"resourceCalendarRemoved": (1, ["room:C303"])}
    assert [e["approvalId"] for e in await busy(ctx, "room", "C303")] == [kept["id"]]
    again = await api.post(
        f"/approvals/{lost['id']}/approve", {"allocatedResources": {"room": "C303"}}, token=manager.token
    )
    assert again.status == 200, again.body  # the room is free for the request again
    assert (await reconcile(api, admin))["repaired"] == {}
