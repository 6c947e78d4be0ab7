"""What tests use to act as a user would: an HTTP API client with tokens, and Socket.IO clients."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiohttp.test_utils import TestClient

_counter = itertools.count(1)


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any = None

    @property
    def data(self) -> Any:
        return self.body["data"]


@dataclass
class User:
    id: str
    username: str
    password: str
    role: str
    token: str
    refresh_token: str
    raw: dict[str, Any] = field(default_factory=dict)


class Api:
    """The real app over HTTP: `await api.post("/auth/login", {...}, token=...)`."""

    PREFIX = "/api/v1"

    def __init__(self, client: TestClient, admin_password: str) -> None:
        self.client = client
        self.admin_password = admin_password
        self._admin: User | None = None

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        params: dict[str, Any] | None = None,
    ) -> Reply:
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        url = (
            path
            if path.startswith("/health")
            or path.startswith("/ready")
            or (path.startswith("/api/") and not path.startswith("/api/v1"))
            else self.PREFIX + path
        )
        kwargs: dict[str, Any] = {"headers": hdrs, "params": params}
        if raw is not None:
            kwargs["data"] = raw
            hdrs.setdefault("Content-Type", "application/json")
        elif body is not None:
            kwargs["json"] = body
        async with self.client.request(method, url, **kwargs) as resp:
            try:
                payload = await resp.json(content_type=None)
            except ValueError:
                payload = await resp.text()
            return Reply(resp.status, payload, resp.headers)

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.call("POST", path, body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.call("PUT", path, body, **kw)

    async def login(self, username: str, password: str) -> User:
        reply = await self.post("/auth/login", {"username": username, "password": password})
        assert reply.status == 200, reply.body
        data = reply.data
        return User(
            data["user"]["id"],
            username,
            password,
            data["user"]["role"],
            data["accessToken"],
            data["refreshToken"],
            data["user"],
        )

    async def admin(self) -> User:
        if self._admin is None:
            self._admin = await self.login("admin", self.admin_password)
        return self._admin

    async def user(self, role: str = "STUDENT", *, name: str | None = None, **extra: Any) -> User:
        """A fresh account of any role (public roles register; others are created by the admin)."""
        n = next(_counter)
        username = name or f"{role.lower()}{n}"
        password = "correct-horse-battery"
        body = {
            "username": username,
            "email": f"{username}@example.com",
            "password": password,
            "fullName": extra.pop("fullName", f"{role.title()} {n}"),
            "role": role,
            **extra,
        }
        if role in ("STUDENT", "TUTOR", "CUSTOMER"):
            reply = await self.post("/auth/register", body)
        else:
            reply = await self.post("/admin/users", body, token=(await self.admin()).token)
        assert reply.status == 201, reply.body
        return await self.login(username, password)


class ConnectionRefused(Exception):
    """The server refused a Socket.IO connection; the message is the server's."""


class SocketClient:
    """A real `socketio.AsyncClient` that records every event it receives."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()

        self.connect_error: Any = None
        self.disconnected = asyncio.Event()

        @self.sio.on("disconnect")
        async def disconnected(*reason: Any) -> None:
            self.disconnected.set()

        @self.sio.on("*")
        async def any_event(event: str, data: Any = None) -> None:
            self.received.append((event, data))
            self._changed.set()

        @self.sio.on("connect_error")
        async def connect_error(data: Any = None) -> None:
            self.connect_error = data

    async def connect(
        self, base_url: str, token: str | None, *, transports: tuple[str, ...] = ("websocket",), **auth: Any
    ) -> SocketClient:
        """Connect, or raise `ConnectionRefused` carrying the server's refusal message. Over a
        websocket from the start by default (as the official clients are usually set up);
        `transports=("polling",)` stays on long-polling, `("polling", "websocket")` upgrades."""
        try:
            await self.sio.connect(
                base_url,
                auth={"token": token, **auth} if token is not None else auth,
                transports=list(transports),
                wait_timeout=5,
            )
        except socketio.exceptions.ConnectionError as exc:
            message = self.connect_error.get("message") if isinstance(self.connect_error, dict) else self.connect_error
            raise ConnectionRefused(str(message)) from exc
        return self

    async def call(self, event: str, data: Any = None, timeout: float = 5) -> Any:
        return await self.sio.call(event, data, timeout=timeout)

    def events(self, name: str) -> list[Any]:
        return [data for event, data in self.received if event == name]

    async def wait_for(self, name: str, predicate: Callable[[Any], bool] = lambda _: True, timeout: float = 5) -> Any:
        """The first `name` event matching `predicate`, waiting for it if need be."""

        async def find() -> Any:
            while True:
                for data in self.events(name):
                    if predicate(data):
                        return data
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    async def closed_within(self, seconds: float) -> bool:
        """Whether the server closes this connection within `seconds`."""
        try:
            await asyncio.wait_for(self.disconnected.wait(), seconds)
        except TimeoutError:
            pass
        return not self.sio.connected

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def wait_until(condition: Callable[[], Any], seconds: float = 5.0) -> bool:
    """Whether `condition()` holds within `seconds` (checked every 20 ms)."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return True
        await asyncio.sleep(0.02)
    return bool(condition())
