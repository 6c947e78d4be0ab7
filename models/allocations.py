"""Resource allocation: the rooms, projectors, labs... an approved request holds for its window.

Each resource has one calendar document in `resource_calendars`, keyed `<kind>:<resourceId>`
(`models.calendars.Calendar`), so "no two APPROVED requests hold a resource for overlapping windows"
is a single-document condition per resource: of any number of concurrent reservations of one
resource for overlapping windows exactly one succeeds, in any process.

Several resources are reserved one by one, always in the same (sorted) order. When one is taken,
the ones this call already took are released before the refusal goes out, so no half-reserved set
stays behind. The fixed order makes two approvals that want the same resources meet at the first
one they share: one of them gets the whole set, rather than each taking a part and both failing.

A clean-up releases only the resources this call took, and pulls only entries tagged with this
call's `attemptId` (a uuid per call of `reserve_all`, kept as the approval's `allocationId` when
it wins): two managers approving the same request at once cannot free each other's reservation,
and the entries of an attempt whose process died before its transition can be told from the
approved ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from models.calendars import Calendar
from server.context import Context
from server.errors import Conflict

RESOURCES = Calendar("resource_calendars")


def resource_key(kind: str, resource_id: str) -> str:
    """The calendar id of a resource (kinds carry no ':', so the key is unambiguous)."""
    return f"{kind}:{resource_id}"


async def reserve_all(
    ctx: Context, approval_id: str, resources: Mapping[str, str], start: datetime, end: datetime
) -> str:
    """Reserve every `{kind: resourceId}` for [start, end) and return the attempt id; or reserve
    nothing and raise `Conflict("approval.resource_taken")` naming the first resource that is held."""
    attempt_id = str(uuid.uuid4())
    holder = {"approvalId": approval_id, "attemptId": attempt_id}
    taken: dict[str, str] = {}
    try:
        for kind, resource_id in sorted(resources.items(), key=lambda item: resource_key(*item)):
            if not await RESOURCES.reserve(ctx, resource_key(kind, resource_id), start, end, holder):
                raise Conflict("approval.resource_taken", kind=kind, resourceId=resource_id)
            taken[kind] = resource_id
    except BaseException:
        await release_all(ctx, taken, attempt_id)
        raise
    return attempt_id


async def release_all(ctx: Context, resources: Mapping[str, str], attempt_id: str) -> None:
    """Give back what one attempt reserved (an approval that lost its transition, or a refused set)."""
    for kind, resource_id in resources.items():
        await RESOURCES.release(ctx, resource_key(kind, resource_id), {"attemptId": attempt_id})
