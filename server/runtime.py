"""Opening what every process stands on: settings resolved, the stores, Redis, realtime and the queue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from config.settings import Settings
from server.auth import load_or_create_secret
from server.clock import SystemClock
from server.context import Context, Database
from server.metrics import Metrics
from server.queue import Queue
from server.realtime import Realtime
from server.redis import OpenRedis, client_options, open_redis
from server.socket_manager import RedisSocketManager
from server.store import OpenStore, open_store

EmitterFactory = Callable[[str], Any]


def resolve_settings(settings: Settings) -> Settings:
    """Fill what may be left unset: the JWT secret comes from DATA_DIR when not configured."""
    if settings.jwt_secret:
        return settings
    return settings.model_copy(update={"jwt_secret": load_or_create_secret(settings.data_dir)})


def emitter_factory(settings: Settings) -> EmitterFactory:
    """What a worker emits through: a write-only Redis manager that reaches every server's clients."""

    def write_only_emitter(redis_url: str) -> Any:
        return RedisSocketManager(redis_url, write_only=True, **client_options(settings))

    return write_only_emitter


async def open_context(
    settings: Settings, clock: SystemClock | None = None, make_emitter: EmitterFactory | None = None
) -> tuple[Context, Callable[[], Awaitable[None]]]:
    """Open the stores and build a Context; returns it with the coroutine that closes everything.

    The server passes an emitter factory that builds its Socket.IO server on the Redis URL;
    workers get a write-only Redis manager, which reaches every server's clients."""
    clock = clock or SystemClock()
    store: OpenStore = await open_store(settings)
    redis: OpenRedis = await open_redis(settings)
    db = cast(Database, store.db)
    ctx = Context(
        settings=settings,
        db=db,
        redis=redis.client,
        realtime=Realtime((make_emitter or emitter_factory(settings))(redis.url)),
        queue=Queue(redis.client, db, clock),
        clock=clock,
        metrics=Metrics(),
    )

    async def close() -> None:
        await ctx.realtime.aclose()
        await redis.close()
        await store.close()

    return ctx, close
