"""Socket.IO packets encoded once, in C: the packet class of the server (`serializer=`).

Upstream's `Packet` walks the whole payload in Python when it is built, looking for `bytes` (binary
attachments), and encodes it to JSON when it is sent: every event and every ack, a message
document walked and then encoded. Here the payload is encoded with orjson when the packet is built,
which also answers the question (orjson refuses `bytes`), and `encode()` reuses that text. A
payload orjson refuses (bytes inside: a binary packet; or what only the stdlib encodes) takes
upstream's path unchanged, so the bytes on the wire are the same as `fast_json` gave before.
"""

from __future__ import annotations

from typing import Any

import orjson
from socketio import packet

from server import fast_json


class Packet(packet.Packet):
    json = fast_json
    _text: str | None = None  # the payload's JSON, when encoded at construction

    def __init__(
        self,
        packet_type: int = packet.EVENT,
        data: Any = None,
        namespace: str | None = None,
        id: int | None = None,
        binary: bool | None = None,
        encoded_packet: str | None = None,
    ) -> None:
        if encoded_packet is None and binary is None and data is not None:
            try:
                text = orjson.dumps(data).decode()
            except (TypeError, orjson.JSONEncodeError):
                pass  # upstream's path: bytes inside (a binary packet), or only the stdlib encodes it
            else:
                super().__init__(packet_type, data, namespace, id, binary=False)
                self._text = text
                return
        super().__init__(packet_type, data, namespace, id, binary, encoded_packet)

    def encode(self) -> Any:
        text = self._text
        if text is None:
            return super().encode()
        head = str(self.packet_type)
        if self.namespace is not None and self.namespace != "/":
            head += self.namespace + ","
        if self.id is not None:
            head += str(self.id)
        return head + text
