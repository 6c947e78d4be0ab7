"""The job queue's producer on Redis Streams, with delayed jobs and a MongoDB outbox: `ctx.queue`.

    await ctx.queue.enqueue("notify", payload)                 # due now -> XADD to the jobs stream
    await ctx.queue.enqueue("notify", payload, process_at=t)   # later   -> ZADD to the delayed set

It knows nothing of the worker (as arq's `enqueue_job` knows nothing of arq's `Worker`): `workers/`
holds the consumers and is handed its job functions by the composition root.

The scheduler moves due delayed jobs into the stream with one Lua script (atomic: a job is either
still delayed or in the stream, never both nor neither). When Redis cannot be reached, `enqueue`
writes the job to the `outbox` collection instead, and the scheduler forwards it once Redis
answers: no job is lost because Redis was down.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions

from server.clock import SystemClock, epoch_millis
from server.indexes import IndexSpec
from server.redis import eval_script

log = logging.getLogger(__name__)

JOBS_STREAM = "q:jobs"
DELAYED_SET = "q:delayed"
DEAD_STREAM = "q:dead"
GROUP = "workers"
# A safety valve against unbounded memory, far above any sane backlog: handled entries are
# XDEL'ed, so the stream's length is the backlog itself.
STREAM_MAXLEN = 1_000_000
OUTBOX = "outbox"
INDEXES: list[IndexSpec] = [(OUTBOX, [("processAt", 1)], {})]
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, job in ipairs(due) do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'job', job)
  redis.call('ZREM', KEYS[1], job)
end
return #due
"""


@dataclass
class Job:
    id: str
    type: str
    payload: dict[str, Any]
    attempt: int = 0
    process_at: int = 0  # epoch milliseconds

    def encode(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "type": self.type,
                "payload": self.payload,
                "attempt": self.attempt,
                "processAt": self.process_at,
            },
            separators=(",", ":"),
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def decode(cls, raw: str) -> Job:
        data = json.loads(raw)
        return cls(data["id"], data["type"], data["payload"], data.get("attempt", 0), data.get("processAt", 0))


class Queue:
    """Enqueue jobs now or later; the scheduler side (`move_due`, `drain_outbox`) and the admin view."""

    def __init__(self, redis: aioredis.Redis, db: Any, clock: SystemClock) -> None:
        self.redis = redis
        self.db = db
        self.clock = clock

    async def push(self, job: Job) -> None:
        """Put a job in Redis: the stream when due, the delayed set otherwise. Raises when Redis is down."""
        if job.process_at <= epoch_millis(self.clock.now()):
            await self.redis.xadd(JOBS_STREAM, {"job": job.encode()}, maxlen=STREAM_MAXLEN, approximate=True)
        else:
            await self.redis.zadd(DELAYED_SET, {job.encode(): job.process_at})

    async def enqueue(
        self, job_type: str, payload: dict[str, Any], process_at: datetime | None = None, job_id: str | None = None
    ) -> str:
        now = self.clock.now()
        job = Job(job_id or str(uuid.uuid4()), job_type, payload, 0, epoch_millis(process_at or now))
        try:
            await self.push(job)
        except REDIS_DOWN:
            log.warning("queue: Redis unreachable, job %s kept in the outbox", job.id)
            await self.db[OUTBOX].insert_one(
                {"_id": job.id, "job": job.encode(), "processAt": job.process_at, "createdAt": now}
            )
        return job.id

    async def move_due(self, limit: int = 1000) -> int:
        """Move due delayed jobs into the stream (one atomic script run). Returns how many moved."""
        moved = await eval_script(
            self.redis, MOVE_DUE, [DELAYED_SET, JOBS_STREAM], epoch_millis(self.clock.now()), limit, STREAM_MAXLEN
        )
        return int(moved)

    async def drain_outbox(self, limit: int = 500) -> int:
        """Forward outbox jobs to Redis. A job is removed only once Redis holds it; a crash in between
        forwards it twice, which the idempotent handlers absorb."""
        moved = 0
        docs = await self.db[OUTBOX].find({}).sort([("processAt", 1)]).limit(limit).to_list(None)
        for doc in docs:
            await self.push(Job.decode(doc["job"]))
            await self.db[OUTBOX].delete_one({"_id": doc["_id"]})
            moved += 1
        return moved

    async def stats(self, upcoming: int = 10) -> dict[str, Any]:
        pipe = self.redis.pipeline(transaction=False)
        pipe.xlen(JOBS_STREAM)
        pipe.zcard(DELAYED_SET)
        pipe.xlen(DEAD_STREAM)
        pipe.zrange(DELAYED_SET, 0, upcoming - 1, withscores=True)
        ready, delayed, dead, nxt = await pipe.execute()
        try:
            pending = (await self.redis.xpending(JOBS_STREAM, GROUP))["pending"]
        except redis.exceptions.ResponseError:  # no group yet: nothing was ever read
            pending = 0
        outbox = await self.db[OUTBOX].count_documents({})
        tz = self.clock.now().tzinfo
        next_jobs = []
        for raw, score in nxt:
            job = Job.decode(raw)
            next_jobs.append(
                {
                    "jobId": job.id,
                    "type": job.type,
                    "attempt": job.attempt,
                    "processAt": datetime.fromtimestamp(score / 1000, tz=tz),
                }
            )
        return {
            "ready": max(0, ready - pending),
            "delayed": delayed,
            "pending": pending,
            "dead": dead,
            "outbox": outbox,
            "nextDelayed": next_jobs,
        }
