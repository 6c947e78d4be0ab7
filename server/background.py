"""Background tasks that live as long as a context: a server's lifespans use them.

    async with periodic(0.5, probe, "loop-lag probe"):
        ...  # `probe()` runs every 0.5 s until the block ends

A failing step is logged and the loop goes on (one bad beat must not stop presence or expiry);
leaving the block cancels the task and waits for it, so nothing outlives its owner.

`TurnBatch` gathers what the tasks of one turn of the event loop hand it and passes it on, all
together, when that turn ends: one socket write per socket, one write of Redis scripts per turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_DETACHED: set[asyncio.Task[None]] = set()  # tasks nobody awaits, kept referenced until done


def detached(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """Run `coro` in a task nobody awaits (a close after an ack, a websocket's closing handshake),
    kept referenced until it is done so that it is not collected half way."""
    task = asyncio.get_running_loop().create_task(coro)
    _DETACHED.add(task)
    task.add_done_callback(_DETACHED.discard)
    return task


class TurnBatch(Generic[T]):
    """Items added during one turn of the event loop, handed to `handle` together when the turn
    ends (`loop.call_soon` at the first one): what many tasks did in the same turn costs one write
    or one round trip. Items left by a loop that closed before its turn ended (tests) are void."""

    def __init__(self, handle: Callable[[list[T]], object]) -> None:
        self._handle = handle
        self._items: list[T] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop whose turn hands over `_items`

    def add(self, item: T) -> None:
        if self._items and self._loop is not None and self._loop.is_closed():
            self._items = []
        if not self._items:
            self._loop = asyncio.get_running_loop()
            self._loop.call_soon(self._hand_over)
        self._items.append(item)

    def _hand_over(self) -> None:
        items, self._items = self._items, []
        self._handle(items)


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
