"""The scheduler ("cron"): every SCHEDULER_INTERVAL_SECONDS, due delayed jobs and outbox jobs go to the
stream, and each periodic job it was handed is queued once per its interval."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from config.settings import Settings
from server.clock import epoch_millis
from server.context import Context
from server.queue import REDIS_DOWN

log = logging.getLogger(__name__)


async def tick(ctx: Context) -> int:
    """One pass; returns how many jobs were moved. Several schedulers may run: the move is atomic."""
    moved = await ctx.queue.drain_outbox()
    while True:
        batch = await ctx.queue.move_due()
        moved += batch
        if batch < 1000:
            return moved


@dataclass(frozen=True)
class Periodic:
    """A job queued every `every(settings)` seconds (handed to the scheduler by the composition root)."""

    job_type: str
    every: Callable[[Settings], float]


async def queue_periodic(ctx: Context, periodic: Sequence[Periodic]) -> list[str]:
    """Queue each periodic job whose current time bucket has none yet; returns the job ids queued.

    The job id is `<type>:<bucket>` (bucket = epoch time // interval), and a Redis `SET NX` on that
    id decides who queues it: however many schedulers run, and however often they tick, each
    bucket's job is queued once."""
    queued = []
    now = epoch_millis(ctx.clock.now())
    for job in periodic:
        every = job.every(ctx.settings)
        bucket = int(now // int(every * 1000))
        job_id = f"{job.job_type}:{bucket}"
        if await ctx.redis.set(f"q:periodic:{job_id}", "1", nx=True, ex=max(60, int(every * 2))):
            await ctx.queue.enqueue(job.job_type, {"bucket": bucket}, job_id=job_id)
            queued.append(job_id)
    return queued


async def run_scheduler_forever(
    ctx: Context, stop: asyncio.Event | None = None, periodic: Sequence[Periodic] = ()
) -> None:
    interval = ctx.settings.scheduler_interval_seconds
    log.info("scheduler: every %.2fs", interval)
    while stop is None or not stop.is_set():
        try:
            await queue_periodic(ctx, periodic)
            await tick(ctx)
        except asyncio.CancelledError:
            raise
        except REDIS_DOWN:
            log.warning("scheduler: Redis unreachable; outbox jobs wait")
        except Exception:
            log.exception("scheduler: tick failed")
        await asyncio.sleep(interval)
