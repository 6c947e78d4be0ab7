"""Fixed-window rate limits in Redis, shared by every process: `await enforce(ctx, key, limit, window)`."""
from __future__ import annotations

from server.context import Context
from server.errors import RateLimited


async def hit(ctx: Context, key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit against `key`; False once more than `limit` hits fall in the current window."""
    window = int(ctx.clock.timestamp()) // window_seconds
    redis_key = f"rl:{key}:{window}"
    pipe = ctx.redis.pipeline(transaction=True)
    pipe.incr(redis_key)
    pipe.expire(redis_key, window_seconds + 1)
    count, _ = await pipe.execute()
    return int(count) <= limit


async def enforce(ctx: Context, key: str, limit: int, window_seconds: int,
                  message_key: str = "common.rate_limited") -> None:
    if not await hit(ctx, key, limit, window_seconds):
        raise RateLimited(message_key)
