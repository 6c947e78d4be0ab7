"""Materials, homework, submissions and grades through the real app (TC-INT-006)."""

from __future__ import annotations

import asyncio

from tests.learning_fixtures import complete, group_session
from tests.tutoring_fixtures import (
    interleaving,  # noqa: F401 (fixture)
    later,
    of_kind,
    tutor,
)

FORBIDDEN = {"error": "Forbidden", "message": "Access denied"}


async def test_TC_INT_006_group_session_content_submissions_and_grades(api, clock, jobs, sockets) -> None:
    # 1. Tutor creates group session.
    teacher = await tutor(api, "Tran Thi Mai")
    a, b, c, d = [await api.user("STUDENT", fullName=f"Student {n}") for n in "ABCD"]
    session = await group_session(api, clock, teacher, capacity=3, title="Ôn thi đại học")
    sid = session["id"]

    # 2. Multiple students join; a fourth finds it full and cannot read it.
    for student in (a, b, c):
        assert (await api.post(f"/sessions/{sid}/join", token=student.token)).status == 200
    full = await api.post(f"/sessions/{sid}/join", token=d.token, headers={"Accept-Language": "en"})
    assert full.status == 409 and full.body == {"success": False, "message": "The session is full"}
    assert (await api.get(f"/sessions/{sid}", token=d.token)).body == FORBIDDEN

    # 3. All students can access the session.
    for student in (a, b, c):
        seen = await api.get(f"/sessions/{sid}", token=student.token)
        assert seen.status == 200 and seen.data["studentIds"] == [a.id, b.id, c.id]
    live = {s.id: await sockets(s.token) for s in (a, b, c, d)}

    # 4. Tutor adds course content: a material and homework.
    posted = await api.post(
        f"/sessions/{sid}/materials",
        {"title": "Đề cương", "body": "Chương 1-3", "url": "https://example.com/de-cuong.pdf"},
        token=teacher.token,
    )
    assert posted.status == 201, posted.body
    assert posted.body["message"] == "Đăng tài liệu thành công"
    material = posted.data
    assert {k: v for k, v in material.items() if k not in ("id", "createdAt")} == {
        "sessionId": sid,
        "tutorId": teacher.id,
        "title": "Đề cương",
        "body": "Chương 1-3",
        "url": "https://example.com/de-cuong.pdf",
    }
    due = later(clock, days=2)
    set_hw = await api.post(
        f"/sessions/{sid}/homework",
        {"title": "Bài 1", "description": "Giải 10 bài đạo hàm", "dueAt": due, "maxScore": 10},
        token=teacher.token,
    )
    assert set_hw.status == 201, set_hw.body
    homework = set_hw.data
    assert (homework["sessionId"], homework["dueAt"], homework["maxScore"]) == (sid, due, 10)

    # 5. All students see the content, live and over REST; the fourth student sees nothing.
    for student in (a, b, c):
        assert await live[student.id].wait_for("material:created") == material
        assert await live[student.id].wait_for("homework:created") == homework
        materials = await api.get(f"/sessions/{sid}/materials", token=student.token)
        assert materials.status == 200 and materials.data == [material] and materials.body["totalItems"] == 1
        assert (await api.get(f"/sessions/{sid}/homework", token=student.token)).data == [homework]
    assert (await api.get(f"/sessions/{sid}/materials", token=d.token)).body == FORBIDDEN
    assert (await api.get(f"/sessions/{sid}/homework", token=d.token)).body == FORBIDDEN

    # 6. Students submit (a replaces their first submission before grading); outsiders cannot.
    path = f"/homework/{homework['id']}/submissions"
    first = await api.post(path, {"content": "Nháp"}, token=a.token)
    assert first.status == 201 and first.data["revision"] == 1 and first.data["status"] == "SUBMITTED"
    replaced = await api.post(path, {"content": "Bài làm của A"}, token=a.token)
    assert replaced.status == 200 and replaced.body["message"] == "Đã thay thế bài nộp trước"
    assert replaced.data["id"] == first.data["id"] and replaced.data["revision"] == 2
    by_b = await api.post(path, {"content": "Bài làm của B"}, token=b.token)
    assert by_b.status == 201
    assert (await api.post(path, {"content": "x"}, token=d.token)).body == FORBIDDEN
    assert (await api.post(path, {"content": "x"}, token=teacher.token)).status == 403
    assert (await api.get(path, token=d.token)).body == FORBIDDEN
    all_of_them = await api.get(path, token=teacher.token)
    assert sorted(s["studentId"] for s in all_of_them.data) == sorted([a.id, b.id])
    assert all_of_them.body["totalItems"] == 2
    nothing = await api.get(path, token=c.token)
    assert nothing.status == 200 and nothing.data == [] and nothing.body["totalItems"] == 0

    # 7. Tutor grades the submissions.
    graded_a = await api.post(
        f"/submissions/{first.data['id']}/grade", {"score": 8.5, "feedback": "Tốt"}, token=teacher.token
    )
    assert graded_a.status == 200, graded_a.body
    assert graded_a.body["message"] == "Chấm điểm thành công"
    graded_b = await api.post(f"/submissions/{by_b.data['id']}/grade", {"score": 7}, token=teacher.token)
    assert graded_b.status == 200
    assert {k: graded_a.data[k] for k in ("studentId", "content", "status", "score", "feedback", "late")} == {
        "studentId": a.id,
        "content": "Bài làm của A",
        "status": "GRADED",
        "score": 8.5,
        "feedback": "Tốt",
        "late": False,
    }
    # A graded submission cannot be replaced.
    again = await api.post(path, {"content": "Sửa lại"}, token=a.token, headers={"Accept-Language": "en"})
    assert again.status == 409
    assert again.body == {"success": False, "message": "The submission is already graded and cannot be replaced"}

    # 8. Every student sees their own grade, and only theirs.
    assert (await api.get(path, token=a.token)).data == [graded_a.data]
    assert (await api.get(path, token=b.token)).data == [graded_b.data]
    assert (await api.get(path, token=c.token)).data == []
    # A last material reaches every socket after the grades did: what each got before it is final.
    closing = await api.post(f"/sessions/{sid}/materials", {"title": "Đáp án"}, token=teacher.token)
    for student in (a, b, c):
        await live[student.id].wait_for("material:created", lambda m: m["id"] == closing.data["id"])
    assert live[a.id].events("grade:updated") == [graded_a.data]
    assert live[b.id].events("grade:updated") == [graded_b.data]
    assert live[c.id].events("grade:updated") == []
    assert live[d.id].received == []  # the fourth student got nothing of this session

    # The notifications arrive through the pipeline, stored and live.
    await jobs.run()
    for student in (a, b, c):
        assert len(await of_kind(api, student, "material.created")) == 2
        [note] = await of_kind(api, student, "homework.created")
        assert note["data"] == {"sessionId": sid, "homeworkId": homework["id"]}
        assert note["body"] == f"Buổi học Ôn thi đại học có bài tập mới: Bài 1, hạn nộp {due}"
    [note_a] = await of_kind(api, a, "submission.graded")
    assert note_a["body"] == "Bài Bài 1 của bạn đạt 8.5/10 điểm"
    assert note_a["data"] == {"homeworkId": homework["id"], "submissionId": first.data["id"], "sessionId": sid}
    [note_b] = await of_kind(api, b, "submission.graded")
    assert note_b["body"] == "Bài Bài 1 của bạn đạt 7/10 điểm"
    assert await of_kind(api, c, "submission.graded") == []
    pushed = await live[a.id].wait_for("notification", lambda n: n["type"] == "submission.graded")
    assert pushed["id"] == note_a["id"]
    assert await of_kind(api, d, "material.created") == []


async def test_grading_rules(api, clock, jobs, sockets) -> None:
    teacher, other = await tutor(api), await tutor(api, "Other Tutor")
    student = await api.user("STUDENT")
    session = await group_session(api, clock, teacher, student)
    hw = (
        await api.post(
            f"/sessions/{session['id']}/homework",
            {"title": "Bài 2", "description": "Tích phân", "dueAt": later(clock, hours=1), "maxScore": 20},
            token=teacher.token,
        )
    ).data
    submission = (await api.post(f"/homework/{hw['id']}/submissions", {"content": "x"}, token=student.token)).data
    grade = f"/submissions/{submission['id']}/grade"

    above = await api.post(grade, {"score": 20.5}, token=teacher.token, headers={"Accept-Language": "en"})
    assert above.status == 400
    assert above.body["validationErrors"] == [{"field": "score", "message": "The score must be between 0 and 20"}]
    below = await api.post(grade, {"score": -1}, token=teacher.token)
    assert below.status == 400 and below.body["validationErrors"][0]["field"] == "score"
    assert (await api.post(grade, {"score": 5}, token=other.token)).body == FORBIDDEN
    by_student = await api.post(grade, {"score": 20}, token=student.token)
    assert by_student.body == {"error": "Forbidden", "message": "Access denied. Required role: TUTOR or ADMIN"}
    assert (await api.post("/submissions/nope/grade", {"score": 1}, token=teacher.token)).status == 404

    sock = await sockets(student.token)
    assert (await api.post(grade, {"score": 20, "feedback": "Xuất sắc"}, token=teacher.token)).status == 200
    regraded = await api.post(grade, {"score": 15}, token=teacher.token)
    assert regraded.status == 200
    assert (regraded.data["score"], regraded.data["feedback"]) == (15, None)  # the grade is replaced whole
    assert (await api.get(f"/homework/{hw['id']}/submissions", token=student.token)).data == [regraded.data]
    await sock.wait_for("grade:updated", lambda s: s["score"] == 15)
    assert [s["score"] for s in sock.events("grade:updated")] == [20, 15]
    await jobs.run()
    assert sorted(n["body"] for n in await of_kind(api, student, "submission.graded")) == [
        "Bài Bài 2 của bạn đạt 15/20 điểm",
        "Bài Bài 2 của bạn đạt 20/20 điểm",
    ]


async def test_late_submission_is_accepted_and_marked(api, clock) -> None:
    teacher = await tutor(api)
    student = await api.user("STUDENT")
    session = await group_session(api, clock, teacher, student)
    hw = (
        await api.post(
            f"/sessions/{session['id']}/homework",
            {"title": "Bài 3", "description": "Hình học", "dueAt": later(clock, minutes=5), "maxScore": 10},
            token=teacher.token,
        )
    ).data
    on_time = await api.post(f"/homework/{hw['id']}/submissions", {"content": "v1"}, token=student.token)
    assert on_time.status == 201 and on_time.data["late"] is False
    clock.advance(minutes=5, seconds=1)
    late = await api.post(f"/homework/{hw['id']}/submissions", {"content": "v2"}, token=student.token)
    assert late.status == 200 and late.data["late"] is True and late.data["content"] == "v2"


async def test_concurrent_first_submissions_make_one(api, clock, interleaving) -> None:
    teacher = await tutor(api)
    student = await api.user("STUDENT")
    session = await group_session(api, clock, teacher, student)
    hw = (
        await api.post(
            f"/sessions/{session['id']}/homework",
            {"title": "Bài 4", "description": "x", "dueAt": later(clock, days=1), "maxScore": 10},
            token=teacher.token,
        )
    ).data
    path = f"/homework/{hw['id']}/submissions"
    replies = await asyncio.gather(*(api.post(path, {"content": f"v{n}"}, token=student.token) for n in range(5)))
    assert sorted(r.status for r in replies) == [200, 200, 200, 200, 201]
    [stored] = (await api.get(path, token=teacher.token)).data
    assert stored["revision"] == 5 and len({r.data["id"] for r in replies}) == 1


async def test_late_joiner_sees_earlier_materials_and_overseers_read(api, clock, sockets) -> None:
    teacher = await tutor(api)
    early, late_joiner = await api.user("STUDENT"), await api.user("STUDENT")
    manager = await api.user("MANAGEMENT")
    session = await group_session(api, clock, teacher, early)
    path = f"/sessions/{session['id']}/materials"
    posted = (await api.post(path, {"title": "Bài giảng 1", "url": "http://example.com/1"}, token=teacher.token)).data
    assert (await api.get(path, token=late_joiner.token)).body == FORBIDDEN
    assert (await api.post(f"/sessions/{session['id']}/join", token=late_joiner.token)).status == 200
    assert (await api.get(path, token=late_joiner.token)).data == [posted]
    assert (await api.get(path, token=manager.token)).data == [posted]
    assert (await api.get(path, token=(await api.admin()).token)).data == [posted]
    # A manager watching the session's room gets its new content live.
    watcher = await sockets(manager.token)
    assert (await watcher.call("room:join", {"room": f"session:{session['id']}"}))["success"] is True
    second = (await api.post(path, {"title": "Bài giảng 2"}, token=teacher.token)).data
    assert await watcher.wait_for("material:created") == second


async def test_coursework_validation_and_authorization(api, clock) -> None:
    teacher, other = await tutor(api), await tutor(api, "Other Tutor")
    student = await api.user("STUDENT")
    session = await group_session(api, clock, teacher, student, minutes=180)
    materials, homework = f"/sessions/{session['id']}/materials", f"/sessions/{session['id']}/homework"
    en = {"Accept-Language": "en"}

    for url in ("javascript:alert(1)", "ftp://example.com/x", "/relative", "https://", "http://a b.com"):
        bad = await api.post(materials, {"title": "x", "url": url}, token=teacher.token, headers=en)
        assert bad.status == 400, url
        assert bad.body["validationErrors"] == [{"field": "url", "message": "The link must be an http or https URL"}]
    untitled = await api.post(materials, {"title": "  ", "extra": 1}, token=teacher.token)
    assert untitled.status == 400
    assert {e["field"] for e in untitled.body["validationErrors"]} == {"title", "extra"}
    assert (await api.post(materials, {"title": "x"}, token=other.token)).body == FORBIDDEN
    by_student = await api.post(materials, {"title": "x"}, token=student.token)
    assert by_student.body == {"error": "Forbidden", "message": "Access denied. Required role: TUTOR or ADMIN"}
    assert (await api.post("/sessions/nope/materials", {"title": "x"}, token=teacher.token)).status == 404
    assert (await api.get("/sessions/nope/materials", token=teacher.token)).status == 404

    past = await api.post(
        homework,
        {"title": "x", "description": "y", "dueAt": later(clock, minutes=-1), "maxScore": 10},
        token=teacher.token,
        headers=en,
    )
    assert past.status == 400 and past.body["message"] == "The due time must be in the future"
    invalid = await api.post(homework, {"title": "x", "dueAt": "soon", "maxScore": 0}, token=teacher.token)
    assert {e["field"] for e in invalid.body["validationErrors"]} == {"description", "dueAt", "maxScore"}
    assert (await api.post("/homework/nope/submissions", {"content": "x"}, token=student.token)).status == 404
    assert (await api.get("/homework/nope/submissions", token=teacher.token)).status == 404

    # Nothing is added to a cancelled session.
    request = (await api.post(f"/sessions/{session['id']}/cancel-requests", {"reason": "Ốm"}, token=teacher.token)).data
    manager = await api.user("MANAGEMENT")
    assert (await api.post(f"/cancel-requests/{request['id']}/approve", {}, token=manager.token)).status == 200
    closed = await api.post(materials, {"title": "x"}, token=teacher.token, headers=en)
    assert closed.status == 409 and closed.body["message"] == "The session is CANCELLED; nothing can be added to it"


async def test_coursework_of_a_completed_session_stays_readable(api, clock) -> None:
    teacher = await tutor(api)
    student = await api.user("STUDENT")
    session = await group_session(api, clock, teacher, student, minutes=1)
    clock.advance(minutes=2)
    await complete(api, teacher, session)
    posted = await api.post(f"/sessions/{session['id']}/materials", {"title": "Tổng kết"}, token=teacher.token)
    assert posted.status == 201
    assert (await api.get(f"/sessions/{session['id']}/materials", token=student.token)).data == [posted.data]


async def test_openapi_documents_the_learning_routes(api) -> None:
    paths = (await api.get("/api/openapi.json")).body["paths"]
    bodies = {
        ("/sessions/{sessionId}/materials", "post"): "NewMaterial",
        ("/sessions/{sessionId}/homework", "post"): "NewHomework",
        ("/homework/{homeworkId}/submissions", "post"): "NewSubmission",
        ("/submissions/{submissionId}/grade", "post"): "Grade",
        ("/sessions/{sessionId}/evaluations", "post"): "NewEvaluation",
        ("/progress", "post"): "NewProgress",
    }
    for (path, method), model in bodies.items():
        op = paths["/api/v1" + path][method]
        assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
    for path in (
        "/sessions/{sessionId}/materials",
        "/sessions/{sessionId}/homework",
        "/homework/{homeworkId}/submissions",
        "/tutors/{tutorId}/evaluations",
        "/students/{studentId}/progress",
    ):
        assert {p["name"] for p in paths["/api/v1" + path]["get"]["parameters"] if p["in"] == "query"} >= {
            "page",
            "size",
        }
    assert "/api/v1/students/{studentId}/progress/stats" in paths
