"""`python run.py seed`: load the demo data, through the running server if there is one.

With the embedded store the documents live inside the server's process, so a separate `seed`
process could not write into them. It therefore first asks the running server (HOST:PORT) to load
them itself, through the ADMIN-only `POST /api/v1/admin/demo-data`, authenticated with a
short-lived ADMIN token it signs with the same JWT secret. Only when no server answers does it open
the store itself, load, and close it.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

import aiohttp
from yarl import URL

from config.settings import Settings
from models.demo import ADMIN_ID, load_into
from server.auth import sign_access_token
from server.clock import SystemClock
from server.roles import Role
from server.runtime import open_context, resolve_settings


class NoServer(Exception):
    """Nothing listens at HOST:PORT."""


def _server_url(settings: Settings) -> URL:
    host = settings.host if settings.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    return URL.build(scheme="http", host=host, port=settings.port, path="/api/v1/admin/demo-data")


def _admin_token(settings: Settings) -> str:
    """A one-minute ADMIN access token, signed like the server's own (fresh family and jti)."""
    short = settings.model_copy(update={"access_token_ttl_seconds": 60})
    token, _ = sign_access_token(short, SystemClock().now(), ADMIN_ID, Role.ADMIN, uuid.uuid4().hex)
    return token


async def load_through_server(settings: Settings) -> dict[str, Any]:
    url = _server_url(settings)
    timeout = aiohttp.ClientTimeout(total=60, sock_connect=3)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            async with session.post(
                url, json={}, headers={"Authorization": f"Bearer {_admin_token(settings)}", "Accept-Language": "en"}
            ) as resp:
                body = await resp.json(content_type=None)
                status = resp.status
        except aiohttp.ClientConnectorError as exc:
            raise NoServer(str(exc)) from None
    if status != 200 or not isinstance(body, dict) or not body.get("success"):
        raise RuntimeError(f"the server at {url.origin()} refused to load the demo data ({status}): {body}")
    return cast(dict[str, Any], body["data"])


async def load_directly(settings: Settings) -> dict[str, Any]:
    ctx, close = await open_context(settings)
    try:
        return await load_into(ctx)
    finally:
        await close()  # writes the embedded store's snapshot


async def load_demo_data(settings: Settings) -> dict[str, Any]:
    """`python run.py seed`: through the running server if there is one, else straight into the store."""
    settings = resolve_settings(settings)
    try:
        summary = await load_through_server(settings)
        where = f"through the running server at {_server_url(settings).origin()}"
    except NoServer:
        summary = await load_directly(settings)
        where = f"straight into the store (no server answered at {_server_url(settings).origin()})"
    print(f"Demo data loaded {where}.")
    print(f"Accounts (password {summary['password']!r}):")
    for account in summary["accounts"]:
        extra = f", employeeId {account['employeeId']}" if account.get("employeeId") else ""
        print(f"  {account['username']:<11} {account['role']:<9} id {account['id']}{extra}")
    print("Assignments of jane_smith:")
    for item in summary["assignments"]:
        print(f"  {item['assignmentId']}  {item['status']:<10} booking at {item['bookingTime']}")
    return summary
