"""Presence in Redis: one entry per live connection, each with its own expiry.

    presence:conns:<userId>   sorted set: socket id -> expiry (epoch ms)   the user's connections
    presence:expiry           sorted set: "<userId>|<sid>" -> expiry       what the sweep looks at
    presence:lastseen         hash: userId -> epoch ms                     when each user went offline

A user is online while any of their connections has not expired. The server process holding a
socket refreshes its expiry every PRESENCE_REFRESH_SECONDS (`refresh`, one script run for all of
the process's sockets); a socket's disconnect removes it at once (`disconnect`). When a process
dies without closing its sockets nobody refreshes them: any process's `sweep` then finds them
expired, at most PRESENCE_TTL_SECONDS after the last refresh, and declares their users offline
with `lastSeen` = that last refresh. Expiries are scores written from `ctx.clock` (not Redis key
TTLs), so tests move a fake clock instead of sleeping; the per-user sets also carry a Redis TTL
as a backstop so nothing lingers forever.

Every transition is decided inside one Lua script, so "went online" / "went offline" is reported
exactly once even when connects, disconnects and sweeps of several processes interleave. (The
scripts build per-user key names themselves: fine on a single Redis, not on Redis Cluster.)

This module knows Redis only; who is told about a transition is the chat area's business
(`models.chat.announce_presence`), because presence is shown to those who share a conversation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from server.clock import epoch_millis
from server.context import Context
from server.redis import eval_script

CONNS_PREFIX = "presence:conns:"
EXPIRY_KEY = "presence:expiry"
LAST_SEEN_KEY = "presence:lastseen"
SWEEP_BATCH = 1000

# KEYS: conns, expiry. ARGV: sid, now, expiresAt, "<uid>|<sid>", ttl ms.
# Returns 1 when this connection made the user online (no other live connection).
_CONNECT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local added = redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
if added == 1 and redis.call('ZCARD', KEYS[1]) == 1 then return 1 end
return 0
"""

# KEYS: conns, expiry, lastseen. ARGV: sid, "<uid>|<sid>", now, uid.
# Returns 1 when this was the user's last live connection (they are now offline).
_DISCONNECT = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if removed == 1 and redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[3])
  return 1
end
return 0
"""

# KEYS: expiry. ARGV: now, expiresAt, ttl ms, conns prefix, then uid, sid pairs.
# Extends the connections that are still registered; returns "<uid>|<sid>" of those that are not
# (disconnected meanwhile, or swept because this process stalled past the TTL).
_REFRESH = """
local missing = {}
for i = 5, #ARGV, 2 do
  local uid, sid = ARGV[i], ARGV[i + 1]
  local key = ARGV[4] .. uid
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  if redis.call('ZSCORE', key, sid) then
    redis.call('ZADD', key, ARGV[2], sid)
    redis.call('PEXPIRE', key, ARGV[3])
    redis.call('ZADD', KEYS[1], ARGV[2], uid .. '|' .. sid)
  else
    table.insert(missing, uid .. '|' .. sid)
  end
end
return missing
"""

# KEYS: expiry, lastseen. ARGV: now, batch, ttl ms, conns prefix.
# Removes expired connections; returns uid, lastSeen pairs of the users left with none.
_SWEEP = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local gone = {}
for i = 1, #due, 2 do
  local member = due[i]
  redis.call('ZREM', KEYS[1], member)
  local sep = string.find(member, '|', 1, true)
  if sep then
    local uid, sid = string.sub(member, 1, sep - 1), string.sub(member, sep + 1)
    local key = ARGV[4] .. uid
    local removed = redis.call('ZREM', key, sid)
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
    if removed == 1 and redis.call('ZCARD', key) == 0 then
      local seen = tostring(tonumber(due[i + 1]) - tonumber(ARGV[3]))
      redis.call('HSET', KEYS[2], uid, seen)
      table.insert(gone, uid)
      table.insert(gone, seen)
    end
  end
end
return gone
"""

# ARGV: now, marker ttl seconds, marker prefix, conns prefix, then user ids.
# For each user with no live connection, sets "<marker prefix><uid>" unless already set; returns
# the users whose marker was set now (offline, and not already told).
_OFFLINE_ONCE = """
local marked = {}
for i = 5, #ARGV do
  local uid = ARGV[i]
  if redis.call('ZCOUNT', ARGV[4] .. uid, '(' .. ARGV[1], '+inf') == 0 then
    if redis.call('SET', ARGV[3] .. uid, '1', 'NX', 'EX', ARGV[2]) then
      table.insert(marked, uid)
    end
  end
end
return marked
"""


@dataclass(frozen=True)
class Change:
    """A user went online or offline."""

    user_id: str
    online: bool
    last_seen: datetime | None = None


def _moment(millis: Any) -> datetime | None:
    if millis is None:
        return None
    return datetime.fromtimestamp(int(float(millis)) / 1000, tz=UTC)


def _ttl_ms(ctx: Context) -> int:
    return max(1, int(ctx.settings.presence_ttl_seconds * 1000))


def _member(user_id: str, sid: str) -> str:
    return f"{user_id}|{sid}"


async def connect(ctx: Context, user_id: str, sid: str) -> Change | None:
    """Register a live connection; a Change when the user just came online."""
    now = epoch_millis(ctx.clock.now())
    ttl = _ttl_ms(ctx)
    went_online = await eval_script(
        ctx.redis, _CONNECT, [CONNS_PREFIX + user_id, EXPIRY_KEY], sid, now, now + ttl, _member(user_id, sid), ttl
    )
    return Change(user_id, True) if int(went_online) else None


async def disconnect(ctx: Context, user_id: str, sid: str) -> Change | None:
    """Remove a closed connection; a Change when it was the user's last one."""
    now = ctx.clock.now()
    went_offline = await eval_script(
        ctx.redis,
        _DISCONNECT,
        [CONNS_PREFIX + user_id, EXPIRY_KEY, LAST_SEEN_KEY],
        sid,
        _member(user_id, sid),
        epoch_millis(now),
        user_id,
    )
    return Change(user_id, False, now) if int(went_offline) else None


async def refresh(ctx: Context, connections: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Extend the expiry of live `(user_id, sid)` connections (one script run for all of them).

    Returns the pairs no longer registered: the caller re-registers those still connected."""
    pairs = [item for pair in connections for item in pair]
    if not pairs:
        return []
    now = epoch_millis(ctx.clock.now())
    ttl = _ttl_ms(ctx)
    missing = await eval_script(ctx.redis, _REFRESH, [EXPIRY_KEY], now, now + ttl, ttl, CONNS_PREFIX, *pairs)
    return [(user, sid) for user, _, sid in (m.partition("|") for m in missing)]


async def sweep(ctx: Context) -> list[Change]:
    """Expire connections nobody refreshed (their process died); the users now offline."""
    changes: list[Change] = []
    while True:
        gone = await eval_script(
            ctx.redis,
            _SWEEP,
            [EXPIRY_KEY, LAST_SEEN_KEY],
            epoch_millis(ctx.clock.now()),
            SWEEP_BATCH,
            _ttl_ms(ctx),
            CONNS_PREFIX,
        )
        changes.extend(Change(gone[i], False, _moment(gone[i + 1])) for i in range(0, len(gone), 2))
        if len(gone) < 2 * SWEEP_BATCH:
            return changes


async def presence_of(ctx: Context, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """`{userId: {online, lastSeen}}`: lastSeen is null while online, else when the user went
    offline (their disconnect, or the last refresh of a connection whose process died); null for
    a user never seen."""
    if not user_ids:
        return {}
    now = epoch_millis(ctx.clock.now())
    pipe = ctx.redis.pipeline(transaction=False)
    for user_id in user_ids:
        pipe.zcount(CONNS_PREFIX + user_id, f"({now}", "+inf")
    pipe.hmget(LAST_SEEN_KEY, user_ids)
    *counts, seen = await pipe.execute()
    return {
        user_id: {"online": int(count) > 0, "lastSeen": None if int(count) > 0 else _moment(last)}
        for user_id, count, last in zip(user_ids, counts, seen, strict=False)
    }


async def offline_once(ctx: Context, user_ids: list[str], marker_prefix: str, marker_ttl_seconds: int) -> list[str]:
    """Of `user_ids`, those offline whose marker `<marker_prefix><userId>` was not yet set (now set).

    One atomic script: concurrent calls never both answer yes for the same user and marker."""
    if not user_ids:
        return []
    return list(
        await eval_script(
            ctx.redis,
            _OFFLINE_ONCE,
            [],
            epoch_millis(ctx.clock.now()),
            marker_ttl_seconds,
            marker_prefix,
            CONNS_PREFIX,
            *user_ids,
        )
    )
