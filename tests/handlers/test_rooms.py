"""Socket events: authorized per event, validated, answered through the ack."""

from __future__ import annotations

import jwt

from server.http import CTX_KEY


async def test_room_join_uses_the_registered_check(api, client, sockets) -> None:
    ctx = client.app[CTX_KEY]
    owner, outsider = await api.user(), await api.user()

    async def only_owner(ctx, principal, ident: str) -> bool:
        return ident == principal.id

    ctx.realtime.register_room_check("probe", only_owner)
    mine = await sockets(owner.token)
    theirs = await sockets(outsider.token)
    assert await mine.call("room:join", {"room": f"probe:{owner.id}"}) == {
        "success": True,
        "data": {"room": f"probe:{owner.id}"},
    }
    assert await theirs.call("room:join", {"room": f"probe:{owner.id}"}) == {
        "success": False,
        "message": "Access denied",
    }
    await ctx.realtime.emit("probe:event", {"n": 1}, [f"probe:{owner.id}"])
    assert await mine.wait_for("probe:event") == {"n": 1}
    assert theirs.events("probe:event") == []


async def test_unknown_rooms_and_personal_rooms(api, sockets) -> None:
    user = await api.user()
    sock = await sockets(user.token)
    assert (await sock.call("room:join", {"room": "nosuchkind:1"}))["success"] is False
    assert (await sock.call("room:join", {"room": "user:someone-else"}))["success"] is False
    assert (await sock.call("room:leave", {"room": f"user:{user.id}"}))["success"] is False
    assert (await sock.call("room:leave", {"room": f"role:{user.role}"}))["success"] is False


async def test_a_socket_cannot_leave_its_login_family_room(api, sockets) -> None:
    """The family room is how a logout reaches every socket of the login: leaving it would keep a
    socket receiving pushes after its login ended."""
    user = await api.user()
    sock = await sockets(user.token)
    family = jwt.decode(user.token, options={"verify_signature": False})["fam"]
    assert (await sock.call("room:leave", {"room": f"family:{family}"})) == {
        "success": False,
        "message": "Access denied",
    }
    assert (await api.post("/auth/logout", {"refreshToken": user.refresh_token}, token=user.token)).status == 200
    assert await sock.closed_within(2)


async def test_socket_payload_validation_and_size(api, sockets) -> None:
    user = await api.user()
    sock = await sockets(user.token, locale="en")
    invalid = await sock.call("room:join", {})
    assert invalid["success"] is False and invalid["validationErrors"][0] == {
        "field": "room",
        "message": "This field is required",
    }
    huge = await sock.call("room:join", {"room": "x" * (70 * 1024)})
    assert huge == {"success": False, "message": "Payload too large"}


async def test_socket_joins_user_and_role_rooms(api, client, sockets) -> None:
    ctx = client.app[CTX_KEY]
    tutor = await api.user("TUTOR")
    sock = await sockets(tutor.token)
    await ctx.realtime.emit("hello", {"to": "tutors"}, ["role:TUTOR"])
    await ctx.realtime.emit("hello", {"to": "you"}, [f"user:{tutor.id}"])
    await sock.wait_for("hello", lambda d: d["to"] == "you")
    assert {"to": "tutors"} in sock.events("hello")
