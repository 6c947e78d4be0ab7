"""The scheduler ("cron"): every SCHEDULER_INTERVAL_SECONDS, due delayed jobs and outbox jobs go to the stream."""

from __future__ import annotations

import asyncio
import logging

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


async def run_scheduler_forever(ctx: Context, stop: asyncio.Event | None = None) -> None:
    interval = ctx.settings.scheduler_interval_seconds
    log.info("scheduler: every %.2fs", interval)
    while stop is None or not stop.is_set():
        try:
            await tick(ctx)
        except asyncio.CancelledError:
            raise
        except REDIS_DOWN:
            log.warning("scheduler: Redis unreachable; outbox jobs wait")
        except Exception:
            log.exception("scheduler: tick failed")
        await asyncio.sleep(interval)
