"""Cancellation requests: a participant asks with a reason, the other side decides.

Who decides: a student's request goes to the session's tutor; a tutor's request goes to the
student of a one-on-one session, and to MANAGEMENT for a group session (no single student speaks
for a group). What approval does: the session is CANCELLED (its interval freed; its reminder, on
firing, finds it no longer confirmed and stays silent) — except that a student's request on a
group session takes only that student out of it, since the others still attend.

A request is refused when the session starts in less than SESSION_CANCEL_MIN_NOTICE_MINUTES
(default 120, the employee rule's two hours). One open request per requester per session: a unique
`openKey` set while the request is PENDING and removed once it is decided. Requests left open when
their session stops being active (rejected, cancelled, completed) are CLOSED.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models import sessions
from models.cancel_request_records import COLLECTION, CancelRequestStatus
from models.notifications import notify
from models.users import get_user
from server.auth import Principal
from server.clock import as_utc
from server.context import Context
from server.documents import find_or_404
from server.errors import Conflict, Forbidden, NotFound, RuleViolation
from server.faults import crash_point
from server.indexes import IndexSpec
from server.paging import PageQuery, fetch_page
from server.roles import Role
from server.validation import required_text

INDEXES: list[IndexSpec] = [
    (COLLECTION, [("openKey", 1)], {"unique": True, "partialFilterExpression": {"openKey": {"$type": "string"}}}),
    (COLLECTION, [("requesterId", 1), ("createdAt", -1), ("_id", 1)], {}),
    (COLLECTION, [("deciderIds", 1), ("createdAt", -1), ("_id", 1)], {}),
    (COLLECTION, [("sessionId", 1), ("status", 1)], {}),
]


class NewCancelRequest(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reason: str = Field("", max_length=1000, validate_default=True)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return required_text(value, "cancel_request.reason_required")


class Decision(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reason: str | None = Field(None, max_length=1000)


class CancelRequestQuery(PageQuery):
    status: CancelRequestStatus | None = None


def render(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "sessionId": doc["sessionId"],
        "requesterId": doc["requesterId"],
        "requesterSide": doc["requesterSide"],
        "deciderIds": list(doc["deciderIds"]),
        "deciderRole": doc.get("deciderRole"),
        "reason": doc["reason"],
        "status": doc["status"],
        "outcome": doc.get("outcome"),
        "decidedBy": doc.get("decidedBy"),
        "decisionReason": doc.get("decisionReason"),
        "decidedAt": doc.get("decidedAt"),
        "createdAt": doc["createdAt"],
        "updatedAt": doc["updatedAt"],
    }


def may_decide(principal: Principal, doc: dict[str, Any]) -> bool:
    return (
        principal.is_admin
        or principal.id in doc["deciderIds"]
        or (doc.get("deciderRole") is not None and principal.role == doc["deciderRole"])
    )


async def _notify_deciders(ctx: Context, doc: dict[str, Any], kind: str, params: dict[str, Any]) -> None:
    await notify(
        ctx,
        doc["deciderIds"],
        kind,
        role=doc.get("deciderRole"),
        params=params,
        data={"cancelRequestId": doc["_id"], "sessionId": doc["sessionId"]},
    )


async def create_request(
    ctx: Context, principal: Principal, session_id: str, request: NewCancelRequest
) -> dict[str, Any]:
    session = await sessions.find_session(ctx, session_id)
    if principal.id == session["tutorId"]:
        side = Role.TUTOR
    elif principal.id in session["studentIds"]:
        side = Role.STUDENT
    else:
        raise Forbidden()
    if session["status"] not in sessions.ACTIVE:
        raise Conflict("cancel_request.session_not_active", status=session["status"])
    now = ctx.clock.now()
    notice = ctx.settings.session_cancel_min_notice_minutes
    if as_utc(session["startTime"]) - now < timedelta(minutes=notice):
        raise RuleViolation("cancel_request.too_late", minutes=notice, hours=round(notice / 60, 2))
    if side == Role.STUDENT:
        deciders, role = [session["tutorId"]], None
    elif session["type"] == "ONE_ON_ONE":
        deciders, role = list(session["studentIds"]), None
    else:
        deciders, role = [], Role.MANAGEMENT
    doc = {
        "_id": str(uuid.uuid4()),
        "sessionId": session_id,
        "requesterId": principal.id,
        "requesterSide": side,
        "deciderIds": deciders,
        "deciderRole": role,
        "reason": request.reason,
        "status": CancelRequestStatus.PENDING,
        "openKey": f"{session_id}:{principal.id}",
        "createdAt": now,
        "updatedAt": now,
    }
    try:
        await ctx.db[COLLECTION].insert_one(doc)
    except DuplicateKeyError:
        raise Conflict("cancel_request.already_open") from None
    me = await get_user(ctx, principal.id)
    await _notify_deciders(
        ctx,
        doc,
        "cancel_request.created",
        {"requester": me["fullName"], "reason": request.reason, **sessions.notice_params(session)},
    )
    return render(doc)


async def _find(ctx: Context, request_id: str) -> dict[str, Any]:
    return await find_or_404(ctx.db[COLLECTION], request_id, "cancel_request.not_found")


async def _decide(
    ctx: Context, principal: Principal, request_id: str, status: str, decision: Decision
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request leaves PENDING in one conditional update; returns it with its session."""
    current = await _find(ctx, request_id)
    if not may_decide(principal, current):  # deciders never change: checking first is safe
        raise Forbidden()
    session = await sessions.find_session(ctx, current["sessionId"])
    if (
        current["status"] == CancelRequestStatus.PENDING
        and status == CancelRequestStatus.APPROVED
        and session["status"] not in sessions.ACTIVE
    ):
        raise Conflict("cancel_request.session_not_active", status=session["status"])
    now = ctx.clock.now()
    doc = await ctx.db[COLLECTION].find_one_and_update(
        {"_id": request_id, "status": CancelRequestStatus.PENDING},
        {
            "$set": {
                "status": status,
                "decidedBy": principal.id,
                "decidedAt": now,
                "decisionReason": decision.reason,
                "updatedAt": now,
            },
            "$unset": {"openKey": ""},
        },
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        current = await _find(ctx, request_id)
        raise Conflict("cancel_request.already_decided", status=current["status"])
    return doc, session


async def approve_request(ctx: Context, principal: Principal, request_id: str, decision: Decision) -> dict[str, Any]:
    doc, session = await _decide(ctx, principal, request_id, CancelRequestStatus.APPROVED, decision)
    crash_point(ctx, "cancel_request.decided")
    return render(await finish_approval(ctx, doc, session))


async def finish_approval(ctx: Context, doc: dict[str, Any], session: dict[str, Any]) -> dict[str, Any]:
    """What an APPROVED request does to its session, then its `outcome` and the notices.

    Runs right after the decision, and again from the reconcile pass for an APPROVED request left
    without an `outcome` (the process died between the two writes). Every step is idempotent:
    `cancel_session` and `remove_student` are conditional updates that match only once, and the
    notices' job ids derive from the request, so a second run stores no second notice."""
    params = {**sessions.notice_params(session), "reason": doc.get("decisionReason") or "-"}
    if doc["requesterSide"] == Role.STUDENT and session["type"] == "GROUP":
        await sessions.remove_student(ctx, session["_id"], doc["requesterId"])
        outcome = "LEFT_SESSION"
    else:
        cancelled = await sessions.cancel_session(ctx, session["_id"], doc["reason"])
        outcome = "SESSION_CANCELLED" if cancelled is not None else "SESSION_NOT_ACTIVE"
        if cancelled is not None:
            others = [u for u in sessions.participants(cancelled) if u not in (doc["requesterId"], doc["decidedBy"])]
            await notify(
                ctx,
                others,
                "session.cancelled",
                params=params,
                data={"sessionId": session["_id"]},
                job_id=f"cancel_request:{doc['_id']}:session.cancelled",
            )
    updated = await ctx.db[COLLECTION].find_one_and_update(
        {"_id": doc["_id"]}, {"$set": {"outcome": outcome}}, return_document=ReturnDocument.AFTER
    )
    if updated is None:
        raise NotFound("cancel_request.not_found")
    doc = updated
    await notify(
        ctx,
        [doc["requesterId"]],
        "cancel_request.approved",
        params=params,
        data={"cancelRequestId": doc["_id"], "sessionId": session["_id"], "outcome": outcome},
        job_id=f"cancel_request:{doc['_id']}:approved",
    )
    return doc


async def reject_request(ctx: Context, principal: Principal, request_id: str, decision: Decision) -> dict[str, Any]:
    doc, session = await _decide(ctx, principal, request_id, CancelRequestStatus.REJECTED, decision)
    await notify(
        ctx,
        [doc["requesterId"]],
        "cancel_request.rejected",
        params={**sessions.notice_params(session), "reason": decision.reason or "-"},
        data={"cancelRequestId": doc["_id"], "sessionId": session["_id"]},
    )
    return render(doc)


async def get_request(ctx: Context, principal: Principal, request_id: str) -> dict[str, Any]:
    doc = await _find(ctx, request_id)
    if principal.id != doc["requesterId"] and not may_decide(principal, doc):
        raise Forbidden()
    return render(doc)


async def list_requests(
    ctx: Context, principal: Principal, query: CancelRequestQuery
) -> tuple[list[dict[str, Any]], int]:
    """The requests you made or must decide (ADMIN: all)."""
    where: dict[str, Any] = {}
    if not principal.is_admin:
        mine: list[dict[str, Any]] = [{"requesterId": principal.id}, {"deciderIds": principal.id}]
        if principal.role == Role.MANAGEMENT:
            mine.append({"deciderRole": Role.MANAGEMENT})
        where["$or"] = mine
    if query.status:
        where["status"] = query.status
    docs, total = await fetch_page(ctx.db[COLLECTION], where, query, [("createdAt", -1), ("_id", 1)])
    return [render(d) for d in docs], total
