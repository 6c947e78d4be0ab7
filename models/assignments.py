"""Home services: bookings and the employees assigned to them (the seed's employee API).

Documents
- `bookings`: what a customer ordered: `{_id, bookingCode, customerId, serviceName, serviceAddress,
  bookingTime, estimatedDurationHours, pricePerUnit, quantity, note, status, liveAssignments, ...}`.
  `liveAssignments` counts its assignments that are not CANCELLED: the booking turns CANCELLED by
  one conditional update when that count reaches 0, and assigning refuses a CANCELLED booking, so
  a cancellation racing a new assignment cannot leave a cancelled booking with a working employee.
  `openAssignments` counts those still ASSIGNED or IN_PROGRESS: assigning raises it before the
  assignment exists, closing one (check-out, cancel) lowers it, and the booking turns COMPLETED by
  one update conditional on it being 0. Counting the open assignments instead would miss one that
  is counted but not yet inserted, and complete a booking that still has work to do.
- `assignments`: one employee on one booking. It carries a copy of the booking's fields it shows
  and decides on (code, service, address, time, duration, price, quantity, note): the 2-hour rule
  is then part of the cancel's single conditional update, and an employee's list is one sorted,
  paged query. Bookings are never edited after creation, so the copies cannot drift (a future
  "reschedule" must update both).
- `employee_calendars`: `{_id: employeeId, busy: [{assignmentId, start, end, reservedAt}]}`. Assigning
  pushes the job's interval only where no busy interval overlaps it (one single-document condition),
  so no employee is given two jobs at once, however many admins assign concurrently.

Assigning and cancelling write several documents one after another (calendar, booking counter,
assignment); a crash between them is repaired by `models.reconcile`, which rebuilds calendars,
counters and booking statuses from the assignments.

Times are stored as aware UTC datetimes; the `/employee` API shows them as `yyyy-MM-dd HH:mm:ss`
in `TIMEZONE`, the rest of the API as ISO 8601 UTC.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models import users
from models.notifications import notify
from server.auth import Principal
from server.clock import as_utc
from server.context import Context
from server.documents import absent
from server.errors import Conflict, Forbidden, NotFound, RuleViolation
from server.faults import crash_point
from server.indexes import IndexSpec
from server.paging import PageQuery, fetch_page, mongo_sort
from server.realtime import role_room, user_rooms
from server.roles import Role
from server.validation import UtcDatetime, required_text

BOOKINGS = "bookings"
ASSIGNMENTS = "assignments"
CALENDARS = "employee_calendars"

INDEXES: list[IndexSpec] = [
    (BOOKINGS, [("bookingCode", 1)], {"unique": True}),
    (BOOKINGS, [("customerId", 1), ("bookingTime", -1), ("_id", 1)], {}),
    (BOOKINGS, [("bookingTime", -1), ("_id", 1)], {}),  # the ADMIN list of all bookings
    (ASSIGNMENTS, [("employeeId", 1), ("bookingTime", -1), ("_id", 1)], {}),
    (ASSIGNMENTS, [("bookingId", 1)], {}),
]


class AssignmentStatus(StrEnum):
    ASSIGNED = "ASSIGNED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class BookingStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


ASSIGNMENT_STATUSES = tuple(AssignmentStatus)
CLOSED_BOOKING = [BookingStatus.CANCELLED, BookingStatus.COMPLETED]
CANCEL_CUTOFF = timedelta(hours=2)  # the seed's message says "2 giờ": change both together
BOOKING_CODE_ATTEMPTS = 8

# Public sort fields of an employee's list -> stored fields. The default puts the furthest booking
# first (Spring's `sort=bookingTime,desc`): upcoming work leads, past work sinks to the last pages.
ASSIGNMENT_SORTS = {
    "bookingTime": "bookingTime",
    "assignedAt": "assignedAt",
    "status": "status",
    "checkInTime": "checkInTime",
    "checkOutTime": "checkOutTime",
}
ASSIGNMENT_ORDER = [("bookingTime", -1)]
BOOKING_SORTS = {"bookingTime": "bookingTime", "createdAt": "createdAt", "status": "status"}
BOOKING_ORDER = [("bookingTime", -1)]


# ---------------------------------------------------------------- shapes crossing the boundary


class AssignmentQuery(PageQuery):
    status: str | None = Field(
        None,
        description="ASSIGNED, IN_PROGRESS, COMPLETED or CANCELLED; "
        "any other value is ignored (all statuses come back)",
    )


class CancelRequest(BaseModel):
    # Unknown fields are ignored, as the seed's (Spring) API does.
    model_config = ConfigDict(extra="ignore")

    reason: str | None = Field(None, max_length=500, validate_default=True)
    note: str | None = Field(None, max_length=1000)

    @field_validator("reason")
    @classmethod
    def _reason_required(cls, value: str | None) -> str:
        return required_text(value, "assignment.reason_required")


class NewBooking(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    customerId: str = Field(min_length=1, max_length=100)
    serviceName: str = Field(min_length=1, max_length=200)
    serviceAddress: str = Field(min_length=1, max_length=500)
    bookingTime: UtcDatetime = Field(description="ISO 8601; without an offset it is read as UTC")
    estimatedDurationHours: float = Field(gt=0, le=24, allow_inf_nan=False)
    pricePerUnit: float = Field(ge=0, le=1e12, allow_inf_nan=False)
    quantity: int = Field(1, ge=1, le=1000)
    note: str | None = Field(None, max_length=2000)

    @field_validator("bookingTime")
    @classmethod
    def _utc_millis(cls, value: datetime) -> datetime:
        value = as_utc(value).astimezone(UTC)
        return value.replace(microsecond=value.microsecond // 1000 * 1000)


class NewAssignment(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    employeeId: str = Field(min_length=1, max_length=100, description="the employee's employeeId (not the account id)")


class BookingQuery(PageQuery):
    status: BookingStatus | None = None
    customerId: str | None = Field(None, description="ADMIN only: one customer's bookings")


# ---------------------------------------------------------------- presentation


def local_text(moment: datetime | None, tz: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> str | None:
    """The seed's `yyyy-MM-dd HH:mm:ss`, in the configured TIMEZONE."""
    return None if moment is None else as_utc(moment).astimezone(ZoneInfo(tz)).strftime(fmt)


def _money(value: float) -> float:
    return float(round(value, 2))


def assignment_item(doc: dict[str, Any], customer: dict[str, Any] | None, tz: str) -> dict[str, Any]:
    """An assignment exactly as the seed shows it (field for field, in its order)."""
    return {
        "assignmentId": doc["_id"],
        "bookingCode": doc["bookingCode"],
        "serviceName": doc["serviceName"],
        "customerName": customer["fullName"] if customer else None,
        "customerPhone": customer.get("phone") if customer else None,
        "serviceAddress": doc["serviceAddress"],
        "bookingTime": local_text(doc["bookingTime"], tz),
        "estimatedDurationHours": float(doc["estimatedDurationHours"]),
        "pricePerUnit": _money(doc["pricePerUnit"]),
        "quantity": int(doc["quantity"]),
        "totalAmount": _money(doc["pricePerUnit"] * doc["quantity"]),
        "status": doc["status"],
        "assignedAt": local_text(doc["assignedAt"], tz),
        "checkInTime": local_text(doc.get("checkInTime"), tz),
        "checkOutTime": local_text(doc.get("checkOutTime"), tz),
        "note": doc.get("note"),
    }


def booking_view(
    doc: dict[str, Any], assignments: list[dict[str, Any]], people: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """A booking as its customer (and admins) see it: ISO UTC times, with its assignments."""

    def assignment(a: dict[str, Any]) -> dict[str, Any]:
        employee = people.get(a["employeeUserId"]) or {}
        return {
            "assignmentId": a["_id"],
            "employeeId": a["employeeId"],
            "employeeName": employee.get("fullName"),
            "employeePhone": employee.get("phone"),
            "status": a["status"],
            "assignedAt": a["assignedAt"],
            "checkInTime": a.get("checkInTime"),
            "checkOutTime": a.get("checkOutTime"),
            "cancelledAt": a.get("cancelledAt"),
            "cancelReason": a.get("cancelReason"),
            "cancelNote": a.get("cancelNote"),
        }

    return {
        "id": doc["_id"],
        "bookingCode": doc["bookingCode"],
        "customerId": doc["customerId"],
        "serviceName": doc["serviceName"],
        "serviceAddress": doc["serviceAddress"],
        "bookingTime": as_utc(doc["bookingTime"]),
        "estimatedDurationHours": float(doc["estimatedDurationHours"]),
        "pricePerUnit": _money(doc["pricePerUnit"]),
        "quantity": int(doc["quantity"]),
        "totalAmount": _money(doc["pricePerUnit"] * doc["quantity"]),
        "note": doc.get("note"),
        "status": doc["status"],
        "createdAt": as_utc(doc["createdAt"]),
        "assignments": [assignment(a) for a in assignments],
    }


async def _items(ctx: Context, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    customers = await users.users_by_ids(ctx, [d["customerId"] for d in docs])
    return [assignment_item(d, customers.get(d["customerId"]), ctx.settings.timezone) for d in docs]


# ---------------------------------------------------------------- documents


def booking_document(
    *,
    booking_id: str,
    booking_code: str,
    customer_id: str,
    service_name: str,
    service_address: str,
    booking_time: datetime,
    estimated_duration_hours: float,
    price_per_unit: float,
    quantity: int,
    note: str | None,
    status: str,
    live_assignments: int,
    created_at: datetime,
    open_assignments: int | None = None,
) -> dict[str, Any]:
    return {
        "_id": booking_id,
        "bookingCode": booking_code,
        "customerId": customer_id,
        "serviceName": service_name,
        "serviceAddress": service_address,
        "bookingTime": booking_time,
        "estimatedDurationHours": float(estimated_duration_hours),
        "pricePerUnit": _money(price_per_unit),
        "quantity": int(quantity),
        "note": note,
        "status": status,
        "liveAssignments": live_assignments,
        "openAssignments": live_assignments if open_assignments is None else open_assignments,
        "createdAt": created_at,
        "updatedAt": created_at,
    }


_BOOKING_COPY = (
    "bookingCode",
    "customerId",
    "serviceName",
    "serviceAddress",
    "bookingTime",
    "estimatedDurationHours",
    "pricePerUnit",
    "quantity",
    "note",
)


def assignment_document(
    booking: dict[str, Any],
    employee: dict[str, Any],
    *,
    assignment_id: str,
    assigned_at: datetime,
    status: str = AssignmentStatus.ASSIGNED,
    check_in: datetime | None = None,
    check_out: datetime | None = None,
) -> dict[str, Any]:
    return {
        "_id": assignment_id,
        "bookingId": booking["_id"],
        **{k: booking[k] for k in _BOOKING_COPY},
        "employeeId": employee["employeeId"],
        "employeeUserId": employee["_id"],
        "status": status,
        "assignedAt": assigned_at,
        "checkInTime": check_in,
        "checkOutTime": check_out,
        "cancelledAt": None,
        "cancelReason": None,
        "cancelNote": None,
        "cancelledBy": None,
        "updatedAt": assigned_at,
    }


def _interval(doc: dict[str, Any]) -> tuple[datetime, datetime]:
    start = as_utc(doc["bookingTime"])
    return start, start + timedelta(hours=float(doc["estimatedDurationHours"]))


# ---------------------------------------------------------------- employees and their calendars


async def employee_by_employee_id(ctx: Context, employee_id: str) -> dict[str, Any] | None:
    return await ctx.db[users.COLLECTION].find_one({"employeeId": employee_id, "role": Role.EMPLOYEE})


async def _reserve(ctx: Context, employee_id: str, assignment_id: str, start: datetime, end: datetime) -> None:
    """Put the job in the employee's calendar, only where no busy interval overlaps it (409 if one does)."""
    calendars = ctx.db[CALENDARS]
    # Housekeeping: finished intervals can no longer overlap anything assignable (bookings are future).
    await calendars.update_one({"_id": employee_id}, {"$pull": {"busy": {"end": {"$lt": ctx.clock.now()}}}})
    entry = {"assignmentId": assignment_id, "start": start, "end": end, "reservedAt": ctx.clock.now()}
    free = {"_id": employee_id, "busy": {"$not": {"$elemMatch": {"start": {"$lt": end}, "end": {"$gt": start}}}}}
    for _ in range(2):  # a first upsert racing another for a new calendar loses once with a duplicate key
        try:
            await calendars.find_one_and_update(free, {"$push": {"busy": entry}}, upsert=True)
            return
        except DuplicateKeyError:
            continue
    raise Conflict("assignment.employee_busy")


async def _release(ctx: Context, employee_id: str, assignment_id: str) -> None:
    await ctx.db[CALENDARS].update_one({"_id": employee_id}, {"$pull": {"busy": {"assignmentId": assignment_id}}})


# ---------------------------------------------------------------- admin: bookings and assignments


def _new_booking_code() -> str:
    """`BK` + 8 digits, like the seed's BK62589569. Uniqueness is the index's; this only picks."""
    return "BK" + f"{secrets.randbelow(10**8):08d}"


async def create_booking(
    ctx: Context, data: NewBooking, *, booking_id: str | None = None, booking_code: str | None = None
) -> dict[str, Any]:
    customer = await ctx.db[users.COLLECTION].find_one({"_id": data.customerId, "role": Role.CUSTOMER})
    if customer is None:
        raise NotFound("booking.customer_not_found")
    now = ctx.clock.now()
    if data.bookingTime <= now:
        raise RuleViolation("booking.time_in_past")
    for attempt in range(BOOKING_CODE_ATTEMPTS):
        doc = booking_document(
            booking_id=booking_id or str(uuid.uuid4()),
            booking_code=booking_code or _new_booking_code(),
            customer_id=data.customerId,
            service_name=data.serviceName,
            service_address=data.serviceAddress,
            booking_time=data.bookingTime,
            estimated_duration_hours=data.estimatedDurationHours,
            price_per_unit=data.pricePerUnit,
            quantity=data.quantity,
            note=data.note,
            status=BookingStatus.PENDING,
            live_assignments=0,
            created_at=now,
        )
        try:
            await ctx.db[BOOKINGS].insert_one(doc)
            return booking_view(doc, [], {})
        except DuplicateKeyError:
            if booking_code or booking_id or attempt == BOOKING_CODE_ATTEMPTS - 1:
                raise Conflict("booking.duplicate") from None
    raise Conflict("booking.duplicate")  # pragma: no cover


async def assign_employee(
    ctx: Context, booking_id: str, data: NewAssignment, *, assignment_id: str | None = None
) -> dict[str, Any]:
    """Put an employee on a booking (status ASSIGNED) and tell them."""
    booking = await ctx.db[BOOKINGS].find_one({"_id": booking_id})
    if booking is None:
        raise NotFound("booking.not_found")
    employee = await employee_by_employee_id(ctx, data.employeeId)
    if employee is None:
        raise NotFound("assignment.employee_not_found")
    now = ctx.clock.now()
    if booking["status"] in CLOSED_BOOKING:
        raise RuleViolation("booking.not_assignable")
    if as_utc(booking["bookingTime"]) <= now:
        raise RuleViolation("booking.already_started")

    assignment_id = assignment_id or str(uuid.uuid4())
    start, end = _interval(booking)
    await _reserve(ctx, data.employeeId, assignment_id, start, end)
    crash_point(ctx, "assignment.reserved")
    counted = await ctx.db[BOOKINGS].find_one_and_update(
        {"_id": booking_id, "status": {"$nin": CLOSED_BOOKING}},
        {"$inc": {"liveAssignments": 1, "openAssignments": 1}, "$set": {"updatedAt": now}},
    )
    if counted is None:  # cancelled or completed meanwhile
        await _release(ctx, data.employeeId, assignment_id)
        raise RuleViolation("booking.not_assignable")
    crash_point(ctx, "assignment.counted")
    doc = assignment_document(booking, employee, assignment_id=assignment_id, assigned_at=now)
    try:
        await ctx.db[ASSIGNMENTS].insert_one(doc)
    except DuplicateKeyError:
        await ctx.db[BOOKINGS].update_one({"_id": booking_id}, {"$inc": {"liveAssignments": -1, "openAssignments": -1}})
        await _release(ctx, data.employeeId, assignment_id)
        raise Conflict("assignment.duplicate") from None
    except BaseException:
        # The reply may be lost while the write happened: undo only what is known not to be booked.
        if await absent(ctx.db[ASSIGNMENTS], assignment_id):
            undo = {"$inc": {"liveAssignments": -1, "openAssignments": -1}}
            await ctx.db[BOOKINGS].update_one({"_id": booking_id}, undo)
            await _release(ctx, data.employeeId, assignment_id)
        raise
    crash_point(ctx, "assignment.inserted")
    await ctx.db[BOOKINGS].update_one(
        {"_id": booking_id, "status": BookingStatus.PENDING},
        {"$set": {"status": BookingStatus.CONFIRMED, "updatedAt": now}},
    )

    customer = await ctx.db[users.COLLECTION].find_one({"_id": doc["customerId"]})
    item = assignment_item(doc, customer, ctx.settings.timezone)
    await notify(
        ctx,
        [employee["_id"]],
        "assignment.assigned",
        params=_notice_params(ctx, doc),
        data={"assignmentId": doc["_id"], "bookingId": booking_id, "bookingCode": doc["bookingCode"]},
    )
    await _announce(ctx, doc, item)
    return item


# ---------------------------------------------------------------- the employee API


async def _ensure_may_read_employee(ctx: Context, principal: Principal, employee_id: str) -> None:
    if principal.is_admin:
        if await employee_by_employee_id(ctx, employee_id) is None:
            raise RuleViolation("assignment.employee_not_found")
        return
    me = await ctx.db[users.COLLECTION].find_one({"_id": principal.id}, {"employeeId": 1})
    if not me or me.get("employeeId") != employee_id:
        raise Forbidden()


def status_filter(value: str | None) -> str | None:
    """A known status filters; anything else is ignored, as the seed's TC_ASSIGNMENT_003 requires."""
    status = (value or "").strip().upper()
    return status if status in ASSIGNMENT_STATUSES else None


async def list_for_employee(
    ctx: Context, principal: Principal, employee_id: str, query: AssignmentQuery
) -> tuple[list[dict[str, Any]], int]:
    await _ensure_may_read_employee(ctx, principal, employee_id)
    where: dict[str, Any] = {"employeeId": employee_id}
    status = status_filter(query.status)
    if status:
        where["status"] = status
    order = mongo_sort(query.sort, ASSIGNMENT_SORTS, ASSIGNMENT_ORDER)
    docs, total = await fetch_page(ctx.db[ASSIGNMENTS], where, query, order)
    return await _items(ctx, docs), total


async def _refusal(
    ctx: Context,
    principal: Principal,
    assignment_id: str,
    expected: str,
    state_key: str,
    cutoff_from: datetime | None = None,
) -> Exception:
    """Why a conditional update matched nothing, checked in the contract's order:
    not found (400) → not yours (403) → wrong state (400) → too close to the start (400)."""
    doc = await ctx.db[ASSIGNMENTS].find_one({"_id": assignment_id})
    if doc is None:
        return RuleViolation("assignment.not_found")
    if not principal.is_admin and doc.get("employeeUserId") != principal.id:
        return Forbidden()
    if doc["status"] != expected:
        return RuleViolation(state_key)
    if cutoff_from is not None and as_utc(doc["bookingTime"]) < cutoff_from + CANCEL_CUTOFF:
        return RuleViolation("assignment.cancel_too_late")
    return RuleViolation(state_key)  # it changed between the update and this read


def _owned(principal: Principal, where: dict[str, Any]) -> dict[str, Any]:
    return where if principal.is_admin else {**where, "employeeUserId": principal.id}


async def cancel_assignment(
    ctx: Context, principal: Principal, assignment_id: str, request: CancelRequest
) -> dict[str, Any]:
    """ASSIGNED → CANCELLED, at least 2 hours before the booking time; tells the customer and admins."""
    now = ctx.clock.now()
    doc = await ctx.db[ASSIGNMENTS].find_one_and_update(
        _owned(
            principal,
            {"_id": assignment_id, "status": AssignmentStatus.ASSIGNED, "bookingTime": {"$gte": now + CANCEL_CUTOFF}},
        ),
        {
            "$set": {
                "status": AssignmentStatus.CANCELLED,
                "cancelledAt": now,
                "cancelReason": request.reason,
                "cancelNote": request.note,
                "cancelledBy": principal.id,
                "updatedAt": now,
            }
        },
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        raise await _refusal(
            ctx,
            principal,
            assignment_id,
            AssignmentStatus.ASSIGNED,
            "assignment.cancel_requires_assigned",
            cutoff_from=now,
        )

    crash_point(ctx, "assignment.cancelled")
    await _release(ctx, doc["employeeId"], doc["_id"])
    booking = await ctx.db[BOOKINGS].find_one_and_update(
        {"_id": doc["bookingId"]},
        {"$inc": {"liveAssignments": -1, "openAssignments": -1}, "$set": {"updatedAt": now}},
        return_document=ReturnDocument.AFTER,
    )
    if booking is not None and booking["liveAssignments"] <= 0:
        # Conditional on the count: an assignment added meanwhile keeps the booking alive.
        await ctx.db[BOOKINGS].update_one(
            {"_id": doc["bookingId"], "liveAssignments": {"$lte": 0}, "status": {"$ne": BookingStatus.CANCELLED}},
            {"$set": {"status": BookingStatus.CANCELLED, "cancelledAt": now, "updatedAt": now}},
        )
    elif booking is not None and booking.get("openAssignments", 1) <= 0:  # the others are all done
        await _complete_if_none_open(ctx, doc["bookingId"], now)

    people = await users.users_by_ids(ctx, [doc["customerId"], doc["employeeUserId"]])
    item = assignment_item(doc, people.get(doc["customerId"]), ctx.settings.timezone)
    employee = people.get(doc["employeeUserId"]) or {}
    refs = {"assignmentId": doc["_id"], "bookingId": doc["bookingId"], "bookingCode": doc["bookingCode"]}
    params = _notice_params(ctx, doc)
    await notify(ctx, [doc["customerId"]], "assignment.cancelled", params=params, data={**refs, "note": request.note})
    await notify(
        ctx,
        None,
        "assignment.cancelled_alert",
        role=Role.ADMIN,
        params={**params, "employeeName": employee.get("fullName") or doc["employeeId"], "reason": request.reason},
        data={**refs, "employeeId": doc["employeeId"], "reason": request.reason, "note": request.note},
    )
    await _announce(ctx, doc, item, role_room(Role.ADMIN))
    return item


async def _advance(
    ctx: Context,
    principal: Principal,
    assignment_id: str,
    expected: str,
    status: str,
    time_field: str,
    refusal_key: str,
) -> dict[str, Any]:
    """One conditional update from `expected` to `status`, stamping `time_field`; else say why."""
    now = ctx.clock.now()
    doc = await ctx.db[ASSIGNMENTS].find_one_and_update(
        _owned(principal, {"_id": assignment_id, "status": expected}),
        {"$set": {"status": status, time_field: now, "updatedAt": now}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        raise await _refusal(ctx, principal, assignment_id, expected, refusal_key)
    return doc


async def check_in(ctx: Context, principal: Principal, assignment_id: str) -> dict[str, Any]:
    """ASSIGNED → IN_PROGRESS: the employee has arrived."""
    doc = await _advance(
        ctx,
        principal,
        assignment_id,
        AssignmentStatus.ASSIGNED,
        AssignmentStatus.IN_PROGRESS,
        "checkInTime",
        "assignment.check_in_requires_assigned",
    )
    await ctx.db[BOOKINGS].update_one(
        {"_id": doc["bookingId"], "status": {"$in": [BookingStatus.PENDING, BookingStatus.CONFIRMED]}},
        {"$set": {"status": BookingStatus.IN_PROGRESS, "updatedAt": doc["updatedAt"]}},
    )
    return await _progressed(ctx, doc, "assignment.started")


async def check_out(ctx: Context, principal: Principal, assignment_id: str) -> dict[str, Any]:
    """IN_PROGRESS → COMPLETED; the booking completes when none of its assignments is still open."""
    doc = await _advance(
        ctx,
        principal,
        assignment_id,
        AssignmentStatus.IN_PROGRESS,
        AssignmentStatus.COMPLETED,
        "checkOutTime",
        "assignment.check_out_requires_in_progress",
    )
    now = doc["updatedAt"]
    booking = await ctx.db[BOOKINGS].find_one_and_update(
        {"_id": doc["bookingId"]},
        {"$inc": {"openAssignments": -1}, "$set": {"updatedAt": now}},
        projection={"openAssignments": 1},
        return_document=ReturnDocument.AFTER,
    )
    if booking is not None and booking["openAssignments"] <= 0:
        await _complete_if_none_open(ctx, doc["bookingId"], now)
    return await _progressed(ctx, doc, "assignment.completed")


async def _complete_if_none_open(ctx: Context, booking_id: str, now: datetime) -> None:
    """COMPLETED, conditional on the open count: an assignment added meanwhile (counted before it
    is inserted) keeps the booking open."""
    await ctx.db[BOOKINGS].update_one(
        {"_id": booking_id, "openAssignments": {"$lte": 0}, "status": {"$nin": CLOSED_BOOKING}},
        {"$set": {"status": BookingStatus.COMPLETED, "completedAt": now, "updatedAt": now}},
    )


async def _progressed(ctx: Context, doc: dict[str, Any], kind: str) -> dict[str, Any]:
    people = await users.users_by_ids(ctx, [doc["customerId"], doc["employeeUserId"]])
    item = assignment_item(doc, people.get(doc["customerId"]), ctx.settings.timezone)
    employee = people.get(doc["employeeUserId"]) or {}
    await notify(
        ctx,
        [doc["customerId"]],
        kind,
        params={**_notice_params(ctx, doc), "employeeName": employee.get("fullName") or doc["employeeId"]},
        data={"assignmentId": doc["_id"], "bookingId": doc["bookingId"], "bookingCode": doc["bookingCode"]},
    )
    await _announce(ctx, doc, item)
    return item


def _notice_params(ctx: Context, doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "bookingCode": doc["bookingCode"],
        "serviceName": doc["serviceName"],
        "serviceAddress": doc["serviceAddress"],
        "bookingTime": local_text(doc["bookingTime"], ctx.settings.timezone, "%Y-%m-%d %H:%M"),
    }


async def _announce(ctx: Context, doc: dict[str, Any], item: dict[str, Any], *extra_rooms: str) -> None:
    """`assignment:updated` to the employee, the customer and the assignment's watchers."""
    rooms = [*user_rooms([doc["employeeUserId"], doc["customerId"]]), f"assignment:{doc['_id']}", *extra_rooms]
    await ctx.realtime.emit("assignment:updated", item, rooms)


async def may_watch(ctx: Context, principal: Principal, assignment_id: str) -> bool:
    """Who may join `assignment:<id>`: its employee, its customer, ADMIN."""
    if principal.is_admin:
        return True
    doc = await ctx.db[ASSIGNMENTS].find_one({"_id": assignment_id}, {"employeeUserId": 1, "customerId": 1})
    return doc is not None and principal.id in (doc["employeeUserId"], doc["customerId"])


# ---------------------------------------------------------------- the customer's view


async def list_bookings(ctx: Context, principal: Principal, query: BookingQuery) -> tuple[list[dict[str, Any]], int]:
    """A customer's own bookings with their assignments; ADMIN sees every booking (or one customer's)."""
    where: dict[str, Any] = {}
    if principal.is_admin:
        if query.customerId:
            where["customerId"] = query.customerId
    else:
        where["customerId"] = principal.id
    if query.status:
        where["status"] = query.status
    order = mongo_sort(query.sort, BOOKING_SORTS, BOOKING_ORDER)
    bookings, total = await fetch_page(ctx.db[BOOKINGS], where, query, order)
    assignments = await (
        ctx.db[ASSIGNMENTS]
        .find({"bookingId": {"$in": [b["_id"] for b in bookings]}})
        .sort([("assignedAt", 1), ("_id", 1)])
        .to_list(None)
    )
    people = await users.users_by_ids(ctx, [a["employeeUserId"] for a in assignments])
    by_booking: dict[str, list[dict[str, Any]]] = {}
    for a in assignments:
        by_booking.setdefault(a["bookingId"], []).append(a)
    return [booking_view(b, by_booking.get(b["_id"], []), people) for b in bookings], total


# ---------------------------------------------------------------- seed / demo data


async def put_demo_records(ctx: Context, bookings: list[dict[str, Any]], assignments: list[dict[str, Any]]) -> None:
    """Write seed documents as they are (upsert by id: loading twice creates nothing twice), keeping
    each booking's live count and each employee's calendar in step with the assignments."""
    for booking in bookings:
        own = [a for a in assignments if a["bookingId"] == booking["_id"]]
        live = sum(1 for a in own if a["status"] != AssignmentStatus.CANCELLED)
        still_open = sum(1 for a in own if a["status"] in (AssignmentStatus.ASSIGNED, AssignmentStatus.IN_PROGRESS))
        await ctx.db[BOOKINGS].replace_one(
            {"_id": booking["_id"]},
            {**booking, "liveAssignments": live, "openAssignments": still_open},
            upsert=True,
        )
    for assignment in assignments:
        await ctx.db[ASSIGNMENTS].replace_one({"_id": assignment["_id"]}, assignment, upsert=True)
    by_employee: dict[str, list[dict[str, Any]]] = {}
    for assignment in assignments:
        by_employee.setdefault(assignment["employeeId"], []).append(assignment)
    for employee_id, own in by_employee.items():
        await ctx.db[CALENDARS].update_one(
            {"_id": employee_id}, {"$pull": {"busy": {"assignmentId": {"$in": [a["_id"] for a in own]}}}}, upsert=True
        )
        busy = [
            {"assignmentId": a["_id"], "start": _interval(a)[0], "end": _interval(a)[1]}
            for a in own
            if a["status"] in (AssignmentStatus.ASSIGNED, AssignmentStatus.IN_PROGRESS)
        ]
        if busy:
            await ctx.db[CALENDARS].update_one({"_id": employee_id}, {"$push": {"busy": {"$each": busy}}})
