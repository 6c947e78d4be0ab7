"""The seed's employee assignment API (004_831bc3de004ade86.txt), one test per case, plus what it implies."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from models import demo
from server.clock import FakeClock
from server.context import Context
from tests.assignments_fixtures import (
    A1,
    A2,
    A3,
    CANCEL_BODY,
    EMPLOYEE_ID,
    LIST_URL,
    SEED_BOOKING_TIME,
    SEED_ITEM,
    SEED_LIST_BODY,
    SEED_NOW,
    cancel_url,
    login_people,
    make_assignment,
    seed_assignments,
)
from tests.helpers import Api

FORBIDDEN = {"error": "Forbidden", "message": "Access denied"}


# ---------------------------------------------------------------- the seed's cases


async def test_TC_ASSIGNMENT_001_employee_gets_assignments(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1)
    people = await login_people(api, ctx)
    reply = await api.get(LIST_URL, token=people.employee.token)
    assert reply.status == 200
    assert reply.body == SEED_LIST_BODY
    item = reply.data[0]
    assert isinstance(item["pricePerUnit"], float) and isinstance(item["totalAmount"], float)
    assert isinstance(item["estimatedDurationHours"], float) and isinstance(item["quantity"], int)


async def test_TC_ASSIGNMENT_002_status_filter(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1, A2)  # the COMPLETED one is filtered out
    people = await login_people(api, ctx)
    reply = await api.get(LIST_URL + "?status=ASSIGNED&page=0&size=10", token=people.employee.token)
    assert reply.status == 200
    assert reply.body == SEED_LIST_BODY


async def test_TC_ASSIGNMENT_003_invalid_status_returns_all(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1)
    people = await login_people(api, ctx)
    reply = await api.get(LIST_URL + "?status=INVALID_STATUS", token=people.employee.token)
    assert reply.status == 200
    assert reply.body == SEED_LIST_BODY


async def test_TC_ASSIGNMENT_004_cancel(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1)
    people = await login_people(api, ctx)
    reply = await api.post(cancel_url(A1), CANCEL_BODY, token=people.employee.token)
    assert reply.status == 200
    assert reply.body == {"success": True, "message": "Hủy công việc thành công. Hệ thống sẽ thông báo cho khách hàng."}
    listed = await api.get(LIST_URL, token=people.employee.token)
    assert listed.data[0]["status"] == "CANCELLED"


async def test_TC_ASSIGNMENT_005_cancel_not_found(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1)
    people = await login_people(api, ctx)
    reply = await api.post(cancel_url("non-existent-assignment"), CANCEL_BODY, token=people.employee.token)
    assert reply.status == 400
    assert reply.body == {"success": False, "message": "Không tìm thấy công việc"}


async def test_TC_ASSIGNMENT_006_cancel_completed(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1, A2)
    people = await login_people(api, ctx)
    reply = await api.post(cancel_url(A2), CANCEL_BODY, token=people.employee.token)
    assert reply.status == 400
    assert reply.body == {"success": False, "message": "Chỉ có thể hủy công việc đang ở trạng thái 'Đã nhận'"}


async def test_TC_ASSIGNMENT_007_cancel_within_two_hours(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1, A3)
    people = await login_people(api, ctx)
    reply = await api.post(cancel_url(A3), CANCEL_BODY, token=people.employee.token)
    assert reply.status == 400
    assert reply.body == {"success": False, "message": "Không thể hủy công việc trong vòng 2 giờ trước giờ bắt đầu"}


async def test_TC_ASSIGNMENT_008_missing_reason(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1)
    people = await login_people(api, ctx)
    reply = await api.post(
        cancel_url(A1), {"reason": "", "note": "Xin lỗi quý khách vì sự bất tiện này"}, token=people.employee.token
    )
    assert reply.status == 400
    assert reply.body == {
        "success": False,
        "message": "Lý do hủy là bắt buộc",
        "validationErrors": [{"field": "reason", "message": "Lý do hủy là bắt buộc"}],
    }
    # Absent, null and whitespace-only read the same; nothing was cancelled.
    for body in ({"note": "x"}, {"reason": None}, {"reason": "   "}):
        again = await api.post(cancel_url(A1), body, token=people.employee.token)
        assert again.status == 400 and again.body["message"] == "Lý do hủy là bắt buộc", body
    assert (await api.get(LIST_URL, token=people.employee.token)).body == SEED_LIST_BODY


async def test_TC_ASSIGNMENT_009_missing_token(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1)
    reply = await api.get(LIST_URL)
    assert reply.status == 401
    assert reply.body == {"error": "Unauthorized", "message": "Access token is missing or invalid"}


async def test_TC_ASSIGNMENT_010_invalid_token(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1)
    reply = await api.get(LIST_URL, headers={"Authorization": "Bearer invalid_or_expired_token"})
    assert reply.status == 401
    assert reply.body == {"error": "Unauthorized", "message": "Invalid or expired token"}


async def test_TC_ASSIGNMENT_011_customer_is_refused(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1)
    people = await login_people(api, ctx)
    reply = await api.get(LIST_URL, token=people.customer.token)
    assert reply.status == 403
    assert reply.body == {"error": "Forbidden", "message": "Access denied. Required role: EMPLOYEE or ADMIN"}
    cancel = await api.post(cancel_url(A1), CANCEL_BODY, token=people.customer.token)
    assert cancel.status == 403 and cancel.body == reply.body


async def test_TC_ASSIGNMENT_012_admin_sees_employee_assignments(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1)
    people = await login_people(api, ctx)
    reply = await api.get(LIST_URL, token=people.admin.token)
    assert reply.status == 200
    assert reply.body == SEED_LIST_BODY


# ---------------------------------------------------------------- ownership, filters, paging


async def test_another_employee_gets_403_on_both_endpoints(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1)
    people = await login_people(api, ctx)
    other = await api.user("EMPLOYEE")
    listed = await api.get(LIST_URL, token=other.token)
    assert listed.status == 403 and listed.body == FORBIDDEN
    cancelled = await api.post(cancel_url(A1), CANCEL_BODY, token=other.token)
    assert cancelled.status == 403 and cancelled.body == FORBIDDEN
    # Their own list works (empty), and jane's assignment is untouched.
    own = await api.get(f"/employee/{other.raw['employeeId']}/assignments", token=other.token)
    assert own.status == 200 and own.body["totalItems"] == 0 and own.data == []
    assert (await api.get(LIST_URL, token=people.employee.token)).body == SEED_LIST_BODY


async def test_admin_cancels_for_an_employee_and_unknown_employee_is_400(
    api: Api, ctx: Context, clock: FakeClock
) -> None:
    await seed_assignments(ctx, clock, A1)
    people = await login_people(api, ctx)
    unknown = await api.get("/employee/no-such-employee/assignments", token=people.admin.token)
    assert unknown.status == 400 and unknown.body == {"success": False, "message": "Không tìm thấy nhân viên"}
    assert (await api.post(cancel_url(A1), CANCEL_BODY, token=people.admin.token)).status == 200


async def test_status_filter_paging_and_sorting(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1, A2, A3)
    people = await login_people(api, ctx)
    token = people.employee.token

    async def ids(query: str) -> tuple[list[str], int]:
        reply = await api.get(LIST_URL + query, token=token)
        assert reply.status == 200, reply.body
        return [i["assignmentId"] for i in reply.data], reply.body["totalItems"]

    assert await ids("") == ([A1, A3, A2], 3)  # default: bookingTime,desc
    assert await ids("?status=INVALID_STATUS") == ([A1, A3, A2], 3)
    assert await ids("?status=COMPLETED") == ([A2], 1)
    assert await ids("?status=ASSIGNED") == ([A1, A3], 2)
    assert await ids("?status=assigned") == ([A1, A3], 2)
    assert await ids("?sort=bookingTime,asc") == ([A2, A3, A1], 3)
    assert await ids("?size=1&page=1") == ([A3], 3)
    assert await ids("?size=2&page=5") == ([], 3)
    completed = (await api.get(LIST_URL + "?status=COMPLETED", token=token)).data[0]
    assert completed["checkInTime"] == "2025-09-05 14:39:22" and completed["checkOutTime"] == "2025-09-05 16:39:22"
    bad_sort = await api.get(LIST_URL + "?sort=password,asc", token=token)
    assert bad_sort.status == 400 and bad_sort.body["validationErrors"][0]["field"] == "sort"
    bad_size = await api.get(LIST_URL + "?size=1000", token=token)
    assert bad_size.status == 400 and bad_size.body["validationErrors"][0]["field"] == "size"


async def test_times_follow_the_configured_timezone(aiohttp_client, make_app, clock: FakeClock) -> None:
    from server.http import CTX_KEY
    from tests.conftest import ADMIN_PASSWORD

    app = await make_app(timezone="UTC")
    client = await aiohttp_client(app)
    api, ctx = Api(client, ADMIN_PASSWORD), app[CTX_KEY]
    await seed_assignments(ctx, clock, A1)
    people = await login_people(api, ctx)
    item = (await api.get(LIST_URL, token=people.employee.token)).data[0]
    assert item["bookingTime"] == "2025-09-12 03:00:00" and item["assignedAt"] == "2025-09-06 07:39:22"


# ---------------------------------------------------------------- cancellation rules


async def test_two_concurrent_cancels_one_succeeds(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1)
    people = await login_people(api, ctx)
    replies = await asyncio.gather(
        *[api.post(cancel_url(A1), CANCEL_BODY, token=people.employee.token) for _ in range(2)]
    )
    assert sorted(r.status for r in replies) == [200, 400]
    loser = next(r for r in replies if r.status == 400)
    assert loser.body == {"success": False, "message": "Chỉ có thể hủy công việc đang ở trạng thái 'Đã nhận'"}
    bookings = await api.get("/customer/bookings", token=people.customer.token)
    assert bookings.data[0]["status"] == "CANCELLED"


async def test_two_hour_rule_at_its_boundary(api: Api, ctx: Context, clock: FakeClock) -> None:
    start = SEED_NOW + timedelta(hours=2, minutes=10)
    await demo.ensure_demo_accounts(ctx)
    await make_assignment(ctx, A1, start)
    await make_assignment(ctx, A3, start + timedelta(hours=3))

    clock.set(start + timedelta(hours=3) - timedelta(hours=2) + timedelta(milliseconds=1))
    late = await login_people(api, ctx)
    refused = await api.post(cancel_url(A3), CANCEL_BODY, token=late.employee.token)
    assert refused.status == 400
    assert refused.body["message"] == "Không thể hủy công việc trong vòng 2 giờ trước giờ bắt đầu"

    clock.set(start - timedelta(hours=2))  # exactly two hours before: still allowed
    on_time = await login_people(api, ctx)
    assert (await api.post(cancel_url(A1), CANCEL_BODY, token=on_time.employee.token)).status == 200


async def test_check_order_not_found_then_ownership_then_state_then_time(
    api: Api, ctx: Context, clock: FakeClock
) -> None:
    await seed_assignments(ctx, clock, A1, A2, A3)
    people = await login_people(api, ctx)
    other = await api.user("EMPLOYEE")
    # Validation comes first, even for an assignment that does not exist.
    blank = await api.post(cancel_url("nope"), {"reason": ""}, token=people.employee.token)
    assert blank.status == 400 and blank.body["validationErrors"][0]["field"] == "reason"
    # Someone else's assignment is 403 whatever its state or time.
    for assignment_id in (A2, A3):
        reply = await api.post(cancel_url(assignment_id), CANCEL_BODY, token=other.token)
        assert reply.status == 403 and reply.body == FORBIDDEN
    # A COMPLETED assignment in the past says "not ASSIGNED", not "too late".
    assert (await api.post(cancel_url(A2), CANCEL_BODY, token=people.employee.token)).body[
        "message"
    ] == "Chỉ có thể hủy công việc đang ở trạng thái 'Đã nhận'"


async def test_booking_cancelled_only_with_its_last_assignment(api: Api, ctx: Context, clock: FakeClock) -> None:
    people = await login_people(api, ctx)
    helper = await api.user("EMPLOYEE", fullName="Lê Văn C")
    created = await api.post(
        "/admin/bookings",
        {
            "customerId": people.customer.id,
            "serviceName": "Tổng vệ sinh",
            "serviceAddress": "1 Đường A",
            "bookingTime": "2025-09-12T03:00:00Z",
            "estimatedDurationHours": 3,
            "pricePerUnit": 350000,
            "quantity": 2,
        },
        token=people.admin.token,
    )
    assert created.status == 201, created.body
    booking_id = created.data["id"]
    first = await api.post(
        f"/admin/bookings/{booking_id}/assignments", {"employeeId": EMPLOYEE_ID}, token=people.admin.token
    )
    second = await api.post(
        f"/admin/bookings/{booking_id}/assignments", {"employeeId": helper.raw["employeeId"]}, token=people.admin.token
    )
    assert first.status == second.status == 201
    assert first.data["totalAmount"] == 700000.0

    async def booking_status() -> str:
        return (await api.get("/customer/bookings", token=people.customer.token)).data[0]["status"]

    assert await booking_status() == "CONFIRMED"
    assert (
        await api.post(cancel_url(first.data["assignmentId"]), CANCEL_BODY, token=people.employee.token)
    ).status == 200
    assert await booking_status() == "CONFIRMED"
    assert (await api.post(cancel_url(second.data["assignmentId"]), CANCEL_BODY, token=helper.token)).status == 200
    assert await booking_status() == "CANCELLED"
    # A cancelled booking takes no new assignment.
    again = await api.post(
        f"/admin/bookings/{booking_id}/assignments", {"employeeId": EMPLOYEE_ID}, token=people.admin.token
    )
    assert again.status == 400
    assert again.body == {"success": False, "message": "Không thể phân công cho đơn đặt lịch đã hủy hoặc đã hoàn thành"}
    statuses = {
        a["employeeId"]: (a["status"], a["cancelReason"])
        for a in (await api.get("/customer/bookings", token=people.customer.token)).data[0]["assignments"]
    }
    assert statuses == {
        EMPLOYEE_ID: ("CANCELLED", CANCEL_BODY["reason"]),
        helper.raw["employeeId"]: ("CANCELLED", CANCEL_BODY["reason"]),
    }


# ---------------------------------------------------------------- notifications and realtime


async def test_cancel_notifies_customer_and_alerts_admins_live(
    api: Api, ctx: Context, clock: FakeClock, jobs, sockets
) -> None:
    await seed_assignments(ctx, clock, A1)
    await jobs.run()  # the assignment's own notice to the employee
    people = await login_people(api, ctx)
    customer_sock = await sockets(people.customer.token)
    admin_sock = await sockets(people.admin.token)
    employee_sock = await sockets(people.employee.token)

    assert (await api.post(cancel_url(A1), CANCEL_BODY, token=people.employee.token)).status == 200
    expected_item = {**SEED_ITEM, "status": "CANCELLED"}
    # The admins' live alert: `assignment:updated` in the role:ADMIN room, without joining anything.
    assert await admin_sock.wait_for("assignment:updated", lambda d: d["assignmentId"] == A1) == expected_item
    assert await employee_sock.wait_for("assignment:updated") == expected_item
    assert await customer_sock.wait_for("assignment:updated") == expected_item

    await jobs.run()
    pushed = await customer_sock.wait_for("notification", lambda n: n["type"] == "assignment.cancelled")
    assert pushed["title"] == "Nhân viên đã hủy lịch"
    assert "BK62589569" in pushed["body"] and "2025-09-12 10:00" in pushed["body"]
    assert pushed["data"] == {
        "assignmentId": A1,
        "bookingId": pushed["data"]["bookingId"],
        "bookingCode": "BK62589569",
        "note": CANCEL_BODY["note"],
    }
    listed = await api.get("/notifications", token=people.customer.token)
    assert [n["type"] for n in listed.data] == ["assignment.cancelled"]

    alert = await admin_sock.wait_for("notification", lambda n: n["type"] == "assignment.cancelled_alert")
    assert "Trần Thị B" in alert["body"] and CANCEL_BODY["reason"] in alert["body"]
    bootstrap_admin = await api.admin()
    admin_list = await api.get("/notifications", token=bootstrap_admin.token, headers={"Accept-Language": "en"})
    assert admin_list.data[0]["type"] == "assignment.cancelled_alert"
    assert admin_list.data[0]["title"] == "Alert: an employee cancelled a job"


async def test_assignment_room_members_only(api: Api, ctx: Context, clock: FakeClock, sockets) -> None:
    await seed_assignments(ctx, clock, A1)
    people = await login_people(api, ctx)
    stranger = await api.user("CUSTOMER")
    room = f"assignment:{A1}"
    for user in (people.employee, people.customer, people.admin):
        sock = await sockets(user.token)
        assert await sock.call("room:join", {"room": room}) == {"success": True, "data": {"room": room}}
    watcher = await sockets((await api.admin()).token)
    await watcher.call("room:join", {"room": room})
    stranger_sock = await sockets(stranger.token)
    assert await stranger_sock.call("room:join", {"room": room}) == {"success": False, "message": "Access denied"}
    assert (await stranger_sock.call("room:join", {"room": "assignment:nope"}))["success"] is False

    await api.post(cancel_url(A1), CANCEL_BODY, token=people.employee.token)
    assert (await watcher.wait_for("assignment:updated"))["status"] == "CANCELLED"
    await asyncio.sleep(0.05)  # let any misrouted event arrive before asserting its absence
    assert stranger_sock.events("assignment:updated") == []


async def test_english_messages(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1, A2, A3)
    people = await login_people(api, ctx)
    en = {"Accept-Language": "en"}
    token = people.employee.token
    listed = await api.get(LIST_URL, token=token, headers=en)
    assert listed.body["message"] == "Assignments retrieved successfully"
    cases = [
        ("non-existent-assignment", CANCEL_BODY, {"success": False, "message": "Assignment not found"}),
        (A2, CANCEL_BODY, {"success": False, "message": "Only assignments in 'Assigned' status can be cancelled"}),
        (
            A3,
            CANCEL_BODY,
            {"success": False, "message": "Assignments cannot be cancelled within 2 hours of the start time"},
        ),
        (
            A1,
            {"reason": ""},
            {
                "success": False,
                "message": "A cancellation reason is required",
                "validationErrors": [{"field": "reason", "message": "A cancellation reason is required"}],
            },
        ),
    ]
    for assignment_id, body, expected in cases:
        reply = await api.post(cancel_url(assignment_id), body, token=token, headers=en)
        assert reply.status == 400 and reply.body == expected
    done = await api.post(cancel_url(A1), CANCEL_BODY, token=token, headers=en)
    assert done.body == {
        "success": True,
        "message": "Assignment cancelled successfully. The customer will be notified.",
    }


# ---------------------------------------------------------------- check-in and check-out


async def test_check_in_and_check_out(api: Api, ctx: Context, clock: FakeClock, jobs) -> None:
    await seed_assignments(ctx, clock, A1)
    clock.set(SEED_BOOKING_TIME - timedelta(minutes=5))
    people = await login_people(api, ctx)
    other = await api.user("EMPLOYEE")
    token = people.employee.token

    early_out = await api.post(f"/employee/assignments/{A1}/check-out", token=token)
    assert early_out.status == 400
    assert early_out.body == {
        "success": False,
        "message": "Chỉ có thể check-out công việc đang ở trạng thái 'Đang thực hiện'",
    }
    assert (await api.post(f"/employee/assignments/{A1}/check-in", token=other.token)).body == FORBIDDEN
    assert (await api.post("/employee/assignments/nope/check-in", token=token)).body == {
        "success": False,
        "message": "Không tìm thấy công việc",
    }

    checked_in = await api.post(f"/employee/assignments/{A1}/check-in", token=token)
    assert checked_in.status == 200 and checked_in.body["message"] == "Check-in thành công"
    assert checked_in.data == {**SEED_ITEM, "status": "IN_PROGRESS", "checkInTime": "2025-09-12 09:55:00"}
    again = await api.post(f"/employee/assignments/{A1}/check-in", token=token)
    assert again.body == {"success": False, "message": "Chỉ có thể check-in công việc đang ở trạng thái 'Đã nhận'"}
    cancel = await api.post(cancel_url(A1), CANCEL_BODY, token=token)
    assert cancel.body["message"] == "Chỉ có thể hủy công việc đang ở trạng thái 'Đã nhận'"
    assert (await api.get("/customer/bookings", token=people.customer.token)).data[0]["status"] == "IN_PROGRESS"

    clock.advance(minutes=10)  # tokens live 15 minutes
    checked_out = await api.post(f"/employee/assignments/{A1}/check-out", token=token)
    assert checked_out.status == 200 and checked_out.body["message"] == "Check-out thành công"
    assert checked_out.data["status"] == "COMPLETED" and checked_out.data["checkOutTime"] == "2025-09-12 10:05:00"
    booking = (await api.get("/customer/bookings", token=people.customer.token)).data[0]
    assert booking["status"] == "COMPLETED"
    assert booking["assignments"][0]["checkOutTime"] == "2025-09-12T03:05:00.000Z"

    await jobs.run()  # both notices are created at the same (fake) instant: compare them unordered
    kinds = sorted(n["type"] for n in (await api.get("/notifications", token=people.customer.token)).data)
    assert kinds == ["assignment.completed", "assignment.started"]


# ---------------------------------------------------------------- admin: bookings and assignments


async def test_admin_creates_booking_and_assigns_employee(api: Api, ctx: Context, clock: FakeClock, jobs) -> None:
    people = await login_people(api, ctx)
    body = {
        "customerId": people.customer.id,
        "serviceName": "Tổng vệ sinh",
        "serviceAddress": "123 Lê Trọng Tấn",
        "bookingTime": "2025-09-12T10:00:00+07:00",
        "estimatedDurationHours": 2,
        "pricePerUnit": 350000,
        "quantity": 1,
        "note": "Cần dọn dẹp kỹ lưỡng phòng khách và bếp",
    }
    created = await api.post("/admin/bookings", body, token=people.admin.token)
    assert created.status == 201 and created.body["message"] == "Tạo đơn đặt lịch thành công"
    booking = created.data
    assert booking["bookingCode"].startswith("BK") and len(booking["bookingCode"]) == 10
    assert booking["bookingCode"][2:].isdigit()
    assert booking["bookingTime"] == "2025-09-12T03:00:00.000Z" and booking["status"] == "PENDING"
    assert booking["totalAmount"] == 350000.0 and booking["assignments"] == []

    assigned = await api.post(
        f"/admin/bookings/{booking['id']}/assignments", {"employeeId": EMPLOYEE_ID}, token=people.admin.token
    )
    assert assigned.status == 201 and assigned.body["message"] == "Phân công nhân viên thành công"
    assert {k: v for k, v in assigned.data.items() if k not in ("assignmentId", "bookingCode", "serviceAddress")} == {
        k: v for k, v in SEED_ITEM.items() if k not in ("assignmentId", "bookingCode", "serviceAddress")
    }

    await jobs.run()
    notices = (await api.get("/notifications", token=people.employee.token)).data
    assert [n["type"] for n in notices] == ["assignment.assigned"]
    assert booking["bookingCode"] in notices[0]["body"] and "2025-09-12 10:00" in notices[0]["body"]
    assert notices[0]["data"]["assignmentId"] == assigned.data["assignmentId"]

    # The same employee cannot be in two places at once (nor twice on one booking).
    overlapping = await api.post(
        "/admin/bookings", {**body, "bookingTime": "2025-09-12T04:30:00Z"}, token=people.admin.token
    )
    for booking_id in (booking["id"], overlapping.data["id"]):
        busy = await api.post(
            f"/admin/bookings/{booking_id}/assignments", {"employeeId": EMPLOYEE_ID}, token=people.admin.token
        )
        assert busy.status == 409
        assert busy.body == {"success": False, "message": "Nhân viên đã có công việc khác trùng thời gian"}
    later = await api.post("/admin/bookings", {**body, "bookingTime": "2025-09-12T05:00:00Z"}, token=people.admin.token)
    assert (
        await api.post(
            f"/admin/bookings/{later.data['id']}/assignments", {"employeeId": EMPLOYEE_ID}, token=people.admin.token
        )
    ).status == 201  # back to back is fine


async def test_concurrent_assignments_of_one_employee_never_overlap(api: Api, ctx: Context, clock: FakeClock) -> None:
    people = await login_people(api, ctx)
    ids = []
    for minutes in (0, 30, 60, 90):
        created = await api.post(
            "/admin/bookings",
            {
                "customerId": people.customer.id,
                "serviceName": "Dọn nhà",
                "serviceAddress": "1 A",
                "bookingTime": (SEED_BOOKING_TIME + timedelta(minutes=minutes)).isoformat(),
                "estimatedDurationHours": 2,
                "pricePerUnit": 100000,
            },
            token=people.admin.token,
        )
        ids.append(created.data["id"])
    replies = await asyncio.gather(
        *[
            api.post(f"/admin/bookings/{b}/assignments", {"employeeId": EMPLOYEE_ID}, token=people.admin.token)
            for b in ids
        ]
    )
    assert sorted(r.status for r in replies) == [201, 409, 409, 409]


async def test_admin_booking_refusals(api: Api, ctx: Context, clock: FakeClock) -> None:
    people = await login_people(api, ctx)
    base = {
        "customerId": people.customer.id,
        "serviceName": "Dọn nhà",
        "serviceAddress": "1 A",
        "bookingTime": "2025-09-12T03:00:00Z",
        "estimatedDurationHours": 2,
        "pricePerUnit": 100000,
    }
    unknown = await api.post("/admin/bookings", {**base, "customerId": people.employee.id}, token=people.admin.token)
    assert unknown.status == 404 and unknown.body == {"success": False, "message": "Không tìm thấy khách hàng"}
    past = await api.post("/admin/bookings", {**base, "bookingTime": "2025-09-01T03:00:00Z"}, token=people.admin.token)
    assert past.status == 400 and past.body == {"success": False, "message": "Thời gian đặt lịch phải ở tương lai"}
    invalid = await api.post("/admin/bookings", {**base, "quantity": 0, "pricePerUnit": -1}, token=people.admin.token)
    assert invalid.status == 400 and {e["field"] for e in invalid.body["validationErrors"]} == {
        "quantity",
        "pricePerUnit",
    }
    by_employee = await api.post("/admin/bookings", base, token=people.employee.token)
    assert by_employee.status == 403
    assert by_employee.body == {"error": "Forbidden", "message": "Access denied. Required role: ADMIN"}
    no_booking = await api.post(
        "/admin/bookings/nope/assignments", {"employeeId": EMPLOYEE_ID}, token=people.admin.token
    )
    assert no_booking.status == 404 and no_booking.body["message"] == "Không tìm thấy đơn đặt lịch"
    created = await api.post("/admin/bookings", base, token=people.admin.token)
    no_employee = await api.post(
        f"/admin/bookings/{created.data['id']}/assignments", {"employeeId": "nope"}, token=people.admin.token
    )
    assert no_employee.status == 404 and no_employee.body["message"] == "Không tìm thấy nhân viên"


# ---------------------------------------------------------------- the customer's bookings


async def test_customer_sees_only_their_own_bookings(api: Api, ctx: Context, clock: FakeClock) -> None:
    await seed_assignments(ctx, clock, A1)
    people = await login_people(api, ctx)
    other = await api.user("CUSTOMER", fullName="Phạm Thị D")
    await make_assignment(ctx, None, SEED_BOOKING_TIME + timedelta(days=1), customer_id=other.id, code="BK00000001")

    mine = await api.get("/customer/bookings", token=people.customer.token)
    assert mine.status == 200 and mine.body["message"] == "Lấy danh sách đơn đặt lịch thành công"
    assert mine.body["totalItems"] == 1 and [b["bookingCode"] for b in mine.data] == ["BK62589569"]
    booking = mine.data[0]
    assert booking["assignments"][0]["assignmentId"] == A1
    assert booking["assignments"][0]["employeeName"] == "Trần Thị B" and booking["status"] == "CONFIRMED"
    theirs = await api.get("/customer/bookings", token=other.token)
    assert [b["bookingCode"] for b in theirs.data] == ["BK00000001"]
    # Asking for someone else's is not possible: the filter is for admins only.
    sneaky = await api.get(f"/customer/bookings?customerId={people.customer.id}", token=other.token)
    assert [b["bookingCode"] for b in sneaky.data] == ["BK00000001"]
    everything = await api.get("/customer/bookings", token=people.admin.token)
    assert everything.body["totalItems"] == 2
    one = await api.get(f"/customer/bookings?customerId={other.id}", token=people.admin.token)
    assert [b["bookingCode"] for b in one.data] == ["BK00000001"]
    employee = await api.get("/customer/bookings", token=people.employee.token)
    assert employee.status == 403
