"""Classes through the real app (TC-INT-003 and the enrolment half of TC-INT-012)."""

from __future__ import annotations

import asyncio

from tests.tutoring_fixtures import (
    book,
    interleaving,  # noqa: F401 (fixture)
    kinds,
    of_kind,
    relogin,
    tutor,
)

# The fake clock starts on Saturday 2025-09-06 07:39:22 UTC (14:39 in Asia/Ho_Chi_Minh).
TWO_WEEKS = {
    "title": "Toán 12 - Luyện thi",
    "subject": "Math",
    "capacity": 10,
    "startDate": "2025-09-08",
    "endDate": "2025-09-21",
    "schedule": [
        {"dayOfWeek": 1, "startTime": "18:00", "durationMinutes": 90},
        {"dayOfWeek": 3, "startTime": "18:00", "durationMinutes": 90},
    ],
}
# 18:00 in Ho Chi Minh City (UTC+7) is 11:00 UTC.
TWO_WEEKS_STARTS = [
    "2025-09-08T11:00:00.000Z",
    "2025-09-10T11:00:00.000Z",
    "2025-09-15T11:00:00.000Z",
    "2025-09-17T11:00:00.000Z",
]


async def new_class(api, teacher, **changes):
    reply = await api.post("/classes", {**TWO_WEEKS, **changes}, token=teacher.token)
    assert reply.status == 201, reply.body
    return reply.data


async def class_sessions(api, user, class_id):
    reply = await api.get("/sessions", token=user.token, params={"classId": class_id, "size": 100})
    assert reply.status == 200, reply.body
    return reply.data


async def test_TC_INT_003_class_enrollment_to_sessions_flow(api, jobs) -> None:
    teacher = await tutor(api, "Đặng Thu Hà")
    students = [await api.user("STUDENT", fullName=f"Học viên {i}") for i in (1, 2)]

    # 1. Tutor creates class.
    created = await api.post("/classes", TWO_WEEKS, token=teacher.token)
    assert created.status == 201, created.body
    cls = created.data
    assert {
        k: cls[k]
        for k in ("tutorId", "title", "capacity", "enrolledCount", "startDate", "endDate", "timezone", "studentIds")
    } == {
        "tutorId": teacher.id,
        "title": "Toán 12 - Luyện thi",
        "capacity": 10,
        "enrolledCount": 0,
        "startDate": "2025-09-08",
        "endDate": "2025-09-21",
        "timezone": "Asia/Ho_Chi_Minh",
        "studentIds": [],
    }
    assert cls["schedule"] == TWO_WEEKS["schedule"]

    # 2. Students enroll in class.
    for count, student in enumerate(students, start=1):
        enrolled = await api.post(f"/classes/{cls['id']}/enroll", token=student.token)
        assert enrolled.status == 201, enrolled.body
        assert enrolled.data["enrolledCount"] == count and enrolled.data["enrolled"] is True
    listed = await api.get("/classes", token=students[0].token)
    assert listed.data[0]["id"] == cls["id"] and listed.data[0]["enrolledCount"] == 2

    # 3. Tutor generates sessions from class.
    generated = await api.post(f"/classes/{cls['id']}/sessions", token=teacher.token)
    assert generated.status == 201, generated.body
    assert generated.body["message"] == "Đã tạo 4 buổi học cho lớp"
    report = generated.data
    assert (report["createdCount"], report["existingCount"], report["conflicts"]) == (4, 0, [])

    # 4. Verify sessions created (one per scheduled slot, local 18:00 stored in UTC).
    sessions = await class_sessions(api, teacher, cls["id"])
    assert [s["startTime"] for s in sessions] == TWO_WEEKS_STARTS
    assert all(
        s["durationMinutes"] == 90
        and s["status"] == "CONFIRMED"
        and s["type"] == "GROUP"
        and s["title"] == cls["title"]
        and s["capacity"] == 10
        for s in sessions
    )

    # 5. Verify sessions linked to class.
    assert {s["classId"] for s in sessions} == {cls["id"]}
    assert sorted(s["id"] for s in report["created"]) == sorted(s["id"] for s in sessions)

    # 6. Verify students enrolled in sessions.
    assert all(sorted(s["studentIds"]) == sorted(u.id for u in students) for s in sessions)
    for student in students:
        assert [s["id"] for s in await class_sessions(api, student, cls["id"])] == [s["id"] for s in sessions]

    # 7. Verify notifications sent.
    await jobs.run()
    for student in students:
        [note] = await of_kind(api, student, "class.sessions_generated")
        assert note["data"]["classId"] == cls["id"] and len(note["data"]["sessionIds"]) == 4
    assert (await kinds(api, teacher)).count("class.enrolled") == 2


async def test_generation_twice_creates_nothing_twice(api, clock, interleaving) -> None:
    teacher = await tutor(api)
    cls = await new_class(api, teacher)
    runs = await asyncio.gather(*(api.post(f"/classes/{cls['id']}/sessions", token=teacher.token) for _ in range(3)))
    # Concurrent runs may share the work, but each slot is made once and none is a "conflict".
    assert sum(r.data["createdCount"] for r in runs) == 4
    assert all(r.data["createdCount"] + r.data["existingCount"] == 4 and r.data["conflicts"] == [] for r in runs)
    third = await api.post(f"/classes/{cls['id']}/sessions", token=teacher.token, headers={"Accept-Language": "en"})
    assert third.status == 200 and third.body["message"] == "No new sessions to create"
    assert (third.data["createdCount"], third.data["existingCount"]) == (0, 4)
    assert len(await class_sessions(api, teacher, cls["id"])) == 4


async def test_later_enrolment_joins_future_sessions(api, clock) -> None:
    teacher = await tutor(api)
    cls = await new_class(api, teacher)
    await api.post(f"/classes/{cls['id']}/sessions", token=teacher.token)
    early = await api.user("STUDENT")
    joined = await api.post(f"/classes/{cls['id']}/enroll", token=early.token)
    assert joined.data["joinedSessions"] == 4
    assert all(s["studentIds"] == [early.id] for s in await class_sessions(api, teacher, cls["id"]))

    clock.advance(days=3)  # past the first session (Monday 2025-09-08)
    teacher, early = await relogin(api, teacher, early)
    late = await api.user("STUDENT")
    assert (await api.post(f"/classes/{cls['id']}/enroll", token=late.token)).data["joinedSessions"] == 3
    sessions = await class_sessions(api, teacher, cls["id"])
    assert sessions[0]["studentIds"] == [early.id]
    assert all(s["studentIds"] == [early.id, late.id] for s in sessions[1:])


async def test_TC_INT_012_ten_concurrent_enrolments_into_capacity_four(api, interleaving) -> None:
    teacher = await tutor(api)
    cls = await new_class(api, teacher, capacity=4)
    students = [await api.user("STUDENT") for _ in range(10)]
    replies = await asyncio.gather(*(api.post(f"/classes/{cls['id']}/enroll", token=s.token) for s in students))
    assert sorted(r.status for r in replies) == [201] * 4 + [409] * 6
    assert {r.body["message"] for r in replies if r.status == 409} == {"Lớp học đã đủ 4 học viên"}
    final = (await api.get(f"/classes/{cls['id']}", token=teacher.token)).data
    winners = sorted(s.id for s, r in zip(students, replies, strict=False) if r.status == 201)
    assert final["enrolledCount"] == 4 and sorted(final["studentIds"]) == winners


async def test_enrol_once(api, interleaving) -> None:
    teacher = await tutor(api)
    cls = await new_class(api, teacher)
    student = await api.user("STUDENT")
    replies = await asyncio.gather(*(api.post(f"/classes/{cls['id']}/enroll", token=student.token) for _ in range(5)))
    assert sorted(r.status for r in replies) == [201] + [409] * 4
    assert {r.body["message"] for r in replies if r.status == 409} == {"Bạn đã đăng ký lớp học này"}
    assert (await api.get(f"/classes/{cls['id']}", token=student.token)).data["enrolledCount"] == 1
    assert (await api.post("/classes/nope/enroll", token=student.token)).status == 404
    assert (await api.post(f"/classes/{cls['id']}/enroll", token=teacher.token)).status == 403


async def test_a_conflicting_slot_is_reported_not_double_booked(api, clock) -> None:
    teacher = await tutor(api)
    student = await api.user("STUDENT")
    clash = await book(api, student, teacher.id, "2025-09-10T11:30:00.000Z", 60)  # inside Wednesday's slot
    assert clash.status == 201
    cls = await new_class(api, teacher)
    report = (await api.post(f"/classes/{cls['id']}/sessions", token=teacher.token)).data
    assert report["createdCount"] == 3
    assert [(c["slotKey"], c["startTime"], c["reason"], c["sessionIds"]) for c in report["conflicts"]] == [
        (f"{cls['id']}:2025-09-10T18:00", "2025-09-10T11:00:00.000Z", "TUTOR_BUSY", [clash.data["id"]])
    ]
    again = (await api.post(f"/classes/{cls['id']}/sessions", token=teacher.token)).data
    assert (again["createdCount"], len(again["conflicts"])) == (0, 1)

    await api.post(f"/sessions/{clash.data['id']}/reject", {}, token=teacher.token)
    freed = (await api.post(f"/classes/{cls['id']}/sessions", token=teacher.token)).data
    assert (freed["createdCount"], freed["conflicts"]) == (1, [])
    assert [s["startTime"] for s in await class_sessions(api, teacher, cls["id"])] == TWO_WEEKS_STARTS


async def test_schedule_follows_the_class_timezone_across_dst(api) -> None:
    teacher = await tutor(api)
    cls = await new_class(
        api,
        teacher,
        startDate="2025-10-20",
        endDate="2025-11-07",
        timezone="America/New_York",
        schedule=[{"dayOfWeek": 1, "startTime": "18:00", "durationMinutes": 60}],
    )
    await api.post(f"/classes/{cls['id']}/sessions", token=teacher.token)
    starts = [s["startTime"] for s in await class_sessions(api, teacher, cls["id"])]
    # New York leaves daylight saving time on 2025-11-02: 18:00 local is 22:00 UTC, then 23:00 UTC.
    assert starts == ["2025-10-20T22:00:00.000Z", "2025-10-27T22:00:00.000Z", "2025-11-03T23:00:00.000Z"]


async def test_past_slots_are_skipped(api) -> None:
    teacher = await tutor(api)
    cls = await new_class(api, teacher, startDate="2025-09-01", endDate="2025-09-12")
    report = (await api.post(f"/classes/{cls['id']}/sessions", token=teacher.token)).data
    assert (report["createdCount"], report["skippedPastCount"]) == (2, 2)


async def test_only_the_classs_tutor_generates(api) -> None:
    teacher, other = await tutor(api), await tutor(api, "Other Tutor")
    student = await api.user("STUDENT")
    cls = await new_class(api, teacher)
    assert (await api.post(f"/classes/{cls['id']}/sessions", token=other.token)).body == {
        "error": "Forbidden",
        "message": "Access denied",
    }
    assert (await api.post(f"/classes/{cls['id']}/sessions", token=student.token)).status == 403
    assert (await api.post("/classes/nope/sessions", token=teacher.token)).status == 404


async def test_class_validation(api) -> None:
    teacher = await tutor(api)
    en = {"Accept-Language": "en"}

    async def refused(**changes):
        reply = await api.post("/classes", {**TWO_WEEKS, **changes}, token=teacher.token, headers=en)
        assert reply.status == 400, reply.body
        return reply.body["message"]

    assert await refused(endDate="2025-09-01") == "The end date must be on or after the start date"
    assert await refused(timezone="Mars/Olympus") == "Invalid timezone"
    assert await refused(endDate="2027-01-01") == "A class may not span more than a year"
    assert await refused(startDate="2025-08-01", endDate="2025-08-31") == "The end date has passed"
    await refused(schedule=[{"dayOfWeek": 8, "startTime": "18:00", "durationMinutes": 60}])
    await refused(schedule=[{"dayOfWeek": 1, "startTime": "24:00", "durationMinutes": 60}])
    await refused(schedule=[])
    await refused(capacity=0)
    student = await api.user("STUDENT")
    assert (await api.post("/classes", TWO_WEEKS, token=student.token)).status == 403


async def test_class_views_and_live_updates(api, sockets) -> None:
    teacher = await tutor(api)
    student, outsider = await api.user("STUDENT"), await api.user("STUDENT")
    cls = await new_class(api, teacher)
    tutor_socket = await sockets(teacher.token)
    await api.post(f"/classes/{cls['id']}/enroll", token=student.token)
    pushed = await tutor_socket.wait_for("class:updated", lambda d: d["id"] == cls["id"])
    assert pushed["enrolledCount"] == 1

    public = (await api.get(f"/classes/{cls['id']}", token=outsider.token)).data
    assert public["enrolledCount"] == 1 and public["enrolled"] is False and "studentIds" not in public
    assert (await api.get(f"/classes/{cls['id']}", token=teacher.token)).data["studentIds"] == [student.id]
    assert (await api.get("/classes/nope", token=teacher.token)).status == 404
    mine = await api.get("/classes", token=student.token, params={"mine": "true"})
    assert [c["id"] for c in mine.data] == [cls["id"]]
    assert (await api.get("/classes", token=outsider.token, params={"mine": "true"})).body["totalItems"] == 0

    room = f"class:{cls['id']}"
    assert (await (await sockets(student.token)).call("room:join", {"room": room}))["success"] is True
    assert (await tutor_socket.call("room:join", {"room": room}))["success"] is True
    denied = await (await sockets(outsider.token)).call("room:join", {"room": room})
    assert denied == {"success": False, "message": "Access denied"}


async def test_generated_sessions_get_reminders(api, clock, jobs) -> None:
    teacher = await tutor(api)
    student = await api.user("STUDENT")
    cls = await new_class(api, teacher)
    await api.post(f"/classes/{cls['id']}/enroll", token=student.token)
    await api.post(f"/classes/{cls['id']}/sessions", token=teacher.token)
    first = min(TWO_WEEKS_STARTS)
    clock.set(clock.now().replace(year=2025, month=9, day=8, hour=10, minute=0, second=1))  # 59 min before
    await jobs.run()
    (student,) = await relogin(api, student)
    reminders = await of_kind(api, student, "session.reminder")
    assert len(reminders) == 1
    session = (await api.get(f"/sessions/{reminders[0]['data']['sessionId']}", token=student.token)).data
    assert session["startTime"] == first and session["classId"] == cls["id"]
