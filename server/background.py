"""Background tasks that live as long as a context: a server's lifespans use them.

    async with periodic(0.5, probe, "loop-lag probe"):
        ...  # `probe()` runs every 0.5 s until the block ends

A failing step is logged and the loop goes on (one bad beat must not stop presence or expiry);
leaving the block cancels the task and waits for it, so nothing outlives its owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

_DETACHED: set[asyncio.Task[None]] = set()  # tasks nobody awaits, kept referenced until done


def detached(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """Run `coro` in a task nobody awaits (a close after an ack, a websocket's closing handshake),
    kept referenced until it is done so that it is not collected half way."""
    task = asyncio.get_running_loop().create_task(coro)
    _DETACHED.add(task)
    task.add_done_callback(_DETACHED.discard)
    return task


@contextlib.asynccontextmanager
async def running(*bodies: Callable[[], Coroutine[Any, Any, None]]) -> AsyncIterator[None]:
    """Run each body as a task while the block is open; cancel and await them all on exit."""
    tasks = [asyncio.create_task(body()) for body in bodies]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def periodic(
    interval: float, step: Callable[[], Awaitable[None]], what: str
) -> contextlib.AbstractAsyncContextManager[None]:
    """`step()` every `interval` seconds while the block is open."""

    async def forever() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await step()
            except Exception:
                log.exception("%s failed", what)

    return running(forever)
