"""Every route declares its response (issue #15), and the declarations match what the routes really
send: each area's routes are called through the real app and every reply is checked against the
declared view (`_check_reply`: required fields present, nested views too, no `data` for NoData).
Each test ends by asserting it called every route of its areas, so a new route needs a call here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import TypeAdapter

from app.web import AREAS
from models import demo
from models.views import NoData
from server.http import CTX_KEY
from server.jsonutil import iso
from server.openapi import build_openapi
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import Api, Reply
from tests.learning_fixtures import complete, group_session
from tests.server.test_views import _check_reply
from tests.tutoring_fixtures import book, later, tutor

TWO_WEEKS = {
    "title": "Toán 12 - Luyện thi",
    "subject": "Math",
    "capacity": 10,
    "startDate": "2025-09-08",
    "endDate": "2025-09-21",
    "schedule": [{"dayOfWeek": 1, "startTime": "18:00", "durationMinutes": 90}],  # 11:00 UTC
}


def _routes_of(*areas: str) -> set[tuple[str, str]]:
    return {(s.method, s.path) for a in AREAS if a.name in areas and a.routes for s in a.routes.specs}


class Checked:
    """Checks each reply against its route's declaration and remembers which routes it saw."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, method: str, path: str, reply: Reply) -> Any:
        _check_reply(method, path, reply)
        self.seen.add((method, path))
        return reply.body.get("data")

    def covers(self, *areas: str) -> None:
        assert _routes_of(*areas) - self.seen == set()


# The areas whose every route a test below calls: all the areas with routes.
COVERED = {
    "accounts",
    "chat",
    "notifications",
    "presence",
    "tutors",
    "sessions",
    "classes",
    "coursework",
    "evaluations",
    "progress",
    "assignments",
    "demo",
    "maintenance",
    "approvals",
    "forum",
}


def test_the_tests_below_cover_every_area() -> None:
    assert {a.name for a in AREAS if a.routes} == COVERED


def test_every_route_declares_its_response() -> None:
    """`response=` on every route: a view, or `views.NoData` for an envelope without data."""
    undeclared = [(s.method, s.path) for a in AREAS if a.routes for s in a.routes.specs if s.response is None]
    assert undeclared == []


def test_every_documented_example_is_valid_for_its_model() -> None:
    """The 2xx example of every operation holds data its declared view accepts (none for NoData)."""
    specs = [s for a in AREAS if a.routes for s in a.routes.specs]
    doc = build_openapi([a.routes for a in AREAS if a.routes])
    for spec in specs:
        example = doc["paths"]["/api/v1" + spec.path][spec.method.lower()]["responses"][str(spec.status)]
        example = example["content"]["application/json"]["example"]
        where = (spec.method, spec.path)
        if spec.response is NoData:
            assert "data" not in example, where
            continue
        assert spec.response is not None, where
        model: Any = list[spec.response] if spec.response_list else spec.response  # type: ignore[name-defined]
        TypeAdapter(model).validate_python(example["data"])


async def test_accounts_chat_and_notifications(api: Api, jobs) -> None:
    check = Checked()
    admin = await api.admin()
    account = {"username": "le_van_a", "email": "a@example.com", "password": "correct-horse-battery"}
    registered = await api.post("/auth/register", {**account, "fullName": "Le Van A", "role": "STUDENT"})
    student = check("POST", "/auth/register", registered)
    login = check("POST", "/auth/login", await api.post("/auth/login", account))
    refreshed = check("POST", "/auth/refresh", await api.post("/auth/refresh", {"refreshToken": login["refreshToken"]}))
    token = refreshed["accessToken"]
    check("GET", "/auth/me", await api.get("/auth/me", token=token))
    staff = {"username": "jane", "email": "j@example.com", "password": "correct-horse-battery", "fullName": "Jane"}
    employee = check(
        "POST", "/admin/users", await api.post("/admin/users", {**staff, "role": "EMPLOYEE"}, token=admin.token)
    )
    assert employee["employeeId"]

    conv = check(
        "POST", "/conversations", await api.post("/conversations", {"participantIds": [employee["id"]]}, token=token)
    )
    path = f"/conversations/{conv['id']}"
    check(
        "POST",
        "/conversations/{conversationId}/messages",
        await api.post(f"{path}/messages", {"body": "Chào"}, token=token),
    )
    check("GET", "/conversations", await api.get("/conversations", token=token))
    check("GET", "/conversations/{conversationId}", await api.get(path, token=token))
    check("GET", "/conversations/{conversationId}/messages", await api.get(f"{path}/messages", token=token))
    check("POST", "/conversations/{conversationId}/read", await api.post(f"{path}/read", {"seq": 1}, token=token))

    notice = {"title": "Thông báo", "body": "Nghỉ lễ", "userIds": [student["id"]]}
    check("POST", "/admin/announcements", await api.post("/admin/announcements", notice, token=admin.token))
    check("GET", "/admin/queue", await api.get("/admin/queue", token=admin.token))
    await jobs.run()
    [note] = check("GET", "/notifications", await api.get("/notifications", token=token))
    check("GET", "/notifications/unread-count", await api.get("/notifications/unread-count", token=token))
    read = await api.post(f"/notifications/{note['id']}/read", token=token)
    assert check("POST", "/notifications/{notificationId}/read", read)["read"] is True
    check("POST", "/notifications/read-all", await api.post("/notifications/read-all", token=token))
    out = await api.post("/auth/logout", {"refreshToken": refreshed["refreshToken"]}, token=token)
    check("POST", "/auth/logout", out)
    check.covers("accounts", "chat", "notifications")


async def test_tutors_sessions_cancel_requests_and_classes(api: Api, clock) -> None:
    check = Checked()
    teacher = await tutor(api, "Đặng Thu Hà")
    student, outsider = await api.user("STUDENT"), await api.user("STUDENT")

    check("GET", "/tutors", await api.get("/tutors", token=student.token, params={"subject": "Math"}))
    profile = {"subjects": ["Math", "Physics"], "bio": "Mười năm kinh nghiệm", "hourlyRate": 250000}
    check("PUT", "/tutors/me", await api.put("/tutors/me", profile, token=teacher.token))
    check("GET", "/tutors/{tutorId}", await api.get(f"/tutors/{teacher.id}", token=student.token))

    # sessions: reject a PENDING one, join and complete a group one
    pending = check("POST", "/sessions", await book(api, student, teacher.id, later(clock, days=3)))
    rejected = await api.post(f"/sessions/{pending['id']}/reject", {"reason": "Bận"}, token=teacher.token)
    check("POST", "/sessions/{sessionId}/reject", rejected)
    group = await group_session(api, clock, teacher, minutes=1)
    joined = check(
        "POST", "/sessions/{sessionId}/join", await api.post(f"/sessions/{group['id']}/join", token=student.token)
    )
    assert joined["studentIds"] == [student.id]
    # an outsider browsing open group sessions sees how many joined, not who
    [seen] = check("GET", "/sessions", await api.get("/sessions", token=outsider.token, params={"open": "true"}))
    assert "studentIds" not in seen and seen["enrolledCount"] == 1
    clock.advance(minutes=2)
    check(
        "POST",
        "/sessions/{sessionId}/complete",
        await api.post(f"/sessions/{group['id']}/complete", token=teacher.token),
    )
    check("GET", "/sessions/{sessionId}", await api.get(f"/sessions/{group['id']}", token=student.token))

    # cancellation requests: one rejected, the next approved
    booked = check("POST", "/sessions", await book(api, student, teacher.id, later(clock, days=2)))
    confirmed = await api.post(f"/sessions/{booked['id']}/confirm", token=teacher.token)
    check("POST", "/sessions/{sessionId}/confirm", confirmed)
    ask_path = "/sessions/{sessionId}/cancel-requests"
    asked = check(
        "POST",
        ask_path,
        await api.post(f"/sessions/{booked['id']}/cancel-requests", {"reason": "Ốm"}, token=student.token),
    )
    check("GET", "/cancel-requests", await api.get("/cancel-requests", token=teacher.token))
    check("GET", "/cancel-requests/{requestId}", await api.get(f"/cancel-requests/{asked['id']}", token=student.token))
    no = await api.post(f"/cancel-requests/{asked['id']}/reject", {"reason": "Đã chuẩn bị"}, token=teacher.token)
    check("POST", "/cancel-requests/{requestId}/reject", no)
    again = check(
        "POST",
        ask_path,
        await api.post(f"/sessions/{booked['id']}/cancel-requests", {"reason": "Vẫn ốm"}, token=student.token),
    )
    yes = check(
        "POST",
        "/cancel-requests/{requestId}/approve",
        await api.post(f"/cancel-requests/{again['id']}/approve", {}, token=teacher.token),
    )
    assert yes["outcome"] == "SESSION_CANCELLED" and yes["decidedAt"]

    # classes: the tutor is busy at the first slot, so generating reports a conflict
    busy = check("POST", "/sessions", await book(api, student, teacher.id, "2025-09-08T11:00:00.000Z"))
    assert busy["status"] == "PENDING"
    cls = check("POST", "/classes", await api.post("/classes", TWO_WEEKS, token=teacher.token))
    check("GET", "/classes", await api.get("/classes", token=student.token))
    check("GET", "/classes/{classId}", await api.get(f"/classes/{cls['id']}", token=teacher.token))
    check("POST", "/classes/{classId}/enroll", await api.post(f"/classes/{cls['id']}/enroll", token=student.token))
    report = check(
        "POST", "/classes/{classId}/sessions", await api.post(f"/classes/{cls['id']}/sessions", token=teacher.token)
    )
    assert report["createdCount"] == 1 and len(report["conflicts"]) == 1, report
    check.covers("tutors", "sessions", "classes")


async def test_learning(api: Api, clock) -> None:
    """Materials, homework, submissions, grades, evaluations, progress and its statistics."""
    check = Checked()
    teacher = await tutor(api, "Tran Thi Mai")
    student = await api.user("STUDENT", fullName="Le Van A")
    session = await group_session(api, clock, teacher, student, minutes=1)
    sid = session["id"]

    material = {"title": "Đề cương", "body": "Chương 1-3", "url": "https://example.com/de-cuong.pdf"}
    check(
        "POST",
        "/sessions/{sessionId}/materials",
        await api.post(f"/sessions/{sid}/materials", material, token=teacher.token),
    )
    check("GET", "/sessions/{sessionId}/materials", await api.get(f"/sessions/{sid}/materials", token=student.token))
    task = {"title": "Bài 1", "description": "Giải 10 bài", "dueAt": later(clock, days=2), "maxScore": 10}
    homework = check(
        "POST", "/sessions/{sessionId}/homework", await api.post(f"/sessions/{sid}/homework", task, token=teacher.token)
    )
    check("GET", "/sessions/{sessionId}/homework", await api.get(f"/sessions/{sid}/homework", token=student.token))
    path = f"/homework/{homework['id']}/submissions"
    submitted = check(
        "POST", "/homework/{homeworkId}/submissions", await api.post(path, {"content": "Bài làm"}, token=student.token)
    )
    assert submitted["score"] is None
    graded = await api.post(
        f"/submissions/{submitted['id']}/grade", {"score": 8.5, "feedback": "Tốt"}, token=teacher.token
    )
    assert check("POST", "/submissions/{submissionId}/grade", graded)["gradedAt"]
    check("GET", "/homework/{homeworkId}/submissions", await api.get(path, token=teacher.token))

    clock.advance(minutes=2)
    await complete(api, teacher, session)
    rated = await api.post(f"/sessions/{sid}/evaluations", {"rating": 5, "comment": "Dễ hiểu"}, token=student.token)
    check("POST", "/sessions/{sessionId}/evaluations", rated)
    check(
        "GET", "/tutors/{tutorId}/evaluations", await api.get(f"/tutors/{teacher.id}/evaluations", token=student.token)
    )
    entry = {"studentId": student.id, "sessionId": sid, "score": 80, "notes": "Tiến bộ", "skills": ["Đạo hàm"]}
    check("POST", "/progress", await api.post("/progress", entry, token=teacher.token))
    check(
        "GET", "/students/{studentId}/progress", await api.get(f"/students/{student.id}/progress", token=teacher.token)
    )
    stats = await api.get(f"/students/{student.id}/progress/stats", token=student.token)
    assert check("GET", "/students/{studentId}/progress/stats", stats)["bySubject"]
    check.covers("coursework", "evaluations", "progress")


async def test_home_services_demo_and_reconcile(make_app, aiohttp_client, clock) -> None:
    """The employee API, the customer's and the admin's bookings, the demo data and the reconcile
    pass (an app with DEMO_DATA_ENABLED)."""
    check = Checked()
    api = Api(await aiohttp_client(await make_app(demo_data_enabled=True)), ADMIN_PASSWORD)
    admin = await api.admin()
    loaded = check("POST", "/admin/demo-data", await api.post("/admin/demo-data", token=admin.token))
    assert any(a.get("employeeId") for a in loaded["accounts"])
    employee = await api.login("jane_smith", demo.DEMO_PASSWORD)
    customer = await api.login("john_doe", demo.DEMO_PASSWORD)
    employee_id = employee.raw["employeeId"]

    booking = {
        "customerId": customer.id,
        "serviceName": "Tổng vệ sinh",
        "serviceAddress": "123 Lê Trọng Tấn",
        "bookingTime": iso(clock.now() + timedelta(days=10)),
        "estimatedDurationHours": 2,
        "pricePerUnit": 350000,
    }
    first = check("POST", "/admin/bookings", await api.post("/admin/bookings", booking, token=admin.token))
    second = await api.post(
        "/admin/bookings", {**booking, "bookingTime": iso(clock.now() + timedelta(days=11))}, token=admin.token
    )
    check("POST", "/admin/bookings", second)
    assign = "/admin/bookings/{bookingId}/assignments"
    one = check(
        "POST",
        assign,
        await api.post(f"/admin/bookings/{first['id']}/assignments", {"employeeId": employee_id}, token=admin.token),
    )
    two = check(
        "POST",
        assign,
        await api.post(
            f"/admin/bookings/{second.data['id']}/assignments", {"employeeId": employee_id}, token=admin.token
        ),
    )
    cancel = {"reason": "Có việc đột xuất", "note": "Xin lỗi quý khách"}
    cancelled = await api.post(f"/employee/assignments/{one['assignmentId']}/cancel", cancel, token=employee.token)
    check("POST", "/employee/assignments/{assignmentId}/cancel", cancelled)
    started = await api.post(f"/employee/assignments/{two['assignmentId']}/check-in", token=employee.token)
    check("POST", "/employee/assignments/{assignmentId}/check-in", started)
    done = await api.post(f"/employee/assignments/{two['assignmentId']}/check-out", token=employee.token)
    assert check("POST", "/employee/assignments/{assignmentId}/check-out", done)["checkOutTime"]
    listed = await api.get(f"/employee/{employee_id}/assignments", token=employee.token)
    check("GET", "/employee/{employeeId}/assignments", listed)
    bookings = check("GET", "/customer/bookings", await api.get("/customer/bookings", token=customer.token))
    states = {a["status"] for b in bookings for a in b["assignments"]}
    assert {"CANCELLED", "COMPLETED"} <= states, states
    check("GET", "/customer/bookings", await api.get("/customer/bookings", token=admin.token))

    # the reconcile pass, after breaking a counter so that it has something to report
    ctx = api.client.app[CTX_KEY]
    broken = await ctx.db["bookings"].update_one(
        {"bookingCode": loaded["bookings"][0]}, {"$set": {"liveAssignments": 5}}
    )
    assert broken.modified_count == 1
    clock.advance(minutes=6)  # past RECONCILE_GRACE_SECONDS: the booking is settled
    report = check("POST", "/admin/reconcile", await api.post("/admin/reconcile", token=admin.token))
    assert report["repairedTotal"] >= 1 and report["repaired"], report
    check.covers("assignments", "demo", "maintenance")


async def test_approvals_forum_presence_and_the_queue(api: Api, clock, sockets) -> None:
    check = Checked()
    teacher, manager = await api.user("TUTOR"), await api.user("MANAGEMENT")
    student, admin = await api.user("STUDENT"), await api.admin()

    start = clock.now().replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
    ask = {
        "type": "ROOM_BOOKING",
        "title": "Phòng ôn thi",
        "details": "Cần phòng 30 chỗ",
        "requestedResources": ["Phòng 30 chỗ"],
        "startTime": iso(start),
        "endTime": iso(start + timedelta(hours=2)),
    }
    first = check("POST", "/approvals", await api.post("/approvals", ask, token=teacher.token))
    question = await api.post(
        f"/approvals/{first['id']}/clarification-requests", {"question": "Mấy người?"}, token=manager.token
    )
    check("POST", "/approvals/{approvalId}/clarification-requests", question)
    answer = await api.post(f"/approvals/{first['id']}/clarifications", {"answer": "28"}, token=teacher.token)
    check("POST", "/approvals/{approvalId}/clarifications", answer)
    approved = await api.post(
        f"/approvals/{first['id']}/approve", {"allocatedResources": {"ROOM": "A101"}}, token=manager.token
    )
    history = check("POST", "/approvals/{approvalId}/approve", approved)["history"]
    assert [h["action"] for h in history] == ["REQUESTED", "CLARIFICATION_REQUESTED", "CLARIFIED", "APPROVED"]
    second = check(
        "POST", "/approvals", await api.post("/approvals", {**ask, "title": "Máy chiếu"}, token=teacher.token)
    )
    refused = await api.post(f"/approvals/{second['id']}/reject", {"reason": "Hết máy"}, token=manager.token)
    check("POST", "/approvals/{approvalId}/reject", refused)
    check("GET", "/approvals", await api.get("/approvals", token=manager.token))
    check("GET", "/approvals/{approvalId}", await api.get(f"/approvals/{first['id']}", token=teacher.token))

    post = check(
        "POST",
        "/forum/posts",
        await api.post("/forum/posts", {"title": "Hỏi", "body": "Đạo hàm?", "tags": ["math"]}, token=student.token),
    )
    comments = "/forum/posts/{postId}/comments"
    top = check(
        "POST",
        comments,
        await api.post(f"/forum/posts/{post['id']}/comments", {"body": "Xem SGK"}, token=teacher.token),
    )
    reply = {"body": "Cảm ơn", "parentCommentId": top["id"]}
    check("POST", comments, await api.post(f"/forum/posts/{post['id']}/comments", reply, token=student.token))
    check("GET", "/forum/posts", await api.get("/forum/posts", token=teacher.token, params={"tag": "math"}))
    shown = check("GET", "/forum/posts/{postId}", await api.get(f"/forum/posts/{post['id']}", token=teacher.token))
    assert len(shown["comments"]) == 1 and len(shown["comments"][0]["replies"]) == 1

    await sockets(teacher.token)  # online; the student never connected (lastSeen null)
    seen = check(
        "GET",
        "/presence",
        await api.get("/presence", token=student.token, params={"userIds": f"{teacher.id},{student.id}"}),
    )
    assert seen[teacher.id]["online"] and not seen[student.id]["online"]

    # a delayed announcement: the queue's state lists it
    later_too = {"title": "T2", "body": "B2", "role": "STUDENT", "processAt": iso(clock.now() + timedelta(hours=1))}
    check("POST", "/admin/announcements", await api.post("/admin/announcements", later_too, token=admin.token))
    stats = check("GET", "/admin/queue", await api.get("/admin/queue", token=admin.token))
    assert stats["nextDelayed"], stats
    check.covers("approvals", "forum", "presence")
