"""Approval requests: a tutor or student asks management for something (a room, equipment, an event).

Lifecycle (every arrow is ONE conditional update whose filter carries the expected state, and
pushes its history entry in the same update, so the history can never disagree with the status):

    PENDING --clarification request--> NEEDS_CLARIFICATION --the requester answers--> PENDING
    PENDING --approve {allocatedResources}--> APPROVED
    PENDING --reject {reason}--> REJECTED

When an update matches nothing the request is re-read to say why: not found (404), not yours
(403), or the wrong state (409). The loop of questions and answers may repeat.

Approving with resources first reserves each one for the request's window in its calendar
(`models.allocations`: one single-document condition per resource), then makes the transition.
A resource held by an overlapping APPROVED request refuses the approval (409 naming it) with
nothing reserved; if the transition itself loses (another manager decided first), what this call
reserved is released. The window is fixed when the request is created (no route changes it), so
reading it before the conditional transition cannot reserve the wrong interval.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pymongo import ReturnDocument

from models import allocations
from models.notifications import notify
from models.users import get_user
from server.auth import Principal
from server.clock import as_utc, to_millis
from server.context import Context
from server.documents import find_or_404
from server.errors import Conflict, Forbidden, RuleViolation
from server.faults import crash_point
from server.paging import PageQuery, fetch_page
from server.roles import OVERSEERS, Role
from server.validation import NonBlankStr

COLLECTION = "approvals"
MAX_WINDOW = timedelta(days=366)
MAX_RESOURCES = 20

INDEXES: list[tuple[str, list[tuple[str, int]], dict[str, Any]]] = [
    (COLLECTION, [("requesterId", 1), ("createdAt", -1), ("_id", 1)], {}),
    (COLLECTION, [("status", 1), ("createdAt", -1), ("_id", 1)], {}),
    (COLLECTION, [("createdAt", -1), ("_id", 1)], {}),
]


class ApprovalStatus(StrEnum):
    PENDING = "PENDING"
    NEEDS_CLARIFICATION = "NEEDS_CLARIFICATION"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class HistoryAction(StrEnum):
    REQUESTED = "REQUESTED"
    CLARIFICATION_REQUESTED = "CLARIFICATION_REQUESTED"
    CLARIFIED = "CLARIFIED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


# A kind names a field of `allocatedResources`: no '.', '$' or ':' (a Mongo key, and part of a calendar id).
Code = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")]
ResourceId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def _utc(moment: datetime) -> datetime:
    return to_millis(as_utc(moment).astimezone(UTC))


class NewApproval(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    type: Code = Field(description="what is asked for, e.g. ROOM_BOOKING, EQUIPMENT, EVENT")
    title: NonBlankStr = Field(max_length=200)
    details: NonBlankStr = Field(max_length=5000)
    requestedResources: list[Annotated[NonBlankStr, Field(max_length=200)]] = Field(
        default_factory=list, max_length=MAX_RESOURCES, description="what is needed, in the requester's words"
    )
    startTime: datetime | None = Field(None, description="the window [startTime, endTime) the resources are needed")
    endTime: datetime | None = Field(None, validate_default=True)

    @field_validator("startTime")
    @classmethod
    def _start(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)

    @field_validator("endTime")
    @classmethod
    def _window(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if "startTime" not in info.data:  # the start itself was invalid: said already
            return value
        start = info.data["startTime"]
        if start is None and value is None:
            return None
        if start is None or value is None:
            raise PydanticCustomError("approval.window_incomplete", "startTime and endTime go together")
        end = _utc(value)
        if end <= start:
            raise PydanticCustomError("approval.window_order", "endTime must be after startTime")
        if end - start > MAX_WINDOW:
            raise PydanticCustomError("approval.window_too_long", "the window is too long")
        return end


class ClarificationRequest(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    question: NonBlankStr = Field(max_length=2000)


class Clarification(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    answer: NonBlankStr = Field(max_length=2000)


class ApprovalDecision(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    allocatedResources: dict[Code, ResourceId] = Field(
        default_factory=dict, max_length=MAX_RESOURCES, description="`{<kind>: <resourceId>}` reserved for the window"
    )


class Rejection(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reason: NonBlankStr = Field(max_length=1000)


class ApprovalQuery(PageQuery):
    status: ApprovalStatus | None = None


def render(doc: dict[str, Any], *, with_history: bool = True) -> dict[str, Any]:
    view = {
        "id": doc["_id"],
        "type": doc["type"],
        "title": doc["title"],
        "details": doc["details"],
        "requestedResources": list(doc["requestedResources"]),
        "startTime": doc.get("startTime"),
        "endTime": doc.get("endTime"),
        "status": doc["status"],
        "requesterId": doc["requesterId"],
        "requesterRole": doc["requesterRole"],
        "allocatedResources": dict(doc.get("allocatedResources") or {}),
        "decidedBy": doc.get("decidedBy"),
        "decidedAt": doc.get("decidedAt"),
        "decisionReason": doc.get("decisionReason"),
        "createdAt": doc["createdAt"],
        "updatedAt": doc["updatedAt"],
    }
    if with_history:
        view["history"] = [dict(entry) for entry in doc["history"]]
    return view


def _entry(principal: Principal, action: HistoryAction, now: datetime, **details: Any) -> dict[str, Any]:
    return {"action": action, "by": principal.id, "role": principal.role, "at": now, **details}


def _may_view(principal: Principal, doc: dict[str, Any]) -> bool:
    return principal.role in OVERSEERS or principal.id == doc["requesterId"]


async def _find(ctx: Context, approval_id: str) -> dict[str, Any]:
    return await find_or_404(ctx.db[COLLECTION], approval_id, "approval.not_found")


def _params(doc: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"title": doc["title"], "type": doc["type"], **more}


async def create_approval(ctx: Context, requester: Principal, request: NewApproval) -> dict[str, Any]:
    now = ctx.clock.now()
    if request.endTime is not None and request.endTime <= now:
        raise RuleViolation("approval.window_in_past")
    doc: dict[str, Any] = {
        "_id": str(uuid.uuid4()),
        "type": request.type,
        "title": request.title,
        "details": request.details,
        "requestedResources": request.requestedResources,
        "startTime": request.startTime,
        "endTime": request.endTime,
        "status": ApprovalStatus.PENDING,
        "requesterId": requester.id,
        "requesterRole": requester.role,
        "allocatedResources": {},
        "history": [_entry(requester, HistoryAction.REQUESTED, now)],
        "createdAt": now,
        "updatedAt": now,
    }
    await ctx.db[COLLECTION].insert_one(doc)
    me = await get_user(ctx, requester.id)
    await notify(
        ctx,
        None,
        "approval.created",
        role=Role.MANAGEMENT,
        params=_params(doc, requester=me["fullName"]),
        data={"approvalId": doc["_id"]},
    )
    return render(doc)


async def get_approval(ctx: Context, principal: Principal, approval_id: str) -> dict[str, Any]:
    doc = await _find(ctx, approval_id)
    if not _may_view(principal, doc):
        raise Forbidden()
    return render(doc)


async def list_approvals(ctx: Context, principal: Principal, query: ApprovalQuery) -> tuple[list[dict[str, Any]], int]:
    """Newest first: the caller's own requests (MANAGEMENT, ADMIN: everyone's), without their history."""
    where: dict[str, Any] = {}
    if principal.role not in OVERSEERS:
        where["requesterId"] = principal.id
    if query.status:
        where["status"] = query.status
    docs, total = await fetch_page(ctx.db[COLLECTION], where, query, [("createdAt", -1), ("_id", 1)])
    return [render(d, with_history=False) for d in docs], total


async def _transition(
    ctx: Context,
    principal: Principal,
    approval_id: str,
    expected: ApprovalStatus,
    target: ApprovalStatus,
    entry: dict[str, Any],
    changes: dict[str, Any] | None = None,
    *,
    requester_only: bool = False,
) -> dict[str, Any]:
    """Move the request from `expected` to `target` and append `entry` to its history, in one update."""
    where: dict[str, Any] = {"_id": approval_id, "status": expected}
    if requester_only:
        where["requesterId"] = principal.id
    doc = await ctx.db[COLLECTION].find_one_and_update(
        where,
        {"$set": {**(changes or {}), "status": target, "updatedAt": entry["at"]}, "$push": {"history": entry}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is not None:
        return doc
    current = await _find(ctx, approval_id)
    if requester_only and current["requesterId"] != principal.id:
        raise Forbidden()
    raise Conflict("approval.wrong_status", status=current["status"], expected=expected)


async def request_clarification(
    ctx: Context, manager: Principal, approval_id: str, request: ClarificationRequest
) -> dict[str, Any]:
    now = ctx.clock.now()
    doc = await _transition(
        ctx,
        manager,
        approval_id,
        ApprovalStatus.PENDING,
        ApprovalStatus.NEEDS_CLARIFICATION,
        _entry(manager, HistoryAction.CLARIFICATION_REQUESTED, now, question=request.question),
        {"clarificationRequestedBy": manager.id},
    )
    await notify(
        ctx,
        [doc["requesterId"]],
        "approval.clarification_requested",
        params=_params(doc, question=request.question),
        data={"approvalId": doc["_id"]},
    )
    return render(doc)


async def clarify(ctx: Context, requester: Principal, approval_id: str, clarification: Clarification) -> dict[str, Any]:
    """The requester answers; the manager who asked is told (all of MANAGEMENT if nobody is on record)."""
    now = ctx.clock.now()
    doc = await _transition(
        ctx,
        requester,
        approval_id,
        ApprovalStatus.NEEDS_CLARIFICATION,
        ApprovalStatus.PENDING,
        _entry(requester, HistoryAction.CLARIFIED, now, answer=clarification.answer),
        requester_only=True,
    )
    asker = doc.get("clarificationRequestedBy")
    me = await get_user(ctx, requester.id)
    await notify(
        ctx,
        [asker] if asker else None,
        "approval.clarified",
        role=None if asker else Role.MANAGEMENT,
        params=_params(doc, requester=me["fullName"], answer=clarification.answer),
        data={"approvalId": doc["_id"]},
    )
    return render(doc)


def _window(doc: dict[str, Any]) -> tuple[datetime, datetime] | None:
    if doc.get("startTime") is None or doc.get("endTime") is None:
        return None
    return as_utc(doc["startTime"]), as_utc(doc["endTime"])


async def approve(ctx: Context, manager: Principal, approval_id: str, decision: ApprovalDecision) -> dict[str, Any]:
    current = await _find(ctx, approval_id)
    if current["status"] != ApprovalStatus.PENDING:  # reserve nothing for a request that cannot move
        raise Conflict("approval.wrong_status", status=current["status"], expected=ApprovalStatus.PENDING)
    resources = decision.allocatedResources
    attempt_id: str | None = None
    if resources:
        window = _window(current)
        if window is None:
            raise RuleViolation("approval.no_window")
        if window[1] <= ctx.clock.now():
            raise RuleViolation("approval.window_ended")
        attempt_id = await allocations.reserve_all(ctx, approval_id, resources, *window)
        crash_point(ctx, "approval.reserved")  # a crash here leaves intervals for the reconcile pass
    now = ctx.clock.now()
    try:
        doc = await _transition(
            ctx,
            manager,
            approval_id,
            ApprovalStatus.PENDING,
            ApprovalStatus.APPROVED,
            _entry(manager, HistoryAction.APPROVED, now, allocatedResources=resources),
            {"allocatedResources": resources, "allocationId": attempt_id, "decidedBy": manager.id, "decidedAt": now},
        )
    except BaseException:
        if attempt_id is not None:
            await allocations.release_all(ctx, resources, attempt_id)
        raise
    listed = ", ".join(f"{kind} {rid}" for kind, rid in sorted(resources.items())) or "-"
    await notify(
        ctx,
        [doc["requesterId"]],
        "approval.approved",
        params=_params(doc, resources=listed),
        data={"approvalId": doc["_id"], "allocatedResources": resources},
    )
    return render(doc)


async def reject(ctx: Context, manager: Principal, approval_id: str, rejection: Rejection) -> dict[str, Any]:
    now = ctx.clock.now()
    doc = await _transition(
        ctx,
        manager,
        approval_id,
        ApprovalStatus.PENDING,
        ApprovalStatus.REJECTED,
        _entry(manager, HistoryAction.REJECTED, now, reason=rejection.reason),
        {"decidedBy": manager.id, "decidedAt": now, "decisionReason": rejection.reason},
    )
    await notify(
        ctx,
        [doc["requesterId"]],
        "approval.rejected",
        params=_params(doc, reason=rejection.reason),
        data={"approvalId": doc["_id"]},
    )
    return render(doc)
