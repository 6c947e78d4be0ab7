"""The HTTP app: aiohttp + Socket.IO on shared Redis, the Context, and every area registered in order."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio
from aiohttp import web

from app.worker import PERIODIC, build_worker
from config.settings import Settings
from handlers import (
    accounts,
    approvals,
    assignments,
    chat,
    classes,
    coursework,
    demo,
    evaluations,
    forum,
    maintenance,
    notifications,
    presence,
    progress,
    rooms,
    sessions,
    tutors,
)
from handlers.server_events import server_events
from server import queue
from server.area import Area
from server.asyncapi import build_asyncapi
from server.background import running
from server.clock import SystemClock
from server.collector import tuned_collector
from server.context import Context
from server.docs import install_docs
from server.errors import AuthError
from server.http import CTX_KEY, cors_middleware, error_middleware, json_response
from server.indexes import ensure_indexes
from server.metrics import CONTENT_TYPE, loop_lag_probe
from server.openapi import build_openapi
from server.redis import client_options
from server.runtime import open_context, resolve_settings
from server.socket_manager import RedisSocketManager
from server.sockets import SocketServer, install_sockets, token_expiry
from workers.scheduler import run_scheduler_forever

log = logging.getLogger(__name__)

AREAS: list[Area] = [
    accounts.area,
    notifications.area,
    rooms.area,
    assignments.area,
    demo.area,
    tutors.area,
    sessions.area,
    classes.area,
    chat.area,
    presence.area,
    coursework.area,
    evaluations.area,
    progress.area,
    approvals.area,
    forum.area,
    maintenance.area,
]

SIO_KEY = web.AppKey("sio", socketio.AsyncServer)
SOCKET_CLOSE_WAIT_SECONDS = 2.0  # at shutdown, how long the disconnect hooks of closed sockets may take


def socket_server_factory(settings: Settings) -> Any:
    """The Socket.IO server, built on the Redis URL once Redis is open (its manager relays to the
    other server processes and receives what workers emit)."""

    def make_sio(redis_url: str) -> socketio.AsyncServer:
        origins: Any = settings.cors_origin_list or []
        return SocketServer(
            default_locale=settings.default_locale,
            async_mode="aiohttp",
            client_manager=RedisSocketManager(redis_url, channel="socketio", **client_options(settings)),
            cors_allowed_origins="*" if "*" in origins else origins,
            max_http_buffer_size=settings.max_body_bytes,
        )

    return make_sio


async def create_app(
    settings: Settings,
    *,
    clock: SystemClock | None = None,
    run_workers: bool = False,
    areas: list[Area] | None = None,
    freeze_at_start: bool = False,
) -> web.Application:
    """`freeze_at_start`: a server process (run.py), not a test app (many apps share the test process,
    and each one frozen would stay in memory until it ends)."""
    settings = resolve_settings(settings)
    areas = AREAS if areas is None else areas
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[cors_middleware(settings.cors_origin_list), error_middleware],
    )
    ctx, close_context = await open_context(settings, clock, socket_server_factory(settings))
    sio: socketio.AsyncServer = ctx.realtime.emitter
    sio.attach(app)
    app[CTX_KEY] = ctx
    app[SIO_KEY] = sio

    await ensure_indexes(ctx.db, [*queue.INDEXES, *(index for area in areas for index in area.indexes)])
    for area in areas:
        if area.routes is not None:
            area.routes.install(app)
        for kind, check in area.room_checks.items():
            ctx.realtime.register_room_check(kind, check)
    install_sockets(sio, ctx, [area.events for area in areas if area.events is not None])
    openapi = build_openapi([area.routes for area in areas if area.routes is not None])
    asyncapi = build_asyncapi([area.events for area in areas if area.events is not None], server_events())
    _install_ops_routes(app, openapi, asyncapi)

    # Lifespans run in order at start and unwind in reverse at cleanup (aiohttp's cleanup_ctx):
    # socket expiry, the area hooks, then the in-process worker and scheduler when asked for.
    #
    # Shutdown order (SIGTERM): aiohttp stops listening, then runs on_shutdown: every socket is
    # closed first (its clients see a lost connection and reconnect, to another process if there
    # is one), while Redis is still open for their disconnect hooks (presence). Then cleanup_ctx
    # unwinds (workers and scheduler, presence heartbeat, expiry), and last on_cleanup closes the
    # Socket.IO manager's Redis listener and the stores (the embedded Redis server with them).
    app.cleanup_ctx.append(_bind(token_expiry, ctx))
    for area in areas:
        for lifespan in area.lifespans:
            app.cleanup_ctx.append(_bind(lifespan, ctx))
    app.cleanup_ctx.append(_bind(lambda ctx: loop_lag_probe(ctx.metrics), ctx))
    if run_workers:
        app.cleanup_ctx.append(_bind(in_process_workers, ctx))
    if freeze_at_start:  # last: what start-up built, workers included, is frozen (server/collector.py)
        app.cleanup_ctx.append(_bind(lambda ctx: tuned_collector(ctx.metrics), ctx))

    async def close_sockets(app: web.Application) -> None:
        closed = await ctx.realtime.end_all_local()
        if not await ctx.realtime.wait_none_local(SOCKET_CLOSE_WAIT_SECONDS):
            log.warning("shutdown: %d sockets still closing", ctx.realtime.local_count())
        if closed:
            log.info("shutdown: %d sockets closed", closed)
        with contextlib.suppress(Exception):
            await sio.shutdown()

    async def close_stores(app: web.Application) -> None:
        await close_context()

    app.on_shutdown.append(close_sockets)
    app.on_cleanup.append(close_stores)
    return app


def _bind(lifespan: Any, ctx: Context) -> Any:
    async def run(app: web.Application) -> AsyncIterator[None]:
        async with lifespan(ctx):
            yield

    return run


@contextlib.asynccontextmanager
async def in_process_workers(ctx: Context) -> AsyncIterator[None]:
    """`run.py` (all in one): a worker and a scheduler beside the server, stopped at cleanup."""
    async with running(build_worker(ctx).run_forever, lambda: run_scheduler_forever(ctx, periodic=PERIODIC)):
        yield


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

    async def metrics(request: web.Request) -> web.Response:
        ctx = request.app[CTX_KEY]
        token = ctx.settings.metrics_token
        if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
            return json_response(AuthError.missing().body, 401)
        with contextlib.suppress(Exception):  # queue depth is best effort: Redis may be down
            ctx.metrics.record_queue(await asyncio.wait_for(ctx.queue.stats(upcoming=0), timeout=2))
        return web.Response(body=ctx.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    install_docs(app, openapi, asyncapi)  # /api/docs, /api/openapi.json, /api/asyncapi(.json), /console, /static/
