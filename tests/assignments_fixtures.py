"""Fixture data for the home-services tests: the seed's people, booking and assignments.

The clock fixture stands at 2025-09-06 07:39:22Z, which is the seed's "assignedAt": "2025-09-06
14:39:22" in Asia/Ho_Chi_Minh; the seed's booking is 2025-09-12 10:00 there (03:00Z).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from models import assignments, demo
from models.assignments import NewAssignment, NewBooking
from server.auth import Principal
from server.clock import FakeClock
from server.context import Context
from tests.helpers import Api, User

SEED_NOW = datetime(2025, 9, 6, 7, 39, 22, tzinfo=UTC)
SEED_BOOKING_TIME = datetime(2025, 9, 12, 3, 0, tzinfo=UTC)
EMPLOYEE_ID = demo.EMPLOYEE_ID
A1, A2, A3 = demo.ASSIGNMENT_IDS
NOTE = "Cần dọn dẹp kỹ lưỡng phòng khách và bếp"
ADDRESS = "123 Lê Trọng Tấn, Tây Thạnh, Tân Phú, TP. Hồ Chí Minh"
CANCEL_BODY = {"reason": "Có việc đột xuất không thể tham gia", "note": "Xin lỗi quý khách vì sự bất tiện này"}
LIST_URL = f"/employee/{EMPLOYEE_ID}/assignments"

SEED_ITEM: dict[str, Any] = {
    "assignmentId": "assg0001-0000-0000-0000-000000000001",
    "bookingCode": "BK62589569",
    "serviceName": "Tổng vệ sinh",
    "customerName": "Nguyễn Văn A",
    "customerPhone": "0901234567",
    "serviceAddress": ADDRESS,
    "bookingTime": "2025-09-12 10:00:00",
    "estimatedDurationHours": 2.0,
    "pricePerUnit": 350000.00,
    "quantity": 1,
    "totalAmount": 350000.00,
    "status": "ASSIGNED",
    "assignedAt": "2025-09-06 14:39:22",
    "checkInTime": None,
    "checkOutTime": None,
    "note": NOTE,
}
SEED_LIST_BODY = {
    "success": True,
    "message": "Lấy danh sách công việc thành công",
    "data": [SEED_ITEM],
    "totalItems": 1,
}


def cancel_url(assignment_id: str) -> str:
    return f"/employee/assignments/{assignment_id}/cancel"


@dataclass
class People:
    customer: User  # john_doe
    employee: User  # jane_smith
    admin: User  # admin_1


async def login_people(api: Api, ctx: Context) -> People:
    """The seed's three accounts, with their seed ids, logged in at the clock's current time."""
    await demo.ensure_demo_accounts(ctx)
    return People(*[await api.login(name, demo.DEMO_PASSWORD) for name in ("john_doe", "jane_smith", "admin_1")])


async def make_assignment(
    ctx: Context,
    assignment_id: str | None,
    booking_time: datetime,
    *,
    employee_id: str = EMPLOYEE_ID,
    customer_id: str = demo.CUSTOMER_ID,
    code: str | None = None,
    service: str = "Tổng vệ sinh",
    note: str | None = NOTE,
    hours: float = 2.0,
) -> dict[str, Any]:
    """A booking and one assignment on it, through the model layer (seed ids kept verbatim)."""
    booking = await assignments.create_booking(
        ctx,
        NewBooking(
            customerId=customer_id,
            serviceName=service,
            serviceAddress=ADDRESS,
            bookingTime=booking_time,
            estimatedDurationHours=hours,
            pricePerUnit=350000,
            quantity=1,
            note=note,
        ),
        booking_code=code,
    )
    item = await assignments.assign_employee(
        ctx, booking["id"], NewAssignment(employeeId=employee_id), assignment_id=assignment_id
    )
    return {**item, "bookingId": booking["id"]}


def employee_principal(user_id: str = demo.EMPLOYEE_USER_ID) -> Principal:
    return Principal(id=user_id, role="EMPLOYEE", jti="fixture", family="fixture", expires_at=0)


async def seed_assignments(ctx: Context, clock: FakeClock, *which: str) -> None:
    """The seed's assignments of jane_smith as its cases need them (clock left at SEED_NOW):
    A1 ASSIGNED on 2025-09-12 10:00 local, A2 COMPLETED yesterday, A3 ASSIGNED one hour from now."""
    clock.set(SEED_NOW)
    await demo.ensure_demo_accounts(ctx)
    if A1 in which:
        await make_assignment(ctx, A1, SEED_BOOKING_TIME, code="BK62589569")
    if A2 in which:  # booked, worked and finished yesterday
        start = SEED_NOW - timedelta(days=1)
        clock.set(start - timedelta(days=2))
        await make_assignment(ctx, A2, start, code="BK62589570", service="Vệ sinh máy lạnh", note=None)
        clock.set(start)
        await assignments.check_in(ctx, employee_principal(), A2)
        clock.advance(hours=2)
        await assignments.check_out(ctx, employee_principal(), A2)
        clock.set(SEED_NOW)
    if A3 in which:
        await make_assignment(
            ctx, A3, SEED_NOW + timedelta(hours=1), code="BK62589571", service="Dọn dẹp theo giờ", note=None
        )
