"""`python run.py worker` and `python run.py scheduler`: one part per process, stopped by SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from config.settings import Settings
from server.app import open_context, resolve_settings
from server.context import Context
from workers.scheduler import run_scheduler_forever
from workers.worker import new_worker

log = logging.getLogger(__name__)


async def _run_until_signal(settings: Settings, body: Callable[[Context, asyncio.Event], Awaitable[None]]) -> None:
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
    await _run_until_signal(settings, lambda ctx, stop: new_worker(ctx).run_forever(stop))


async def run_scheduler(settings: Settings) -> None:
    await _run_until_signal(settings, run_scheduler_forever)
