"""Python's cycle collector (`gc`) in a long-running server: a full collection must not stall the loop.

A full (generation 2) collection walks every tracked container object with the GIL held: nothing
else runs, the event loop included, for its whole length, which grows with the objects *alive*,
not with the garbage. Under the mixed load (bench/load.py: 500 sockets and REST) the server held
~106,000 tracked objects: ~48,000 built at start (routes, pydantic and OpenAPI schemas, modules)
and ~116 per connected socket (aiohttp's handler, engine.io's tasks and coroutines). A full
collection took 65-100 ms there (~0.8 µs an object: in a scattered heap each one is a cache
miss), once or twice a minute: the worst event-loop stalls of the run. CPython 3.11 has no
incremental collector, so the only way to shorten it is to walk fewer objects.

So objects that have proved long-lived are frozen (`gc.freeze()`: moved to a permanent generation
that no collection walks):
- what start-up built, once the app has started;
- the survivors of every full collection, right after it (a `gc.callbacks` hook; at that instant
  the younger generations are empty, a full collection having merged them, so only objects that
  the collection found reachable are frozen). The next full collection walks only what was
  promoted since: a few thousand objects, whatever the number of sockets or documents.

What freezing costs: a frozen object is still freed by reference counting the moment it is
unreferenced (most objects: a closed socket's transport, a replaced document); only a cycle among
frozen objects that becomes garbage stays (a closed socket leaves a few dozen such objects). To
bound that, when the frozen set has grown to `THAW_GROWTH` times its size after the last thaw,
it is thawed and collected once (`thaw_if_grown`, checked every `THAW_CHECK_SECONDS`): one full
pause per doubling of the long-lived heap, where the default policy pays one every time it grows
by a quarter, and memory stays within twice what is live.

The frozen set is counted once, at start (`gc.get_freeze_count()` walks the whole permanent
generation: ~50 ms for 3 million objects, a server holding 500,000 documents), and then kept as a
running total: the hook adds each full collection's survivors (`gc.get_objects(2)` right before
freezing them: only what was promoted since the last one) and a thaw recounts it. Objects freed
since they were frozen are not subtracted, so the total overstates the frozen set and a thaw may
come early, never late; the thaw check and the `gc_frozen_objects` gauge read that total and cost
nothing, where counting on each check stalled the event loop every 10 s in proportion to the data.

Pauses are recorded by the same hook and exported as `gc_pause_seconds` by generation. The hook
only appends to a deque: it may run on any thread in the middle of any allocation, where taking a
metric's lock could deadlock against the same thread holding it.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from server.background import periodic
from server.metrics import Metrics

log = logging.getLogger(__name__)

PAUSES_KEPT = 10_000  # pauses not yet moved into the histogram (older ones are dropped)
THAW_GROWTH = 2.0
THAW_CHECK_SECONDS = 10.0
OLDEST = 2


class Collector:
    """The `gc.callbacks` hook: records each collection's pause, freezes a full collection's survivors."""

    def __init__(self, thaw_growth: float = THAW_GROWTH) -> None:
        self.pauses: collections.deque[tuple[int, float]] = collections.deque(maxlen=PAUSES_KEPT)
        self.thaw_growth = thaw_growth
        self.frozen = 0  # running total (see the module docstring)
        self.frozen_after_thaw = 0
        self.thaws = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.pauses.append((info["generation"], time.perf_counter() - self._started))
        if info["generation"] == OLDEST:
            self.frozen += len(gc.get_objects(OLDEST))  # this collection's survivors, about to be frozen
            gc.freeze()

    def install(self) -> None:
        """Collect what start-up left, freeze the rest, then hook into every collection."""
        gc.collect()
        gc.freeze()
        self.frozen = self.frozen_after_thaw = gc.get_freeze_count()  # counted once
        gc.callbacks.append(self)

    def remove(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self)

    def thaw_if_grown(self) -> bool:
        """Thaw and collect everything once the frozen set has outgrown its bound (see the module
        docstring); the hook freezes the survivors again. Returns whether it did."""
        if self.frozen <= self.frozen_after_thaw * self.thaw_growth:
            return False
        before, self.frozen = self.frozen, 0
        gc.unfreeze()
        collected = gc.collect()  # the hook freezes what survives, and counts it
        self.frozen_after_thaw = self.frozen
        self.thaws += 1
        log.info(
            "gc: thawed %d frozen objects, %d were garbage, %d frozen again", before, collected, self.frozen_after_thaw
        )
        return True

    def drain(self) -> list[tuple[int, float]]:
        drained = []
        while self.pauses:
            drained.append(self.pauses.popleft())
        return drained


@contextlib.asynccontextmanager
async def tuned_collector(metrics: Metrics, check_every: float = THAW_CHECK_SECONDS) -> AsyncIterator[None]:
    """The last lifespan of a server process (run.py): freezes what start-up built, then the
    survivors of every full collection, and thaws when the frozen set has doubled."""
    collector = Collector()
    metrics.watch_collector(collector.drain, lambda: collector.frozen, lambda: collector.thaws)

    async def check() -> None:
        collector.thaw_if_grown()

    collector.install()
    try:
        async with periodic(check_every, check, "gc thaw check"):
            yield
    finally:
        collector.remove()
