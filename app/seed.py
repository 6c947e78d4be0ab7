"""`python run.py seed`: load the demo data, through the running server if there is one.

With the embedded store the documents live inside the server's process, so a separate `seed`
process could not write into them. It therefore first asks the running server (HOST:PORT) to load
them itself, through the ADMIN-only `POST /api/v1/admin/demo-data`, authenticated with a
short-lived ADMIN token it signs with the same JWT secret. Only when no server answers does it open
the store itself, load, and close it.
"""

from __future__ import annotations

from typing import Any

from app.admin_client import NoServer, post_as_admin, server_url
from config.settings import Settings
from models.demo import load_into
from server.runtime import open_context, resolve_settings

PATH = "/admin/demo-data"


async def load_through_server(settings: Settings) -> dict[str, Any]:
    return await post_as_admin(settings, PATH, what="load the demo data")


async def load_directly(settings: Settings) -> dict[str, Any]:
    ctx, close = await open_context(settings)
    try:
        return await load_into(ctx)
    finally:
        await close()


async def load_demo_data(settings: Settings) -> dict[str, Any]:
    """`python run.py seed`: through the running server if there is one, else straight into the store."""
    settings = resolve_settings(settings)
    try:
        summary = await load_through_server(settings)
        where = f"through the running server at {server_url(settings, PATH).origin()}"
    except NoServer:
        summary = await load_directly(settings)
        where = f"straight into the store (no server answered at {server_url(settings, PATH).origin()})"
    print(f"Demo data loaded {where}.")
    print(f"Accounts (password {summary['password']!r}):")
    for account in summary["accounts"]:
        extra = f", employeeId {account['employeeId']}" if account.get("employeeId") else ""
        print(f"  {account['username']:<11} {account['role']:<9} id {account['id']}{extra}")
    print("Assignments of jane_smith:")
    for item in summary["assignments"]:
        print(f"  {item['assignmentId']}  {item['status']:<10} booking at {item['bookingTime']}")
    return summary
