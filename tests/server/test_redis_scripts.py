"""Script calls (`server.redis.eval_script`) on a real Redis: the calls of one loop turn share one
write, and each caller still gets its own result or its own error; a connection lost is replaced."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.connection import AbstractConnection

from server.redis import eval_script
from tests.processes import free_port

COUNT = """
local n = redis.call('INCR', KEYS[1])
return {n, ARGV[1]}
"""
FAILS_ON_A_STRING = "return redis.call('INCR', KEYS[1])"


@pytest.fixture
async def client(redis_url: str) -> Any:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


def spy_writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of scripts in each write to Redis from now on."""
    sizes: list[int] = []
    pack = AbstractConnection.pack_commands

    def counted(self: AbstractConnection, commands: Any) -> Any:
        commands = list(commands)
        sizes.append(sum(1 for command in commands if command[0] == "EVAL"))
        return pack(self, commands)

    monkeypatch.setattr(AbstractConnection, "pack_commands", counted)
    return sizes


async def test_calls_made_in_one_turn_share_one_write_and_keep_their_own_results(
    client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = spy_writes(monkeypatch)
    results = await asyncio.gather(*(eval_script(client, COUNT, [f"k{i % 3}"], f"call {i}") for i in range(20)))
    assert sizes == [20]
    assert [r[1] for r in results] == [f"call {i}" for i in range(20)]
    # in call order: the first call on k0 got 1, the next 2, ...
    assert [r[0] for r in results] == [i // 3 + 1 for i in range(20)]
    assert await client.get("k0") == "7"

    one = await eval_script(client, COUNT, ["k9"], "alone")  # a later turn: a write of its own
    assert one == [1, "alone"] and sizes == [20, 1]


async def test_a_failing_script_fails_only_its_caller(client: aioredis.Redis) -> None:
    await client.set("text", "not a number")
    outcomes = await asyncio.gather(
        eval_script(client, COUNT, ["n"], "before"),
        eval_script(client, FAILS_ON_A_STRING, ["text"]),
        eval_script(client, COUNT, ["n"], "after"),
        return_exceptions=True,
    )
    assert outcomes[0] == [1, "before"]
    assert isinstance(outcomes[1], redis.exceptions.ResponseError)
    assert outcomes[2] == [2, "after"]


async def test_a_cancelled_caller_leaves_the_others_their_results(client: aioredis.Redis) -> None:
    first = asyncio.ensure_future(eval_script(client, COUNT, ["c"], "kept"))
    dropped = asyncio.ensure_future(eval_script(client, COUNT, ["c"], "dropped"))
    last = asyncio.ensure_future(eval_script(client, COUNT, ["c"], "kept too"))
    await asyncio.sleep(0)  # all three queued
    dropped.cancel()
    assert await first == [1, "kept"]
    assert await last == [3, "kept too"]  # the cancelled call had been sent: it ran, as any sent command does
    with pytest.raises(asyncio.CancelledError):
        await dropped


async def test_redis_gone_fails_every_caller_of_the_turn() -> None:
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    try:
        outcomes = await asyncio.gather(
            *(eval_script(client, COUNT, ["k"], i) for i in range(5)), return_exceptions=True
        )
        assert all(isinstance(o, redis.exceptions.ConnectionError) for o in outcomes), outcomes
    finally:
        await client.aclose()


async def test_a_connection_killed_between_turns_is_replaced(redis_url: str) -> None:
    """Redis closing the batch's connection (a restart, CLIENT KILL, an idle timeout) while it sits
    between turns: the next call is sent on a new one, and runs once."""
    name = f"scripts-{uuid.uuid4().hex[:8]}"  # this client's connections, among the shared server's
    client = aioredis.Redis.from_url(redis_url, decode_responses=True, client_name=name)
    try:
        await client.delete("r")
        assert await eval_script(client, COUNT, ["r"], "first") == [1, "first"]
        kept = [c for c in await client.client_list() if c.get("name") == name and c.get("cmd") == "eval"]
        assert len(kept) == 1
        await client.client_kill_filter(_id=kept[0]["id"])
        await asyncio.sleep(0.05)  # the close reaches this side
        assert await eval_script(client, COUNT, ["r"], "second") == [2, "second"]
        assert await client.get("r") == "2"
    finally:
        await client.aclose()


async def test_a_round_trip_that_fails_after_sending_is_not_repeated(
    client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reply lost after the scripts were sent: they may have run, so they are not sent again;
    every caller of the turn gets the error, and the next turn works on a new connection."""
    read = AbstractConnection.read_response
    failures = [redis.exceptions.ConnectionError("reply lost")]

    async def lossy(self: AbstractConnection, *args: Any, **kwargs: Any) -> Any:
        if failures:
            await read(self, *args, **kwargs)
            raise failures.pop()
        return await read(self, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "read_response", lossy)
    outcomes = await asyncio.gather(
        *(eval_script(client, COUNT, ["once"], i) for i in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, redis.exceptions.ConnectionError) for o in outcomes), outcomes
    assert await client.get("once") == "3"  # sent once: each ran once, none twice
    assert await eval_script(client, COUNT, ["once"], "later") == [4, "later"]
