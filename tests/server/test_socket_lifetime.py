"""A socket lives only as long as its token (issue 13): logout, family revocation and expiry close it
after an `auth:revoked` / `auth:expired` notice, in every process, within a second; official
clients then reconnect through their `auth` callback with a fresh token."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

from server.http import CTX_KEY
from tests.helpers import Api, SocketClient, User

CLOSE_WITHIN = 1.0


async def closed_within(sock: SocketClient, seconds: float = CLOSE_WITHIN) -> bool:
    return await sock.closed_within(seconds)


async def chat_between(api: Api, a: User, b: User) -> str:
    reply = await api.post("/conversations", {"participantIds": [b.id]}, token=a.token)
    return str(reply.data["id"])


async def say(api: Api, user: User, conversation_id: str, body: str) -> None:
    reply = await api.post(f"/conversations/{conversation_id}/messages", {"body": body}, token=user.token)
    assert reply.status == 201, reply.body


async def refreshed(api: Api, user: User) -> User:
    pair = (await api.post("/auth/refresh", {"refreshToken": user.refresh_token})).data
    return User(user.id, user.username, user.password, user.role, pair["accessToken"], pair["refreshToken"])


async def test_logout_closes_every_socket_of_the_login_family(api: Api, sockets) -> None:
    alice, bob = await api.user(), await api.user()
    conversation = await chat_between(api, bob, alice)
    before_refresh = await sockets(alice.token)
    alice2 = await refreshed(api, alice)  # same family, another access token
    after_refresh = await sockets(alice2.token)
    other_login = await api.login(alice.username, alice.password)  # another family: stays
    other = await sockets(other_login.token)

    assert (await api.post("/auth/logout", {}, token=alice2.token)).status == 200
    for sock in (before_refresh, after_refresh):
        notice = await sock.wait_for("auth:revoked", timeout=CLOSE_WITHIN)
        assert notice == {"message": "Access token revoked"}
        assert await closed_within(sock)
    await say(api, bob, conversation, "after logout")
    await other.wait_for("chat:message", lambda m: m["body"] == "after logout")
    assert other.sio.connected
    for sock in (before_refresh, after_refresh):
        assert [m for m in sock.events("chat:message") if m["body"] == "after logout"] == []


async def test_refresh_token_reuse_closes_the_familys_sockets(api: Api, sockets, clock, ctx) -> None:
    user = await api.user()
    sock = await sockets(user.token)
    newer = await sockets((await refreshed(api, user)).token)
    clock.advance(seconds=ctx.settings.refresh_reuse_grace_seconds + 1)
    assert (await api.post("/auth/refresh", {"refreshToken": user.refresh_token})).status == 401  # reuse
    for s in (sock, newer):
        assert await s.wait_for("auth:revoked", timeout=CLOSE_WITHIN)
        assert await closed_within(s)


async def test_expired_token_closes_its_socket_with_a_notice(api: Api, sockets, clock, ctx) -> None:
    alice, bob = await api.user(), await api.user()
    conversation = await chat_between(api, bob, alice)
    sock = await sockets(alice.token)
    bob_sock = await sockets(bob.token)
    clock.advance(seconds=ctx.settings.access_token_ttl_seconds - 1)
    await say(api, bob, conversation, "still valid")
    await sock.wait_for("chat:message")
    bob = await refreshed(api, bob)
    clock.advance(seconds=1)  # alice's token ends now
    notice = await sock.wait_for("auth:expired", timeout=CLOSE_WITHIN)
    assert notice == {"message": "Access token expired"}
    assert await closed_within(sock)
    await say(api, bob, conversation, "too late")
    await asyncio.sleep(0.2)
    assert [m["body"] for m in sock.events("chat:message")] == ["still valid"]
    assert not bob_sock.sio.connected  # bob's first socket expired with its token too


async def test_event_on_a_revoked_token_is_answered_then_closed(api: Api, sockets, ctx) -> None:
    user = await api.user()
    sock = await sockets(user.token)
    # A revocation this process missed (e.g. published while the subscription was down).
    import jwt

    claims = jwt.decode(user.token, options={"verify_signature": False})
    await ctx.redis.set(f"revoked:jti:{claims['jti']}", "1", ex=60)
    ack = await sock.call("chat:typing", {"conversationId": "x", "typing": True})
    assert ack == {"success": False, "message": "Invalid or expired token"}
    assert await sock.wait_for("auth:revoked", timeout=CLOSE_WITHIN)
    assert await closed_within(sock)


async def test_clients_reconnect_through_their_auth_callback(api: Api, client, clock, ctx) -> None:
    """The official client pattern: `auth` is a callback that hands a fresh access token."""
    user = await api.user()
    current = {"token": user.token, "refresh": user.refresh_token}
    calls: list[str] = []

    async def auth() -> dict[str, Any]:
        if calls:  # a reconnect: refresh first
            pair = (await api.post("/auth/refresh", {"refreshToken": current["refresh"]})).data
            current.update(token=pair["accessToken"], refresh=pair["refreshToken"])
        calls.append(current["token"])
        return {"token": current["token"]}

    sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.05, reconnection_delay_max=0.1)
    notices: list[Any] = []
    sio.on("auth:expired", lambda data: notices.append(data))
    await sio.connect(str(client.make_url("")).rstrip("/"), auth=auth, transports=["websocket"], wait_timeout=5)
    try:
        first_sid = sio.sid
        clock.advance(seconds=ctx.settings.access_token_ttl_seconds)
        for _ in range(150):
            if len(calls) >= 2 and sio.connected and sio.sid != first_sid:
                break
            await asyncio.sleep(0.02)
        assert notices == [{"message": "Access token expired"}]
        assert len(calls) == 2 and calls[1] != calls[0] and sio.connected and sio.sid != first_sid
    finally:
        await sio.disconnect()


async def test_logout_on_one_process_closes_the_socket_on_another(
    api: Api, make_app, aiohttp_client, settings, tmp_path
) -> None:
    """Two server processes (apps) sharing Redis and the JWT secret: the revocation reaches both."""
    other_app = await make_app(data_dir=tmp_path / "other")
    other = await aiohttp_client(other_app)
    user = await api.user()
    remote = SocketClient()
    await remote.connect(str(other.make_url("")).rstrip("/"), user.token)
    try:
        assert other_app[CTX_KEY].realtime.local_connections()
        assert (await api.post("/auth/logout", {}, token=user.token)).status == 200
        assert await remote.wait_for("auth:revoked", timeout=CLOSE_WITHIN)
        assert await closed_within(remote)
    finally:
        await remote.close()


async def test_revocations_missed_by_the_relay_are_read_after_a_loss_or_the_window(
    api: Api, sockets, ctx, monkeypatch
) -> None:
    """Events skip the revocation read while the relay stays up (a revocation is published and
    closes the socket), but read it again after the subscription was lost, and at least every
    REVALIDATE_SECONDS, so a revocation whose publish never arrived still ends the socket."""
    import jwt

    from server import sockets as socket_layer

    manager = ctx.realtime.emitter.manager
    for lost_relay in (True, False):
        user = await api.user()
        sock = await sockets(user.token)
        first = await sock.call("chat:typing", {"conversationId": "x", "typing": True})
        assert first["message"] != "Invalid or expired token"  # read once: valid
        claims = jwt.decode(user.token, options={"verify_signature": False})
        await ctx.redis.set(f"revoked:jti:{claims['jti']}", "1", ex=60)  # written, never published
        if lost_relay:
            manager.relay_epoch += 1  # the subscription was lost and came back meanwhile
        else:
            monkeypatch.setattr(socket_layer, "REVALIDATE_SECONDS", 0.1)
            await asyncio.sleep(0.15)
        ack = await sock.call("chat:typing", {"conversationId": "x", "typing": True})
        assert ack == {"success": False, "message": "Invalid or expired token"}
        assert await sock.wait_for("auth:revoked", timeout=CLOSE_WITHIN)
        assert await closed_within(sock)
