"""Prometheus metrics of one process, in its own registry (served at `GET /metrics`).

Everything that counts takes it from `ctx.metrics`, so a test app, a worker and a server each
count their own. Labels stay bounded: routes are the declared templates (`/api/v1/sessions/{id}`),
never raw paths; events are the declared names; unknown ones are counted as "unknown".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from server.background import running

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
LAG_PROBE_SECONDS = 0.5
GC_PAUSE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "http_requests", "HTTP requests answered", ["method", "route", "status"], registry=r
        )
        self.http_latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.open_sockets = Gauge("socketio_open_sockets", "Socket.IO connections held by this process", registry=r)
        self.socket_events = Counter(
            "socketio_events",
            "Socket.IO events received, by outcome (ok, refused, error)",
            ["event", "outcome"],
            registry=r,
        )
        self.socket_connects = Counter(
            "socketio_connections", "Socket.IO connection attempts, by outcome", ["outcome"], registry=r
        )
        self.queue_depth = Gauge(
            "queue_jobs", "Jobs in the queue by state (ready, delayed, pending, dead, outbox)", ["state"], registry=r
        )
        self.jobs = Counter(
            "queue_job_outcomes",
            "Jobs handled by this process's worker, by outcome (done, retried, dead)",
            ["type", "outcome"],
            registry=r,
        )
        self.rate_limited = Counter(
            "rate_limit_refusals", "Calls refused by a rate limit, by bucket", ["bucket"], registry=r
        )
        self.loop_lag = Histogram(
            "event_loop_lag_seconds",
            "How late the event loop ran a timer (a stall shows here)",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.loop_lag_max = Gauge("event_loop_lag_max_seconds", "Largest event-loop lag seen", registry=r)
        self.gc_pause = Histogram(
            "gc_pause_seconds",
            "Cycle-collector runs by generation (the whole process waits for each)",
            ["generation"],
            buckets=GC_PAUSE_BUCKETS,
            registry=r,
        )
        self.gc_frozen = Gauge("gc_frozen_objects", "Objects in the collector's permanent generation", registry=r)
        self.gc_thaws = Gauge("gc_thaws", "Times the frozen objects were thawed and collected", registry=r)
        self._gc_pauses: Callable[[], list[tuple[int, float]]] | None = None

    def watch_open_sockets(self, count: Callable[[], int]) -> None:
        self.open_sockets.set_function(lambda: float(count()))

    def watch_collector(
        self, drain: Callable[[], list[tuple[int, float]]], frozen: Callable[[], int], thaws: Callable[[], int]
    ) -> None:
        """`drain()` hands over the collector's pauses since its last call (server/collector.py)."""
        self._gc_pauses = drain
        self.gc_frozen.set_function(lambda: float(frozen()))
        self.gc_thaws.set_function(lambda: float(thaws()))

    def record_queue(self, stats: dict[str, object]) -> None:
        for state in ("ready", "delayed", "pending", "dead", "outbox"):
            value = stats.get(state)
            if isinstance(value, int):
                self.queue_depth.labels(state).set(value)

    def exposition(self) -> bytes:
        if self._gc_pauses is not None:
            for generation, seconds in self._gc_pauses():
                self.gc_pause.labels(str(generation)).observe(seconds)
        return generate_latest(self.registry)


@contextlib.asynccontextmanager
async def loop_lag_probe(metrics: Metrics, interval: float = LAG_PROBE_SECONDS) -> AsyncIterator[None]:
    """Sleep `interval` over and over and record how late each wake-up came: the event-loop lag."""
    loop = asyncio.get_running_loop()

    async def probe() -> None:
        worst = 0.0
        while True:
            start = loop.time()
            await asyncio.sleep(interval)
            lag = max(0.0, loop.time() - start - interval)
            metrics.loop_lag.observe(lag)
            if lag > worst:
                worst = lag
                metrics.loop_lag_max.set(lag)

    async with running(probe):
        yield
