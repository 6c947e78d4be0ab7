"""The Redis relay between processes: emits are published in the background, in emit order, in
batches; a closing event's publish is awaited; `aclose()` sends what is still queued."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import redis.asyncio as aioredis

from server.socket_manager import TOKEN_REVOKED, RedisSocketManager


async def _received(redis_url: str, channel: str, count: int, start: asyncio.Event) -> list[dict[str, Any]]:
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
                    got.append(json.loads(message["data"]))
    finally:
        await pubsub.aclose()
        await client.aclose()
    return got


async def test_emits_reach_other_processes_in_order_and_close_flushes(redis_url: str) -> None:
    manager = RedisSocketManager(redis_url, channel="relay-test", write_only=True)
    start = asyncio.Event()
    listener = asyncio.create_task(_received(redis_url, "relay-test", 201, start))
    await start.wait()
    for i in range(200):  # not awaited one by one: they queue and go out in pipelines
        await manager.emit("n", {"i": i}, room="r")
    await manager.emit(TOKEN_REVOKED, {"message": "x"}, room="family:f")  # awaited: published when it returns
    got = await listener
    assert [m["data"][0]["i"] for m in got[:200]] == list(range(200))
    assert got[200]["event"] == TOKEN_REVOKED
    start = asyncio.Event()
    listener = asyncio.create_task(_received(redis_url, "relay-test", 1, start))
    await start.wait()
    await manager.emit("last", {}, room="r")
    await manager.aclose()  # queued, not yet published: close sends it
    assert [m["event"] for m in await listener] == ["last"]
