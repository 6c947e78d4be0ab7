"""The worker and the scheduler, composed without the transports (no handler module is imported).

Job handlers are passed to the worker explicitly, as arq's `Worker(functions=[...])` is: the
producer (`ctx.queue`) knows nothing of them, and the worker knows nothing of where jobs come from.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from config.settings import Settings
from models import notifications, reconcile, sessions
from server.context import Context
from server.runtime import open_context, resolve_settings
from workers.scheduler import Periodic, run_scheduler_forever
from workers.worker import GroupCommitted, JobHandler, Worker, new_worker

log = logging.getLogger(__name__)

JOBS: dict[str, JobHandler] = {
    notifications.JOB_TYPE: GroupCommitted(notifications.write_notifications),
    sessions.REMINDER_JOB: sessions.send_reminder,
    reconcile.JOB_TYPE: reconcile.run_job,
}

# Jobs the scheduler queues on its own, once per interval (see workers/scheduler.queue_periodic).
PERIODIC: list[Periodic] = [
    Periodic(reconcile.JOB_TYPE, lambda settings: settings.reconcile_interval_seconds),
]


def build_worker(ctx: Context, **options: Any) -> Worker:
    return new_worker(ctx, JOBS, **options)


async def _run_until_signal(
    settings: Settings, body: Callable[[Context, asyncio.Event], Coroutine[Any, Any, None]]
) -> None:
    ctx, close = await open_context(resolve_settings(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(body(ctx, stop))
    try:
        await stop.wait()
    finally:
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
        await close()
        log.info("stopped")


async def run_worker(settings: Settings) -> None:
    """`python run.py worker`: one worker process, stopped by SIGINT/SIGTERM."""
    await _run_until_signal(settings, lambda ctx, stop: build_worker(ctx).run_forever(stop))


async def run_scheduler(settings: Settings) -> None:
    """`python run.py scheduler`: one scheduler process, stopped by SIGINT/SIGTERM."""
    await _run_until_signal(settings, lambda ctx, stop: run_scheduler_forever(ctx, stop, PERIODIC))
