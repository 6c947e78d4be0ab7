"""The Socket.IO layer: authenticated connect, and event declarations answered through the ack.

    @events.on("chat:send", payload=SendPayload, ack=Message)
    async def chat_send(call: SocketCall) -> Any:
        return await chat.send_message(call.ctx, call.user, call.payload)

A socket lives only as long as its token: it sits in the room of its token's refresh family (a
logout or a revoked family closes the room in every process) and `token_expiry` closes it when the
token expires, each after an `auth:expired` / `auth:revoked` notice. Every event also re-checks the
token (`_TokenCheck`: its expiry every time, the revocation list in Redis when not read for this
socket in the last REVALIDATE_SECONDS while the relay stayed up), refuses binary payloads, more than one argument, text that is not valid Unicode and payloads
over `MAX_PAYLOAD_BYTES`, validates the payload, and acks `{success, data}` or
`{success: false, message}` (plus `validationErrors`, `retryAfter`), localized like REST; an
unknown event is refused the same way. The declarations (`SocketEvents.specs`: event, payload
model, ack model) also build `/api/asyncapi.json`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import socketio
from pydantic import BaseModel

from server import fast_json, packets, ws_driver
from server.auth import Principal, ensure_still_valid, principal_from_token
from server.background import detached, periodic
from server.context import Context
from server.envelope import ack_failure
from server.errors import AuthError, DomainError, ValidationFailed
from server.i18n import pick_locale, translate
from server.jsonutil import dumps, jsonable
from server.realtime import family_room, role_room, user_room
from server.socket_manager import TOKEN_EXPIRED, TOKEN_REVOKED
from server.validation import validate

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 64 * 1024
EXPIRY_CHECK_SECONDS = 0.2  # how late after its token's expiry a socket may be closed
ACK_FLUSH_SECONDS = 0.05
REVALIDATE_SECONDS = 5.0  # how long a socket's revocation check stands while the relay stays up


_PACKET_HEAD = re.compile(r"^(\d)(/[^,\[{]*,)?(\d+)?")


class SocketServer(socketio.AsyncServer):
    """The Socket.IO server, answering packets that do not decode (invalid JSON, nesting deep
    enough to exhaust the parser) with a refused ack instead of an ERROR traceback and silence.

    Its websockets do not deflate (server/ws_driver.py): deflate was 13% of the saturated chat
    server's profile, and its zlib contexts a large part of each idle socket's memory. Its packets
    go through orjson (server/fast_json.py), encoded once when built (server/packets.py)."""

    def __init__(self, *args: Any, default_locale: str = "en", **kwargs: Any) -> None:
        kwargs.setdefault("json", fast_json)
        kwargs.setdefault("serializer", packets.Packet)
        super().__init__(*args, **kwargs)
        ws_driver.install(self.eio)
        self.default_locale = default_locale

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except (ValueError, RecursionError) as exc:
            log.warning("socket %s: undecodable packet refused (%s)", eio_sid, type(exc).__name__)
            head = _PACKET_HEAD.match(data) if isinstance(data, str) else None
            if head is None or head.group(1) != str(socketio.packet.EVENT) or head.group(3) is None:
                return  # nothing to answer: not an event, or the client asked for no ack
            namespace = (head.group(2) or "/,")[:-1]
            locale = self.default_locale
            sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
            if sid is not None:
                with contextlib.suppress(KeyError):
                    locale = (await self.get_session(sid, namespace)).get("locale", locale)
            refusal = ValidationFailed([{"field": "payload", "key": "common.invalid_json"}])
            ack = self.packet_class(
                socketio.packet.ACK,
                namespace=namespace,
                id=int(head.group(3)),
                data=[ack_failure(refusal, locale, f"socket {eio_sid}")],
            )
            await self._send_packet(eio_sid, ack)


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


def _event_payload(args: tuple[Any, ...]) -> Any:
    """The one payload argument of an event, checked before any handler sees it."""
    if len(args) > 1:
        raise DomainError("common.too_many_arguments")
    data = args[0] if args else None
    try:
        size = len(orjson.dumps(data))  # refuses bytes, lone surrogates, deep nesting: sorted out below
    except (TypeError, orjson.JSONEncodeError):
        size = _checked_size(data)
    if size > MAX_PAYLOAD_BYTES:
        raise DomainError("common.payload_too_large")
    return data


def _checked_size(data: Any) -> int:
    """The JSON size of a payload orjson refused, or the reason it is refused."""
    if socketio.packet.Packet.data_is_binary(data):
        raise ValidationFailed([{"field": "payload", "key": "validation.binary_not_supported"}])
    try:
        return len(dumps(data).encode("utf-8"))
    except UnicodeEncodeError:
        raise ValidationFailed([{"field": "payload", "key": "validation.invalid_text"}]) from None
    except (TypeError, ValueError, RecursionError):
        raise ValidationFailed([{"field": "payload", "key": "validation.invalid_type"}]) from None


async def _session(sio: socketio.AsyncServer, sid: str) -> tuple[Principal, str]:
    session = await sio.get_session(sid)
    return session["principal"], session["locale"]


class _TokenCheck:
    """The per-event token check, without a Redis read per event.

    A revocation (logout, refresh-token reuse) is written to Redis and then published as a closing
    event, which closes the family's sockets in every process whose relay is subscribed. So while
    this process's subscription stays up (`relay_up`, same `relay_epoch`), an event needs no read
    of the revocation list: a revoked socket is being closed. The list is still read on a socket's
    first event, after any loss of the subscription (what was published meanwhile is lost), and
    at least every REVALIDATE_SECONDS per socket (a revocation written but never published: a
    process that died between the two). Expiry is checked on every event (no I/O)."""

    def __init__(self, ctx: Context, sio: socketio.AsyncServer) -> None:
        self.ctx = ctx
        self.manager = sio.manager
        self.verified: dict[str, tuple[float, int]] = {}  # sid -> (loop time, relay epoch) of the last read

    async def ensure(self, sid: str, principal: Principal) -> None:
        now = asyncio.get_running_loop().time()
        up = getattr(self.manager, "relay_up", False)
        epoch = getattr(self.manager, "relay_epoch", None)
        seen = self.verified.get(sid)
        if up and seen is not None and seen[1] == epoch and now - seen[0] < REVALIDATE_SECONDS:
            if principal.expires_at <= self.ctx.clock.timestamp():
                raise AuthError.invalid("expired")
            return
        await ensure_still_valid(self.ctx, principal)
        if up and epoch is not None:
            self.verified[sid] = (now, epoch)

    def forget(self, sid: str) -> None:
        self.verified.pop(sid, None)


def _end_after_ack(ctx: Context, sid: str, exc: AuthError) -> None:
    """A socket whose token no longer holds is answered (the refused ack), told why, and closed;
    the close waits a moment so that the ack is queued before the connection goes."""

    async def end() -> None:
        await asyncio.sleep(ACK_FLUSH_SECONDS)
        await ctx.realtime.end_local([sid], TOKEN_EXPIRED if exc.reason == "expired" else TOKEN_REVOKED)

    detached(end())


def _wrap(
    sio: socketio.AsyncServer,
    ctx: Context,
    event: str,
    handler: SocketHandler,
    model: type[BaseModel] | None,
    tokens: _TokenCheck,
) -> Callable[..., Awaitable[dict[str, Any]]]:
    answered = ctx.metrics.socket_events.labels(event, "ok")  # the common outcome, its counter looked up once

    async def on_event(sid: str, *args: Any) -> dict[str, Any]:
        principal, locale = await _session(sio, sid)
        try:
            await tokens.ensure(sid, principal)
        except AuthError as exc:
            ctx.metrics.socket_events.labels(event, "refused").inc()
            _end_after_ack(ctx, sid, exc)
            return ack_failure(exc, locale, f"socket {sid}")
        except Exception as exc:  # Redis down: fail closed, the socket stays
            return ack_failure(exc, locale, f"socket {sid} event {event}")
        try:
            data = _event_payload(args)
            payload = validate(model, data if data is not None else {}) if model else data
            result = await handler(SocketCall(ctx, sio, sid, principal, locale, payload))
        except Exception as exc:
            ctx.metrics.socket_events.labels(event, "refused" if isinstance(exc, DomainError) else "error").inc()
            return ack_failure(exc, locale, f"socket {sid} event {event} from {principal.id}")
        answered.inc()
        return {"success": True, "data": jsonable(result)}

    return on_event


def install_sockets(sio: socketio.AsyncServer, ctx: Context, areas: list[SocketEvents]) -> None:
    """Register the authenticated connect/disconnect, every area's events, and one catch-all that
    answers unknown events (a client waiting for an ack gets a reason, not a timeout)."""
    connect_hooks = [h for area in areas for h in area.connect_hooks]
    disconnect_hooks = [h for area in areas for h in area.disconnect_hooks]
    tokens = _TokenCheck(ctx, sio)

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            principal = await principal_from_token(ctx, token if isinstance(token, str) else None)
        except AuthError as exc:
            ctx.metrics.socket_connects.labels("refused").inc()
            raise socketio.exceptions.ConnectionRefusedError(exc.message) from None
        except Exception as exc:  # the revocation list cannot be read: refuse rather than guess
            log.warning("socket connect refused: %s", exc)
            raise socketio.exceptions.ConnectionRefusedError(translate("common.service_unavailable", "en")) from None
        requested = auth.get("locale") if isinstance(auth, dict) else None
        locale = pick_locale(requested or environ.get("HTTP_ACCEPT_LANGUAGE"), ctx.settings.default_locale)
        await sio.save_session(sid, {"principal": principal, "locale": locale})
        for room in (user_room(principal.id), role_room(principal.role), family_room(principal.family)):
            await sio.enter_room(sid, room)
        ctx.realtime.track(sid, principal.id, principal.expires_at)
        ctx.metrics.socket_connects.labels("accepted").inc()
        log.info(
            "socket %s connected: user %s (%s)", sid, principal.id, principal.role, extra={"user_id": principal.id}
        )
        for hook in connect_hooks:
            await hook(ctx, sid, principal)

    async def disconnect(sid: str, *args: Any) -> None:
        ctx.realtime.untrack(sid)
        tokens.forget(sid)
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

    async def unknown_event(event: str, sid: str, *args: Any) -> dict[str, Any]:
        try:
            _, locale = await _session(sio, sid)
        except KeyError:
            locale = ctx.settings.default_locale
        return ack_failure(DomainError("common.unknown_event", event=str(event)[:100]), locale, f"socket {sid}")

    ctx.metrics.watch_open_sockets(ctx.realtime.local_count)
    sio.on("connect", connect)
    sio.on("disconnect", disconnect)
    for area in areas:
        for spec in area.specs:
            sio.on(spec.event, _wrap(sio, ctx, spec.event, spec.handler, spec.payload, tokens))
    sio.on("*", unknown_event)


@contextlib.asynccontextmanager
async def token_expiry(ctx: Context) -> AsyncIterator[None]:
    """Close each socket of this process when its token expires (after `auth:expired`).

    Expiries sit in a heap (`Realtime.expired`), checked every EXPIRY_CHECK_SECONDS against
    `ctx.clock`, so a socket goes within that long of its token's `exp`, and tests move a fake
    clock instead of waiting out a token."""

    async def close_expired() -> None:
        due = ctx.realtime.expired(ctx.clock.timestamp())
        if due:
            await ctx.realtime.end_local(due, TOKEN_EXPIRED)

    async with periodic(EXPIRY_CHECK_SECONDS, close_expired, "socket expiry check"):
        yield
