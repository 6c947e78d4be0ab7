"""The cycle collector's tuning (server/collector.py): a full collection freezes what it found alive,
garbage is still collected, a cycle left among frozen objects is collected at the thaw, and a
server app freezes at start and exports the collector's figures. Durations are never asserted."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.web import create_app
from config.settings import Settings
from server.collector import OLDEST, Collector


class Node:
    """A container object that takes part in reference cycles (and can be weakly referenced)."""

    other: Node | None = None


def cycle() -> Node:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a


def tracked(obj: object) -> bool:
    """Whether a collection of the oldest generation would walk `obj` (frozen objects are in none)."""
    return any(o is obj for o in gc.get_objects())


@pytest.fixture
def collector() -> Iterator[Collector]:
    installed = Collector()
    installed.install()
    try:
        yield installed
    finally:
        installed.remove()
        gc.unfreeze()  # the rest of the test process collects as usual


def test_a_full_collection_freezes_its_survivors_and_still_collects_garbage(collector: Collector) -> None:
    alive = cycle()
    garbage = weakref.ref(cycle())
    assert tracked(alive)
    gc.collect()
    assert garbage() is None
    assert not tracked(alive)  # frozen: later full collections do not walk it
    assert alive.other is not None and alive.other.other is alive


def test_the_frozen_total_is_kept_without_recounting(collector: Collector) -> None:
    """Counting the permanent generation walks all of it; the total is kept from each full
    collection's survivors instead, and never undercounts what is frozen."""
    start = collector.frozen
    assert start >= gc.get_freeze_count() > 0  # counted at start (what the fixture freed since: still in)
    kept = [Node() for _ in range(2000)]
    gc.collect()
    assert collector.frozen - start >= 2000 and collector.frozen >= gc.get_freeze_count()  # survivors added
    del kept  # freed at once (no cycle), frozen or not
    assert collector.frozen >= gc.get_freeze_count() + 2000  # freed objects are not subtracted
    collector.frozen_after_thaw = collector.frozen // 3
    assert collector.thaw_if_grown() is True
    assert collector.frozen == gc.get_freeze_count()  # recounted by the thaw


def test_a_young_collection_freezes_nothing(collector: Collector) -> None:
    alive = cycle()
    frozen = gc.get_freeze_count()
    gc.collect(0)
    assert tracked(alive)
    assert gc.get_freeze_count() == frozen


def test_a_cycle_left_among_frozen_objects_is_collected_at_the_thaw(collector: Collector) -> None:
    leaked = cycle()
    gc.collect()  # frozen with its survivors
    ref = weakref.ref(leaked)
    del leaked
    gc.collect()
    assert ref() is not None  # a frozen cycle is not collected...
    assert collector.thaw_if_grown() is False  # ...while the frozen set has not grown enough

    collector.frozen_after_thaw = collector.frozen // 3  # as if it had tripled since the last thaw
    assert collector.thaw_if_grown() is True
    assert ref() is None  # ...until the thaw
    assert collector.thaws == 1
    assert collector.frozen_after_thaw > 0 and not tracked(collector)  # the survivors are frozen again


def test_pauses_are_recorded_by_generation(collector: Collector) -> None:
    collector.drain()
    gc.collect(0)
    gc.collect(OLDEST)
    generations = [generation for generation, seconds in collector.drain() if seconds >= 0]
    assert generations[-2:] == [0, OLDEST]
    assert collector.drain() == []


async def test_a_server_app_freezes_at_start_and_exports_the_collector(aiohttp_client: Any, settings: Settings) -> None:
    hooks = len(gc.callbacks)
    try:
        client = await aiohttp_client(await create_app(settings, freeze_at_start=True))
        assert gc.get_freeze_count() > 0 and len(gc.callbacks) == hooks + 1
        gc.collect()
        text = await (await client.get("/metrics")).text()
        samples = {
            (s.name, s.labels.get("generation")): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        assert samples[("gc_frozen_objects", None)] > 0
        assert samples[("gc_pause_seconds_count", str(OLDEST))] >= 1
        assert samples[("gc_thaws", None)] == 0
        await client.close()
        assert len(gc.callbacks) == hooks  # the hook goes with the app
    finally:
        gc.unfreeze()
