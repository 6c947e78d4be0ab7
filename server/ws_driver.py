"""Engine.IO's aiohttp websocket, without per-message deflate.

engine.io's aiohttp driver creates `WebSocketResponse` with aiohttp's default `compress=True`, so
every connection that offers permessage-deflate (browsers, the official clients) negotiates it:
each socket then holds its own zlib contexts (a large part of the ~130 KB per idle socket) and every
frame, even a 100-byte chat event, goes through deflate (13% of the saturated chat server's
profile). Chat and notification frames are small, so compression buys little; Node's socket.io has
had it off by default since version 3. `WebSocketResponse(compress=False)` is aiohttp's documented
switch: the server then declines the extension and frames go out as they are.

`install(eio)` registers the driver on one Engine.IO server (a copy of its driver table, not the
module-level one, so other servers in the process keep theirs).
"""

from __future__ import annotations

from typing import Any

from aiohttp.web import WebSocketResponse
from engineio.async_drivers.aiohttp import WebSocket


class UncompressedWebSocket(WebSocket):
    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock


def install(eio: Any) -> None:
    eio._async = {**eio._async, "websocket": UncompressedWebSocket}
