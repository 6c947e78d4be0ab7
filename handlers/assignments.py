"""Home services: the seed's employee API, the customer's bookings, and the admin's bookings and assignments.

Under `/employee/...` every refusal is 400 (not found included), as the seed's contract has it; the
role and ownership refusals are the foundation's 403 bodies.
"""

from __future__ import annotations

from models import assignments, views
from server.area import Area
from server.http import Call, Reply, Routes
from server.roles import Role

routes = Routes(tag="home services")

EMPLOYEE_API = (Role.EMPLOYEE, Role.ADMIN)


@routes.get(
    "/employee/{employeeId}/assignments",
    roles=EMPLOYEE_API,
    query=assignments.AssignmentQuery,
    response=views.AssignmentItem,
    response_list=True,
    summary="An employee's assignments (their own; ADMIN: anyone's), newest booking first",
)
async def list_assignments(call: Call) -> Reply:
    items, total = await assignments.list_for_employee(call.ctx, call.user, call.path("employeeId"), call.query)
    return Reply(items, "assignment.listed", total=total)


@routes.post(
    "/employee/assignments/{assignmentId}/cancel",
    roles=EMPLOYEE_API,
    body=assignments.CancelRequest,
    response=views.NoData,
    summary="Cancel an ASSIGNED assignment, at least 2 hours before its start",
)
async def cancel(call: Call) -> Reply:
    await assignments.cancel_assignment(call.ctx, call.user, call.path("assignmentId"), call.body)
    return Reply(message_key="assignment.cancel_done")  # the seed's body carries no data


@routes.post(
    "/employee/assignments/{assignmentId}/check-in",
    roles=EMPLOYEE_API,
    response=views.AssignmentItem,
    summary="ASSIGNED → IN_PROGRESS (sets checkInTime)",
)
async def check_in(call: Call) -> Reply:
    return Reply(await assignments.check_in(call.ctx, call.user, call.path("assignmentId")), "assignment.check_in_done")


@routes.post(
    "/employee/assignments/{assignmentId}/check-out",
    roles=EMPLOYEE_API,
    response=views.AssignmentItem,
    summary="IN_PROGRESS → COMPLETED (sets checkOutTime)",
)
async def check_out(call: Call) -> Reply:
    return Reply(
        await assignments.check_out(call.ctx, call.user, call.path("assignmentId")), "assignment.check_out_done"
    )


@routes.get(
    "/customer/bookings",
    roles=(Role.CUSTOMER, Role.ADMIN),
    query=assignments.BookingQuery,
    response=views.ServiceBooking,
    response_list=True,
    summary="Your bookings with their assignments (ADMIN: all, or one customer's)",
)
async def customer_bookings(call: Call) -> Reply:
    items, total = await assignments.list_bookings(call.ctx, call.user, call.query)
    return Reply(items, "booking.listed", total=total)


@routes.post(
    "/admin/bookings",
    roles=(Role.ADMIN,),
    body=assignments.NewBooking,
    status=201,
    response=views.ServiceBooking,
    summary="Create a booking for a customer (a bookingCode like BK62589569 is generated)",
)
async def create_booking(call: Call) -> Reply:
    return Reply(await assignments.create_booking(call.ctx, call.body), "booking.created", status=201)


@routes.post(
    "/admin/bookings/{bookingId}/assignments",
    roles=(Role.ADMIN,),
    body=assignments.NewAssignment,
    status=201,
    response=views.AssignmentItem,
    summary="Assign an employee to a booking (notifies the employee)",
)
async def assign(call: Call) -> Reply:
    item = await assignments.assign_employee(call.ctx, call.path("bookingId"), call.body)
    return Reply(item, "assignment.assign_done", status=201)


area = Area(
    "assignments", routes=routes, room_checks={"assignment": assignments.may_watch}, indexes=assignments.INDEXES
)
