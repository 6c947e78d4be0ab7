"""The Socket.IO layer: authenticated connect, and event declarations answered through the ack.

    @events.on("chat:send", payload=SendPayload, ack=Message)
    async def chat_send(call: SocketCall) -> Any:
        return await chat.send_message(call.ctx, call.user, call.payload)

Every event re-checks the connection's token (a logout stops a live socket too), refuses payloads
over `MAX_PAYLOAD_BYTES`, validates the payload, and acks `{success, data}` or
`{success: false, message}` (plus `validationErrors`), localized like REST. The declarations
(`SocketEvents.specs`: event, payload model, ack model) also build `/api/asyncapi.json`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import socketio
from pydantic import BaseModel

from server.auth import Principal, ensure_still_valid, principal_from_token
from server.context import Context
from server.envelope import ack_failure
from server.errors import AuthError, DomainError
from server.i18n import pick_locale
from server.jsonutil import dumps, jsonable
from server.realtime import role_room, token_room, user_room
from server.validation import validate

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 64 * 1024


@dataclass
class SocketCall:
    ctx: Context
    sio: socketio.AsyncServer
    sid: str
    user: Principal
    locale: str
    payload: Any


SocketHandler = Callable[[SocketCall], Awaitable[Any]]


ConnectionHook = Callable[[Context, str, Principal], Awaitable[None]]


@dataclass(frozen=True)
class SocketSpec:
    event: str
    handler: SocketHandler
    payload: type[BaseModel] | None
    ack: type[BaseModel] | None = None  # the ack's `data` (AsyncAPI only); None: any JSON
    ack_list: bool = False  # `data` is a list of `ack`
    summary: str = ""


class SocketEvents:
    """The socket events of one area (one handlers module), and its connect/disconnect hooks."""

    def __init__(self) -> None:
        self.specs: list[SocketSpec] = []
        self.connect_hooks: list[ConnectionHook] = []
        self.disconnect_hooks: list[ConnectionHook] = []

    def on(
        self,
        event: str,
        payload: type[BaseModel] | None = None,
        *,
        ack: type[BaseModel] | None = None,
        ack_list: bool = False,
        summary: str = "",
    ) -> Callable[[SocketHandler], SocketHandler]:
        """`payload` validates what the client sends; `ack` documents the ack's `data`."""

        def decorate(handler: SocketHandler) -> SocketHandler:
            doc = summary or (handler.__doc__ or "").strip().split("\n")[0]
            self.specs.append(SocketSpec(event, handler, payload, ack, ack_list, doc))
            return handler

        return decorate

    def on_connect(self, hook: ConnectionHook) -> ConnectionHook:
        self.connect_hooks.append(hook)
        return hook

    def on_disconnect(self, hook: ConnectionHook) -> ConnectionHook:
        self.disconnect_hooks.append(hook)
        return hook


def _wrap(
    sio: socketio.AsyncServer, ctx: Context, event: str, handler: SocketHandler, model: type[BaseModel] | None
) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def on_event(sid: str, data: Any = None) -> dict[str, Any]:
        session = await sio.get_session(sid)
        principal: Principal = session["principal"]
        locale: str = session["locale"]
        try:
            await ensure_still_valid(ctx, principal)
        except AuthError as exc:
            ctx.metrics.socket_events.labels(event, "refused").inc()
            await sio.disconnect(sid)
            return ack_failure(exc, locale, f"socket {sid}")
        try:
            if len(dumps(data)) > MAX_PAYLOAD_BYTES:
                raise DomainError("common.payload_too_large")
            payload = validate(model, data if data is not None else {}) if model else data
            result = await handler(SocketCall(ctx, sio, sid, principal, locale, payload))
        except Exception as exc:
            ctx.metrics.socket_events.labels(event, "refused" if isinstance(exc, DomainError) else "error").inc()
            return ack_failure(exc, locale, f"socket {sid} event {event} from {principal.id}")
        ctx.metrics.socket_events.labels(event, "ok").inc()
        return {"success": True, "data": jsonable(result)}

    return on_event


def install_sockets(sio: socketio.AsyncServer, ctx: Context, areas: list[SocketEvents]) -> None:
    """Register the authenticated connect/disconnect and every area's events on the server."""
    connect_hooks = [h for area in areas for h in area.connect_hooks]
    disconnect_hooks = [h for area in areas for h in area.disconnect_hooks]

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            principal = await principal_from_token(ctx, token if isinstance(token, str) else None)
        except AuthError as exc:
            ctx.metrics.socket_connects.labels("refused").inc()
            raise socketio.exceptions.ConnectionRefusedError(exc.message) from None
        requested = auth.get("locale") if isinstance(auth, dict) else None
        locale = pick_locale(requested or environ.get("HTTP_ACCEPT_LANGUAGE"), ctx.settings.default_locale)
        await sio.save_session(sid, {"principal": principal, "locale": locale})
        for room in (user_room(principal.id), role_room(principal.role), token_room(principal.jti)):
            await sio.enter_room(sid, room)
        ctx.realtime.track(sid, principal.id)
        ctx.metrics.socket_connects.labels("accepted").inc()
        log.info(
            "socket %s connected: user %s (%s)", sid, principal.id, principal.role, extra={"user_id": principal.id}
        )
        for hook in connect_hooks:
            await hook(ctx, sid, principal)

    async def disconnect(sid: str, *args: Any) -> None:
        ctx.realtime.untrack(sid)
        try:
            principal = (await sio.get_session(sid)).get("principal")
        except KeyError:
            return
        if principal is not None:
            log.info("socket %s disconnected: user %s", sid, principal.id, extra={"user_id": principal.id})
        for hook in disconnect_hooks if principal is not None else []:
            try:
                await hook(ctx, sid, principal)
            except Exception:
                log.exception("socket disconnect hook failed")

    ctx.metrics.watch_open_sockets(ctx.realtime.local_count)
    sio.on("connect", connect)
    sio.on("disconnect", disconnect)
    for area in areas:
        for spec in area.specs:
            sio.on(spec.event, _wrap(sio, ctx, spec.event, spec.handler, spec.payload))
