"""Presence: online on connect, offline on disconnect, offline after the TTL when a process dies."""

from __future__ import annotations

from typing import Any

from handlers.presence import beat
from server.http import CTX_KEY
from server.jsonutil import iso
from tests.helpers import Api, SocketClient


async def share_conversation(api: Api, *users: Any) -> None:
    reply = await api.post(
        "/conversations", {"participantIds": [u.id for u in users[1:]], "title": "t"}, token=users[0].token
    )
    assert reply.status == 201, reply.body


async def presence(api: Api, token: str, *user_ids: str) -> dict[str, Any]:
    reply = await api.get("/presence", token=token, params={"userIds": ",".join(user_ids)})
    assert reply.status == 200, reply.body
    return reply.data


def about(user_id: str, online: bool) -> Any:
    return lambda p: p["userId"] == user_id and p["online"] is online


async def test_online_on_connect_offline_on_last_disconnect(api: Api, sockets, clock) -> None:
    a, b = await api.user(), await api.user()
    await share_conversation(api, a, b)
    sock_b = await sockets(b.token)
    assert (await presence(api, b.token, a.id))[a.id] == {"online": False, "lastSeen": None}

    sock_a = await sockets(a.token)
    assert await sock_b.wait_for("presence", about(a.id, True)) == {"userId": a.id, "online": True, "lastSeen": None}
    assert await presence(api, b.token, a.id, b.id, "nobody") == {
        a.id: {"online": True, "lastSeen": None},
        b.id: {"online": True, "lastSeen": None},
        "nobody": {"online": False, "lastSeen": None},
    }

    # A second device, then closing the first: A stays online.
    sock_a2 = await sockets(a.token)
    await sock_a.close()
    assert (await presence(api, b.token, a.id))[a.id]["online"] is True

    clock.advance(seconds=5)
    await sock_a2.close()
    gone = await sock_b.wait_for("presence", about(a.id, False))
    assert gone == {"userId": a.id, "online": False, "lastSeen": iso(clock.now())}
    assert (await presence(api, b.token, a.id))[a.id] == {"online": False, "lastSeen": iso(clock.now())}
    # One transition each way, however many sockets A opened and closed.
    assert [p["online"] for p in sock_b.events("presence") if p["userId"] == a.id] == [True, False]


async def test_offline_after_the_ttl_when_the_sockets_process_vanishes(
    api: Api, sockets, ctx, client, clock, make_app, aiohttp_client, tmp_path
) -> None:
    a, b = await api.user(), await api.user()
    await share_conversation(api, a, b)
    sock_b = await sockets(b.token)  # B on this process

    # A's socket lives on a second server process (same Redis). Its background heartbeat is
    # switched off: the test beats for it, then stops, as if the process had died.
    other = await aiohttp_client(await make_app(data_dir=tmp_path / "process-2", presence_refresh_seconds=3600))
    other_ctx = other.app[CTX_KEY]
    sock_a = SocketClient()
    try:
        await sock_a.connect(str(other.make_url("")).rstrip("/"), a.token)
        assert (await presence(api, b.token, a.id))[a.id]["online"] is True
        ttl = ctx.settings.presence_ttl_seconds

        # While A's process beats, A stays online well past one TTL.
        for _ in range(4):
            clock.advance(seconds=ttl / 2)
            await beat(other_ctx)
            await beat(ctx)
        assert (await presence(api, b.token, a.id))[a.id]["online"] is True
        last_heartbeat = clock.now()

        # A's process vanishes: nothing refreshes A's connection any more.
        clock.advance(seconds=ttl - 1)
        await beat(ctx)
        assert (await presence(api, b.token, a.id))[a.id]["online"] is True  # still within the TTL
        clock.advance(seconds=2)
        await beat(ctx)  # this process's sweep finds A's connection expired
        gone = await sock_b.wait_for("presence", about(a.id, False))
        assert gone["lastSeen"] == iso(last_heartbeat)
        assert (await presence(api, b.token, a.id, b.id)) == {
            a.id: {"online": False, "lastSeen": iso(last_heartbeat)},
            b.id: {"online": True, "lastSeen": None},
        }  # B's process kept beating for B

        # Had the process only stalled, its next heartbeat brings A back.
        await beat(other_ctx)
        assert (await presence(api, b.token, a.id))[a.id]["online"] is True
    finally:
        await sock_a.close()


async def test_presence_query_is_validated(api: Api) -> None:
    a = await api.user()
    missing = await api.get("/presence", token=a.token)
    assert missing.status == 400 and missing.body["validationErrors"][0]["field"] == "userIds"
    too_many = await api.get(
        "/presence",
        token=a.token,
        params={"userIds": ",".join(f"u{i}" for i in range(201))},
        headers={"Accept-Language": "en"},
    )
    assert too_many.status == 400 and too_many.body["message"] == "At most 200 users at a time"
    assert (await api.get("/presence", params={"userIds": a.id})).status == 401
