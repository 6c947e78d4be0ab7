"""Realtime fan-out: emit events to people (`user:<id>`), roles and topic rooms.

In a server process the emitter is the Socket.IO `AsyncServer` (whose `AsyncRedisManager` relays
to the other processes); in a worker it is a write-only `AsyncRedisManager`, so a worker on another
machine reaches every client the same way. Models only see this class.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from server.jsonutil import jsonable

if TYPE_CHECKING:
    from server.auth import Principal
    from server.context import Context

log = logging.getLogger(__name__)

# A room check answers whether the principal may watch `<kind>:<id>`.
RoomCheck = Callable[["Context", "Principal", str], Awaitable[bool]]


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def user_rooms(user_ids: Iterable[str]) -> list[str]:
    return [user_room(u) for u in user_ids]


def role_room(role: str) -> str:
    return f"role:{role}"


def token_room(jti: str) -> str:
    """Every socket also sits in the room of the token it connected with, so a logout can close it."""
    return f"token:{jti}"


class Realtime:
    def __init__(self, emitter: Any) -> None:
        self._emitter = emitter
        self._room_checks: dict[str, RoomCheck] = {}
        self._local: dict[str, str] = {}  # sid -> user id of the sockets this process holds

    @property
    def emitter(self) -> Any:
        return self._emitter

    async def emit(self, event: str, data: Any, rooms: Iterable[str]) -> None:
        """One emit addressed to the union of `rooms`: a socket sitting in several of them gets the
        event once, and a multi-process deployment publishes one Redis message instead of one per
        room (Socket.IO's managers resolve a list of rooms to distinct sockets)."""
        targets = list(dict.fromkeys(rooms))
        if not targets:
            return
        try:
            await self._emitter.emit(event, jsonable(data), room=targets, namespace="/")
        except Exception:  # a realtime hiccup must never undo a committed change
            log.exception("realtime: emit %s to %d rooms failed", event, len(targets))

    async def close_token_sockets(self, jti: str) -> None:
        """Close this process's sockets opened with a token that was just revoked.

        Sockets held by other processes are refused at their next event (`ensure_still_valid`)."""
        manager = getattr(self._emitter, "manager", None)
        if manager is None:  # a write-only emitter holds no sockets
            return
        for sid, _ in list(manager.get_participants("/", token_room(jti))):
            await self._emitter.disconnect(sid)

    # The sockets this process holds, kept by the Socket.IO layer on connect and disconnect.
    def track(self, sid: str, user_id: str) -> None:
        self._local[sid] = user_id

    def untrack(self, sid: str) -> None:
        self._local.pop(sid, None)

    def local_connections(self) -> list[tuple[str, str]]:
        """`(userId, sid)` of every socket this process holds."""
        return [(user_id, sid) for sid, user_id in list(self._local.items())]

    def local_count(self) -> int:
        return len(self._local)

    def is_local(self, sid: str) -> bool:
        return sid in self._local

    # Topic-room membership: each area registers how to check its kind of room.
    def register_room_check(self, kind: str, check: RoomCheck) -> None:
        self._room_checks[kind] = check

    async def may_join(self, ctx: Context, principal: Principal, room: str) -> bool:
        kind, sep, ident = room.partition(":")
        check = self._room_checks.get(kind)
        if not sep or not ident or check is None:
            return False
        return await check(ctx, principal, ident)
