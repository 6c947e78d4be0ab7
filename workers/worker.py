"""The worker: reads the jobs stream with a consumer group, handles each job, then XACK + XDEL.

Delivery is at least once, so handlers are idempotent by job id. A job whose handler raises is
rescheduled through the delayed set with exponential backoff and full jitter; after
`max_attempts` it moves to the dead-letter stream. Entries another consumer read but never
acknowledged (it crashed) are taken over with XAUTOCLAIM once idle past `claim_idle_ms`.

A handler is a coroutine function, or a `GroupCommitted` job in two steps (its writes, then what
tells of them): the writes of a batch's group-committed jobs share one journal commit wait on the
embedded store instead of one each in a row, and nothing of them is published before that commit.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis.exceptions

from server.clock import epoch_millis
from server.context import Context
from server.documents import durable_at_end
from server.queue import DEAD_STREAM, DELAYED_SET, GROUP, JOBS_STREAM, REDIS_DOWN, Job

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a group-committed job publishes about its writes (emits), run once they are durable.
Publish = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class GroupCommitted:
    """A job in two steps. `write` makes the job's changes and returns what to publish about them
    (or None); it must not itself do anything others can see (emit, enqueue). The worker runs the
    `write`s of a batch's group-committed jobs inside one `durable_at_end` block: on the embedded
    store each write returns once applied and the block's end waits for the journal commit that
    holds them all (the journal commits in order), so a batch waits once instead of each job for its
    own commit while holding one of the `concurrency` slots. Only then does it run the returned
    publish steps, and only after them acknowledge the entries: a crash before the commit loses
    the writes and the entries both, and the job is simply handled again after the takeover."""

    write: Callable[[Context, Job], Awaitable[Publish | None]]


JobHandler = Callable[[Context, Job], Awaitable[None]] | GroupCommitted

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

        Successful entries are acknowledged and deleted together, in one round trip per batch, once
        every one of them is handled (a group-committed job: written, journaled and published)."""
        entries = await self.read(block_ms)
        if not entries:
            return 0
        limit = asyncio.Semaphore(self.options.concurrency)
        grouped: list[tuple[str, Job, GroupCommitted]] = []
        plain: list[tuple[str, Job]] = []
        for entry_id, fields in entries:
            job = await self._decode(entry_id, fields)
            if job is None:
                continue
            handler = self.handlers.get(job.type)
            if isinstance(handler, GroupCommitted):
                grouped.append((entry_id, job, handler))
            else:
                plain.append((entry_id, job))

        async def one(entry_id: str, job: Job) -> str | None:
            async with limit:
                return entry_id if await self.handle(entry_id, job) else None

        # Each gathered coroutine runs in a task of its own context, so the plain handlers' writes
        # stay outside the group-committed jobs' `durable_at_end` block (each durable on return).
        done_grouped, done_plain = await asyncio.gather(
            self._group_commit(grouped, limit), asyncio.gather(*(one(entry_id, job) for entry_id, job in plain))
        )
        done = [*done_grouped, *(e for e in done_plain if e)]
        if done:
            pipe = self.ctx.redis.pipeline(transaction=True)
            pipe.xack(JOBS_STREAM, GROUP, *done)
            pipe.xdel(JOBS_STREAM, *done)
            await pipe.execute()
        return len(entries)

    async def _group_commit(self, jobs: list[tuple[str, Job, GroupCommitted]], limit: asyncio.Semaphore) -> list[str]:
        """Write every job, wait once for the journal commit that holds all their writes, then
        publish each; returns the entries that succeeded (a failed one is already settled)."""
        if not jobs:
            return []

        async def write(entry_id: str, job: Job, handler: GroupCommitted) -> tuple[str, Job, Publish | None] | None:
            async with limit:
                ok, publish = await self._attempt(entry_id, job, lambda: handler.write(self.ctx, job))
            return (entry_id, job, publish) if ok else None

        async with durable_at_end(self.ctx.db):
            written = await asyncio.gather(*(write(*item) for item in jobs))
        # Every write above is committed now: what tells of them may go out.
        done: list[str] = []
        for item in written:
            if item is None:
                continue
            entry_id, job, publish = item
            if publish is not None:
                ok, _ = await self._attempt(entry_id, job, publish)
                if not ok:
                    continue
            self.ctx.metrics.jobs.labels(job.type, "done").inc()
            done.append(entry_id)
        return done

    async def _decode(self, entry_id: str, fields: dict[str, str]) -> Job | None:
        """The entry's job; a malformed one is moved to the dead-letter stream (None)."""
        try:
            return Job.decode(fields["job"])
        except (KeyError, ValueError):
            log.error("worker: malformed entry %s moved to the dead-letter stream", entry_id)
            await self._finish(entry_id, dead={"job": fields.get("job", ""), "error": "malformed"})
            return None

    async def handle(self, entry_id: str, job: Job) -> bool:
        """Handle one job of a plain handler. True: it succeeded and awaits its acknowledgement;
        False: it was already settled here (rescheduled or dead-lettered)."""
        handler = self.handlers.get(job.type)

        async def run() -> None:
            if handler is None or isinstance(handler, GroupCommitted):
                raise LookupError(f"no handler for job type {job.type!r}")
            await handler(self.ctx, job)

        ok, _ = await self._attempt(entry_id, job, run)
        if ok:
            self.ctx.metrics.jobs.labels(job.type, "done").inc()
        return ok

    async def _attempt(self, entry_id: str, job: Job, step: Callable[[], Awaitable[T]]) -> tuple[bool, T | None]:
        """Run one step of a job: (True, its result), or (False, None) once a failure is settled
        (rescheduled with backoff, or dead-lettered). Redis being down is raised: the entry stays
        pending, and XAUTOCLAIM gives it to a worker once Redis is back."""
        try:
            return True, await step()
        except REDIS_DOWN:
            raise
        except Exception as exc:
            await self._retry_or_bury(entry_id, job, exc)
            return False, None

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
