"""Realtime fan-out: emit events to people (`user:<id>`), roles and topic rooms.

In a server process the emitter is the Socket.IO `AsyncServer` (whose `AsyncRedisManager` relays
to the other processes); in a worker it is a write-only `AsyncRedisManager`, so a worker on another
machine reaches every client the same way. Models only see this class.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from server.jsonutil import jsonable
from server.socket_manager import TOKEN_EXPIRED, TOKEN_REVOKED

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


def family_room(family: str) -> str:
    """Every socket also sits in the room of its token's refresh family, so a logout or a revoked family closes every
    socket opened with any access token of that login (before and after refreshes), in every process."""
    return f"family:{family}"


NOTICES = {TOKEN_EXPIRED: "Access token expired", TOKEN_REVOKED: "Access token revoked"}


class Realtime:
    def __init__(self, emitter: Any) -> None:
        self._emitter = emitter
        self._room_checks: dict[str, RoomCheck] = {}
        self._local: dict[str, str] = {}  # sid -> user id of the sockets this process holds
        self._local_users: Counter[str] = Counter()  # user id -> how many of those sockets
        self._expiry: list[tuple[float, str]] = []  # heap of (token expiry, sid) of those sockets
        self._none_local = asyncio.Event()
        self._none_local.set()

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

    async def end_sessions(self, rooms: Iterable[str], event: str = TOKEN_REVOKED) -> None:
        """Close the sockets in `rooms` in every process, each told `event` `{message}` first.

        One emit of a closing event: the Socket.IO manager of each server process delivers it to its
        sockets in those rooms and then drops them (server/socket_manager.py). Raises when it could
        not be published, so a logout does not claim to have closed what it could not reach."""
        targets = list(dict.fromkeys(rooms))
        if targets:
            await self._emitter.emit(event, {"message": NOTICES[event]}, room=targets, namespace="/")

    async def end_local(self, sids: Iterable[str], event: str = TOKEN_EXPIRED) -> None:
        """Close these sockets of this process, each told `event` `{message}` first."""
        manager = getattr(self._emitter, "manager", None)
        if manager is not None:  # a write-only emitter holds no sockets
            await manager.close_local(list(sids), event, {"message": NOTICES[event]})

    async def end_all_local(self) -> int:
        """Close every socket of this process (shutdown); clients reconnect to another one."""
        manager = getattr(self._emitter, "manager", None)
        return int(await manager.drop_all()) if manager is not None else 0

    async def aclose(self) -> None:
        """Stop the manager's Redis listener and connections (the server's, or a worker's write-only one)."""
        manager = getattr(self._emitter, "manager", self._emitter)
        close = getattr(manager, "aclose", None)
        if close is not None:
            await close()

    # The sockets this process holds, kept by the Socket.IO layer on connect and disconnect.
    def track(self, sid: str, user_id: str, expires_at: float = float("inf")) -> None:
        if sid not in self._local:
            self._local_users[user_id] += 1
        self._local[sid] = user_id
        self._none_local.clear()
        heapq.heappush(self._expiry, (expires_at, sid))

    def untrack(self, sid: str) -> None:
        user_id = self._local.pop(sid, None)
        if user_id is not None:
            self._local_users[user_id] -= 1
            if self._local_users[user_id] <= 0:
                del self._local_users[user_id]
        if not self._local:
            self._none_local.set()

    def connected_here(self, user_id: str) -> bool:
        """Whether the user has a socket on this process (and so is online)."""
        return user_id in self._local_users

    async def wait_none_local(self, timeout: float) -> bool:
        """Wait until this process holds no socket (their disconnect hooks ran); False on timeout."""
        try:
            await asyncio.wait_for(self._none_local.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def expired(self, now: float) -> list[str]:
        """Sockets of this process whose token has expired by `now` (each reported once)."""
        due: list[str] = []
        while self._expiry and self._expiry[0][0] <= now:
            _, sid = heapq.heappop(self._expiry)
            if sid in self._local:
                due.append(sid)
        return due

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
