"""The Redis relay between processes: emits are published in the background, in emit order, in
batches; a closing event's publish is awaited; `aclose()` sends what is still queued."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import redis.asyncio as aioredis

from server.socket_manager import TOKEN_REVOKED, RedisSocketManager, relayed
from tests.helpers import wait_until


async def _received(
    redis_url: str, channel: str, count: int, start: asyncio.Event, raw: list[bytes] | None = None
) -> list[dict[str, Any]]:
    """The relay messages published on `channel` (batches opened), as another process gets them."""
    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    start.set()
    got: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(5):
            while len(got) < count:
                message = await pubsub.get_message(timeout=1)
                if message is not None:
                    if raw is not None:
                        raw.append(message["data"])
                    got += [m if isinstance(m, dict) else json.loads(m) for m in relayed(message["data"])]
    finally:
        await pubsub.aclose()
        await client.aclose()
    return got


async def test_emits_reach_other_processes_in_order_and_close_flushes(redis_url: str) -> None:
    manager = RedisSocketManager(redis_url, channel="relay-test", write_only=True)
    start = asyncio.Event()
    published: list[bytes] = []
    listener = asyncio.create_task(_received(redis_url, "relay-test", 201, start, published))
    await start.wait()
    for i in range(200):  # not awaited one by one: they queue and go out in batches
        await manager.emit("n", {"i": i}, room="r")
    await manager.emit(TOKEN_REVOKED, {"message": "x"}, room="family:f")  # awaited: published when it returns
    got = await listener
    assert [m["data"][0]["i"] for m in got[:200]] == list(range(200))
    assert got[200]["event"] == TOKEN_REVOKED
    assert len(published) < 10  # batches, not a Redis message per emit
    start = asyncio.Event()
    listener = asyncio.create_task(_received(redis_url, "relay-test", 1, start))
    await start.wait()
    await manager.emit("last", {}, room="r")
    await manager.aclose()  # queued, not yet published: close sends it
    assert [m["event"] for m in await listener] == ["last"]


async def test_a_process_hears_the_batches_of_others_and_skips_its_own(redis_url: str) -> None:
    me = RedisSocketManager(redis_url, channel="relay-own", write_only=True)
    other = RedisSocketManager(redis_url, channel="relay-own", write_only=True)
    heard: list[dict[str, Any]] = []

    async def listen() -> None:  # what the relay task of a server process reads
        async for item in me._listen():
            heard.append(item if isinstance(item, dict) else json.loads(item))

    task = asyncio.create_task(listen())
    try:
        assert await wait_until(lambda: me.relay_up)
        async with asyncio.timeout(5):
            for i in range(5):
                await me.emit("mine", {"i": i}, room="r")
                await other.emit("theirs", {"i": i}, room="r")
            await me.emit("mine", {"i": 5}, room="r")
            await asyncio.sleep(0.05)
            await other.emit("theirs", {"i": 5}, room="r")  # a batch of one: published as itself
            assert await wait_until(lambda: len(heard) >= 6)
            await asyncio.sleep(0.1)  # anything more would have arrived by now
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await other.aclose()
        await me.aclose()
    assert [(m["event"], m["data"][0]["i"]) for m in heard if m["host_id"] != me.host_id] == [
        ("theirs", i) for i in range(6)
    ]
    # its own six emits went out as one batch (queued in one loop turn), which it skipped unread
    assert not [m for m in heard if m["host_id"] == me.host_id]
