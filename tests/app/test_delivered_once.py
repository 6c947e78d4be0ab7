"""An event goes out once to the union of its rooms: a socket in several addressed rooms (its
`user:` room, `role:ADMIN`, a watched topic room) receives it exactly once."""

from __future__ import annotations

from typing import Any

from server.context import Context
from server.realtime import user_rooms
from tests.assignments_fixtures import A1, CANCEL_BODY, cancel_url, login_people, seed_assignments
from tests.helpers import Api, SocketClient
from tests.tutoring_fixtures import book, later, tutor

MARKER = "test:marker"


async def settle(ctx: Context, socks: list[SocketClient], user_ids: list[str]) -> None:
    """Emit a marker after the event under test and wait for it on every socket: events reach one
    connection in order, so anything the event produced has arrived once the marker has."""
    await ctx.realtime.emit(MARKER, {}, user_rooms(user_ids))
    for sock in socks:
        await sock.wait_for(MARKER)


async def test_cancel_gives_each_watcher_one_assignment_updated(
    api: Api, ctx: Context, clock: Any, sockets: Any
) -> None:
    await seed_assignments(ctx, clock, A1)
    people = await login_people(api, ctx)
    room = f"assignment:{A1}"
    watchers = [people.employee, people.customer, people.admin]
    socks = [await sockets(user.token) for user in watchers]
    for sock in socks:
        assert await sock.call("room:join", {"room": room}) == {"success": True, "data": {"room": room}}

    assert (await api.post(cancel_url(A1), CANCEL_BODY, token=people.employee.token)).status == 200
    await settle(ctx, socks, [user.id for user in watchers])
    for sock in socks:
        updates = sock.events("assignment:updated")
        assert [u["assignmentId"] for u in updates] == [A1]
        assert updates[0]["status"] == "CANCELLED"


async def test_confirm_gives_a_watching_student_one_session_updated(
    api: Api, ctx: Context, clock: Any, sockets: Any
) -> None:
    teacher = await tutor(api)
    student = await api.user("STUDENT")
    session = (await book(api, student, teacher.id, later(clock, days=1))).data
    sock = await sockets(student.token)
    room = f"session:{session['id']}"
    assert (await sock.call("room:join", {"room": room}))["success"] is True

    assert (await api.post(f"/sessions/{session['id']}/confirm", token=teacher.token)).status == 200
    await settle(ctx, [sock], [student.id])
    updates = sock.events("session:updated")
    assert [(u["id"], u["status"]) for u in updates] == [(session["id"], "CONFIRMED")]
