"""How a command-line process asks the running server to do an ADMIN operation for it.

With the embedded store the documents live inside the server's process, so a separate process
(`run.py seed`, `run.py reconcile`) could not see or change them. It therefore first calls the
server at HOST:PORT, authenticated with a one-minute ADMIN token signed with the same JWT secret;
`NoServer` says nothing answered, and the caller then opens the store itself.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

import aiohttp
from yarl import URL

from config.settings import Settings
from models.demo import ADMIN_ID
from server.auth import sign_access_token
from server.clock import SystemClock
from server.roles import Role


class NoServer(Exception):
    """Nothing listens at HOST:PORT."""


def server_url(settings: Settings, path: str) -> URL:
    host = settings.host if settings.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    return URL.build(scheme="http", host=host, port=settings.port, path=f"/api/v1{path}")


def admin_token(settings: Settings) -> str:
    """A one-minute ADMIN access token, signed like the server's own (fresh family and jti)."""
    short = settings.model_copy(update={"access_token_ttl_seconds": 60})
    token, _ = sign_access_token(short, SystemClock().now(), ADMIN_ID, Role.ADMIN, uuid.uuid4().hex)
    return token


async def post_as_admin(settings: Settings, path: str, *, what: str, timeout: float = 60) -> dict[str, Any]:
    """POST `{}` to the running server's `path` as ADMIN; its `data`, or `NoServer`."""
    url = server_url(settings, path)
    client_timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=3)
    async with aiohttp.ClientSession(timeout=client_timeout) as session:
        try:
            async with session.post(
                url, json={}, headers={"Authorization": f"Bearer {admin_token(settings)}", "Accept-Language": "en"}
            ) as resp:
                body = await resp.json(content_type=None)
                status = resp.status
        except aiohttp.ClientConnectorError as exc:
            raise NoServer(str(exc)) from None
    if status != 200 or not isinstance(body, dict) or not body.get("success"):
        raise RuntimeError(f"the server at {url.origin()} refused to {what} ({status}): {body}")
    return cast(dict[str, Any], body["data"])
