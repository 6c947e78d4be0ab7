"""Approval requests: ask, clarify, approve with resources, reject (see `models/approvals.py`)."""

from __future__ import annotations

from models import approvals, views
from server.area import Area
from server.http import Call, Reply, Routes
from server.roles import OVERSEERS, Role

routes = Routes(tag="approvals")

REQUESTERS = (Role.TUTOR, Role.STUDENT)
READERS = (*REQUESTERS, *OVERSEERS)


@routes.post(
    "/approvals",
    roles=REQUESTERS,
    body=approvals.NewApproval,
    status=201,
    response=views.ApprovalDetail,
    summary="Ask management for something (PENDING); every MANAGEMENT user is notified",
)
async def create_approval(call: Call) -> Reply:
    return Reply(await approvals.create_approval(call.ctx, call.user, call.body), "approval.created", status=201)


@routes.get(
    "/approvals",
    roles=READERS,
    query=approvals.ApprovalQuery,
    response=views.Approval,
    response_list=True,
    summary="Your requests, newest first (MANAGEMENT, ADMIN: all)",
)
async def list_approvals(call: Call) -> Reply:
    items, total = await approvals.list_approvals(call.ctx, call.user, call.query)
    return Reply(items, "approval.listed", total=total)


@routes.get(
    "/approvals/{approvalId}",
    roles=READERS,
    response=views.ApprovalDetail,
    summary="A request with its whole history (its requester, MANAGEMENT)",
)
async def get_approval(call: Call) -> Reply:
    return Reply(await approvals.get_approval(call.ctx, call.user, call.path("approvalId")), "approval.found")


@routes.post(
    "/approvals/{approvalId}/clarification-requests",
    roles=OVERSEERS,
    body=approvals.ClarificationRequest,
    response=views.ApprovalDetail,
    summary="Ask the requester a question: PENDING -> NEEDS_CLARIFICATION",
)
async def request_clarification(call: Call) -> Reply:
    doc = await approvals.request_clarification(call.ctx, call.user, call.path("approvalId"), call.body)
    return Reply(doc, "approval.clarification_requested")


@routes.post(
    "/approvals/{approvalId}/clarifications",
    roles=REQUESTERS,
    body=approvals.Clarification,
    response=views.ApprovalDetail,
    summary="The requester answers: NEEDS_CLARIFICATION -> PENDING",
)
async def clarify(call: Call) -> Reply:
    return Reply(await approvals.clarify(call.ctx, call.user, call.path("approvalId"), call.body), "approval.clarified")


@routes.post(
    "/approvals/{approvalId}/approve",
    roles=OVERSEERS,
    body=approvals.ApprovalDecision,
    response=views.ApprovalDetail,
    summary="PENDING -> APPROVED, reserving each allocated resource for the window (409 if one is held)",
)
async def approve(call: Call) -> Reply:
    return Reply(await approvals.approve(call.ctx, call.user, call.path("approvalId"), call.body), "approval.approved")


@routes.post(
    "/approvals/{approvalId}/reject",
    roles=OVERSEERS,
    body=approvals.Rejection,
    response=views.ApprovalDetail,
    summary="PENDING -> REJECTED with a reason",
)
async def reject(call: Call) -> Reply:
    return Reply(await approvals.reject(call.ctx, call.user, call.path("approvalId"), call.body), "approval.rejected")


area = Area("approvals", routes=routes, indexes=approvals.INDEXES)
