"""Per-key rate limits in Redis: a sliding-window log, checked and recorded in one atomic script.

    await take(ctx, f"chat:{user_id}", limit=30, window_seconds=10)   # raises RateLimited when over

A sliding window (rather than fixed buckets) means no burst of twice the limit across a bucket
boundary. Time comes from `ctx.clock`, so tests move through windows without sleeping; every
process shares the limit because the log lives in Redis. A refused call is not recorded, so a
client that keeps retrying too fast is let through as soon as the oldest call leaves the window.

Some limits count only what went wrong (failed logins): `reserve` counts an attempt in several
buckets at once (or refuses it), and `release` takes it back when the attempt succeeded.
Every refusal carries `retryAfter` (whole seconds), which becomes the `Retry-After` header of the
429 and the `retryAfter` of a refused socket ack (server/envelope.py).
"""

from __future__ import annotations

import itertools
import math
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

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

# KEYS: the logs; ARGV: now ms, a unique member, then window ms and limit per key. Records the
# member in every log when all have room and returns 0; else records nothing and returns the
# longest wait (ms) among the full ones.
_RESERVE = """
local now, wait = tonumber(ARGV[1]), 0
for i, key in ipairs(KEYS) do
  local window, limit = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    wait = math.max(wait, 1, tonumber(oldest[2]) + window - now)
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, tonumber(ARGV[1 + 2 * i]))
end
return 0
"""


@dataclass(frozen=True)
class Bucket:
    """One limit: at most `limit` entries under `key` in any `window_seconds`."""

    key: str
    limit: int
    window_seconds: float

    @property
    def window_ms(self) -> int:
        return max(1, int(self.window_seconds * 1000))


def _refusal(wait_ms: int, message_key: str) -> RateLimited:
    return RateLimited(message_key, retryAfter=max(1, math.ceil(wait_ms / 1000)))


async def take(
    ctx: Context, key: str, *, limit: int, window_seconds: float, message_key: str = "common.rate_limited"
) -> None:
    """Record one call under `key`, or raise `RateLimited(message_key, retryAfter=<seconds>)`."""
    bucket = Bucket(key, limit, window_seconds)
    now_ms = epoch_millis(ctx.clock.now())
    args: list[int | str] = [now_ms, bucket.window_ms, limit, _member()]
    wait_ms = int(await eval_script(ctx.redis, _TAKE, [KEY_PREFIX + key], *args))
    if wait_ms > 0:
        ctx.metrics.rate_limited.labels(_bucket_name(key)).inc()
        raise _refusal(wait_ms, message_key)


async def per_user(ctx: Context, action: str, user_id: str, limit: int) -> None:
    """One of `user_id`'s `action`s, at most `limit` per RATE_LIMIT_WINDOW_SECONDS (else 429)."""
    await take(ctx, f"{action}:{user_id}", limit=limit, window_seconds=ctx.settings.rate_limit_window_seconds)


async def reserve(ctx: Context, buckets: Sequence[Bucket], message_key: str = "common.rate_limited") -> str:
    """Count one attempt in every bucket, or raise `RateLimited` (counting nothing) when any is full.

    Returns the entry's id for `release`: an attempt that turns out fine is taken back, so only
    failures stay counted, while concurrent attempts cannot slip past the limit between a check
    and a later record (each takes its slot atomically before it is tried)."""
    member = _member()
    args: list[int | str] = [epoch_millis(ctx.clock.now()), member]
    for bucket in buckets:
        args += [bucket.window_ms, bucket.limit]
    keys = [KEY_PREFIX + b.key for b in buckets]
    wait_ms = int(await eval_script(ctx.redis, _RESERVE, keys, *args))
    if wait_ms > 0:
        ctx.metrics.rate_limited.labels(_bucket_name(buckets[0].key)).inc()
        raise _refusal(wait_ms, message_key)
    return member


async def release(ctx: Context, buckets: Sequence[Bucket], member: str) -> None:
    """Take back an attempt counted by `reserve` (it succeeded)."""
    pipe = ctx.redis.pipeline(transaction=True)
    for bucket in buckets:
        pipe.zrem(KEY_PREFIX + bucket.key, member)
    await pipe.execute()


_PROCESS = uuid.uuid4().hex  # with a counter: unique entries without a random draw (a syscall) each
_entries = itertools.count()


def _new_process() -> None:
    global _PROCESS
    _PROCESS = uuid.uuid4().hex


os.register_at_fork(after_in_child=_new_process)


def _member() -> str:
    """A new entry of a log: unique across processes and calls."""
    return f"{_PROCESS}:{next(_entries)}"


def _bucket_name(key: str) -> str:
    """The metric label of a key: its first part (`chat`, `login`, ...), never the user or address."""
    return key.split(":", 1)[0]
