"""Presence: connections are registered on connect and removed on disconnect, a heartbeat in every
server process keeps its sockets' entries alive (and sweeps those of dead processes), and
`GET /presence` answers who is online."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from models import chat, presence, views
from server.area import Area
from server.auth import Principal
from server.background import periodic
from server.context import Context
from server.http import Call, Reply, Routes
from server.sockets import SocketEvents

log = logging.getLogger(__name__)

routes = Routes(tag="presence")
events = SocketEvents()

MAX_USER_IDS = 200


class PresenceQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    userIds: str

    @field_validator("userIds")
    @classmethod
    def _ids(cls, value: str) -> str:
        if len([i for i in value.split(",") if i.strip()]) > MAX_USER_IDS:
            raise PydanticCustomError("chat.too_many_user_ids", "Too many user ids", {"max": MAX_USER_IDS})
        return value

    @property
    def ids(self) -> list[str]:
        return list(dict.fromkeys(i.strip() for i in self.userIds.split(",") if i.strip()))


@routes.get(
    "/presence",
    query=PresenceQuery,
    response=views.PresenceMap,
    summary="Who is online: userIds=a,b -> {id: {online, lastSeen}}",
)
async def get_presence(call: Call) -> Reply:
    return Reply(await presence.presence_of(call.ctx, call.query.ids), "chat.presence_retrieved")


async def _announce(ctx: Context, change: presence.Change | None) -> None:
    if change is not None:
        await chat.announce_presence(ctx, change)


@events.on_connect
async def connected(ctx: Context, sid: str, principal: Principal) -> None:
    try:
        await _announce(ctx, await presence.connect(ctx, principal.id, sid))
    except Exception:  # presence trouble must not refuse a connection
        log.exception("presence: registering %s failed", sid)


@events.on_disconnect
async def disconnected(ctx: Context, sid: str, principal: Principal) -> None:
    await _announce(ctx, await presence.disconnect(ctx, principal.id, sid))


async def beat(ctx: Context) -> None:
    """One heartbeat of this process: refresh its sockets (one script run), re-register any that a
    sweep dropped while the process stalled, then sweep connections of processes that died."""
    for user_id, sid in await presence.refresh(ctx, ctx.realtime.local_connections()):
        if ctx.realtime.is_local(sid):
            await _announce(ctx, await presence.connect(ctx, user_id, sid))
    for change in await presence.sweep(ctx):
        await _announce(ctx, change)


@asynccontextmanager
async def heartbeat(ctx: Context) -> AsyncIterator[None]:
    """Run the heartbeat every PRESENCE_REFRESH_SECONDS while this server process serves."""
    interval = ctx.settings.presence_refresh_seconds
    if interval >= ctx.settings.presence_ttl_seconds:
        interval = ctx.settings.presence_ttl_seconds / 3
        log.warning("presence: PRESENCE_REFRESH_SECONDS must be below PRESENCE_TTL_SECONDS; using %.1f", interval)

    async with periodic(interval, lambda: beat(ctx), "presence heartbeat"):
        yield


area = Area("presence", routes=routes, events=events, lifespans=[heartbeat])
