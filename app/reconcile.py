"""`python run.py reconcile`: one reconcile pass, through the running server if there is one.

Like `seed`: with the embedded store only the server's process sees the documents, so the pass is
asked of the running server (`POST /api/v1/admin/reconcile`); with no server answering, the store
is opened here, the pass run, and the store closed.
"""

from __future__ import annotations

import json
from typing import Any

from app.admin_client import NoServer, post_as_admin, server_url
from config.settings import Settings
from models.reconcile import reconcile
from server.jsonutil import dumps
from server.runtime import open_context, resolve_settings

PATH = "/admin/reconcile"


async def reconcile_directly(settings: Settings) -> dict[str, Any]:
    ctx, close = await open_context(settings)
    try:
        report: dict[str, Any] = json.loads(dumps(await reconcile(ctx)))  # the same JSON as over HTTP
        return report
    finally:
        await close()


async def run_reconcile(settings: Settings) -> dict[str, Any]:
    """One pass, where the documents are; prints the report (JSON) and returns it."""
    settings = resolve_settings(settings)
    origin = server_url(settings, PATH).origin()
    try:
        report = await post_as_admin(settings, PATH, what="reconcile", timeout=600)
        where = f"through the running server at {origin}"
    except NoServer:
        report = await reconcile_directly(settings)
        where = f"straight on the store (no server answered at {origin})"
    print(f"Reconcile pass run {where}: {report['repairedTotal']} repaired.")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return report
