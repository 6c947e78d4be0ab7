"""The worker: reads the jobs stream with a consumer group, handles each job, then XACK + XDEL.

Delivery is at least once, so handlers are idempotent by job id. A job whose handler raises is
rescheduled through the delayed set with exponential backoff and full jitter; after
`max_attempts` it moves to the dead-letter stream. Entries another consumer read but never
acknowledged (it crashed) are taken over with XAUTOCLAIM once idle past `claim_idle_ms`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.exceptions

from server.clock import epoch_millis
from server.context import Context
from server.queue import DEAD_STREAM, DELAYED_SET, GROUP, JOBS_STREAM, REDIS_DOWN, Job

log = logging.getLogger(__name__)

JobHandler = Callable[[Context, Job], Awaitable[None]]

# A consumer idle for this many takeover periods, with nothing pending, is a dead worker's name.
FORGET_AFTER_CLAIMS = 10


@dataclass
class WorkerOptions:
    batch_size: int = 100
    block_ms: int = 1000
    claim_idle_ms: int = 30_000
    max_attempts: int = 5
    backoff_base_ms: int = 1000
    backoff_cap_ms: int = 5 * 60 * 1000
    concurrency: int = 16  # jobs of one batch handled at once


def backoff_ms(options: WorkerOptions, attempt: int) -> int:
    """Full jitter: uniform in [base, min(cap, base * 2^attempt)] (AWS architecture blog)."""
    ceiling = min(options.backoff_cap_ms, options.backoff_base_ms * (2**attempt))
    return random.randint(options.backoff_base_ms, max(options.backoff_base_ms, ceiling))


@dataclass
class Worker:
    ctx: Context
    handlers: dict[str, JobHandler]
    options: WorkerOptions = field(default_factory=WorkerOptions)
    name: str = field(default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}")
    _last_claim: float = float("-inf")

    async def ensure_group(self) -> None:
        try:
            await self.ctx.redis.xgroup_create(JOBS_STREAM, GROUP, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def forget_gone_consumers(self) -> int:
        """Remove consumers of the group that hold nothing and have not read for a long time (dead
        workers: each restart leaves its predecessor's name behind). A consumer with no pending
        entry has nothing to lose, and a live one that reads again is simply created again."""
        gone = 0
        for consumer in await self.ctx.redis.xinfo_consumers(JOBS_STREAM, GROUP):
            name = consumer["name"]
            name = name.decode() if isinstance(name, bytes) else name
            if (
                name != self.name
                and consumer["pending"] == 0
                and consumer["idle"] > FORGET_AFTER_CLAIMS * self.options.claim_idle_ms
            ):
                gone += int(await self.ctx.redis.xgroup_delconsumer(JOBS_STREAM, GROUP, name) == 0)
        return gone

    async def read(self, block_ms: int | None = None) -> list[tuple[str, dict[str, str]]]:
        """Entries for this consumer: first those abandoned by others, then new ones."""
        now = asyncio.get_running_loop().time()
        if now - self._last_claim >= self.options.claim_idle_ms / 4000:
            self._last_claim = now
            claimed = await self.ctx.redis.xautoclaim(
                JOBS_STREAM, GROUP, self.name, self.options.claim_idle_ms, start_id="0-0", count=self.options.batch_size
            )
            entries = [e for e in claimed[1] if e and e[1]] if claimed else []
            if entries:
                self._last_claim = float("-inf")  # there may be more: look again next time
                return entries
            await self.forget_gone_consumers()
        block = self.options.block_ms if block_ms is None else block_ms
        # A blocking read must return before the client's socket timeout would call Redis dead.
        block = min(block, max(1, int(self.ctx.settings.redis_socket_timeout_seconds * 500)))
        reply = await self.ctx.redis.xreadgroup(
            GROUP, self.name, {JOBS_STREAM: ">"}, count=self.options.batch_size, block=block or None
        )
        return [entry for _, stream_entries in reply or [] for entry in stream_entries]

    async def process_batch(self, block_ms: int | None = None) -> int:
        """Read one batch and handle it. Returns the number of entries handled.

        Successful entries are acknowledged and deleted together, in one round trip per batch."""
        entries = await self.read(block_ms)
        if not entries:
            return 0
        limit = asyncio.Semaphore(self.options.concurrency)

        async def one(entry_id: str, fields: dict[str, str]) -> str | None:
            async with limit:
                return entry_id if await self.handle(entry_id, fields) else None

        done = [e for e in await asyncio.gather(*(one(i, f) for i, f in entries)) if e]
        if done:
            pipe = self.ctx.redis.pipeline(transaction=True)
            pipe.xack(JOBS_STREAM, GROUP, *done)
            pipe.xdel(JOBS_STREAM, *done)
            await pipe.execute()
        return len(entries)

    async def handle(self, entry_id: str, fields: dict[str, str]) -> bool:
        """Handle one entry. True: it succeeded and awaits its batch's acknowledgement; False: it was
        already settled here (rescheduled or dead-lettered)."""
        try:
            job = Job.decode(fields["job"])
        except (KeyError, ValueError):
            log.error("worker: malformed entry %s moved to the dead-letter stream", entry_id)
            await self._finish(entry_id, dead={"job": fields.get("job", ""), "error": "malformed"})
            return False
        handler = self.handlers.get(job.type)
        try:
            if handler is None:
                raise LookupError(f"no handler for job type {job.type!r}")
            await handler(self.ctx, job)
        except REDIS_DOWN:
            raise  # leave it pending: XAUTOCLAIM gives it to a worker once Redis is back
        except Exception as exc:
            await self._retry_or_bury(entry_id, job, exc)
            return False
        self.ctx.metrics.jobs.labels(job.type, "done").inc()
        return True

    async def _retry_or_bury(self, entry_id: str, job: Job, exc: Exception) -> None:
        job.attempt += 1
        error = f"{type(exc).__name__}: {exc}"[:500]
        if job.attempt >= self.options.max_attempts:
            log.error("worker: job %s (%s) failed %d times, dead-lettered: %s", job.id, job.type, job.attempt, error)
            await self._finish(entry_id, dead={"job": job.encode(), "error": error})
            self.ctx.metrics.jobs.labels(job.type, "dead").inc()
            return
        job.process_at = epoch_millis(self.ctx.clock.now()) + backoff_ms(self.options, job.attempt)
        log.warning(
            "worker: job %s (%s) attempt %d failed, retry at %d: %s",
            job.id,
            job.type,
            job.attempt,
            job.process_at,
            error,
        )
        await self._finish(entry_id, retry=job)
        self.ctx.metrics.jobs.labels(job.type, "retried").inc()

    async def _finish(self, entry_id: str, retry: Job | None = None, dead: dict[str, str] | None = None) -> None:
        """Acknowledge and delete the entry, in one transaction with its retry or dead-letter write."""
        pipe = self.ctx.redis.pipeline(transaction=True)
        if retry is not None:
            pipe.zadd(DELAYED_SET, {retry.encode(): retry.process_at})
        if dead is not None:
            fields: dict[Any, Any] = dict(dead)
            pipe.xadd(DEAD_STREAM, fields, maxlen=100_000, approximate=True)
        pipe.xack(JOBS_STREAM, GROUP, entry_id)
        pipe.xdel(JOBS_STREAM, entry_id)
        await pipe.execute()

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        await self.ensure_group()
        log.info("worker %s consuming %s", self.name, JOBS_STREAM)
        while stop is None or not stop.is_set():
            try:
                await self.process_batch()
            except asyncio.CancelledError:
                raise
            except REDIS_DOWN:
                log.warning("worker: Redis unreachable, retrying in 1s")
                await asyncio.sleep(1)
            except redis.exceptions.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    log.exception("worker: batch failed")
                    await asyncio.sleep(1)
                    continue
                # Redis lost the stream and its group (restarted empty, or flushed): make them again.
                log.warning("worker: consumer group %s is missing; recreating it", GROUP)
                await self.ensure_group()
            except Exception:
                log.exception("worker: batch failed")
                await asyncio.sleep(1)


def new_worker(ctx: Context, handlers: dict[str, JobHandler], **options: Any) -> Worker:
    return Worker(ctx, handlers, WorkerOptions(**options))
