"""A booking completes only when its last open assignment closes, even while another is being added.

`assign_employee` counts the new assignment on the booking before it inserts it. A check-out that
decided by counting the open assignment documents could run in between, see none, and complete a
booking that is about to have a working employee. The store's random interleaving (conftest)
opens that window; racing an assignment against a check-out on many bookings makes it certain.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from models import assignments, demo
from models.assignments import ASSIGNMENTS, BOOKINGS, NewAssignment
from models.users import COLLECTION as USERS
from server.clock import FakeClock
from server.context import Context
from server.errors import RuleViolation
from tests.assignments_fixtures import SEED_NOW, employee_principal, make_assignment
from tests.helpers import Api

RACES = 10


async def test_a_booking_completes_only_when_its_last_open_assignment_closes(
    api: Api, ctx: Context, clock: FakeClock
) -> None:
    clock.set(SEED_NOW)
    await demo.ensure_demo_accounts(ctx)
    newcomers = [await api.user("EMPLOYEE") for _ in range(RACES)]
    newcomer_ids = [(await ctx.db[USERS].find_one({"_id": u.id}))["employeeId"] for u in newcomers]
    # jane_smith works on every booking (3 h apart) and has checked in.
    items = [await make_assignment(ctx, None, SEED_NOW + timedelta(days=1, hours=3 * i)) for i in range(RACES)]
    for item in items:
        await assignments.check_in(ctx, employee_principal(), item["assignmentId"])

    async def assign(booking_id: str, employee_id: str) -> dict[str, Any] | None:
        try:
            return await assignments.assign_employee(ctx, booking_id, NewAssignment(employeeId=employee_id))
        except RuleViolation:  # the check-out completed the booking first: nothing to assign to
            return None

    outcomes = await asyncio.gather(
        *(assign(item["bookingId"], eid) for item, eid in zip(items, newcomer_ids, strict=True)),
        *(assignments.check_out(ctx, employee_principal(), item["assignmentId"]) for item in items),
    )
    for item, assigned in zip(items, outcomes[:RACES], strict=True):
        booking = await ctx.db[BOOKINGS].find_one({"_id": item["bookingId"]})
        still_open = await ctx.db[ASSIGNMENTS].count_documents(
            {"bookingId": item["bookingId"], "status": {"$in": ["ASSIGNED", "IN_PROGRESS"]}}
        )
        assert still_open == (1 if assigned else 0)
        assert booking["status"] == ("IN_PROGRESS" if assigned else "COMPLETED"), (booking["status"], assigned)

    # The newcomers' check-outs close the last open assignments: now every booking completes.
    for user, assigned in zip(newcomers, outcomes[:RACES], strict=True):
        if assigned:
            worker = employee_principal(user.id)
            await assignments.check_in(ctx, worker, assigned["assignmentId"])
            await assignments.check_out(ctx, worker, assigned["assignmentId"])
    assert await ctx.db[BOOKINGS].count_documents({"status": "COMPLETED"}) == RACES
