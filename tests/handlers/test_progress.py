"""Progress entries and statistics through the real app (TC-INT-008)."""

from __future__ import annotations

from tests.learning_fixtures import complete, group_session
from tests.tutoring_fixtures import of_kind, relogin, tutor

FORBIDDEN = {"error": "Forbidden", "message": "Access denied"}


async def test_TC_INT_008_progress_tracking(api, clock, jobs, sockets) -> None:
    teacher = await tutor(api, "Tran Thi Mai", ("Math", "Physics"))
    other_tutor = await tutor(api, "Vo Minh Tri", ("Math",))
    stranger_tutor = await tutor(api, "Never Taught")
    student, classmate, outsider = [await api.user("STUDENT") for _ in range(3)]
    manager = await api.user("MANAGEMENT")
    math = await group_session(api, clock, teacher, student, classmate, subject="Math", minutes=1, duration=15)
    physics = await group_session(api, clock, teacher, student, subject="Physics", minutes=20, duration=15)
    algebra = await group_session(api, clock, other_tutor, student, subject="Math", minutes=20, duration=15)
    upcoming = await group_session(api, clock, stranger_tutor, student, subject="Chemistry", minutes=90)

    # A session that is not completed yet takes no progress entry.
    entry = {"studentId": student.id, "sessionId": math["id"], "score": 80}
    early = await api.post("/progress", entry, token=teacher.token, headers={"Accept-Language": "en"})
    assert early.status == 409 and early.body["message"] == "The session is CONFIRMED; this needs it COMPLETED"

    # 1. Sessions completed.
    clock.advance(minutes=21)
    teacher, other_tutor, stranger_tutor, student, classmate, outsider, manager = await relogin(
        api, teacher, other_tutor, stranger_tutor, student, classmate, outsider, manager
    )
    for who, session in ((teacher, math), (teacher, physics), (other_tutor, algebra)):
        await complete(api, who, session)
    live = await sockets(student.token)

    # 2. Tutors create progress entries.
    created = await api.post(
        "/progress",
        {**entry, "notes": "Nắm vững đạo hàm", "skills": ["Đạo hàm", "đạo hàm", " Giới hạn "]},
        token=teacher.token,
    )
    assert created.status == 201, created.body
    assert created.body["message"] == "Ghi nhận tiến độ học tập thành công"
    first = created.data
    assert {k: v for k, v in first.items() if k not in ("id", "createdAt")} == {
        "studentId": student.id,
        "sessionId": math["id"],
        "tutorId": teacher.id,
        "subject": "Math",
        "score": 80,
        "notes": "Nắm vững đạo hàm",
        "skills": ["Đạo hàm", "Giới hạn"],
    }
    clock.advance(seconds=1)
    second = (
        await api.post(
            "/progress", {"studentId": student.id, "sessionId": physics["id"], "score": 90}, token=teacher.token
        )
    ).data
    clock.advance(seconds=1)
    third = (
        await api.post(
            "/progress", {"studentId": student.id, "sessionId": algebra["id"], "score": 75}, token=other_tutor.token
        )
    ).data

    # The rules: once per session, the session's tutor, its students, a valid score.
    twice = await api.post("/progress", entry, token=teacher.token, headers={"Accept-Language": "en"})
    assert twice.status == 409
    assert twice.body["message"] == "The student's progress for this session is already recorded"
    assert (await api.post("/progress", entry, token=other_tutor.token)).body == FORBIDDEN
    by_student = await api.post("/progress", entry, token=student.token)
    assert by_student.body == {"error": "Forbidden", "message": "Access denied. Required role: TUTOR or ADMIN"}
    not_there = {"studentId": outsider.id, "sessionId": math["id"], "score": 50}
    refused = await api.post("/progress", not_there, token=teacher.token, headers={"Accept-Language": "en"})
    assert refused.status == 400 and refused.body["message"] == "The student did not take part in this session"
    invalid = await api.post("/progress", {**entry, "score": 101, "skills": [""]}, token=teacher.token)
    assert {e["field"] for e in invalid.body["validationErrors"]} == {"score", "skills"}
    missing = await api.post("/progress", {**entry, "sessionId": "nope"}, token=teacher.token)
    assert missing.status == 404

    # 3. Student views progress: newest first, paged.
    listed = await api.get(f"/students/{student.id}/progress", token=student.token)
    assert listed.status == 200 and listed.body["totalItems"] == 3
    assert listed.data == [third, second, first]
    paged = await api.get(f"/students/{student.id}/progress", token=student.token, params={"size": 2, "page": 1})
    assert paged.data == [first] and paged.body["totalItems"] == 3

    # 4-6. Statistics, exact.
    stats = await api.get(f"/students/{student.id}/progress/stats", token=student.token)
    assert stats.status == 200 and stats.body["message"] == "Lấy thống kê tiến độ học tập thành công"
    assert stats.data == {
        "entries": 3,
        "completedSessions": 3,
        "averageScore": 81.67,
        "bySubject": [
            {"subject": "Math", "entries": 2, "averageScore": 77.5},
            {"subject": "Physics", "entries": 1, "averageScore": 90},
        ],
    }
    empty = await api.get(f"/students/{classmate.id}/progress/stats", token=classmate.token)
    assert empty.data == {"entries": 0, "completedSessions": 1, "averageScore": 0.0, "bySubject": []}

    # Readers: the student, the tutors who taught them, MANAGEMENT, ADMIN; nobody else.
    (admin,) = await relogin(api, await api.admin())
    for reader in (teacher, other_tutor, manager, admin):
        assert (await api.get(f"/students/{student.id}/progress", token=reader.token)).data == listed.data
        assert (await api.get(f"/students/{student.id}/progress/stats", token=reader.token)).data == stats.data
    # A tutor whose session with the student has not taken place yet has not taught them.
    assert upcoming["studentIds"] == [student.id]
    for intruder in (outsider, classmate, stranger_tutor):
        assert (await api.get(f"/students/{student.id}/progress", token=intruder.token)).body == FORBIDDEN
        assert (await api.get(f"/students/{student.id}/progress/stats", token=intruder.token)).body == FORBIDDEN
    customer = await api.user("CUSTOMER")
    assert (await api.get(f"/students/{student.id}/progress", token=customer.token)).status == 403
    assert (await api.get("/students/nobody/progress", token=manager.token)).status == 404
    assert (await api.get("/students/nobody/progress", token=teacher.token)).body == FORBIDDEN

    # The student hears of each entry, live and through the notification pipeline.
    await live.wait_for("progress:created", lambda e: e["id"] == third["id"])
    assert live.events("progress:created") == [first, second, third]
    await jobs.run()
    notes = await of_kind(api, student, "progress.recorded")
    assert sorted(n["body"] for n in notes) == [
        "Gia sư đã ghi nhận tiến độ buổi học Luyện đề: 75/100 điểm",
        "Gia sư đã ghi nhận tiến độ buổi học Luyện đề: 80/100 điểm",
        "Gia sư đã ghi nhận tiến độ buổi học Luyện đề: 90/100 điểm",
    ]
    assert await of_kind(api, classmate, "progress.recorded") == []
