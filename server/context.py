"""The Context every model operation takes first: the stores, realtime fan-out, queue, settings, clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from pymongo.asynchronous.database import AsyncDatabase

from config.settings import Settings
from server.clock import SystemClock
from server.faults import Faults
from server.metrics import Metrics
from server.queue import Queue
from server.realtime import Realtime

# The embedded store speaks the same async API (server/embedded_store.py), so both engines are typed
# as PyMongo's: mypy then holds the models to calls a real MongoDB answers.
Database = AsyncDatabase[dict[str, Any]]


@dataclass
class Context:
    settings: Settings
    db: Database
    redis: aioredis.Redis
    realtime: Realtime
    queue: Queue
    clock: SystemClock
    metrics: Metrics
    # Crash points armed by tests (server/faults.py); empty, and so free, everywhere else.
    faults: Faults = field(default_factory=Faults)
