"""Maintenance over REST: the reconcile pass on demand (what `python run.py reconcile` calls)."""

from __future__ import annotations

from models import reconcile, views
from server.area import Area
from server.http import Call, Reply, Routes
from server.roles import Role

routes = Routes(tag="maintenance")


@routes.post(
    "/admin/reconcile",
    roles=(Role.ADMIN,),
    response=views.ReconcileReport,
    summary="Run one reconcile pass now: rebuild calendars, counters and statuses from their records; "
    "returns what it repaired",
)
async def run_reconcile(call: Call) -> Reply:
    report = await reconcile.reconcile(call.ctx)
    return Reply(report, "maintenance.reconciled", params={"count": report["repairedTotal"]})


area = Area("maintenance", routes=routes)
