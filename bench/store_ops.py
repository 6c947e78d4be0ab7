#!/usr/bin/env python3
"""Embedded-store micro-benchmark: the chat send path's single-document operations, with the
by-`_id` path (server/embedded_by_id.py) and with mongomock's own methods, in the same run.

    .venv/bin/python -m bench.store_ops                          # 2,000 messages a round, best of 5
    .venv/bin/python -m bench.store_ops --messages 5000 --rounds 7 --history 20000

Two embedded stores (inline, as the server runs a small operation; no DATA_DIR, but each write
still builds its journal records) get the chat indexes (models/chat.py) and one group
conversation of `--members` members with `--history` numbered messages. Then, round after round
and alternating the two stores, each sends `--messages` messages exactly as `models.chat` does,
through the async collection API:

  1. messages.insert_one(reservation)
  2. conversations.find_one_and_update({_id, memberIds: sender}, {$inc: {lastSeq: 1}}, projection, AFTER)
  3. messages.find_one_and_update({_id, seq: None}, {$set: {seq, numberedAt}, $unset: {reservedAt}}, AFTER)
  4. conversations.update_one({_id, $or: [{lastMessage: None}, {lastMessage.seq: {$lt: seq}}]},
                              {$set: {lastMessage}, $max: {reads.<sender>: seq, lastActivityAt}})
  5. messages.find_one({_id})  (a plain read by _id)

and each operation is timed on its own. Printed: µs per operation, the best round of each (the
machine is shared), for both stores and their ratio; at the end the two stores must hold the same
documents.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from bench.common import machine
from models.chat import CONVERSATIONS, INDEXES, MESSAGES, SENDING_FIELDS
from server.embedded_store import EmbeddedStore

OPERATIONS = [
    "messages.insert_one (reservation)",
    "conversations.find_one_and_update ($inc)",
    "messages.find_one_and_update (numbering)",
    "conversations.update_one (lastMessage)",
    "messages.find_one by _id",
]
CONVERSATION = "bench-conversation"
HISTORY_BATCH = 500
NAMESPACE = uuid.UUID("6f1b8a52-4c1e-4f0e-9a53-0c6d1b7f2e11")


class Sender:
    """One store and the chat sends it has made (the same ids and times in both stores)."""

    def __init__(self, fast: bool) -> None:
        self.store = EmbeddedStore("bench", None, threaded=False)
        self.fast = fast
        self.sent = 0
        self.clock = datetime(2025, 9, 6, 7, 39, 22, 123456, tzinfo=UTC)

    async def prepare(self, members: int, history: int) -> None:
        db = self.store.db
        for collection, keys, options in INDEXES:
            await db[collection].create_index(keys, **options)
        for name in (MESSAGES, CONVERSATIONS):
            self.store.engine(name).use_by_id(self.fast)
        member_ids = [f"user-{i}" for i in range(members)]
        await db[CONVERSATIONS].insert_one(
            {
                "_id": CONVERSATION,
                "type": "GROUP",
                "title": "Bench",
                "memberIds": member_ids,
                "createdBy": member_ids[0],
                "createdAt": self.clock,
                "lastActivityAt": self.clock,
                "lastSeq": 0,
                "lastMessage": None,
                "reads": {},
            }
        )
        for start in range(0, history, HISTORY_BATCH):  # (one insert_many's unique checks grow with its size)
            await db[MESSAGES].insert_many(
                [
                    {
                        "_id": f"history-{n}",
                        "conversationId": CONVERSATION,
                        "senderId": member_ids[n % members],
                        "clientMessageId": f"history-{n}",
                        "body": f"earlier message {n}",
                        "seq": n + 1,
                        "createdAt": self.clock,
                        "numberedAt": self.clock,
                    }
                    for n in range(start, min(history, start + HISTORY_BATCH))
                ]
            )
        if history:
            await db[CONVERSATIONS].update_one({"_id": CONVERSATION}, {"$set": {"lastSeq": history}})

    async def round(self, messages: int, members: int) -> list[float]:
        """Send `messages` messages; seconds spent in each operation."""
        db = self.store.db
        spent = [0.0] * len(OPERATIONS)
        clock = time.perf_counter
        gc.collect()
        for _ in range(messages):
            self.sent += 1
            n = self.sent
            sender = f"user-{n % members}"
            now = self.clock + timedelta(milliseconds=n)
            message_id = str(uuid.uuid5(NAMESPACE, str(n)))
            reservation = {
                "_id": message_id,
                "conversationId": CONVERSATION,
                "senderId": sender,
                "clientMessageId": f"client-{n}",
                "body": f"message {n}: a chat message of a typical length",
                "seq": None,
                "createdAt": now,
                "reservedAt": now,
            }
            t0 = clock()
            await db[MESSAGES].insert_one(reservation)
            t1 = clock()
            counter = await db[CONVERSATIONS].find_one_and_update(
                {"_id": CONVERSATION, "memberIds": sender},
                {"$inc": {"lastSeq": 1}},
                projection=SENDING_FIELDS,
                return_document=ReturnDocument.AFTER,
            )
            t2 = clock()
            seq = counter["lastSeq"]
            doc = await db[MESSAGES].find_one_and_update(
                {"_id": message_id, "seq": None},
                {"$set": {"seq": seq, "numberedAt": now}, "$unset": {"reservedAt": ""}},
                return_document=ReturnDocument.AFTER,
            )
            t3 = clock()
            message = {
                "id": doc["_id"],
                "conversationId": CONVERSATION,
                "senderId": sender,
                "body": doc["body"],
                "seq": seq,
                "createdAt": doc["createdAt"],
                "clientMessageId": doc["clientMessageId"],
            }
            result = await db[CONVERSATIONS].update_one(
                {"_id": CONVERSATION, "$or": [{"lastMessage": None}, {"lastMessage.seq": {"$lt": seq}}]},
                {"$set": {"lastMessage": message}, "$max": {f"reads.{sender}": seq, "lastActivityAt": now}},
            )
            t4 = clock()
            await db[MESSAGES].find_one({"_id": message_id})
            t5 = clock()
            assert result.modified_count == 1, result.raw_result
            for i, (began, ended) in enumerate(((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5))):
                spent[i] += ended - began
        return spent

    async def documents(self) -> dict[str, list[dict[str, Any]]]:
        return {
            name: await self.store.db[name].find({}).sort("_id", 1).to_list(None) for name in (MESSAGES, CONVERSATIONS)
        }


async def run(args: argparse.Namespace) -> None:
    fast, plain = Sender(fast=True), Sender(fast=False)
    for sender in (fast, plain):
        await sender.prepare(args.members, args.history)
    best: dict[bool, list[float]] = {True: [float("inf")] * len(OPERATIONS), False: [float("inf")] * len(OPERATIONS)}
    for _ in range(args.rounds):
        for sender in (fast, plain):  # alternating: both see the same moments of a shared machine
            spent = await sender.round(args.messages, args.members)
            best[sender.fast] = [min(b, s / args.messages * 1e6) for b, s in zip(best[sender.fast], spent, strict=True)]
    assert await fast.documents() == await plain.documents(), "the two stores differ"
    print(
        f"embedded store, inline, no journal file; one conversation of {args.members} members, "
        f"{args.history:,} messages of history; best of {args.rounds} rounds of {args.messages:,} messages"
    )
    print(f"{'µs per operation':<44} {'by _id':>8} {'mongomock':>10} {'ratio':>7}")
    for name, mine, theirs in zip(OPERATIONS, best[True], best[False], strict=True):
        print(f"{name:<44} {mine:>8.1f} {theirs:>10.1f} {theirs / mine:>6.1f}x")
    mine_total, theirs_total = sum(best[True]), sum(best[False])
    total = "one chat message (all five)"
    print(f"{total:<44} {mine_total:>8.1f} {theirs_total:>10.1f} {theirs_total / mine_total:>6.1f}x")
    print(f"machine: {machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per store; the best is kept (default 5)")
    parser.add_argument("--members", type=int, default=10, help="members of the conversation (default 10)")
    parser.add_argument("--history", type=int, default=1000, help="messages already in it (default 1000)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
