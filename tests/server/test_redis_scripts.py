"""Script calls (`server.redis.eval_script`) on a real Redis: the calls of one loop turn share one
pipeline, and each caller still gets its own result or its own error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
import redis.exceptions

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


def spy_pipelines(client: aioredis.Redis) -> list[int]:
    """The number of commands in each pipeline the client executes from now on."""
    sizes: list[int] = []
    make = client.pipeline

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = make(*args, **kwargs)
        execute = pipe.execute

        async def counted(*a: Any, **k: Any) -> Any:
            sizes.append(len(pipe.command_stack))
            return await execute(*a, **k)

        pipe.execute = counted  # type: ignore[method-assign]
        return pipe

    client.pipeline = pipeline  # type: ignore[method-assign]
    return sizes


async def test_calls_made_in_one_turn_share_a_pipeline_and_keep_their_own_results(client: aioredis.Redis) -> None:
    sizes = spy_pipelines(client)
    results = await asyncio.gather(*(eval_script(client, COUNT, [f"k{i % 3}"], f"call {i}") for i in range(20)))
    assert sizes == [20]
    assert [r[1] for r in results] == [f"call {i}" for i in range(20)]
    # in call order: the first call on k0 got 1, the next 2, ...
    assert [r[0] for r in results] == [i // 3 + 1 for i in range(20)]
    assert await client.get("k0") == "7"

    one = await eval_script(client, COUNT, ["k9"], "alone")  # a later turn: a pipeline of its own
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
