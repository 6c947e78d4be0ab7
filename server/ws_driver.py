"""Engine.IO's websocket transport on aiohttp, lean: no per-message deflate, frames written at once.

Compression. engine.io's aiohttp driver creates `WebSocketResponse` with aiohttp's default
`compress=True`, so every connection that offers permessage-deflate (browsers, the official
clients) negotiates it: each socket then holds its own zlib contexts (a large part of the ~130 KB
per idle socket) and every frame, even a 100-byte chat event, goes through deflate (13% of the
saturated chat server's profile). Node's socket.io has had it off by default since version 3.
`WebSocketResponse(compress=False)` is aiohttp's documented switch.

Writing. Upstream, a packet for a websocket client goes on the socket's queue, a writer task per
socket wakes, takes it off, encodes it and awaits `ws.send`; the reader side wraps every received
frame in a new task and `wait_for`. A connection made directly over websocket (what the official
clients do with `transports: ["websocket"]`) is handed instead to `DirectSocket`: a packet is
framed when it is sent and written to the transport at the end of that turn of the event loop,
together with whatever else that socket was sent in the same turn (one write and one segment for
an ack and the sender's own copy of the message, or for several messages of a busy conversation:
each write to a socket cost ~14 µs of kernel time, a third of a fan-out's CPU); the transport
buffers what the network cannot take yet, in order. A fan-out frames an event once and writes the
same bytes to every recipient (`DirectSocket.write`, used by server/socket_manager.py). The reader awaits the next frame
and nothing else: a client that stops answering pings is closed by Engine.IO's service task, as
upstream. A client that lets more than `MAX_BUFFERED_BYTES` pile up unread is dropped like a lost
connection (upstream's queue had no bound). Connections that start on long-polling and upgrade keep
upstream's path.

`install(eio)` registers the driver on one Engine.IO server (a copy of its driver table, not the
module-level one, so other servers in the process keep theirs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from typing import Any

from aiohttp import WSMsgType
from aiohttp.web import WebSocketResponse
from engineio import exceptions, packet
from engineio.async_drivers.aiohttp import WebSocket
from engineio.async_socket import AsyncSocket

from server.background import TurnBatch, detached

log = logging.getLogger(__name__)

MAX_BUFFERED_BYTES = 4 * 1024 * 1024  # unread by one client before it is dropped

_LEN2 = struct.Struct("!BBH").pack
_LEN3 = struct.Struct("!BBQ").pack
_DATA = (WSMsgType.TEXT, WSMsgType.BINARY)


def frame(data: str | bytes) -> bytes:
    """One unmasked, unfragmented websocket frame (server to client) carrying `data`: text for a
    str, binary for bytes."""
    if isinstance(data, str):
        payload, first = data.encode(), 0x81
    else:
        payload, first = data, 0x82
    n = len(payload)
    if n < 126:
        return bytes((first, n)) + payload
    if n < 65536:
        return _LEN2(first, 126, n) + payload
    return _LEN3(first, 127, n) + payload


class DirectSocket(AsyncSocket):
    """An Engine.IO socket on a websocket whose packets go straight to the transport."""

    ws: WebSocketResponse
    transport: asyncio.Transport
    turn: TurnBatch[DirectSocket]
    max_buffered = MAX_BUFFERED_BYTES
    _pending: list[bytes] | None = None  # frames written in this turn of the loop, not yet flushed

    def write(self, data: bytes) -> bool:
        """Queue one framed packet for the end of this loop turn; False when the connection is gone
        or closing."""
        if self.closed or self.transport.is_closing():
            return False
        pending = self._pending
        if pending is None:
            self._pending = [data]
            self.turn.add(self)
        else:
            pending.append(data)
        return True

    def flush(self) -> None:
        """Send what was written in this turn in one write; drop a reader that leaves too much unread."""
        pending, self._pending = self._pending, None
        transport = self.transport
        if not pending or transport.is_closing():
            return
        transport.write(pending[0] if len(pending) == 1 else b"".join(pending))
        if transport.get_write_buffer_size() > self.max_buffered:
            log.warning("socket %s: over %d bytes unread, dropping the connection", self.sid, self.max_buffered)
            transport.abort()

    async def send(self, pkt: packet.Packet) -> None:
        if self.closed:
            raise exceptions.SocketIsClosedError()
        if self.last_ping and not await self.check_ping_timeout():
            return
        self.write(frame(pkt.encode()))

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        """Engine.IO's close (the disconnect handlers, a CLOSE packet unless aborting), then the
        websocket's: what was written before goes out first, the reader sees the end."""
        await super().close(wait=False, abort=abort, reason=reason)
        if not self.ws.closed:
            detached(self._close_ws())

    async def _close_ws(self) -> None:
        self.flush()  # what was written before the close goes out before it
        with contextlib.suppress(Exception):
            await self.ws.close()

    async def serve(self) -> None:
        """Read frames until the connection ends; then close the socket (disconnect handlers)."""
        server, ws = self.server, self.ws
        limit = server.max_http_buffer_size
        try:
            while True:
                msg = await ws.receive()
                if msg.type not in _DATA or len(msg.data) > limit:
                    break
                pkt = packet.Packet(encoded_packet=msg.data)
                if pkt.packet_type == packet.MESSAGE:
                    await server._trigger_event("message", self.sid, pkt.data, run_async=server.async_handlers)
                else:
                    await self.receive(pkt)
        except (exceptions.SocketIsClosedError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("socket %s: receive failed", self.sid)
        # In a task of its own: the disconnect handlers run to the end even when the connection's
        # handler is being cancelled (aiohttp cancels it on a lost connection when so configured).
        closing = detached(self.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(closing)


async def _serve_direct(socket: AsyncSocket, ws: WebSocketResponse, transport: asyncio.Transport) -> None:
    """Hand a fresh websocket connection to `DirectSocket`: the packets queued so far (the OPEN
    packet) are written first, then everything goes straight out."""
    socket.connected = socket.upgraded = True
    socket.__class__ = DirectSocket
    assert isinstance(socket, DirectSocket)
    socket.ws, socket.transport = ws, transport
    socket.turn = _turn_flush(socket.server)
    while not socket.queue.empty():
        pkt = socket.queue.get_nowait()
        socket.queue.task_done()
        if pkt is not None:
            socket.write(frame(pkt.encode()))
    await socket.serve()


def _turn_flush(server: Any) -> TurnBatch[DirectSocket]:
    """The Engine.IO server's one batch of sockets written to in this turn, flushed at its end."""
    turn = server.__dict__.get("_direct_turn_flush")
    if turn is None:
        turn = server.__dict__["_direct_turn_flush"] = TurnBatch(_flush_all)
    return turn


def _flush_all(sockets: list[DirectSocket]) -> None:
    for socket in sockets:
        socket.flush()


class UncompressedWebSocket(WebSocket):
    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        socket = getattr(self.handler, "__self__", None)
        if isinstance(socket, AsyncSocket) and not socket.connected and request.transport is not None:
            await _serve_direct(socket, self._sock, request.transport)
        else:  # an upgrade from long-polling: upstream's handler
            await self.handler(self)
        return self._sock


def install(eio: Any) -> None:
    eio._async = {**eio._async, "websocket": UncompressedWebSocket}
