"""Demo data over REST: what `python run.py seed` calls when a server is running (see models/demo.py)."""

from __future__ import annotations

from models import demo, views
from server.area import Area
from server.http import Call, Reply, Routes
from server.roles import Role

routes = Routes(tag="demo")


@routes.post(
    "/admin/demo-data",
    roles=(Role.ADMIN,),
    response=views.DemoData,
    summary="Load the demo accounts, booking and assignments (idempotent; resets them)",
)
async def load_demo_data(call: Call) -> Reply:
    return Reply(await demo.load_into(call.ctx), "demo.loaded")


area = Area("demo", routes=routes)
