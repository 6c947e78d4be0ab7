"""The AsyncAPI 2.6 document of the Socket.IO events, built from their declarations.

Client → server events come from `SocketEvents.specs` (the same objects the server registers its
handlers from: event name, payload model, ack model); server → client events from the catalog of
`ServerEvent`s (`server/events_catalog.py`). An event name used both ways (`chat:read`,
`chat:typing`) is one channel with a `publish` (client sends) and a `subscribe` (client receives)
operation, AsyncAPI 2's client-side view. The ack a client gets back is described under the
message's `x-ack` (the convention of Socket.IO AsyncAPI tooling) and in its description.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from server.events_catalog import ServerEvent
from server.openapi import REF, Schemas, camel_case, example_of, model_schema
from server.sockets import MAX_PAYLOAD_BYTES, SocketEvents, SocketSpec

_ACK_FAILURE = {
    "type": "object",
    "required": ["success", "message"],
    "properties": {
        "success": {"type": "boolean", "const": False},
        "message": {"type": "string", "description": "localized, like REST"},
        "validationErrors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "retryAfter": {"type": "number", "description": "rate limited: seconds to wait"},
    },
}


def _schema_of(
    model: type[BaseModel] | dict[str, Any] | None, components: Schemas, mode: JsonSchemaMode
) -> dict[str, Any]:
    if model is None:
        return {"description": "any JSON"}
    if isinstance(model, dict):
        return model
    return model_schema(model, components, mode=mode)


def _client_message(spec: SocketSpec, components: Schemas) -> dict[str, Any]:
    payload = _schema_of(spec.payload, components, "validation")
    data = _schema_of(spec.ack, components, "serialization")
    if spec.ack is not None and spec.ack_list:
        data = {"type": "array", "items": data}
    ack = {
        "oneOf": [
            {
                "type": "object",
                "required": ["success", "data"],
                "properties": {"success": {"type": "boolean", "const": True}, "data": data},
            },
            {"$ref": REF.format(model="AckFailure")},
        ]
    }
    name = camel_case(spec.event)
    return {
        "name": spec.event,
        "title": spec.event,
        "summary": spec.summary,
        "description": f"Send with an ack callback; it is called with `{{success: true, data}}` or "
        f"`{{success: false, message}}`. Payloads over {MAX_PAYLOAD_BYTES // 1024} KB are refused.",
        "payload": payload,
        "examples": [{"name": name, "payload": example_of(payload, components)}],
        "x-ack": {"args": ack, "example": {"success": True, "data": example_of(data, components)}},
    }


def _server_message(event: ServerEvent, components: Schemas) -> dict[str, Any]:
    payload = _schema_of(event.payload, components, "serialization")
    rooms = ", ".join(f"`{room}`" for room in event.to)
    return {
        "name": event.name,
        "title": event.name,
        "summary": event.summary,
        "description": (event.description + "\n\n" if event.description else "") + f"Sent to: {rooms}.",
        "payload": payload,
        "examples": [{"name": camel_case(event.name), "payload": example_of(payload, components)}],
        "x-rooms": list(event.to),
    }


def build_asyncapi(areas: Iterable[SocketEvents], events: Iterable[ServerEvent]) -> dict[str, Any]:
    server_events = list(events)
    specs = [spec for area in areas for spec in area.specs]
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (s.payload, "validation") for s in specs if s.payload is not None
    ] + [(s.ack, "serialization") for s in specs if s.ack is not None]
    models += [(e.payload, "serialization") for e in server_events if not isinstance(e.payload, dict)]
    components = Schemas({"AckFailure": _ACK_FAILURE}, models)
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    for spec in specs:
        key = camel_case(spec.event) + "Request"
        messages[key] = _client_message(spec, components)
        channels.setdefault(spec.event, {})["publish"] = {
            "operationId": camel_case(spec.event) + "Send",
            "summary": spec.summary or f"client → server: {spec.event}",
            "message": {"$ref": f"#/components/messages/{key}"},
        }
    for event in server_events:
        key = camel_case(event.name) + "Event"
        messages[key] = _server_message(event, components)
        channel = channels.setdefault(event.name, {})
        channel["subscribe"] = {
            "operationId": camel_case(event.name) + "Receive",
            "summary": event.summary or f"server → client: {event.name}",
            "message": {"$ref": f"#/components/messages/{key}"},
        }
        channel["x-rooms"] = list(event.to)
    for name, channel in channels.items():
        ways = [w for w, op in (("client → server", "publish"), ("server → client", "subscribe")) if op in channel]
        channel["description"] = f"Socket.IO event `{name}` ({' and '.join(ways)})"
    return {
        "asyncapi": "2.6.0",
        "id": "urn:learnhome:realtime",
        "info": {
            "title": "Learning & home-services realtime server: Socket.IO events",
            "version": "1.0.0",
            "description": "Socket.IO (engine.io protocol 4), namespace `/`, path `/socket.io/`. Connect with "
            '`auth: {"token": "<accessToken>"}` (from POST /api/v1/auth/login); a missing, bad, expired or '
            "revoked token is refused with the REST 401 messages. Each socket joins `user:<userId>`, "
            "`role:<ROLE>` and `family:<refresh family>` on connect (none can be left); `room:join` adds topic rooms. The REST API is "
            "described at /api/openapi.json.",
        },
        "servers": {
            "socketio": {
                "url": "/socket.io/",
                "protocol": "ws",
                "description": "Socket.IO v4/v5 clients (long-polling upgraded to WebSocket)",
                "security": [{"token": []}],
            }
        },
        "defaultContentType": "application/json",
        "channels": dict(sorted(channels.items())),
        "components": {
            "schemas": components,
            "messages": messages,
            "securitySchemes": {
                "token": {
                    "type": "httpApiKey",
                    "name": "token",
                    "in": "query",
                    "description": "The access token, sent in the Socket.IO `auth` object as `token`",
                }
            },
        },
    }
