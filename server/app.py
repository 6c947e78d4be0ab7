"""The app factory: aiohttp + Socket.IO on shared Redis, the Context, and the process lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web

from config.settings import Settings
from handlers import areas
from handlers.server_events import server_events
from models.users import ensure_bootstrap_admin
from server.asyncapi import build_asyncapi
from server.auth import load_or_create_secret
from server.clock import SystemClock
from server.context import Context
from server.docs import install_docs
from server.http import CTX_KEY, cors_middleware, error_middleware, json_response
from server.indexes import ensure_indexes
from server.openapi import build_openapi
from server.realtime import Realtime
from server.redis import CLIENT_NAME, OpenRedis, open_redis
from server.sockets import install_sockets
from server.store import OpenStore, open_store

log = logging.getLogger(__name__)

SIO_KEY = web.AppKey("sio", socketio.AsyncServer)
BACKGROUND_KEY = web.AppKey("background", list)
STOPPERS_KEY = web.AppKey("stoppers", list)


def resolve_settings(settings: Settings) -> Settings:
    """Fill what may be left unset: the JWT secret comes from DATA_DIR when not configured."""
    if settings.jwt_secret:
        return settings
    return settings.model_copy(update={"jwt_secret": load_or_create_secret(settings.data_dir)})


async def open_context(
    settings: Settings, clock: SystemClock | None = None, emitter_factory: Callable[[str], Any] | None = None
) -> tuple[Context, Callable[[], Awaitable[None]]]:
    """Open the stores and build a Context; returns it with the coroutine that closes everything.

    The server passes an emitter factory that builds its Socket.IO server on the Redis URL;
    workers get a write-only Redis manager, which reaches every server's clients."""
    store: OpenStore = await open_store(settings)
    redis: OpenRedis = await open_redis(settings)
    emitter = (
        emitter_factory
        or (lambda url: socketio.AsyncRedisManager(url, write_only=True, redis_options={"client_name": CLIENT_NAME}))
    )(redis.url)
    ctx = Context(
        settings=settings, db=store.db, redis=redis.client, realtime=Realtime(emitter), clock=clock or SystemClock()
    )
    await ensure_indexes(ctx.db)

    async def close() -> None:
        await redis.close()
        await store.close()

    return ctx, close


async def create_app(
    settings: Settings, *, clock: SystemClock | None = None, run_workers: bool = False
) -> web.Application:
    settings = resolve_settings(settings)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[cors_middleware(settings.cors_origin_list), error_middleware],
    )

    def make_sio(redis_url: str) -> socketio.AsyncServer:
        origins: Any = settings.cors_origin_list or []
        return socketio.AsyncServer(
            async_mode="aiohttp",
            client_manager=socketio.AsyncRedisManager(
                redis_url, channel="socketio", redis_options={"client_name": CLIENT_NAME}
            ),
            cors_allowed_origins="*" if "*" in origins else origins,
            max_http_buffer_size=settings.max_body_bytes,
        )

    ctx, close_context = await open_context(settings, clock, make_sio)
    sio: socketio.AsyncServer = ctx.realtime.emitter
    sio.attach(app)
    app[CTX_KEY] = ctx
    app[SIO_KEY] = sio
    app[BACKGROUND_KEY] = []

    modules = areas()
    for module in modules:
        if hasattr(module, "setup"):
            module.setup(ctx)
        module.routes.install(app)
    install_sockets(sio, ctx, [m.events for m in modules if hasattr(m, "events")])
    _install_area_lifecycles(app, ctx, modules)
    openapi = build_openapi([m.routes for m in modules])
    asyncapi = build_asyncapi([m.events for m in modules if hasattr(m, "events")], server_events())
    _install_ops_routes(app, openapi, asyncapi)

    await ensure_bootstrap_admin(ctx)

    if run_workers:

        async def start_workers(app: web.Application) -> None:
            from workers.scheduler import run_scheduler_forever
            from workers.worker import new_worker

            app[BACKGROUND_KEY].append(asyncio.create_task(new_worker(ctx).run_forever()))
            app[BACKGROUND_KEY].append(asyncio.create_task(run_scheduler_forever(ctx)))

        app.on_startup.append(start_workers)

    async def on_shutdown(app: web.Application) -> None:
        with contextlib.suppress(Exception):
            await sio.shutdown()  # closes every socket of this process

    async def on_shutdown_workers(app: web.Application) -> None:
        for task in app[BACKGROUND_KEY]:
            task.cancel()
        for task in app[BACKGROUND_KEY]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def on_cleanup(app: web.Application) -> None:
        await close_context()

    app.on_shutdown.append(on_shutdown_workers)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


def _install_area_lifecycles(app: web.Application, ctx: Context, modules: list[Any]) -> None:
    """An area may define `async def start(ctx)` for what must run in every server process while it
    serves (e.g. presence heartbeats); it returns an async callable that stops it. Started when the
    app starts, stopped at shutdown before the sockets are closed (in reverse order)."""
    app[STOPPERS_KEY] = []
    starters = [m.start for m in modules if hasattr(m, "start")]
    if not starters:
        return

    async def start_areas(app: web.Application) -> None:
        for start in starters:
            app[STOPPERS_KEY].append(await start(ctx))

    async def stop_areas(app: web.Application) -> None:
        for stop in reversed(app[STOPPERS_KEY]):
            with contextlib.suppress(Exception):
                await stop()
        app[STOPPERS_KEY].clear()

    app.on_startup.append(start_areas)
    app.on_shutdown.append(stop_areas)


def _install_ops_routes(app: web.Application, openapi: dict[str, Any], asyncapi: dict[str, Any]) -> None:
    async def health(request: web.Request) -> web.Response:
        return json_response({"status": "ok"}, 200)

    async def ready(request: web.Request) -> web.Response:
        ctx = request.app[CTX_KEY]
        checks: dict[str, str] = {}
        for name, probe in (("mongodb", lambda: ctx.db.command("ping")), ("redis", ctx.redis.ping)):
            try:
                await asyncio.wait_for(probe(), timeout=2)
                checks[name] = "ok"
            except Exception:
                checks[name] = "unavailable"
        ok = all(v == "ok" for v in checks.values())
        return json_response({"status": "ready" if ok else "unavailable", "checks": checks}, 200 if ok else 503)

    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    install_docs(app, openapi, asyncapi)  # /api/docs, /api/openapi.json, /api/asyncapi(.json), /console, /static/
