"""`room:join` / `room:leave`: topic rooms, members only (each area registers its room check)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.views import Room
from server.area import Area
from server.errors import Forbidden
from server.ratelimit import per_user
from server.sockets import SocketCall, SocketEvents

events = SocketEvents()


PERSONAL_ROOM_KINDS = ("user", "role", "family")  # joined on connect; leaving one would dodge a logout


class RoomPayload(BaseModel):
    room: str = Field(min_length=3, max_length=200)


@events.on("room:join", payload=RoomPayload, ack=Room, summary="Watch a topic room (members only)")
async def join(call: SocketCall) -> dict[str, str]:
    await per_user(call.ctx, "room-join", call.user.id, call.ctx.settings.room_join_rate_limit)
    if not await call.ctx.realtime.may_join(call.ctx, call.user, call.payload.room):
        raise Forbidden()
    await call.sio.enter_room(call.sid, call.payload.room)
    return {"room": call.payload.room}


@events.on("room:leave", payload=RoomPayload, ack=Room, summary="Stop watching a topic room")
async def leave(call: SocketCall) -> dict[str, str]:
    if call.payload.room.partition(":")[0] in PERSONAL_ROOM_KINDS:
        raise Forbidden()  # the rooms a socket is put in on connect stay
    await call.sio.leave_room(call.sid, call.payload.room)
    return {"room": call.payload.room}


area = Area("rooms", events=events)
