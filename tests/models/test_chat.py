"""Chat model edges that need a hand on the store: a send that died half way."""

from __future__ import annotations

from models import chat
from tests.helpers import Api


async def test_a_reservation_left_by_a_dead_request_is_taken_over_by_the_resend(
    api: Api, ctx, clock, sockets, monkeypatch
) -> None:
    a, b = await api.user(), await api.user()
    cid = (await api.post("/conversations", {"participantIds": [b.id]}, token=a.token)).data["id"]
    sock_b = await sockets(b.token)
    # A request reserved clientMessageId "m-1" and died before taking a seq.
    dead_id = chat.message_id(cid, a.id, "m-1")
    await ctx.db[chat.MESSAGES].insert_one(
        {
            "_id": dead_id,
            "conversationId": cid,
            "senderId": a.id,
            "clientMessageId": "m-1",
            "body": "hello",
            "seq": None,
            "createdAt": clock.now(),
            "reservedAt": clock.now(),
        }
    )
    url = f"/conversations/{cid}/messages"
    assert (await api.get(url, token=a.token)).data == []  # not visible before it has its seq

    # A resend right away waits for the first request, then says it is still being sent.
    monkeypatch.setattr(chat, "REPLAY_WAIT_SECONDS", 0.1)
    early = await api.post(
        url, {"body": "hello", "clientMessageId": "m-1"}, token=a.token, headers={"Accept-Language": "en"}
    )
    assert early.status == 409 and early.body["message"] == "This message is still being sent, please retry"

    # Once the reservation is stale, the resend completes it: same message, first seq, delivered.
    clock.advance(seconds=chat.STALE_RESERVATION.total_seconds())
    done = await api.post(url, {"body": "hello again", "clientMessageId": "m-1"}, token=a.token)
    assert done.status == 201 and done.data["id"] == dead_id and done.data["seq"] == 1
    assert done.data["body"] == "hello"
    assert (await sock_b.wait_for("chat:message"))["id"] == dead_id
    nxt = await api.post(url, {"body": "next"}, token=a.token)
    assert nxt.data["seq"] == 2
