"""The websocket transport (server/ws_driver.py): clients connected over a websocket from the start
get their packets written straight to the connection, clients on long-polling or upgraded from it
keep Engine.IO's queue, and both see the same events, acks and disconnects."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from engineio.async_socket import AsyncSocket

from server.http import CTX_KEY
from server.ws_driver import DirectSocket, frame
from tests.handlers.test_presence import about, share_conversation
from tests.helpers import Api, wait_until


def eio_socket(client: Any, sid: str) -> Any:
    sio = client.app[CTX_KEY].realtime.emitter
    return sio.eio.sockets[sio.manager.eio_sid_from_sid(sid, "/")]


@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536, 70000])
def test_frames_are_unmasked_and_sized_as_rfc_6455_says(length: int) -> None:
    text = "é" * (length // 2) + "a" * (length % 2)  # two bytes each in UTF-8
    data = frame(text)
    payload = text.encode()
    assert data[0] == 0x81  # FIN, text
    assert data[1] & 0x80 == 0  # a server never masks
    if len(payload) < 126:
        assert data[1] == len(payload) and data[2:] == payload
    elif len(payload) < 65536:
        assert data[1] == 126 and int.from_bytes(data[2:4], "big") == len(payload) and data[4:] == payload
    else:
        assert data[1] == 127 and int.from_bytes(data[2:10], "big") == len(payload) and data[10:] == payload
    assert frame(b"\x00\x01")[:2] == bytes((0x82, 2))  # binary


async def test_every_transport_gets_the_same_messages_acks_and_presence(api: Api, sockets: Any, client: Any) -> None:
    users = [await api.user() for _ in range(3)]
    reply = await api.post(
        "/conversations", {"participantIds": [u.id for u in users[1:]], "title": "t"}, token=users[0].token
    )
    conversation = reply.data["id"]
    ws = await sockets(users[0].token)
    polling = await sockets(users[1].token, transports=("polling",))
    upgraded = await sockets(users[2].token, transports=("polling", "websocket"))
    assert isinstance(eio_socket(client, ws.sio.get_sid()), DirectSocket)
    assert type(eio_socket(client, polling.sio.get_sid())) is AsyncSocket
    assert type(eio_socket(client, upgraded.sio.get_sid())) is AsyncSocket

    for n, sender in enumerate([ws, polling, upgraded, ws, polling, upgraded], start=1):
        ack = await sender.call("chat:send", {"conversationId": conversation, "body": f"m{n}"})
        assert ack["success"] is True and ack["data"]["seq"] == n
    for sock in (ws, polling, upgraded):
        await sock.wait_for("chat:message", lambda m: m["seq"] == 6)
        assert [m["body"] for m in sock.events("chat:message")] == [f"m{n}" for n in range(1, 7)]

    await polling.close()
    assert (await ws.wait_for("presence", about(users[1].id, False)))["online"] is False
    await ws.close()
    assert (await upgraded.wait_for("presence", about(users[0].id, False)))["online"] is False


async def test_a_client_that_reads_nothing_is_dropped_not_buffered_without_end(
    api: Api, sockets: Any, client: Any
) -> None:
    a, b = await api.user(), await api.user()
    await share_conversation(api, a, b)
    sock_b = await sockets(b.token)
    sock_a = await sockets(a.token)
    await sock_b.wait_for("presence", about(a.id, True))
    # Anything still unwritten counts as unread: with a bound below zero, the next packet to A is over it.
    eio_socket(client, sock_a.sio.get_sid()).max_buffered = -1
    conversation = (await api.get("/conversations", token=b.token)).data[0]["id"]
    ack = await sock_b.call("chat:send", {"conversationId": conversation, "body": "hello"})
    assert ack["success"] is True
    assert await sock_a.closed_within(5)  # dropped like a lost connection ...
    # ... and its disconnect ran like one: A went offline for B.
    assert (await sock_b.wait_for("presence", about(a.id, False)))["online"] is False


async def test_a_user_counts_as_connected_here_until_their_last_socket_here_closes(
    api: Api, sockets: Any, client: Any
) -> None:
    realtime = client.app[CTX_KEY].realtime
    a = await api.user()
    first, second = await sockets(a.token), await sockets(a.token)
    assert realtime.connected_here(a.id)
    await first.close()
    await asyncio.sleep(0.05)  # the server notices the close
    assert realtime.connected_here(a.id)
    await second.close()
    for _ in range(100):
        if not realtime.connected_here(a.id):
            break
        await asyncio.sleep(0.02)
    assert not realtime.connected_here(a.id)


async def test_pings_keep_an_answering_client_and_drop_a_silent_one(api: Api, sockets: Any, client: Any) -> None:
    """Engine.IO's heartbeat over the direct transport: the server pings, a client that answers
    stays, one that does not is closed (its disconnect runs) by Engine.IO's service task."""
    eio = client.app[CTX_KEY].realtime.emitter.eio
    eio.ping_interval, eio.ping_timeout = 0.1, 0.3  # announced to clients that connect from now on
    a = await api.user()
    answering = await sockets(a.token)
    server_side = eio_socket(client, answering.sio.get_sid())
    pinged = server_side.last_ping
    assert await wait_until(lambda: server_side.last_ping not in (None, pinged))  # pinged ...
    assert await wait_until(lambda: server_side.last_ping is None)  # ... and answered

    base = str(client.make_url("/socket.io/")) + "?EIO=4&transport=websocket"
    async with client.session.ws_connect(base) as silent:
        assert (await silent.receive_str()).startswith("0{")  # OPEN
        await silent.send_str("40" + json.dumps({"token": a.token}))
        assert (await silent.receive_str()).startswith("40{")  # connected, and then never a pong
        sid = next(s for _, s in client.app[CTX_KEY].realtime.local_connections() if s != answering.sio.get_sid())
        assert client.app[CTX_KEY].realtime.is_local(sid)
        assert await wait_until(lambda: not client.app[CTX_KEY].realtime.is_local(sid))
    assert answering.sio.connected


class RecordingTransport:
    """A transport that notes each write and passes everything on."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


async def test_what_one_socket_is_sent_in_one_loop_turn_goes_out_in_one_write_in_order(
    api: Api, sockets: Any, client: Any
) -> None:
    a = await api.user()
    sock = await sockets(a.token)
    server_side = eio_socket(client, sock.sio.get_sid())
    recorder = server_side.transport = RecordingTransport(server_side.transport)
    realtime = client.app[CTX_KEY].realtime
    for n in range(3):  # no await in between suspends: one turn of the loop
        await realtime.emit("test:turn", {"n": n}, [f"user:{a.id}"])
    assert recorder.writes == []  # nothing written yet: at the end of the turn
    await wait_until(lambda: len(sock.events("test:turn")) == 3)
    assert [e["n"] for e in sock.events("test:turn")] == [0, 1, 2]
    assert len(recorder.writes) == 1
    assert recorder.writes[0] == b"".join(frame(f'42["test:turn",{{"n":{n}}}]') for n in range(3))

    await realtime.emit("test:turn", {"n": 3}, [f"user:{a.id}"])  # a later turn: a write of its own
    await wait_until(lambda: len(sock.events("test:turn")) == 4)
    assert len(recorder.writes) == 2
