"""Chat through the real app: REST, real Socket.IO clients, the notification pipeline."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.helpers import Api, User

EN = {"Accept-Language": "en"}


async def conversation(api: Api, owner: User, *others: User, title: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"participantIds": [o.id for o in others]}
    if title:
        body["title"] = title
    reply = await api.post("/conversations", body, token=owner.token)
    assert reply.status in (200, 201), reply.body
    return reply.data


async def send(
    api: Api, user: User, conversation_id: str, body: str, headers: dict[str, str] | None = None, **extra: Any
) -> Any:
    return await api.post(
        f"/conversations/{conversation_id}/messages", {"body": body, **extra}, token=user.token, headers=headers
    )


async def mine(api: Api, user: User, conversation_id: str) -> dict[str, Any]:
    listed = await api.get("/conversations", token=user.token)
    assert listed.status == 200, listed.body
    return next(c for c in listed.data if c["id"] == conversation_id)


async def test_TC_INT_004_realtime_chat_flow(api: Api, sockets) -> None:
    a, b = await api.user("STUDENT"), await api.user("TUTOR")
    sock_a, sock_b = await sockets(a.token), await sockets(b.token)

    # 1. User A creates the conversation via the API (a direct one, reused when asked again).
    created = await api.post("/conversations", {"participantIds": [b.id]}, token=a.token)
    assert created.status == 201 and created.data["type"] == "DIRECT"
    conv = created.data
    assert sorted(conv["participantIds"]) == sorted([a.id, b.id]) and conv["unreadCount"] == 0
    again = await api.post("/conversations", {"participantIds": [a.id]}, token=b.token)
    assert again.status == 200 and again.data["id"] == conv["id"]

    # 2. User A sends a message via the API.
    sent = await send(api, a, conv["id"], "Chào thầy, em có câu hỏi", clientMessageId="a-1")
    assert sent.status == 201, sent.body
    first = sent.data
    assert first["seq"] == 1 and first["senderId"] == a.id and first["conversationId"] == conv["id"]
    assert set(first) >= {"id", "conversationId", "senderId", "body", "seq", "createdAt"}

    # 3. User B receives it over the socket.
    got = await sock_b.wait_for("chat:message", lambda m: m["id"] == first["id"])
    assert got["body"] == "Chào thầy, em có câu hỏi" and got["seq"] == 1
    assert (await mine(api, b, conv["id"]))["unreadCount"] == 1

    # 4. User B replies over the socket, with an ack carrying the stored message.
    ack = await sock_b.call("chat:send", {"conversationId": conv["id"], "body": "Em hỏi đi", "clientMessageId": "b-1"})
    assert ack["success"] is True, ack
    reply = ack["data"]
    assert reply["seq"] == 2 and reply["senderId"] == b.id

    # 5. User A receives it.
    got = await sock_a.wait_for("chat:message", lambda m: m["id"] == reply["id"])
    assert got["body"] == "Em hỏi đi"

    # 6. Both messages are stored, in order (history is newest first).
    hist = await api.get(f"/conversations/{conv['id']}/messages", token=a.token)
    assert hist.status == 200 and [m["seq"] for m in hist.data] == [2, 1]
    assert [m["id"] for m in hist.data] == [reply["id"], first["id"]]

    # 7. Unread counts: A has B's reply unread; B's own reply marked B's side read.
    conv_a, conv_b = await mine(api, a, conv["id"]), await mine(api, b, conv["id"])
    assert conv_a["unreadCount"] == 1 and conv_b["unreadCount"] == 0
    assert conv_a["lastMessage"]["id"] == reply["id"] and conv_a["lastSeq"] == 2

    # Reading drops the count, and B sees the receipt.
    read = await api.post(f"/conversations/{conv['id']}/read", {"seq": 2}, token=a.token)
    assert read.status == 200 and read.data["unreadCount"] == 0 and read.data["lastReadSeq"] == 2
    receipt = await sock_b.wait_for("chat:read", lambda r: r["userId"] == a.id)
    assert receipt == {"conversationId": conv["id"], "userId": a.id, "seq": 2}
    assert (await mine(api, a, conv["id"]))["unreadCount"] == 0


async def test_TC_INT_012_concurrent_sends_get_seq_1_to_60_without_gap(api: Api, sockets) -> None:
    a, b = await api.user(), await api.user()
    conv = await conversation(api, a, b)
    sock_b = await sockets(b.token)
    rest = [send(api, a, conv["id"], f"a{i}", clientMessageId=f"a-{i}") for i in range(30)]
    socket = [
        sock_b.call("chat:send", {"conversationId": conv["id"], "body": f"b{i}", "clientMessageId": f"b-{i}"})
        for i in range(30)
    ]
    results = await asyncio.gather(*rest, *socket)
    seqs = [r.data["seq"] for r in results[:30]] + [r["data"]["seq"] for r in results[30:]]
    assert all(r.status == 201 for r in results[:30]) and all(r["success"] for r in results[30:])
    assert sorted(seqs) == list(range(1, 61))  # no gap, no duplicate

    stored = []
    before = None
    while True:
        page = await api.get(
            f"/conversations/{conv['id']}/messages",
            token=a.token,
            params={"limit": 25, **({"before": before} if before else {})},
        )
        if not page.data:
            break
        stored += page.data
        before = page.data[-1]["seq"]
    assert [m["seq"] for m in stored] == list(range(60, 0, -1))
    assert len({m["id"] for m in stored}) == 60
    assert sorted(m["body"] for m in stored) == sorted([f"a{i}" for i in range(30)] + [f"b{i}" for i in range(30)])
    assert (await mine(api, a, conv["id"]))["lastSeq"] == 60


async def test_resend_with_same_client_message_id_returns_the_first_message(api: Api, sockets) -> None:
    a, b = await api.user(), await api.user()
    conv = await conversation(api, a, b)
    first = await send(api, a, conv["id"], "hello", clientMessageId="m-1")
    again = await send(api, a, conv["id"], "hello (retry)", clientMessageId="m-1")
    assert again.status == 201 and again.data == first.data  # the first message, not a copy
    sock = await sockets(a.token)
    ack = await sock.call("chat:send", {"conversationId": conv["id"], "body": "x", "clientMessageId": "m-1"})
    assert ack["success"] and ack["data"]["id"] == first.data["id"]

    # Racing resends take one seq between them.
    racing = await asyncio.gather(*(send(api, a, conv["id"], "once", clientMessageId="m-2") for _ in range(10)))
    assert len({r.data["id"] for r in racing}) == 1 and {r.data["seq"] for r in racing} == {2}

    # The key is per sender: the other member's "m-1" is their own message.
    other = await send(api, b, conv["id"], "mine", clientMessageId="m-1")
    assert other.data["id"] != first.data["id"] and other.data["seq"] == 3
    hist = await api.get(f"/conversations/{conv['id']}/messages", token=a.token)
    assert [m["body"] for m in hist.data] == ["mine", "once", "hello"]


async def test_sync_after_disconnect_returns_exactly_the_missed_messages(api: Api, sockets) -> None:
    a, b = await api.user(), await api.user()
    conv = await conversation(api, a, b)
    sock_b = await sockets(b.token)
    for i in (1, 2):
        await send(api, a, conv["id"], f"m{i}")
    await sock_b.wait_for("chat:message", lambda m: m["seq"] == 2)
    seen = max(m["seq"] for m in sock_b.events("chat:message"))
    await sock_b.close()

    for i in (3, 4, 5):
        await send(api, a, conv["id"], f"m{i}")

    sock_b = await sockets(b.token)
    synced = await sock_b.call("chat:sync", {"conversationId": conv["id"], "afterSeq": seen})
    assert synced["success"], synced
    assert [m["body"] for m in synced["data"]["messages"]] == ["m3", "m4", "m5"]
    assert synced["data"]["hasMore"] is False and synced["data"]["lastSeq"] == 5
    assert synced["data"]["unreadCount"] == 5

    capped = await sock_b.call("chat:sync", {"conversationId": conv["id"], "afterSeq": seen, "limit": 2})
    assert [m["seq"] for m in capped["data"]["messages"]] == [3, 4] and capped["data"]["hasMore"] is True


async def test_outsider_is_refused_over_rest_and_every_socket_event(api: Api, sockets) -> None:
    a, b, outsider = await api.user(), await api.user(), await api.user()
    conv = await conversation(api, a, b)
    await send(api, a, conv["id"], "private")
    cid = conv["id"]
    denied = {"error": "Forbidden", "message": "Access denied"}

    for reply in (
        await api.get(f"/conversations/{cid}", token=outsider.token),
        await api.get(f"/conversations/{cid}/messages", token=outsider.token),
        await send(api, outsider, cid, "let me in"),
        await api.post(f"/conversations/{cid}/read", {"seq": 1}, token=outsider.token),
    ):
        assert reply.status == 403 and reply.body == denied, reply.body

    sock = await sockets(outsider.token)
    for event, payload in (
        ("chat:send", {"conversationId": cid, "body": "x", "clientMessageId": "o-1"}),
        ("chat:read", {"conversationId": cid, "seq": 1}),
        ("chat:typing", {"conversationId": cid, "typing": True}),
        ("chat:sync", {"conversationId": cid, "afterSeq": 0}),
        ("room:join", {"room": f"conversation:{cid}"}),
    ):
        ack = await sock.call(event, payload)
        assert ack == {"success": False, "message": "Access denied"}, (event, ack)

    assert (await api.get("/conversations", token=outsider.token)).data == []
    assert len((await api.get(f"/conversations/{cid}/messages", token=a.token)).data) == 1
    unknown = await api.get("/conversations/no-such-id/messages", token=a.token, headers=EN)
    assert unknown.status == 404 and unknown.body["message"] == "Conversation not found"
    # A member may watch the conversation's room.
    sock_a = await sockets(a.token)
    assert (await sock_a.call("room:join", {"room": f"conversation:{cid}"}))["success"] is True


async def test_typing_reaches_the_other_member_and_not_the_typist(api: Api, sockets, ctx) -> None:
    a, b = await api.user(), await api.user()
    conv = await conversation(api, a, b)
    sock_a, sock_a2, sock_b = await sockets(a.token), await sockets(a.token), await sockets(b.token)
    await sock_a.call("room:join", {"room": f"conversation:{conv['id']}"})

    ack = await sock_a.call("chat:typing", {"conversationId": conv["id"], "typing": True})
    assert ack["success"], ack
    got = await sock_b.wait_for("chat:typing")
    assert got == {"conversationId": conv["id"], "userId": a.id, "typing": True}

    # B types back; A's sockets get that, and by then never got their own typing.
    await sock_b.call("chat:typing", {"conversationId": conv["id"], "typing": False})
    for sock in (sock_a, sock_a2):
        await sock.wait_for("chat:typing", lambda t: t["userId"] == b.id)
        assert [t for t in sock.events("chat:typing") if t["userId"] == a.id] == []
    assert await ctx.db["messages"].count_documents({}) == 0  # typing is never stored


async def test_read_receipt_over_socket_and_bounds(api: Api, sockets) -> None:
    a, b = await api.user(), await api.user()
    conv = await conversation(api, a, b)
    sock_a, sock_b = await sockets(a.token), await sockets(b.token)
    for i in range(3):
        await send(api, a, conv["id"], f"m{i}")
    ack = await sock_b.call("chat:read", {"conversationId": conv["id"], "seq": 2})
    assert ack["success"] and ack["data"]["unreadCount"] == 1
    assert (await sock_a.wait_for("chat:read"))["seq"] == 2
    lower = await sock_b.call("chat:read", {"conversationId": conv["id"], "seq": 1})
    assert lower["data"]["lastReadSeq"] == 2  # never lowered
    beyond = await api.post(f"/conversations/{conv['id']}/read", {"seq": 9}, token=b.token, headers=EN)
    assert beyond.status == 400 and beyond.body["message"] == "Cannot mark as read past the last message (3)"


async def test_group_conversation_and_listing(api: Api, clock) -> None:
    a, b, c = await api.user(), await api.user(), await api.user()
    group = await api.post("/conversations", {"participantIds": [b.id, c.id], "title": "Lớp Toán"}, token=a.token)
    assert group.status == 201 and group.data["type"] == "GROUP" and group.data["title"] == "Lớp Toán"
    direct = await conversation(api, a, b)
    clock.advance(seconds=1)
    await send(api, b, group.data["id"], "hi all")
    listed = await api.get("/conversations", token=a.token)
    assert listed.body["totalItems"] == 2
    assert [c_["id"] for c_ in listed.data] == [group.data["id"], direct["id"]]  # most recent first
    assert listed.data[0]["unreadCount"] == 1 and listed.data[0]["lastMessage"]["body"] == "hi all"
    assert {p["id"] for p in listed.data[0]["participants"]} == {a.id, b.id, c.id}

    assert (await api.post("/conversations", {"participantIds": [a.id]}, token=a.token)).status == 400
    unknown = await api.post("/conversations", {"participantIds": ["nobody"]}, token=a.token, headers=EN)
    assert unknown.status == 404 and unknown.body["message"] == "Participant not found"


async def test_oversize_and_invalid_messages_are_refused_and_not_stored(api: Api, sockets, ctx) -> None:
    a, b = await api.user(), await api.user()
    conv = await conversation(api, a, b)
    sock = await sockets(a.token)

    huge = await sock.call("chat:send", {"conversationId": conv["id"], "body": "x" * 70_000, "clientMessageId": "h"})
    assert huge == {"success": False, "message": "Dữ liệu gửi lên quá lớn"}
    too_long = await sock.call("chat:send", {"conversationId": conv["id"], "body": "x" * 4001, "clientMessageId": "l"})
    assert too_long["success"] is False and too_long["message"] == "Tin nhắn không được quá 4000 ký tự"
    rest = await send(api, a, conv["id"], "y" * 4001)
    assert rest.status == 400 and rest.body["validationErrors"] == [
        {"field": "body", "message": "Tin nhắn không được quá 4000 ký tự"}
    ]
    blank = await send(api, a, conv["id"], "   ")
    assert blank.status == 400 and blank.body["message"] == "Nội dung tin nhắn không được để trống"

    assert await ctx.db["messages"].count_documents({}) == 0
    assert (await mine(api, a, conv["id"]))["lastSeq"] == 0
    exactly = await send(api, a, conv["id"], "z" * 4000)
    assert exactly.status == 201 and exactly.data["seq"] == 1


async def test_rate_limit_refuses_over_rest_and_socket_and_stores_nothing(api: Api, sockets, ctx, clock) -> None:
    a, b = await api.user(), await api.user()
    conv = await conversation(api, a, b)
    limit = ctx.settings.chat_rate_limit_messages
    sock = await sockets(a.token, locale="en")
    for i in range(limit - 1):
        assert (await send(api, a, conv["id"], f"m{i}", clientMessageId=f"c{i}")).status == 201
    ack = await sock.call("chat:send", {"conversationId": conv["id"], "body": "last", "clientMessageId": "last"})
    assert ack["success"], ack  # REST and socket share the one limit

    refused = await send(api, a, conv["id"], "too fast", headers=EN)
    window = int(ctx.settings.chat_rate_limit_window_seconds)
    assert refused.status == 429 and refused.headers["Retry-After"] == str(window)
    assert refused.body == {
        "success": False,
        "message": f"You are sending messages too fast, please retry in {window} seconds",
        "retryAfter": window,
    }
    refused_sock = await sock.call(
        "chat:send", {"conversationId": conv["id"], "body": "too fast", "clientMessageId": "x"}
    )
    assert refused_sock["success"] is False and "too fast" in refused_sock["message"]
    assert refused_sock["retryAfter"] == window
    assert await ctx.db["messages"].count_documents({}) == limit
    # A resend of a stored message is not a new send: still answered.
    assert (await send(api, a, conv["id"], "m0", clientMessageId="c0")).data["seq"] == 1
    # Another user is not affected; the window moves on with time.
    assert (await send(api, b, conv["id"], "other")).status == 201
    clock.advance(seconds=ctx.settings.chat_rate_limit_window_seconds)
    assert (await send(api, a, conv["id"], "later")).data["seq"] == limit + 2


async def test_offline_member_gets_one_pending_notification_per_conversation(api: Api, sockets, jobs) -> None:
    a, b, c = await api.user(fullName="An"), await api.user(fullName="Bình"), await api.user(fullName="Chi")
    conv = await conversation(api, a, b, c, title="Nhóm học")
    sock_c = await sockets(c.token)  # C is online, B is not

    for i in range(3):
        await send(api, a, conv["id"], f"tin {i}")
    await jobs.run()
    notes_b = (await api.get("/notifications", token=b.token)).data
    assert len(notes_b) == 1, notes_b  # not one per message
    assert notes_b[0]["type"] == "chat.new_messages" and notes_b[0]["title"] == "Tin nhắn mới từ An"
    assert notes_b[0]["body"] == "Nhóm học: tin 0" and notes_b[0]["data"]["conversationId"] == conv["id"]
    assert (await api.get("/notifications", token=c.token)).data == []  # online members get the message live
    await sock_c.wait_for("chat:message", lambda m: m["seq"] == 3)

    # Once B has read the conversation, the next message while offline notifies again.
    await api.post(f"/conversations/{conv['id']}/read", {"seq": 3}, token=b.token)
    await send(api, a, conv["id"], "tin 3")
    await send(api, a, conv["id"], "tin 4")
    await jobs.run()
    notes_b = (await api.get("/notifications", token=b.token)).data
    assert sorted(n["body"] for n in notes_b) == ["Nhóm học: tin 0", "Nhóm học: tin 3"]


async def test_concurrent_requests_for_the_same_pair_make_one_direct_conversation(api: Api) -> None:
    a, b = await api.user(), await api.user()
    replies = await asyncio.gather(
        *(api.post("/conversations", {"participantIds": [b.id]}, token=a.token) for _ in range(5)),
        *(api.post("/conversations", {"participantIds": [a.id]}, token=b.token) for _ in range(5)),
    )
    assert len({r.data["id"] for r in replies}) == 1
    assert sorted(r.status for r in replies).count(201) == 1
    assert (await api.get("/conversations", token=a.token)).body["totalItems"] == 1
