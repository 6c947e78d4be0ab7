"""Per-key rate limits in Redis: a sliding-window log, checked and recorded in one atomic script.

    await take(ctx, f"chat:{user_id}", limit=30, window_seconds=10)   # raises RateLimited when over

A sliding window (rather than fixed buckets) means no burst of twice the limit across a bucket
boundary. Time comes from `ctx.clock`, so tests move through windows without sleeping; every
process shares the limit because the log lives in Redis. A refused call is not recorded, so a
client that keeps retrying too fast is let through as soon as the oldest call leaves the window.
"""

from __future__ import annotations

import math
import uuid

from server.clock import epoch_millis
from server.context import Context
from server.errors import RateLimited
from server.redis import eval_script

KEY_PREFIX = "ratelimit:"

# KEYS[1] the log; ARGV: now ms, window ms, limit, a unique member. Returns 0 when taken, else the
# milliseconds until a call would be accepted.
_TAKE = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""


async def take(
    ctx: Context, key: str, *, limit: int, window_seconds: float, message_key: str = "common.rate_limited"
) -> None:
    """Record one call under `key`, or raise `RateLimited(message_key, retryAfter=<seconds>)`."""
    now_ms = epoch_millis(ctx.clock.now())
    window_ms = max(1, int(window_seconds * 1000))
    wait_ms = int(await eval_script(ctx.redis, _TAKE, [KEY_PREFIX + key], now_ms, window_ms, limit, uuid.uuid4().hex))
    if wait_ms > 0:
        ctx.metrics.rate_limited.labels(key.split(":", 1)[0]).inc()
        raise RateLimited(message_key, retryAfter=math.ceil(wait_ms / 1000))
