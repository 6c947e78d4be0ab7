"""Demo data: the seed documents' sample accounts, booking and assignments (`python run.py seed`).

Loading is idempotent: every record is written by its seed id, so seeding twice creates nothing
twice, and seeding again restores the demo state (passwords, statuses, times relative to now).

This is the domain half: `load_into(ctx)`. The command line (`app/seed.py`) decides where it runs.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from models import assignments, users
from server.context import Context
from server.errors import Conflict, DomainError
from server.passwords import hash_password
from server.roles import Role
from server.text import search_key

DEMO_PASSWORD = "Password123!"
CUSTOMER_ID = "a1000001-0000-0000-0000-000000000001"
EMPLOYEE_USER_ID = "a1000001-0000-0000-0000-000000000002"
ADMIN_ID = "a1000001-0000-0000-0000-000000000003"
EMPLOYEE_ID = "e1000001-0000-0000-0000-000000000001"

ACCOUNTS: list[dict[str, Any]] = [
    {
        "id": CUSTOMER_ID,
        "username": "john_doe",
        "email": "john_doe@example.com",
        "fullName": "Nguyễn Văn A",
        "phone": "0901234567",
        "role": Role.CUSTOMER,
    },
    {
        "id": EMPLOYEE_USER_ID,
        "username": "jane_smith",
        "email": "jane_smith@example.com",
        "fullName": "Trần Thị B",
        "phone": "0912345678",
        "role": Role.EMPLOYEE,
        "employeeId": EMPLOYEE_ID,
    },
    {
        "id": ADMIN_ID,
        "username": "admin_1",
        "email": "admin_1@example.com",
        "fullName": "Quản trị viên",
        "phone": "0987654321",
        "role": Role.ADMIN,
    },
]

ADDRESS = "123 Lê Trọng Tấn, Tây Thạnh, Tân Phú, TP. Hồ Chí Minh"
ASSIGNMENT_IDS = (
    "assg0001-0000-0000-0000-000000000001",
    "assg0002-0000-0000-0000-000000000002",
    "assg0003-0000-0000-0000-000000000003",
)


async def ensure_demo_accounts(ctx: Context) -> list[dict[str, Any]]:
    """john_doe, jane_smith, admin_1 with the seed's ids and DEMO_PASSWORD (reset when they exist)."""
    result = []
    for spec in ACCOUNTS:
        existing = await ctx.db[users.COLLECTION].find_one({"_id": spec["id"]})
        if existing is not None:
            fields = {
                "username": spec["username"],
                "usernameKey": spec["username"].lower(),
                "email": spec["email"],
                "fullName": spec["fullName"],
                "nameKey": search_key(spec["fullName"]),
                "phone": spec["phone"],
                "role": spec["role"],
                "passwordHash": await hash_password(ctx.settings, DEMO_PASSWORD),
            }
            if spec.get("employeeId"):
                fields["employeeId"] = spec["employeeId"]
            await ctx.db[users.COLLECTION].update_one({"_id": spec["id"]}, {"$set": fields})
            result.append(users.public_user({**existing, **fields}))
            continue
        data = users.NewUser(
            username=spec["username"],
            email=spec["email"],
            password=DEMO_PASSWORD,
            fullName=spec["fullName"],
            phone=spec["phone"],
            role=spec["role"],
        )
        try:
            result.append(await users.create_user(ctx, data, user_id=spec["id"], employee_id=spec.get("employeeId")))
        except Conflict:
            raise Conflict("demo.account_taken", username=spec["username"]) from None
    return result


def _at_local(day: datetime, hour: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day.astimezone(tz).date(), time(hour), tzinfo=tz)


def demo_records(now: datetime, tz_name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The seed's booking and assignments, with times relative to `now`:
    assg0001 ASSIGNED three days ahead at 10:00 (cancellable: TC_ASSIGNMENT_004),
    assg0002 COMPLETED yesterday (TC_ASSIGNMENT_006), assg0003 ASSIGNED in one hour (TC_ASSIGNMENT_007)."""
    tz = ZoneInfo(tz_name)
    now = now.replace(microsecond=0)
    utc = now.tzinfo

    def booking(
        n: int, code: str, service: str, at: datetime, status: str, note: str | None, created: datetime
    ) -> dict[str, Any]:
        return assignments.booking_document(
            booking_id=f"bk00000{n}-0000-0000-0000-00000000000{n}",
            booking_code=code,
            customer_id=CUSTOMER_ID,
            service_name=service,
            service_address=ADDRESS,
            booking_time=at.astimezone(utc),
            estimated_duration_hours=2.0,
            price_per_unit=350000.0,
            quantity=1,
            note=note,
            status=status,
            live_assignments=1,
            created_at=created,
        )

    first = booking(
        1,
        "BK62589569",
        "Tổng vệ sinh",
        _at_local(now + timedelta(days=3), 10, tz),
        "CONFIRMED",
        "Cần dọn dẹp kỹ lưỡng phòng khách và bếp",
        now,
    )
    yesterday = _at_local(now - timedelta(days=1), 8, tz).astimezone(utc)
    second = booking(2, "BK62589570", "Vệ sinh máy lạnh", yesterday, "COMPLETED", None, now - timedelta(days=3))
    soon = (now + timedelta(hours=1)).replace(second=0)
    third = booking(3, "BK62589571", "Dọn dẹp theo giờ", soon, "CONFIRMED", None, now - timedelta(days=1))

    employee = {"_id": EMPLOYEE_USER_ID, "employeeId": EMPLOYEE_ID}
    records = [
        assignments.assignment_document(first, employee, assignment_id=ASSIGNMENT_IDS[0], assigned_at=now),
        assignments.assignment_document(
            second,
            employee,
            assignment_id=ASSIGNMENT_IDS[1],
            assigned_at=now - timedelta(days=3),
            status="COMPLETED",
            check_in=yesterday + timedelta(minutes=5),
            check_out=yesterday + timedelta(hours=2, minutes=5),
        ),
        assignments.assignment_document(
            third, employee, assignment_id=ASSIGNMENT_IDS[2], assigned_at=now - timedelta(days=1)
        ),
    ]
    return [first, second, third], records


class DemoDataDisabled(DomainError):
    """The demo accounts have a published password (one of them an ADMIN): only where asked for."""

    status = 403


async def load_into(ctx: Context) -> dict[str, Any]:
    """Load the demo data through an open Context (the server's, or one opened by the CLI).

    Refused unless DEMO_DATA_ENABLED=true: on any other deployment it would create an ADMIN with a
    password everyone knows and reset two accounts' passwords to it."""
    if not ctx.settings.demo_data_enabled:
        raise DemoDataDisabled("demo.disabled")
    accounts = await ensure_demo_accounts(ctx)
    bookings, records = demo_records(ctx.clock.now(), ctx.settings.timezone)
    await assignments.put_demo_records(ctx, bookings, records)
    return {
        "accounts": [
            {
                "username": a["username"],
                "role": a["role"],
                "id": a["id"],
                **({"employeeId": a["employeeId"]} if a.get("employeeId") else {}),
            }
            for a in accounts
        ],
        "password": DEMO_PASSWORD,
        "bookings": [b["bookingCode"] for b in bookings],
        "assignments": [
            {
                "assignmentId": r["_id"],
                "status": r["status"],
                "bookingTime": assignments.local_text(r["bookingTime"], ctx.settings.timezone),
            }
            for r in records
        ],
    }
