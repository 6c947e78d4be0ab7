"""The Socket.IO client manager: python-socketio's Redis manager, with what a long-lived server needs.

- Closing sockets in every process. An emit of a *closing event* (`auth:expired`, `auth:revoked`)
  is an order: each process that holds sockets in the addressed rooms delivers the notice to them
  and then closes their connection. It travels like any emit (one Redis message), so a logout on
  one process closes the family's sockets on all of them, and a worker can order it too.
- Closing the transport, not the namespace. A Socket.IO "server disconnect" tells the official
  clients not to reconnect; dropping the connection (after the queued notice is flushed) makes them
  reconnect on their own, calling their `auth` callback for a fresh token.
- Resubscribing fast. Upstream waits 1, 2, 4 … 60 s between attempts after a Redis outage and
  blocks in `listen()` with no way to notice a dead connection; here attempts start at 0.1 s and
  stop growing at 2 s, reads wake every second, and a health check pings an idle connection. Whatever
  was published while the subscription was down is lost, so after resubscribing every local socket
  gets `realtime:resync`: clients then catch up (`chat:sync`, `GET /notifications`).
- Delivering without a task per recipient. Upstream's `AsyncManager.emit` creates one task per
  recipient socket and waits for them all; each only puts the (shared, encoded once) packet on
  that socket's unbounded send queue, where the socket's writer task picks it up. `_DirectEmit`
  frames the event once and writes the same bytes to each websocket recipient's transport in turn
  (server/ws_driver.py `DirectSocket`), and queues it for the others (long-polling) in turn: the
  same packets in the same order, without a task, a queue or a frame build per delivery.
- Publishing in the background, in order, in batches. Upstream's `emit` delivers to this
  process's sockets and then waits for its PUBLISH round trip before the emitting request goes on.
  Here the message is queued for one publisher task, which sends whatever has queued meanwhile as
  one Redis message (`{"method": "batch", "host_id", "messages": [...]}`, in emit order; a lone
  message goes as itself), so the other processes still see emits in the order they were made; the
  emitting request waits only for a closing event's publish (a logout must know its order went
  out). A message that cannot be published is logged and dropped, as upstream does; `aclose()`
  flushes the queue first. Every subscriber gets each published message back, its publisher
  included: one batch instead of one message per emit is one delivery, one parse and one host check
  for all of them (this process skips its own batches unread). Every process sharing a channel must
  understand batches (run one version per channel): upstream ignores them.
- Telling whether the relay can be trusted. `relay_epoch` changes whenever the subscription is
  lost, and `relay_up` says it is live: while it stays up, every closing event published reaches
  this process, which the socket layer relies on to skip re-reading the revocation list on every
  event (server/sockets.py).
- Closing cleanly. `aclose()` stops the listener and closes its Redis connections, so a shutdown
  leaves no task retrying against a Redis that is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

import socketio
from engineio import packet as eio_packet

from server import fast_json
from server.ws_driver import DirectSocket, frame

log = logging.getLogger(__name__)

NAMESPACE = "/"
TOKEN_EXPIRED = "auth:expired"
TOKEN_REVOKED = "auth:revoked"
CLOSING_EVENTS = frozenset({TOKEN_EXPIRED, TOKEN_REVOKED})
RESYNC_EVENT = "realtime:resync"

PUBLISH_BATCH = 256  # messages per published batch at most
FLUSH_SECONDS = 2.0  # at close, how long queued messages may take to go out

RESUBSCRIBE_FIRST_SECONDS = 0.1
RESUBSCRIBE_MAX_SECONDS = 2.0
READ_WAKEUP_SECONDS = 1.0


_BATCH_HEAD = b'{"method":"batch",'


def batch_of(host_id: str, messages: list[Any]) -> dict[str, Any]:
    """The one relay message carrying several (its keys in this order: see `batch_prefix`)."""
    return {"method": "batch", "host_id": host_id, "messages": messages}


def batch_prefix(host_id: str) -> bytes:
    """How a batch published by `host_id` begins, as encoded by `fast_json`."""
    return _BATCH_HEAD + b'"host_id":"' + host_id.encode() + b'"'


def relayed(data: bytes | str, own_prefix: bytes = b"") -> list[Any]:
    """The messages in one relayed Redis message: itself, or those of a batch; none when it is a
    batch this process published (`own_prefix`), which it recognizes without decoding it."""
    raw = data.encode() if isinstance(data, str) else data
    if not raw.startswith(_BATCH_HEAD):
        return [data]
    if own_prefix and raw.startswith(own_prefix):
        return []
    try:
        messages = fast_json.loads(raw)["messages"]
    except (ValueError, KeyError, TypeError):
        log.warning("realtime: an undecodable batch was dropped")
        return []
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


class _DirectEmit(socketio.AsyncManager):
    """`AsyncManager.emit` without a task per recipient (callbacks: upstream's path)."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(socketio.packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        packets = [
            eio_packet.Packet(eio_packet.MESSAGE, p) for p in (encoded if isinstance(encoded, list) else [encoded])
        ]
        frames: list[bytes] | None = None  # framed once, for every websocket recipient
        sockets = self.server.eio.sockets
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if sid in skip:
                continue
            socket = sockets.get(eio_sid)
            if isinstance(socket, DirectSocket):
                if frames is None:
                    frames = [frame(pkt.encode()) for pkt in packets]
                for data in frames:
                    socket.write(data)
                continue
            for pkt in packets:
                try:
                    await self.server._send_eio_packet(eio_sid, pkt)
                except Exception:  # one recipient's failure must not stop the others (as upstream)
                    log.debug("realtime: send to %s failed", sid, exc_info=True)


class RedisSocketManager(socketio.AsyncRedisManager, _DirectEmit):
    pubsub: Any
    redis: Any
    connected: bool

    def __init__(self, url: str, *, channel: str = "socketio", write_only: bool = False, **redis_options: Any) -> None:
        # orjson for the messages relayed through Redis too (server/fast_json.py)
        super().__init__(url, channel=channel, write_only=write_only, redis_options=redis_options, json=fast_json)
        self._outbox: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[None] | None]] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self.relay_up = False  # subscribed, no loss noticed since
        self.relay_epoch = 0  # changes with every loss of the subscription

    # ------------------------------------------------------------------------------ publishing

    async def _publish(self, data: Any) -> None:
        """Queue a message for the other processes; wait for a closing event's publish."""
        if self._outbox is None:
            self._outbox = asyncio.Queue()
            self._publisher = asyncio.get_running_loop().create_task(self._publish_forever())
        closing = isinstance(data, dict) and data.get("method") == "emit" and data.get("event") in CLOSING_EVENTS
        done: asyncio.Future[None] | None = asyncio.get_running_loop().create_future() if closing else None
        self._outbox.put_nowait((data, done))
        if done is not None:
            await done

    async def _publish_forever(self) -> None:
        assert self._outbox is not None
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < PUBLISH_BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            error: BaseException | None = None
            try:
                await self._publish_batch([data for data, _ in batch])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("realtime: %d messages could not be published (%s)", len(batch), exc)
                error = exc
            for _, done in batch:
                if done is not None and not done.done():
                    if error is None:
                        done.set_result(None)
                    else:
                        done.set_exception(error)
            for _ in batch:
                self._outbox.task_done()

    async def _publish_batch(self, messages: list[Any]) -> None:
        """One PUBLISH of the whole batch (`relayed`); a second attempt on a fresh connection."""
        payload = self.json.dumps(messages[0] if len(messages) == 1 else batch_of(self.host_id, messages))
        for attempt in (1, 2):
            try:
                if not self.connected:
                    self._redis_connect()
                await self.redis.publish(self.channel, payload)
                return
            except Exception:
                if attempt == 2:
                    raise
                self.connected = False

    async def _listen(self) -> AsyncIterator[Any]:
        """Upstream's `_listen`, with batches opened (`relayed`) and this process's own skipped."""
        channel = self.channel.encode("utf-8")
        own = batch_prefix(self.host_id)
        async for message in self._redis_listen_with_retries():
            if message.get("channel") != channel or message.get("type") != "message" or "data" not in message:
                continue
            for item in relayed(message["data"], own):
                yield item

    async def _flush(self) -> None:
        if self._outbox is not None and self._publisher is not None and not self._publisher.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), FLUSH_SECONDS)
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._publisher
            self._publisher = None

    # ------------------------------------------------------------------------- closing sockets

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        """Deliver an emit to this process's sockets; a closing event then closes them."""
        rooms: Any = message.get("room")
        namespace = message.get("namespace") or NAMESPACE
        targets: list[str] = []
        if message.get("event") in CLOSING_EVENTS and self.server is not None and rooms is not None:
            targets = self._sids_in(namespace, [rooms] if isinstance(rooms, str) else rooms)
        await super()._handle_emit(message)
        for sid in targets:
            await self.drop(sid, namespace)

    def _sids_in(self, namespace: str, rooms: Iterable[str]) -> list[str]:
        found: dict[str, None] = {}
        for room in rooms:
            for sid, _ in self.get_participants(namespace, room):
                found[sid] = None
        return list(found)

    async def close_local(self, sids: Iterable[str], event: str, data: Any) -> None:
        """Send `event` to each of these local sockets, then close its connection."""
        for sid in sids:
            if self.is_connected(sid, NAMESPACE):
                await self.server.emit(event, data, to=sid, namespace=NAMESPACE, ignore_queue=True)
                await self.drop(sid)

    async def drop(self, sid: str, namespace: str = NAMESPACE) -> None:
        """Close the connection under `sid` the way a network loss would, once what is queued for it
        (a notice, an ack) has been written: the disconnect handlers run now, so no later emit
        reaches it, and official clients reconnect through their `auth` callback."""
        eio_sid = self.eio_sid_from_sid(sid, namespace)
        socket = self.server.eio.sockets.get(eio_sid) if eio_sid else None
        if socket is None or socket.closed:
            return
        await socket.close(wait=False, abort=True)  # a DirectSocket then closes its websocket itself
        if not isinstance(socket, DirectSocket):
            await socket.queue.put(None)  # the writer flushes the queue up to here, then closes the websocket

    async def drop_all(self) -> int:
        """Close every connection this process holds (shutdown): clients reconnect elsewhere."""
        sids = [sid for sid, _ in self.get_participants(NAMESPACE, None)]
        for sid in sids:
            with contextlib.suppress(Exception):
                await self.drop(sid)
        return len(sids)

    # ---------------------------------------------------------------------------- subscription

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        delay = RESUBSCRIBE_FIRST_SECONDS
        subscribed = False
        lost = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    pubsub: Any = self.pubsub
                    await pubsub.subscribe(self.channel)
                    subscribed = True
                    self.relay_up = True
                    delay = RESUBSCRIBE_FIRST_SECONDS
                    if lost:
                        lost = False
                        log.warning("realtime: resubscribed to Redis; telling clients to resync")
                        await self._announce_resync()
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=READ_WAKEUP_SECONDS)
                if message is not None:
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not lost:
                    log.warning("realtime: Redis subscription lost (%s); resubscribing", exc)
                lost = True
                subscribed = False
                self.relay_up = False
                self.relay_epoch += 1
                await self._discard_connection()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESUBSCRIBE_MAX_SECONDS)

    async def _announce_resync(self) -> None:
        if self.server is None:
            return
        try:
            await self.server.emit(RESYNC_EVENT, {}, namespace=NAMESPACE, ignore_queue=True)
        except Exception:
            log.exception("realtime: resync notice failed")

    async def _discard_connection(self) -> None:
        resources: tuple[Any, Any] = (self.pubsub, self.redis)
        self.pubsub = self.redis = None
        self.connected = False
        for closing in resources:
            if closing is not None:
                with contextlib.suppress(Exception):
                    await closing.aclose()

    async def aclose(self) -> None:
        """Publish what is queued, stop listening and close the Redis connections (shutdown)."""
        self.relay_up = False
        self.relay_epoch += 1
        await self._flush()
        task = getattr(self, "thread", None)
        if isinstance(task, asyncio.Task) and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._discard_connection()
