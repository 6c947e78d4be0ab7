"""Tutoring sessions and their cancellation requests; `room:join` of `session:<id>`."""

from __future__ import annotations

from models import cancel_requests, sessions, views
from server.area import Area
from server.http import Call, Reply, Routes
from server.roles import Role
from server.validation import validate

routes = Routes(tag="sessions")

TUTOR = (Role.TUTOR, Role.ADMIN)


@routes.post(
    "/sessions",
    roles=(Role.STUDENT, Role.TUTOR),
    body=sessions.NewSession,
    status=201,
    response=views.Session,
    summary="STUDENT: book a one-on-one session (PENDING); TUTOR: create a group session (CONFIRMED)",
)
async def create_session(call: Call) -> Reply:
    fields = call.body.model_dump(exclude_unset=True)
    if call.user.role == Role.STUDENT:
        doc = await sessions.book_session(call.ctx, call.user, validate(sessions.Booking, fields))
        return Reply(doc, "session.booked", status=201)
    doc = await sessions.create_group_session(call.ctx, call.user, validate(sessions.GroupSession, fields))
    return Reply(doc, "session.created", status=201)


@routes.get(
    "/sessions",
    query=sessions.SessionQuery,
    response=views.Session,
    response_list=True,
    summary="Your sessions (MANAGEMENT, ADMIN: all); `open=true`: group sessions open to join",
)
async def list_sessions(call: Call) -> Reply:
    items, total = await sessions.list_sessions(call.ctx, call.user, call.query)
    return Reply(items, "session.listed", total=total)


@routes.get("/sessions/{sessionId}", response=views.Session, summary="A session (its participants, MANAGEMENT, ADMIN)")
async def get_session(call: Call) -> Reply:
    return Reply(await sessions.get_session(call.ctx, call.user, call.path("sessionId")), "session.found")


@routes.post(
    "/sessions/{sessionId}/confirm", roles=TUTOR, response=views.Session, summary="The tutor confirms a PENDING session"
)
async def confirm_session(call: Call) -> Reply:
    return Reply(await sessions.confirm_session(call.ctx, call.user, call.path("sessionId")), "session.confirmed")


@routes.post(
    "/sessions/{sessionId}/reject",
    roles=TUTOR,
    body=sessions.Rejection,
    response=views.Session,
    summary="The tutor rejects a PENDING session",
)
async def reject_session(call: Call) -> Reply:
    doc = await sessions.reject_session(call.ctx, call.user, call.path("sessionId"), call.body)
    return Reply(doc, "session.rejected")


@routes.post(
    "/sessions/{sessionId}/complete",
    roles=TUTOR,
    response=views.Session,
    summary="The tutor completes a CONFIRMED session once it has started",
)
async def complete_session(call: Call) -> Reply:
    return Reply(await sessions.complete_session(call.ctx, call.user, call.path("sessionId")), "session.completed")


@routes.post(
    "/sessions/{sessionId}/join",
    roles=(Role.STUDENT,),
    response=views.Session,
    summary="Join a group session (up to capacity)",
)
async def join_session(call: Call) -> Reply:
    return Reply(await sessions.join_session(call.ctx, call.user, call.path("sessionId")), "session.joined")


@routes.post(
    "/sessions/{sessionId}/cancel-requests",
    body=cancel_requests.NewCancelRequest,
    status=201,
    response=views.CancellationRequest,
    summary="A participant asks to cancel; the other side decides",
)
async def request_cancellation(call: Call) -> Reply:
    doc = await cancel_requests.create_request(call.ctx, call.user, call.path("sessionId"), call.body)
    return Reply(doc, "cancel_request.created", status=201)


@routes.get(
    "/cancel-requests",
    query=cancel_requests.CancelRequestQuery,
    response=views.CancellationRequest,
    response_list=True,
    summary="Cancellation requests you made or must decide",
)
async def list_cancel_requests(call: Call) -> Reply:
    items, total = await cancel_requests.list_requests(call.ctx, call.user, call.query)
    return Reply(items, "cancel_request.listed", total=total)


@routes.get(
    "/cancel-requests/{requestId}",
    response=views.CancellationRequest,
    summary="A cancellation request (its requester and deciders)",
)
async def get_cancel_request(call: Call) -> Reply:
    return Reply(await cancel_requests.get_request(call.ctx, call.user, call.path("requestId")), "cancel_request.found")


@routes.post(
    "/cancel-requests/{requestId}/approve",
    body=cancel_requests.Decision,
    response=views.CancellationRequest,
    summary="The deciding side approves: the session is cancelled",
)
async def approve_cancel_request(call: Call) -> Reply:
    doc = await cancel_requests.approve_request(call.ctx, call.user, call.path("requestId"), call.body)
    return Reply(doc, "cancel_request.approved")


@routes.post(
    "/cancel-requests/{requestId}/reject",
    body=cancel_requests.Decision,
    response=views.CancellationRequest,
    summary="The deciding side rejects the request",
)
async def reject_cancel_request(call: Call) -> Reply:
    doc = await cancel_requests.reject_request(call.ctx, call.user, call.path("requestId"), call.body)
    return Reply(doc, "cancel_request.rejected")


area = Area(
    "sessions",
    routes=routes,
    room_checks={"session": sessions.may_watch},
    indexes=[*sessions.INDEXES, *cancel_requests.INDEXES],
)
