"""The Context every model operation takes first: the stores, realtime fan-out, queue, settings, clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from config.settings import Settings
from server.clock import SystemClock

if TYPE_CHECKING:
    from server.realtime import Realtime


@dataclass
class Context:
    settings: Settings
    db: Any  # pymongo AsyncDatabase or the embedded equivalent
    redis: aioredis.Redis
    realtime: Realtime
    clock: SystemClock
    queue: Any = None  # workers.queue.Queue, set by the app factory / worker runner
