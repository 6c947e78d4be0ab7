"""The Socket.IO packet class (server/packets.py) encodes exactly what upstream's does."""

from __future__ import annotations

from typing import Any

import pytest
from socketio import packet as upstream

from server import fast_json
from server.packets import Packet


class UpstreamPacket(upstream.Packet):
    json = fast_json  # what the server configured before: upstream's class with orjson


PAYLOADS: list[Any] = [
    ["chat:message", {"id": "m1", "body": 'héllo \u2028 "quoted"', "seq": 3, "tags": [1, 2.5, None, True]}],
    ["event"],
    [{"success": True, "data": {"nested": {"deep": [{"x": 1}]}}}],
    [{1: "a non-string key: only the stdlib encodes it"}],
    [2**70],  # beyond 64 bits: the stdlib's path
    ["upload", {"file": b"\x00\x01binary"}],  # bytes: a binary packet
]


@pytest.mark.parametrize("data", PAYLOADS)
@pytest.mark.parametrize(
    ("kind", "namespace", "ack_id"),
    [(upstream.EVENT, None, None), (upstream.EVENT, "/admin", 7), (upstream.ACK, "/", 12)],
)
def test_encodes_as_upstream(data: Any, kind: int, namespace: str | None, ack_id: int | None) -> None:
    ours = Packet(kind, data=data, namespace=namespace, id=ack_id)
    theirs = UpstreamPacket(kind, data=data, namespace=namespace, id=ack_id)
    assert ours.packet_type == theirs.packet_type  # BINARY_EVENT / BINARY_ACK when bytes are inside
    assert ours.encode() == theirs.encode()


def test_decodes_as_upstream() -> None:
    text = '2/admin,9["chat:send",{"body":"hi","n":[1,2]}]'
    ours, theirs = Packet(encoded_packet=text), UpstreamPacket(encoded_packet=text)
    assert (ours.packet_type, ours.namespace, ours.id, ours.data) == (
        theirs.packet_type,
        theirs.namespace,
        theirs.id,
        theirs.data,
    )
