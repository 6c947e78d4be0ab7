"""An area's one declaration: what it contributes to the server, registered by the composition root.

    area = Area(
        "assignments",
        routes=routes,
        room_checks={"assignment": assignments.may_watch},
        indexes=assignments.INDEXES,
    )

Nothing is discovered: the composition root (`app/`) lists the areas, and each says here what it
has (routes, socket events, room checks, indexes, and lifespans: aiohttp `cleanup_ctx`-style async
context managers that run for as long as a server process serves, such as presence heartbeats).
Job handlers are not part of an area: the worker is built without the transports, so the root hands
it its job functions explicitly (see `app/worker.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from server.context import Context
from server.http import Routes
from server.indexes import IndexSpec
from server.realtime import RoomCheck
from server.sockets import SocketEvents

Lifespan = Callable[[Context], AbstractAsyncContextManager[None]]


@dataclass(frozen=True)
class Area:
    name: str
    routes: Routes | None = None
    events: SocketEvents | None = None
    room_checks: Mapping[str, RoomCheck] = field(default_factory=dict)
    indexes: Sequence[IndexSpec] = ()
    lifespans: Sequence[Lifespan] = ()
