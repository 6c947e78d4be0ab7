"""No reader skips a seq: a message numbered after a later one became visible is still found.

Sender A takes seq 13, sender B seq 14, and B's message is numbered first. A client that syncs (or
loads the newest history page) in that moment must not be handed 14, or it asks for what follows
14 and never receives 13. The store's random interleaving (conftest) opens that window often; many
concurrent sends make it certain.
"""

from __future__ import annotations

import asyncio
from typing import Any

from models import chat
from server.auth import Principal
from server.context import Context
from tests.helpers import Api, User

SENDERS = 4
MESSAGES_EACH = 6
CONVERSATIONS = 3


def principal(user: User) -> Principal:
    return Principal(id=user.id, role=user.role, jti="test", family="test", expires_at=0.0)


async def follow_by_sync(ctx: Context, reader: Principal, cid: str, sending: asyncio.Event) -> list[int]:
    """A client that keeps syncing from the last seq it holds, as a reconnecting client does."""
    seen: list[int] = []
    while True:
        done = sending.is_set()
        reply = await chat.sync(ctx, reader, chat.SyncPayload(conversationId=cid, afterSeq=seen[-1] if seen else 0))
        seen += [m["seq"] for m in reply["messages"]]
        if done and not reply["messages"]:
            return seen


async def follow_by_history(ctx: Context, reader: Principal, cid: str, sending: asyncio.Event) -> list[int]:
    """A client that opens the conversation (newest page) and then syncs from its newest message."""
    await asyncio.sleep(0)
    page = await chat.history(ctx, reader, cid, chat.HistoryQuery(limit=3))
    held = sorted(m["seq"] for m in page)
    if held and held[0] > 1:  # the older pages it would scroll to
        older = await chat.history(ctx, reader, cid, chat.HistoryQuery(before=held[0], limit=100))
        held = sorted(m["seq"] for m in older) + held
    while True:
        done = sending.is_set()
        reply = await chat.sync(ctx, reader, chat.SyncPayload(conversationId=cid, afterSeq=held[-1] if held else 0))
        held += [m["seq"] for m in reply["messages"]]
        if done and not reply["messages"]:
            return held


async def one_conversation(api: Api, ctx: Context) -> tuple[list[int], list[int], int]:
    users = [await api.user() for _ in range(SENDERS + 1)]
    reader, senders = principal(users[0]), [principal(u) for u in users[1:]]
    conversation = await api.post(
        "/conversations", {"participantIds": [u.id for u in users[1:]], "title": "race"}, token=users[0].token
    )
    cid = conversation.data["id"]
    sending = asyncio.Event()

    async def send_all(sender: Principal) -> None:
        for n in range(MESSAGES_EACH):
            await chat.send_message(ctx, sender, cid, chat.NewMessage(body=f"{sender.id} {n}"))

    followers = [
        asyncio.create_task(follow_by_sync(ctx, reader, cid, sending)),
        asyncio.create_task(follow_by_history(ctx, reader, cid, sending)),
    ]
    await asyncio.gather(*(send_all(s) for s in senders))
    sending.set()
    by_sync, by_history = await asyncio.gather(*followers)
    return by_sync, by_history, SENDERS * MESSAGES_EACH


async def test_sync_and_history_never_skip_a_seq_numbered_late(api: Api, ctx: Context) -> None:
    results: list[Any] = await asyncio.gather(*(one_conversation(api, ctx) for _ in range(CONVERSATIONS)))
    for by_sync, by_history, total in results:
        assert by_sync == list(range(1, total + 1))
        assert by_history == list(range(1, total + 1))


async def test_a_seq_whose_sender_died_is_passed_once_stale(api: Api, ctx: Context, clock: Any) -> None:
    a, b = await api.user(), await api.user()
    cid = (await api.post("/conversations", {"participantIds": [b.id]}, token=a.token)).data["id"]
    url = f"/conversations/{cid}/messages"
    assert (await api.post(url, {"body": "one"}, token=a.token)).data["seq"] == 1
    # A sender took seq 2 and died before numbering its message.
    await ctx.db[chat.CONVERSATIONS].update_one({"_id": cid}, {"$inc": {"lastSeq": 1}})
    assert (await api.post(url, {"body": "three"}, token=b.token)).data["seq"] == 3
    reader = principal(a)
    waiting = await chat.sync(ctx, reader, chat.SyncPayload(conversationId=cid, afterSeq=0))
    assert [m["seq"] for m in waiting["messages"]] == [1]  # 2 may still be on its way
    assert [m["seq"] for m in (await api.get(url, token=a.token)).data] == [1]

    clock.advance(seconds=chat.STALE_RESERVATION.total_seconds() + 1)
    passed = await chat.sync(ctx, reader, chat.SyncPayload(conversationId=cid, afterSeq=1))
    assert [m["seq"] for m in passed["messages"]] == [3]  # 2 is void now
    assert [m["seq"] for m in (await api.get(url, token=a.token)).data] == [3, 1]
    assert (await api.post(url, {"body": "four"}, token=a.token)).data["seq"] == 4
