"""Sessions and cancellation requests through the real app (TC-INT-001, TC-INT-002, TC-INT-012)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from server.jsonutil import iso
from tests.tutoring_fixtures import (
    book,
    interleaving,  # noqa: F401 (fixture)
    kinds,
    later,
    notifications,
    of_kind,
    parse,
    relogin,
    tutor,
)

FORBIDDEN = {"error": "Forbidden", "message": "Access denied"}


async def confirmed_session(api, clock, teacher, student, **delta):
    booked = await book(api, student, teacher.id, later(clock, **(delta or {"days": 2})))
    assert booked.status == 201, booked.body
    confirmed = await api.post(f"/sessions/{booked.data['id']}/confirm", token=teacher.token)
    assert confirmed.status == 200, confirmed.body
    return confirmed.data


async def test_TC_INT_001_complete_session_booking_flow(api, clock, jobs) -> None:
    teacher = await tutor(api, "Tran Thi Mai", ("Math", "Physics"), hourly_rate=250000, bio="10 năm kinh nghiệm")
    await tutor(api, "Pham Van Khac", ("Chemistry",))
    student = await api.user("STUDENT", fullName="Le Van Hoc")

    # 1. Student searches for tutor (by name and subject, case-insensitively).
    found = await api.get("/tutors", token=student.token, params={"q": "mai", "subject": "math"})
    assert found.status == 200, found.body
    assert found.body["totalItems"] == 1 and [t["id"] for t in found.data] == [teacher.id]

    # 2. Student views tutor profile.
    profile = await api.get(f"/tutors/{teacher.id}", token=student.token)
    assert profile.status == 200
    assert profile.data == {
        "id": teacher.id,
        "fullName": "Tran Thi Mai",
        "subjects": ["Math", "Physics"],
        "bio": "10 năm kinh nghiệm",
        "hourlyRate": 250000,
        "rating": 0.0,
        "ratingCount": 0,
        "totalSessions": 0,
    }

    # 3. Student books session.
    start = later(clock, days=2)
    booked = await api.post(
        "/sessions",
        {"tutorId": teacher.id, "subject": "Math", "startTime": start, "durationMinutes": 90, "note": "Đạo hàm"},
        token=student.token,
    )
    assert booked.status == 201, booked.body
    assert booked.body["message"] == "Đặt buổi học thành công"
    session = booked.data
    assert {k: session[k] for k in ("type", "status", "tutorId", "studentIds", "subject", "startTime", "classId")} == {
        "type": "ONE_ON_ONE",
        "status": "PENDING",
        "tutorId": teacher.id,
        "studentIds": [student.id],
        "subject": "Math",
        "startTime": start,
        "classId": None,
    }
    assert parse(session["endTime"]) - parse(start) == timedelta(minutes=90)

    # 4. Verify session created: the student reads it and finds it in their list.
    mine = await api.get("/sessions", token=student.token)
    assert mine.body["totalItems"] == 1 and mine.data[0]["id"] == session["id"]
    assert (await api.get(f"/sessions/{session['id']}", token=student.token)).data == session

    # 5. Verify notification sent to tutor.
    await jobs.run()
    tutor_notes = await notifications(api, teacher)
    assert [n["type"] for n in tutor_notes] == ["session.booked"]
    assert tutor_notes[0]["data"] == {"sessionId": session["id"]} and "Le Van Hoc" in tutor_notes[0]["body"]

    # 6. Tutor views session.
    viewed = await api.get(f"/sessions/{session['id']}", token=teacher.token)
    assert viewed.status == 200 and viewed.data["status"] == "PENDING"
    pending = await api.get("/sessions", token=teacher.token, params={"status": "PENDING"})
    assert [s["id"] for s in pending.data] == [session["id"]]

    # 7. Tutor confirms session.
    confirmed = await api.post(f"/sessions/{session['id']}/confirm", token=teacher.token)
    assert confirmed.status == 200, confirmed.body
    assert confirmed.body["message"] == "Xác nhận buổi học thành công"

    # 8. Verify session status updated.
    assert confirmed.data["status"] == "CONFIRMED"
    assert (await api.get(f"/sessions/{session['id']}", token=student.token)).data["status"] == "CONFIRMED"

    # 9. Verify notification sent to student.
    await jobs.run()
    student_notes = await notifications(api, student)
    assert [n["type"] for n in student_notes] == ["session.confirmed"]
    assert student_notes[0]["data"] == {"sessionId": session["id"]} and student_notes[0]["read"] is False


async def test_TC_INT_002_session_cancellation_workflow(api, clock, jobs) -> None:
    teacher = await tutor(api)
    student = await api.user("STUDENT", fullName="Hoang Thi Lan")
    session = await confirmed_session(api, clock, teacher, student, days=3)
    await jobs.run()

    # 1. Student creates cancel request.
    created = await api.post(
        f"/sessions/{session['id']}/cancel-requests", {"reason": "Bận việc gia đình"}, token=student.token
    )
    assert created.status == 201, created.body
    request = created.data

    # 2. Verify request created.
    assert {k: request[k] for k in ("sessionId", "requesterId", "requesterSide", "deciderIds", "reason", "status")} == {
        "sessionId": session["id"],
        "requesterId": student.id,
        "requesterSide": "STUDENT",
        "deciderIds": [teacher.id],
        "reason": "Bận việc gia đình",
        "status": "PENDING",
    }
    listed = await api.get("/cancel-requests", token=student.token)
    assert [r["id"] for r in listed.data] == [request["id"]]

    # 3. Verify notification sent to tutor.
    await jobs.run()
    [note] = await of_kind(api, teacher, "cancel_request.created")
    assert note["data"] == {"cancelRequestId": request["id"], "sessionId": session["id"]}
    assert "Hoang Thi Lan" in note["body"] and "Bận việc gia đình" in note["body"]

    # 4. Tutor views request.
    to_decide = await api.get("/cancel-requests", token=teacher.token, params={"status": "PENDING"})
    assert [r["id"] for r in to_decide.data] == [request["id"]]
    assert (await api.get(f"/cancel-requests/{request['id']}", token=teacher.token)).data == request

    # 5. Tutor approves request.
    approved = await api.post(f"/cancel-requests/{request['id']}/approve", {}, token=teacher.token)
    assert approved.status == 200, approved.body
    assert approved.data["status"] == "APPROVED" and approved.data["outcome"] == "SESSION_CANCELLED"
    assert (await api.post(f"/cancel-requests/{request['id']}/approve", {}, token=teacher.token)).status == 409

    # 6. Verify session status updated (and the slot is free again).
    after = await api.get(f"/sessions/{session['id']}", token=student.token)
    assert after.data["status"] == "CANCELLED" and after.data["cancelReason"] == "Bận việc gia đình"
    other = await api.user("STUDENT")
    assert (await book(api, other, teacher.id, session["startTime"])).status == 201

    # 7. Verify notification sent to student.
    await jobs.run()
    [note] = await of_kind(api, student, "cancel_request.approved")
    assert note["data"]["cancelRequestId"] == request["id"] and note["data"]["outcome"] == "SESSION_CANCELLED"


async def test_TC_INT_002_rejected_request_keeps_the_session(api, clock, jobs) -> None:
    teacher = await tutor(api)
    student = await api.user("STUDENT")
    session = await confirmed_session(api, clock, teacher, student)
    request = (await api.post(f"/sessions/{session['id']}/cancel-requests", {"reason": "Ốm"}, token=student.token)).data
    rejected = await api.post(
        f"/cancel-requests/{request['id']}/reject", {"reason": "Đã chuẩn bị tài liệu"}, token=teacher.token
    )
    assert rejected.status == 200 and rejected.data["status"] == "REJECTED"
    assert rejected.data["decisionReason"] == "Đã chuẩn bị tài liệu"
    assert (await api.get(f"/sessions/{session['id']}", token=student.token)).data["status"] == "CONFIRMED"
    await jobs.run()
    [note] = await of_kind(api, student, "cancel_request.rejected")
    assert "Đã chuẩn bị tài liệu" in note["body"]
    # A new request may follow once the first is decided.
    again = await api.post(f"/sessions/{session['id']}/cancel-requests", {"reason": "Vẫn ốm"}, token=student.token)
    assert again.status == 201


async def test_cancel_request_rules(api, clock) -> None:
    teacher = await tutor(api)
    student, outsider = await api.user("STUDENT"), await api.user("STUDENT")
    session = await confirmed_session(api, clock, teacher, student)
    path = f"/sessions/{session['id']}/cancel-requests"

    missing = await api.post(path, {}, token=student.token)
    assert missing.status == 400 and missing.body["message"] == "Lý do hủy là bắt buộc"
    assert missing.body["validationErrors"] == [{"field": "reason", "message": "Lý do hủy là bắt buộc"}]
    assert (await api.post(path, {"reason": "   "}, token=student.token)).status == 400
    assert (await api.post(path, {"reason": "x"}, token=outsider.token)).body == FORBIDDEN

    first = await api.post(path, {"reason": "Bận"}, token=student.token)
    assert first.status == 201
    twice = await api.post(path, {"reason": "Bận"}, token=student.token)
    assert twice.status == 409
    # The requester does not decide their own request; nor does an outsider.
    assert (await api.post(f"/cancel-requests/{first.data['id']}/approve", {}, token=student.token)).body == FORBIDDEN
    assert (await api.post(f"/cancel-requests/{first.data['id']}/reject", {}, token=outsider.token)).body == FORBIDDEN
    assert (await api.get(f"/cancel-requests/{first.data['id']}", token=outsider.token)).status == 403
    assert (await api.get("/cancel-requests", token=outsider.token)).body["totalItems"] == 0

    # The tutor's request on a one-on-one session is the student's to decide.
    by_tutor = await api.post(path, {"reason": "Trùng lịch dạy"}, token=teacher.token)
    assert by_tutor.status == 201 and by_tutor.data["deciderIds"] == [student.id]
    assert (await api.post(f"/cancel-requests/{by_tutor.data['id']}/approve", {}, token=student.token)).status == 200
    # The session is cancelled: the student's own open request is closed with it.
    assert (await api.get(f"/cancel-requests/{first.data['id']}", token=student.token)).data["status"] == "CLOSED"
    late = await api.post(path, {"reason": "x"}, token=student.token)
    assert late.status == 409


async def test_cancel_request_needs_two_hours_notice(api, clock) -> None:
    teacher = await tutor(api)
    student = await api.user("STUDENT")
    session = await confirmed_session(api, clock, teacher, student, minutes=119)
    refused = await api.post(
        f"/sessions/{session['id']}/cancel-requests",
        {"reason": "Bận"},
        token=student.token,
        headers={"Accept-Language": "en"},
    )
    assert refused.status == 400
    assert refused.body["message"] == "Cancellation cannot be requested within 120 minutes of the start"
    roomy = await confirmed_session(api, clock, teacher, student, hours=3)
    assert (
        await api.post(f"/sessions/{roomy['id']}/cancel-requests", {"reason": "Bận"}, token=student.token)
    ).status == 201


async def test_TC_INT_012_twelve_concurrent_bookings_of_one_slot(api, clock, interleaving) -> None:
    teacher = await tutor(api)
    students = [await api.user("STUDENT") for _ in range(12)]
    start = later(clock, days=1)
    replies = await asyncio.gather(*(book(api, s, teacher.id, start) for s in students))
    assert sorted(r.status for r in replies) == [201] + [409] * 11
    assert {r.body["message"] for r in replies if r.status == 409} == {"Gia sư đã có buổi học khác trùng thời gian này"}
    held = await api.get("/sessions", token=teacher.token)
    assert held.body["totalItems"] == 1


async def test_overlap_is_409_adjacent_is_fine_and_release_frees(api, clock) -> None:
    teacher = await tutor(api)
    student = await api.user("STUDENT")
    ten = clock.now().replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1)

    def at(minutes: int) -> str:
        return iso(ten + timedelta(minutes=minutes))

    first = await book(api, student, teacher.id, at(0), 60)  # 10:00-11:00
    assert first.status == 201
    assert (await book(api, student, teacher.id, at(30), 60)).status == 409  # 10:30-11:30
    assert (await book(api, student, teacher.id, at(-30), 60)).status == 409  # 09:30-10:30
    assert (await book(api, student, teacher.id, at(15), 15)).status == 409  # inside
    assert (await book(api, student, teacher.id, at(-60), 180)).status == 409  # around
    assert (await book(api, student, teacher.id, at(60), 60)).status == 201  # 11:00-12:00, adjacent
    assert (await book(api, student, teacher.id, at(-60), 60)).status == 201  # 09:00-10:00, adjacent
    group = await api.post(
        "/sessions",
        {"subject": "Math", "title": "Ôn thi", "startTime": at(30), "durationMinutes": 60, "capacity": 5},
        token=teacher.token,
    )
    assert group.status == 409  # the tutor's own group session obeys the same calendar
    # Another tutor is free at the same time.
    other = await tutor(api, "Other Tutor")
    assert (await book(api, student, other.id, at(0), 60)).status == 201

    rejected = await api.post(f"/sessions/{first.data['id']}/reject", {"reason": "Bận"}, token=teacher.token)
    assert rejected.status == 200 and rejected.data["status"] == "REJECTED"
    assert (await book(api, student, teacher.id, at(0), 60)).status == 201  # the slot was released


async def test_session_access_and_listing(api, clock) -> None:
    teacher = await tutor(api)
    student, outsider = await api.user("STUDENT"), await api.user("STUDENT")
    manager = await api.user("MANAGEMENT")
    session = (await book(api, student, teacher.id, later(clock, days=1))).data
    path = f"/sessions/{session['id']}"

    denied = await api.get(path, token=outsider.token)
    assert denied.status == 403 and denied.body == FORBIDDEN
    assert (await api.get(path, token=manager.token)).status == 200
    assert (await api.get(path, token=(await api.admin()).token)).status == 200
    assert (await api.get("/sessions/nope", token=student.token)).status == 404
    assert (await api.get("/sessions", token=outsider.token)).body["totalItems"] == 0
    assert (await api.get("/sessions", token=manager.token)).body["totalItems"] == 1
    window = await api.get(
        "/sessions", token=student.token, params={"from": later(clock, days=2), "to": later(clock, days=3)}
    )
    assert window.body["totalItems"] == 0
    bad = await api.get("/sessions", token=student.token, params={"status": "DONE"})
    assert bad.status == 400


async def test_only_the_sessions_tutor_confirms_rejects_completes(api, clock, jobs) -> None:
    teacher, other_tutor = await tutor(api), await tutor(api, "Other Tutor")
    student = await api.user("STUDENT")
    session = (await book(api, student, teacher.id, later(clock, hours=5))).data
    path = f"/sessions/{session['id']}"

    for action in ("confirm", "reject", "complete"):
        assert (await api.post(f"{path}/{action}", {}, token=other_tutor.token)).body == FORBIDDEN
        by_student = await api.post(f"{path}/{action}", {}, token=student.token)
        assert by_student.status == 403
        assert by_student.body == {"error": "Forbidden", "message": "Access denied. Required role: TUTOR or ADMIN"}

    early = await api.post(f"{path}/complete", token=teacher.token)
    assert early.status == 409  # still PENDING
    assert (await api.post(f"{path}/confirm", token=teacher.token)).status == 200
    again = await api.post(f"{path}/confirm", token=teacher.token, headers={"Accept-Language": "en"})
    assert again.status == 409 and again.body["message"] == "The session is CONFIRMED; this needs it PENDING"
    assert (await api.post(f"{path}/reject", {}, token=teacher.token)).status == 409
    not_yet = await api.post(f"{path}/complete", token=teacher.token, headers={"Accept-Language": "en"})
    assert not_yet.status == 400 and not_yet.body["message"] == "A session can be completed only once it has started"

    clock.advance(hours=5, minutes=30)
    teacher, student = await relogin(api, teacher, student)
    done = await api.post(f"{path}/complete", token=teacher.token)
    assert done.status == 200 and done.data["status"] == "COMPLETED"
    assert (await api.post(f"{path}/complete", token=teacher.token)).status == 409
    assert (await api.get(f"/tutors/{teacher.id}", token=student.token)).data["totalSessions"] == 1
    await jobs.run()
    assert "session.completed" in await kinds(api, student)


async def test_booking_validation(api, clock) -> None:
    teacher = await tutor(api)
    student = await api.user("STUDENT")
    en = {"Accept-Language": "en"}
    past = await api.post(
        "/sessions",
        {"tutorId": teacher.id, "subject": "Math", "startTime": later(clock, minutes=-5), "durationMinutes": 60},
        token=student.token,
        headers=en,
    )
    assert past.status == 400 and past.body["message"] == "The start time must be in the future"
    short = await book(api, student, teacher.id, later(clock, days=1), minutes=5)
    assert short.status == 400 and short.body["validationErrors"][0]["field"] == "durationMinutes"
    long = await book(api, student, teacher.id, later(clock, days=1), minutes=24 * 60)
    assert long.status == 400
    far = await book(api, student, teacher.id, later(clock, days=400))
    assert far.status == 400
    assert (await book(api, student, "no-such-tutor", later(clock, days=1))).status == 404
    assert (await book(api, student, student.id, later(clock, days=1))).status == 404  # not a tutor
    no_title = await api.post(
        "/sessions",
        {"subject": "Math", "startTime": later(clock, days=1), "durationMinutes": 60, "capacity": 3},
        token=teacher.token,
    )
    assert no_title.status == 400 and no_title.body["validationErrors"][0]["field"] == "title"
    manager = await api.user("MANAGEMENT")
    assert (await api.post("/sessions", {}, token=manager.token)).status == 403


async def test_group_session_join_up_to_capacity(api, clock, jobs, interleaving) -> None:
    teacher = await tutor(api)
    created = await api.post(
        "/sessions",
        {
            "subject": "Math",
            "title": "Luyện đề",
            "startTime": later(clock, days=1),
            "durationMinutes": 120,
            "capacity": 2,
        },
        token=teacher.token,
    )
    assert created.status == 201, created.body
    group = created.data
    assert (group["type"], group["status"], group["capacity"], group["studentIds"]) == ("GROUP", "CONFIRMED", 2, [])
    a, b, c = [await api.user("STUDENT") for _ in range(3)]
    open_list = await api.get("/sessions", token=a.token, params={"open": "true"})
    assert [s["id"] for s in open_list.data] == [group["id"]]

    replies = await asyncio.gather(*(api.post(f"/sessions/{group['id']}/join", token=s.token) for s in (a, b, c)))
    assert sorted(r.status for r in replies) == [200, 200, 409]
    joined = [s for s, r in zip((a, b, c), replies, strict=False) if r.status == 200]
    assert (await api.post(f"/sessions/{group['id']}/join", token=joined[0].token)).status == 409
    final = await api.get(f"/sessions/{group['id']}", token=teacher.token)
    assert sorted(final.data["studentIds"]) == sorted(s.id for s in joined)
    one = (await book(api, a, teacher.id, later(clock, days=3))).data
    assert (await api.post(f"/sessions/{one['id']}/join", token=b.token)).status == 400  # not a group session
    await jobs.run()
    assert (await kinds(api, teacher)).count("session.joined") == 2


async def test_group_cancellations(api, clock, jobs) -> None:
    teacher = await tutor(api)
    manager = await api.user("MANAGEMENT")
    a, b = await api.user("STUDENT"), await api.user("STUDENT")
    group = (
        await api.post(
            "/sessions",
            {
                "subject": "Math",
                "title": "Nhóm",
                "startTime": later(clock, days=2),
                "durationMinutes": 60,
                "capacity": 5,
            },
            token=teacher.token,
        )
    ).data
    for s in (a, b):
        assert (await api.post(f"/sessions/{group['id']}/join", token=s.token)).status == 200

    # A student's approved request takes only them out of the group session.
    leave = (await api.post(f"/sessions/{group['id']}/cancel-requests", {"reason": "Bận"}, token=a.token)).data
    left = await api.post(f"/cancel-requests/{leave['id']}/approve", {}, token=teacher.token)
    assert left.data["outcome"] == "LEFT_SESSION"
    after = (await api.get(f"/sessions/{group['id']}", token=teacher.token)).data
    assert after["status"] == "CONFIRMED" and after["studentIds"] == [b.id]

    # The tutor's request on a group session goes to MANAGEMENT.
    by_tutor = (await api.post(f"/sessions/{group['id']}/cancel-requests", {"reason": "Ốm"}, token=teacher.token)).data
    assert by_tutor["deciderRole"] == "MANAGEMENT" and by_tutor["deciderIds"] == []
    assert (await api.post(f"/cancel-requests/{by_tutor['id']}/approve", {}, token=b.token)).status == 403
    assert [r["id"] for r in (await api.get("/cancel-requests", token=manager.token)).data] == [by_tutor["id"]]
    await jobs.run()
    assert "cancel_request.created" in await kinds(api, manager)
    assert (await api.post(f"/cancel-requests/{by_tutor['id']}/approve", {}, token=manager.token)).status == 200
    assert (await api.get(f"/sessions/{group['id']}", token=b.token)).data["status"] == "CANCELLED"
    await jobs.run()
    assert "session.cancelled" in await kinds(api, b)
    assert "cancel_request.approved" in await kinds(api, teacher)


async def test_reminder_fires_at_its_time_and_not_for_a_cancelled_session(api, clock, jobs, ctx) -> None:
    assert ctx.settings.session_reminder_minutes == 60
    teacher = await tutor(api)
    student = await api.user("STUDENT")
    kept = await confirmed_session(api, clock, teacher, student, hours=3)  # reminder at +2h
    dropped = await confirmed_session(api, clock, teacher, student, hours=5)  # reminder at +4h
    request = (
        await api.post(f"/sessions/{dropped['id']}/cancel-requests", {"reason": "Bận"}, token=student.token)
    ).data
    assert (await api.post(f"/cancel-requests/{request['id']}/approve", {}, token=teacher.token)).status == 200

    async def reminders(user):
        (user,) = await relogin(api, user)  # the fake clock outruns access tokens
        return [n["data"]["sessionId"] for n in await of_kind(api, user, "session.reminder")]

    await jobs.run()
    assert await reminders(student) == []
    clock.advance(hours=1, minutes=59)
    await jobs.run()
    assert await reminders(student) == []  # not yet
    clock.advance(minutes=1, seconds=1)
    await jobs.run()
    assert await reminders(student) == [kept["id"]]
    assert await reminders(teacher) == [kept["id"]]
    [note] = await of_kind(api, (await relogin(api, student))[0], "session.reminder")
    assert "59 phút" in note["body"] and note["title"] == "Sắp đến giờ học"
    clock.advance(hours=3)  # past the cancelled session's reminder time
    await jobs.run()
    assert await reminders(student) == [kept["id"]]
    assert await reminders(teacher) == [kept["id"]]


async def test_reminder_job_is_idempotent(api, clock, jobs, ctx) -> None:
    from models.sessions import REMINDER_JOB, send_reminder
    from workers.queue import Job

    teacher = await tutor(api)
    student = await api.user("STUDENT")
    session = await confirmed_session(api, clock, teacher, student, hours=3)
    clock.advance(hours=2, seconds=1)
    await jobs.run()
    job = Job(f"{REMINDER_JOB}:{session['id']}", REMINDER_JOB, {"sessionId": session["id"]})
    await send_reminder(ctx, job)  # delivered again (at least once)
    await jobs.run()
    (student,) = await relogin(api, student)
    assert (await kinds(api, student)).count("session.reminder") == 1


async def test_live_session_updated_reaches_the_student_on_confirmation(api, clock, sockets) -> None:
    teacher = await tutor(api)
    student = await api.user("STUDENT")
    session = (await book(api, student, teacher.id, later(clock, days=1))).data
    sock = await sockets(student.token)
    assert (await api.post(f"/sessions/{session['id']}/confirm", token=teacher.token)).status == 200
    pushed = await sock.wait_for("session:updated", lambda d: d["id"] == session["id"] and d["status"] == "CONFIRMED")
    assert pushed["tutorId"] == teacher.id and pushed["startTime"] == session["startTime"]


async def test_session_room_is_for_participants_and_management(api, clock, sockets) -> None:
    teacher = await tutor(api)
    student, outsider = await api.user("STUDENT"), await api.user("STUDENT")
    manager = await api.user("MANAGEMENT")
    session = (await book(api, student, teacher.id, later(clock, days=1))).data
    room = f"session:{session['id']}"

    assert (await (await sockets(student.token)).call("room:join", {"room": room}))["success"] is True
    denied = await (await sockets(outsider.token)).call("room:join", {"room": room})
    assert denied == {"success": False, "message": "Access denied"}
    assert (await (await sockets(outsider.token)).call("room:join", {"room": "session:nope"}))["success"] is False
    watcher = await sockets(manager.token)
    assert (await watcher.call("room:join", {"room": room}))["success"] is True
    await api.post(f"/sessions/{session['id']}/confirm", token=teacher.token)
    # The manager is no participant: this arrives through the topic room.
    assert (await watcher.wait_for("session:updated", lambda d: d["status"] == "CONFIRMED"))["id"] == session["id"]
