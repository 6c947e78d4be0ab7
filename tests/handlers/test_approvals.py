"""Approval requests through the real app (TC-INT-007): the clarification loop, resource allocation."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from models.allocations import RESOURCES
from server.jsonutil import iso
from tests.tutoring_fixtures import interleaving, of_kind  # noqa: F401 (fixture)

FORBIDDEN = {"error": "Forbidden", "message": "Access denied"}
MANAGEMENT_ONLY = {"error": "Forbidden", "message": "Access denied. Required role: MANAGEMENT or ADMIN"}


def window(clock: Any, hour: int, minutes: int = 60, days: int = 1) -> tuple[str, str]:
    """[hour:00, +minutes) on the day `days` after the fake clock's day, as ISO strings."""
    start = clock.now().replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(days=days)
    return iso(start), iso(start + timedelta(minutes=minutes))


async def ask(api: Any, requester: Any, start: str | None = None, end: str | None = None, **fields: Any) -> Any:
    body = {"type": "ROOM_BOOKING", "title": "Phòng ôn thi", "details": "Ôn thi cuối kỳ cho lớp 12A", **fields}
    if start is not None:
        body.update(startTime=start, endTime=end)
    reply = await api.post("/approvals", body, token=requester.token)
    assert reply.status == 201, reply.body
    return reply.data


async def busy(ctx: Any, kind: str, resource_id: str) -> list[dict[str, Any]]:
    doc = await ctx.db[RESOURCES.collection].find_one({"_id": f"{kind}:{resource_id}"})
    return list((doc or {}).get("busy", []))


async def test_TC_INT_007_management_approval_workflow(api, clock, jobs) -> None:
    teacher = await api.user("TUTOR", fullName="Tran Thi Mai")
    manager = await api.user("MANAGEMENT", fullName="Quan Ly Mot")
    other_manager = await api.user("MANAGEMENT")
    now = iso(clock.now())
    start, end = window(clock, 9, 120)

    # 1-2. Tutor creates an approval request; it is PENDING, with its first history entry.
    created = await api.post(
        "/approvals",
        {
            "type": "ROOM_BOOKING",
            "title": "Phòng cho lớp ôn thi",
            "details": "Cần phòng 30 chỗ và máy chiếu",
            "requestedResources": ["Phòng 30 chỗ", "Máy chiếu"],
            "startTime": start,
            "endTime": end,
        },
        token=teacher.token,
    )
    assert created.status == 201, created.body
    assert created.body["message"] == "Gửi yêu cầu phê duyệt thành công"
    approval = created.data
    request_id = approval["id"]
    assert approval == {
        "id": request_id,
        "type": "ROOM_BOOKING",
        "title": "Phòng cho lớp ôn thi",
        "details": "Cần phòng 30 chỗ và máy chiếu",
        "requestedResources": ["Phòng 30 chỗ", "Máy chiếu"],
        "startTime": start,
        "endTime": end,
        "status": "PENDING",
        "requesterId": teacher.id,
        "requesterRole": "TUTOR",
        "allocatedResources": {},
        "decidedBy": None,
        "decidedAt": None,
        "decisionReason": None,
        "createdAt": now,
        "updatedAt": now,
        "history": [{"action": "REQUESTED", "by": teacher.id, "role": "TUTOR", "at": now}],
    }

    # 3. Every MANAGEMENT user is notified; the requester is not.
    await jobs.run()
    for person in (manager, other_manager):
        [note] = await of_kind(api, person, "approval.created")
        assert note["data"] == {"approvalId": request_id}
        assert note["title"] == "Yêu cầu phê duyệt mới"
        assert note["body"] == "Tran Thi Mai gửi yêu cầu ROOM_BOOKING: Phòng cho lớp ôn thi"
    assert await of_kind(api, teacher, "approval.created") == []

    # 4. Management views the request.
    pending = await api.get("/approvals", token=manager.token, params={"status": "PENDING"})
    assert pending.status == 200 and pending.body["totalItems"] == 1
    assert pending.data == [{k: v for k, v in approval.items() if k != "history"}]
    assert (await api.get(f"/approvals/{request_id}", token=manager.token)).data == approval

    # 5. Management asks for clarification: NEEDS_CLARIFICATION, and it cannot be approved meanwhile.
    clock.advance(minutes=3)
    asked_at = iso(clock.now())
    question = "Lớp có bao nhiêu học sinh?"
    asked = await api.post(
        f"/approvals/{request_id}/clarification-requests", {"question": question}, token=manager.token
    )
    assert asked.status == 200, asked.body
    assert asked.data["status"] == "NEEDS_CLARIFICATION"
    early = await api.post(f"/approvals/{request_id}/approve", {}, token=manager.token)
    assert early.status == 409
    assert early.body == {
        "success": False,
        "message": "Yêu cầu đang ở trạng thái NEEDS_CLARIFICATION, thao tác này cần trạng thái PENDING",
    }
    await jobs.run()
    [note] = await of_kind(api, teacher, "approval.clarification_requested")
    assert note["data"] == {"approvalId": request_id}
    assert note["body"] == f'Yêu cầu "Phòng cho lớp ôn thi" cần làm rõ: {question}'

    # 6. The tutor answers: PENDING again; the manager who asked is told, the other is not.
    clock.advance(minutes=3)
    answered_at = iso(clock.now())
    answered = await api.post(f"/approvals/{request_id}/clarifications", {"answer": "28 học sinh"}, token=teacher.token)
    assert answered.status == 200, answered.body
    assert answered.data["status"] == "PENDING"
    await jobs.run()
    [note] = await of_kind(api, manager, "approval.clarified")
    assert note["data"] == {"approvalId": request_id}
    assert note["body"] == 'Tran Thi Mai đã trả lời về yêu cầu "Phòng cho lớp ôn thi": 28 học sinh'
    assert await of_kind(api, other_manager, "approval.clarified") == []

    # 7. Management approves with resources.
    clock.advance(minutes=3)
    approved_at = iso(clock.now())
    resources = {"room": "A101", "projector": "P-02"}
    approved = await api.post(
        f"/approvals/{request_id}/approve", {"allocatedResources": resources}, token=manager.token
    )
    assert approved.status == 200, approved.body
    assert approved.body["message"] == "Đã phê duyệt yêu cầu"

    # 8. Resources allocated, and the whole history says who asked what, when.
    final = (await api.get(f"/approvals/{request_id}", token=teacher.token)).data
    assert final == approved.data
    assert {k: final[k] for k in ("status", "allocatedResources", "decidedBy", "decidedAt", "updatedAt")} == {
        "status": "APPROVED",
        "allocatedResources": resources,
        "decidedBy": manager.id,
        "decidedAt": approved_at,
        "updatedAt": approved_at,
    }
    assert final["history"] == [
        {"action": "REQUESTED", "by": teacher.id, "role": "TUTOR", "at": now},
        {
            "action": "CLARIFICATION_REQUESTED",
            "by": manager.id,
            "role": "MANAGEMENT",
            "at": asked_at,
            "question": question,
        },
        {"action": "CLARIFIED", "by": teacher.id, "role": "TUTOR", "at": answered_at, "answer": "28 học sinh"},
        {
            "action": "APPROVED",
            "by": manager.id,
            "role": "MANAGEMENT",
            "at": approved_at,
            "allocatedResources": resources,
        },
    ]
    # The room is held: another request overlapping the window cannot have it.
    student = await api.user("STUDENT")
    later_start, later_end = window(clock, 10, 60)
    rival = await ask(api, student, later_start, later_end)
    refused = await api.post(
        f"/approvals/{rival['id']}/approve", {"allocatedResources": {"room": "A101"}}, token=other_manager.token
    )
    assert refused.status == 409
    assert refused.body == {
        "success": False,
        "message": "Tài nguyên room A101 đã được cấp cho một yêu cầu khác trong khoảng thời gian trùng",
    }
    assert (await api.get(f"/approvals/{rival['id']}", token=student.token)).data == rival

    # 9. The requester is notified of the decision.
    await jobs.run()
    [note] = await of_kind(api, teacher, "approval.approved")
    assert note["data"] == {"approvalId": request_id, "allocatedResources": resources}
    assert note["body"] == 'Yêu cầu "Phòng cho lớp ôn thi" đã được phê duyệt. Tài nguyên: projector P-02, room A101'


async def test_TC_INT_007_a_tutor_cannot_decide(api, clock) -> None:
    teacher, other = await api.user("TUTOR"), await api.user("TUTOR")
    approval = await ask(api, teacher, *window(clock, 9))
    for path, body in (
        ("approve", {"allocatedResources": {"room": "A101"}}),
        ("reject", {"reason": "x"}),
        ("clarification-requests", {"question": "?"}),
    ):
        for who in (teacher, other):
            denied = await api.post(f"/approvals/{approval['id']}/{path}", body, token=who.token)
            assert (denied.status, denied.body) == (403, MANAGEMENT_ONLY)
    assert (await api.get(f"/approvals/{approval['id']}", token=teacher.token)).data["status"] == "PENDING"


async def test_TC_INT_007_ten_concurrent_approvals_for_one_room(api, clock, ctx, interleaving) -> None:
    managers = [await api.user("MANAGEMENT"), await api.user("MANAGEMENT")]
    requesters = [await api.user("TUTOR" if i % 2 else "STUDENT") for i in range(10)]
    base = clock.now().replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
    # Every window overlaps every other: [09:00 + 5i min, 11:00 + 5i min).
    requests = [
        await ask(api, who, iso(base + timedelta(minutes=5 * i)), iso(base + timedelta(minutes=120 + 5 * i)))
        for i, who in enumerate(requesters)
    ]
    replies = await asyncio.gather(
        *(
            api.post(
                f"/approvals/{r['id']}/approve", {"allocatedResources": {"room": "B202"}}, token=managers[i % 2].token
            )
            for i, r in enumerate(requests)
        )
    )
    assert sorted(r.status for r in replies) == [200] + [409] * 9
    assert {r.body["message"] for r in replies if r.status == 409} == {
        "Tài nguyên room B202 đã được cấp cho một yêu cầu khác trong khoảng thời gian trùng"
    }
    [winner] = [requests[i]["id"] for i, r in enumerate(replies) if r.status == 200]
    approved = await api.get("/approvals", token=managers[0].token, params={"status": "APPROVED"})
    assert [a["id"] for a in approved.data] == [winner]
    assert (await api.get("/approvals", token=managers[0].token, params={"status": "PENDING"})).body["totalItems"] == 9
    assert [entry["approvalId"] for entry in await busy(ctx, "room", "B202")] == [winner]


async def test_TC_INT_007_back_to_back_windows_share_a_room(api, clock, ctx) -> None:
    manager, teacher = await api.user("MANAGEMENT"), await api.user("TUTOR")
    first = await ask(api, teacher, *window(clock, 9))  # 09:00-10:00
    second = await ask(api, teacher, *window(clock, 10))  # 10:00-11:00
    for approval in (first, second):
        reply = await api.post(
            f"/approvals/{approval['id']}/approve", {"allocatedResources": {"room": "C303"}}, token=manager.token
        )
        assert reply.status == 200, reply.body
        assert reply.data["allocatedResources"] == {"room": "C303"}
    assert sorted(e["approvalId"] for e in await busy(ctx, "room", "C303")) == sorted([first["id"], second["id"]])
    # The same room on another day, and another room at the same time, are free too.
    other_day = await ask(api, teacher, *window(clock, 9, days=2))
    other_room = await ask(api, teacher, *window(clock, 9))
    for approval, room in ((other_day, "C303"), (other_room, "C304")):
        reply = await api.post(
            f"/approvals/{approval['id']}/approve", {"allocatedResources": {"room": room}}, token=manager.token
        )
        assert reply.status == 200, reply.body


async def test_TC_INT_007_a_taken_resource_reserves_none_of_the_others(api, clock, ctx) -> None:
    manager, teacher = await api.user("MANAGEMENT"), await api.user("TUTOR")
    holder = await ask(api, teacher, *window(clock, 9, 120))
    assert (
        await api.post(
            f"/approvals/{holder['id']}/approve", {"allocatedResources": {"room": "D404"}}, token=manager.token
        )
    ).status == 200

    # projector sorts before room and speaker after it: one is taken and released, one never taken.
    wanting = await ask(api, teacher, *window(clock, 10))
    refused = await api.post(
        f"/approvals/{wanting['id']}/approve",
        {"allocatedResources": {"speaker": "S1", "room": "D404", "projector": "P1"}},
        token=manager.token,
    )
    assert refused.status == 409
    assert (
        refused.body["message"] == "Tài nguyên room D404 đã được cấp cho một yêu cầu khác trong khoảng thời gian trùng"
    )
    assert await busy(ctx, "projector", "P1") == [] and await busy(ctx, "speaker", "S1") == []
    assert (await api.get(f"/approvals/{wanting['id']}", token=teacher.token)).data == wanting

    # The same request can then be approved with what is free, and another takes the projector after it.
    ok = await api.post(
        f"/approvals/{wanting['id']}/approve",
        {"allocatedResources": {"speaker": "S1", "projector": "P1"}},
        token=manager.token,
    )
    assert ok.status == 200 and ok.data["allocatedResources"] == {"speaker": "S1", "projector": "P1"}
    assert [e["approvalId"] for e in await busy(ctx, "projector", "P1")] == [wanting["id"]]


async def test_concurrent_approvals_of_one_request_keep_the_winners_reservation(api, clock, ctx, interleaving) -> None:
    managers = [await api.user("MANAGEMENT") for _ in range(3)]
    teacher = await api.user("TUTOR")
    approval = await ask(api, teacher, *window(clock, 9))
    replies = await asyncio.gather(
        *(
            api.post(f"/approvals/{approval['id']}/approve", {"allocatedResources": {"room": "E505"}}, token=m.token)
            for m in managers
        )
    )
    assert sorted(r.status for r in replies) == [200, 409, 409]
    # However the losers failed (the room, or the state), the winner's reservation is still there.
    [entry] = await busy(ctx, "room", "E505")
    assert entry["approvalId"] == approval["id"]
    doc = await ctx.db["approvals"].find_one({"_id": approval["id"]})
    assert doc["status"] == "APPROVED" and doc["allocationId"] == entry["attemptId"]
    assert [h["action"] for h in doc["history"]] == ["REQUESTED", "APPROVED"]


async def test_rejection_and_the_loop_repeating(api, clock, jobs) -> None:
    manager, student = await api.user("MANAGEMENT"), await api.user("STUDENT", fullName="Le Van Hoc")
    approval = await ask(api, student, title="Mượn máy tính")
    path = f"/approvals/{approval['id']}"
    for round_ in range(2):
        assert (
            await api.post(f"{path}/clarification-requests", {"question": f"Q{round_}"}, token=manager.token)
        ).status == 200
        again = await api.post(f"{path}/clarification-requests", {"question": "?"}, token=manager.token)
        assert again.status == 409
        assert (await api.post(f"{path}/clarifications", {"answer": f"A{round_}"}, token=student.token)).status == 200
    assert (await api.post(f"{path}/clarifications", {"answer": "more"}, token=student.token)).status == 409

    rejected = await api.post(f"{path}/reject", {"reason": "  Hết máy  "}, token=manager.token)
    assert rejected.status == 200 and rejected.body["message"] == "Đã từ chối yêu cầu"
    assert {k: rejected.data[k] for k in ("status", "decidedBy", "decisionReason", "allocatedResources")} == {
        "status": "REJECTED",
        "decidedBy": manager.id,
        "decisionReason": "Hết máy",
        "allocatedResources": {},
    }
    assert [
        (h["action"], h.get("question") or h.get("answer") or h.get("reason")) for h in rejected.data["history"]
    ] == [
        ("REQUESTED", None),
        ("CLARIFICATION_REQUESTED", "Q0"),
        ("CLARIFIED", "A0"),
        ("CLARIFICATION_REQUESTED", "Q1"),
        ("CLARIFIED", "A1"),
        ("REJECTED", "Hết máy"),
    ]
    for action in ("approve", "reject"):
        late = await api.post(f"{path}/{action}", {"reason": "x"} if action == "reject" else {}, token=manager.token)
        assert late.status == 409
        assert late.body["message"] == "Yêu cầu đang ở trạng thái REJECTED, thao tác này cần trạng thái PENDING"
    await jobs.run()
    [note] = await of_kind(api, student, "approval.rejected")
    assert note["data"] == {"approvalId": approval["id"]}
    assert note["body"] == 'Yêu cầu "Mượn máy tính" bị từ chối. Lý do: Hết máy'
    assert len(await of_kind(api, student, "approval.clarification_requested")) == 2
    assert len(await of_kind(api, manager, "approval.clarified")) == 2


async def test_approval_access(api, clock) -> None:
    teacher, student, other = await api.user("TUTOR"), await api.user("STUDENT"), await api.user("STUDENT")
    manager, admin = await api.user("MANAGEMENT"), await api.admin()
    mine = await ask(api, student)
    theirs = await ask(api, teacher)
    assert (await api.get(f"/approvals/{mine['id']}", token=other.token)).body == FORBIDDEN
    assert (await api.get(f"/approvals/{mine['id']}", token=teacher.token)).body == FORBIDDEN
    assert (await api.get("/approvals/nope", token=manager.token)).status == 404
    assert [a["id"] for a in (await api.get("/approvals", token=student.token)).data] == [mine["id"]]
    assert (await api.get("/approvals", token=other.token)).body["totalItems"] == 0
    assert (await api.get("/approvals", token=admin.token)).body["totalItems"] == 2
    assert (await api.get(f"/approvals/{theirs['id']}", token=admin.token)).data == theirs
    customer = await api.user("CUSTOMER")
    denied = await api.post("/approvals", {"type": "X", "title": "t", "details": "d"}, token=customer.token)
    assert denied.body == {"error": "Forbidden", "message": "Access denied. Required role: TUTOR or STUDENT"}
    assert (await api.get("/approvals", token=customer.token)).status == 403
    # Only the requester answers a question about their request.
    await api.post(f"/approvals/{mine['id']}/clarification-requests", {"question": "?"}, token=manager.token)
    assert (
        await api.post(f"/approvals/{mine['id']}/clarifications", {"answer": "x"}, token=other.token)
    ).body == FORBIDDEN
    assert (await api.post("/approvals/nope/clarifications", {"answer": "x"}, token=other.token)).status == 404
    assert (await api.post("/approvals/nope/approve", {}, token=manager.token)).status == 404


async def test_approval_validation(api, clock) -> None:
    student, manager = await api.user("STUDENT"), await api.user("MANAGEMENT")
    start, end = window(clock, 9)

    async def refused(body: dict[str, Any]) -> Any:
        reply = await api.post("/approvals", body, token=student.token, headers={"Accept-Language": "en"})
        assert reply.status == 400, reply.body
        return reply.body

    base = {"type": "ROOM_BOOKING", "title": "t", "details": "d"}
    assert (await refused({**base, "title": "   "}))["validationErrors"] == [
        {"field": "title", "message": "Must not be blank"}
    ]
    assert (await refused({**base, "startTime": start}))["validationErrors"] == [
        {"field": "endTime", "message": "startTime and endTime go together"}
    ]
    assert (await refused({**base, "startTime": end, "endTime": start}))["validationErrors"] == [
        {"field": "endTime", "message": "endTime must be after startTime"}
    ]
    assert (await refused({**base, "type": "a.b"}))["validationErrors"] == [
        {"field": "type", "message": "Invalid format"}
    ]
    assert (await refused({**base, "details": "x" * 5001}))["validationErrors"] == [
        {"field": "details", "message": "Must have at most 5000 characters"}
    ]
    assert (await refused({**base, "requestedResources": ["x"] * 21}))["validationErrors"][0]["field"] == (
        "requestedResources"
    )
    past = await refused({**base, "startTime": iso(clock.now() - timedelta(hours=2)), "endTime": iso(clock.now())})
    assert past == {"success": False, "message": "The window has already ended"}

    # Resources need a window; kinds are plain names; the list filter checks the status.
    no_window = await ask(api, student)
    reply = await api.post(
        f"/approvals/{no_window['id']}/approve", {"allocatedResources": {"room": "A1"}}, token=manager.token
    )
    assert (reply.status, reply.body["message"]) == (
        400,
        "Yêu cầu không có khoảng thời gian (startTime, endTime) nên không thể cấp tài nguyên",
    )
    bad_kind = await api.post(
        f"/approvals/{no_window['id']}/approve", {"allocatedResources": {"$room": "A1"}}, token=manager.token
    )
    assert bad_kind.status == 400 and bad_kind.body["validationErrors"][0]["field"].startswith("allocatedResources")
    assert (await api.post(f"/approvals/{no_window['id']}/reject", {}, token=manager.token)).status == 400
    assert (await api.get("/approvals", token=manager.token, params={"status": "DONE"})).status == 400
    # Approving without resources is fine for a request without a window.
    plain = await api.post(f"/approvals/{no_window['id']}/approve", {}, token=manager.token)
    assert plain.status == 200 and plain.data["allocatedResources"] == {}

    # A window that has ended cannot get resources any more.
    soon = await ask(api, student, iso(clock.now() + timedelta(minutes=10)), iso(clock.now() + timedelta(minutes=70)))
    clock.advance(hours=2)
    manager = await api.login(manager.username, manager.password)
    ended = await api.post(
        f"/approvals/{soon['id']}/approve", {"allocatedResources": {"room": "A1"}}, token=manager.token
    )
    assert (
        ended.status == 400
        and ended.body["message"] == "Khoảng thời gian của yêu cầu đã kết thúc, không thể cấp tài nguyên"
    )


async def test_openapi_lists_the_approval_and_forum_routes(api) -> None:
    doc = (await api.get("/api/openapi.json")).body
    paths = doc["paths"]
    assert set(paths["/api/v1/approvals"]) == {"get", "post"}
    for action in ("clarification-requests", "clarifications", "approve", "reject"):
        assert paths[f"/api/v1/approvals/{{approvalId}}/{action}"]["post"]["requestBody"]["required"] is True
    assert {p["name"] for p in paths["/api/v1/approvals"]["get"]["parameters"]} >= {"status", "page", "size"}
    assert {p["name"] for p in paths["/api/v1/forum/posts"]["get"]["parameters"]} >= {"tag", "q", "page", "size"}
    assert "post" in paths["/api/v1/forum/posts/{postId}/comments"]
    assert {"NewApproval", "ApprovalDecision", "NewPost", "NewComment"} <= set(doc["components"]["schemas"])
