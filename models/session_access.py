"""Who may do what with a session's coursework (materials, homework, submissions, evaluations, progress).

Participation is read from the session itself each time: a student who joins a group session later
reads everything posted before they joined, and one who left reads nothing more. A session's tutor
never changes, so "the session's tutor" checked before a write stays true when the write lands.
"""

from __future__ import annotations

from typing import Any

from models.notifications import notify
from models.sessions import find_session, may_view, notice_params
from server.auth import Principal
from server.context import Context
from server.errors import Conflict, Forbidden
from server.realtime import user_rooms
from server.roles import OVERSEERS, Role

# Nothing is added to a session that will not take place.
CLOSED = ("REJECTED", "CANCELLED")


def is_overseer(principal: Principal) -> bool:
    return principal.role in OVERSEERS


async def session_for_reader(ctx: Context, principal: Principal, session_id: str) -> dict[str, Any]:
    """The session, if the caller is its tutor, one of its students, MANAGEMENT or ADMIN (else 404/403)."""
    doc = await find_session(ctx, session_id)
    if not may_view(principal, doc):
        raise Forbidden()
    return doc


async def session_for_tutor(ctx: Context, principal: Principal, session_id: str) -> dict[str, Any]:
    """The session, if the caller is its tutor (or ADMIN)."""
    doc = await find_session(ctx, session_id)
    if principal.role != Role.ADMIN and doc["tutorId"] != principal.id:
        raise Forbidden()
    return doc


async def open_session_for_tutor(ctx: Context, principal: Principal, session_id: str) -> dict[str, Any]:
    """The caller's session, when it is still going to take place (or took place)."""
    doc = await session_for_tutor(ctx, principal, session_id)
    if doc["status"] in CLOSED:
        raise Conflict("coursework.session_closed", status=doc["status"])
    return doc


def require_student_of(principal: Principal, doc: dict[str, Any]) -> None:
    if principal.id not in doc["studentIds"]:
        raise Forbidden()


async def publish_to_session(
    ctx: Context,
    session: dict[str, Any],
    event: str,
    item: dict[str, Any],
    kind: str,
    params: dict[str, Any],
    data: dict[str, Any],
) -> None:
    """Something new in a session (a material, homework): its students get a notification, and
    everyone in it or watching it (`session:<id>`) gets the live event."""
    await notify(
        ctx,
        session["studentIds"],
        kind,
        params={**notice_params(session), **params},
        data={"sessionId": session["_id"], **data},
    )
    rooms = [*user_rooms([session["tutorId"], *session["studentIds"]]), f"session:{session['_id']}"]
    await ctx.realtime.emit(event, item, rooms)
