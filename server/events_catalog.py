"""Declarations of the server → client Socket.IO events (what `ctx.realtime.emit` sends).

Client → server events are declared where they are handled (`SocketEvents.on(event, payload=,
ack=)`); the events the server emits come from models, anywhere, so they are declared here once,
each with its payload shape and the rooms it goes to:

    catalog = ServerEvents()
    catalog.declare("chat:message", Message, to=["user:<memberId> (every member)"], summary="...")

The AsyncAPI document (`server/asyncapi.py`) is built from both kinds of declaration, and a test
checks that every event name the code emits is declared (and that every event of the contract is
in the document), so the document cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class ServerEvent:
    name: str
    payload: type[BaseModel] | dict[str, Any]  # a pydantic model, or a JSON schema
    to: tuple[str, ...]  # the rooms, as the contract names them (`user:<id>`, `session:<id>`, ...)
    summary: str = ""
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


class ServerEvents:
    """The server → client events of one area (or of the whole server)."""

    def __init__(self, tag: str = "") -> None:
        self.tag = tag
        self.specs: list[ServerEvent] = []

    def declare(
        self,
        name: str,
        payload: type[BaseModel] | dict[str, Any],
        *,
        to: Iterable[str],
        summary: str = "",
        description: str = "",
    ) -> ServerEvent:
        event = ServerEvent(name, payload, tuple(to), summary, description, (self.tag,) if self.tag else ())
        self.specs.append(event)
        return event

    def __iter__(self) -> Any:
        return iter(self.specs)
