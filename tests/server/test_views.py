"""The documented shapes (`models/views.py`) match what the server really sends: REST `data` of the
routes that declare `response=`, socket acks declared with `ack=`, and server → client events
against the catalog (`handlers/server_events.py`). A field renamed in a model breaks this test."""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel, RootModel, TypeAdapter

from app.web import AREAS
from handlers.server_events import server_events
from models.views import NoData
from tests.helpers import Api, Reply


def _strict(model: type[BaseModel], value: Any) -> None:
    """Validates, and every documented field is present (not only filled in from a default), in the
    nested views too (lists and maps of them included)."""
    model.model_validate(value)
    if issubclass(model, RootModel):
        _nested(model.model_fields["root"].annotation, value)
        return
    missing = [name for name in model.model_fields if name not in value and model.model_fields[name].is_required()]
    assert not missing, (model.__name__, missing)
    for name, field in model.model_fields.items():
        if name in value:
            _nested(field.annotation, value[name])


def _nested(annotation: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        _strict(annotation, value)
    elif get_origin(annotation) is list:
        for item in value:
            _nested(get_args(annotation)[0], item)
    elif get_origin(annotation) is dict:
        for item in value.values():
            _nested(get_args(annotation)[1], item)
    else:  # X | None, Annotated[X, ...]
        for option in get_args(annotation):
            _nested(option, value)


def _route(method: str, path: str) -> Any:
    for area in AREAS:
        for spec in area.routes.specs if area.routes else []:
            if spec.method == method and spec.path == path:
                return spec
    raise AssertionError(f"no route {method} {path}")


def _socket(event: str) -> Any:
    for area in AREAS:
        for spec in area.events.specs if area.events else []:
            if spec.event == event:
                return spec
    raise AssertionError(f"no socket event {event}")


def _check(method: str, path: str, data: Any) -> None:
    spec = _route(method, path)
    assert spec.response is not None, f"{method} {path} declares no response model"
    assert spec.response is not NoData, f"{method} {path} declares no data: check its reply with _check_reply"
    if spec.response_list:
        TypeAdapter(list[spec.response]).validate_python(data)  # type: ignore[name-defined]
        for item in data:
            _strict(spec.response, item)
    else:
        _strict(spec.response, data)


def _check_reply(method: str, path: str, reply: Reply) -> None:
    """A whole successful reply against its route's declaration: `data` as declared, none for
    `response=NoData`, and `totalItems` only where a list is declared."""
    assert 200 <= reply.status < 300 and reply.body["success"] is True, (method, path, reply.status, reply.body)
    spec = _route(method, path)
    if spec.response is NoData:
        assert "data" not in reply.body, (method, path, reply.body)
        return
    if "totalItems" in reply.body:
        assert spec.response_list, (method, path, "totalItems without a declared list")
    _check(method, path, reply.data)


async def test_rest_and_socket_shapes_match_the_declarations(api: Api, sockets) -> None:
    a, b = await api.user("STUDENT"), await api.user("TUTOR")
    login = await api.post("/auth/login", {"username": b.username, "password": b.password})
    _check("POST", "/auth/login", login.data)
    me = await api.get("/auth/me", token=a.token)
    _check("GET", "/auth/me", me.data)

    sock_a, sock_b = await sockets(a.token), await sockets(b.token)
    created = await api.post("/conversations", {"participantIds": [b.id]}, token=a.token)
    _check("POST", "/conversations", created.data)
    conv = created.data["id"]

    sent = await api.post(f"/conversations/{conv}/messages", {"body": "hi", "clientMessageId": "m1"}, token=a.token)
    _check("POST", "/conversations/{conversationId}/messages", sent.data)
    ack = await sock_b.call("chat:send", {"conversationId": conv, "body": "hello", "clientMessageId": "m2"})
    assert ack["success"], ack
    _strict(_socket("chat:send").ack, ack["data"])
    typing = await sock_b.call("chat:typing", {"conversationId": conv, "typing": True})
    _strict(_socket("chat:typing").ack, typing["data"])
    read = await sock_a.call("chat:read", {"conversationId": conv, "seq": 2})
    _strict(_socket("chat:read").ack, read["data"])
    synced = await sock_a.call("chat:sync", {"conversationId": conv, "afterSeq": 0})
    _strict(_socket("chat:sync").ack, synced["data"])
    joined = await sock_a.call("room:join", {"room": f"conversation:{conv}"})
    _strict(_socket("room:join").ack, joined["data"])

    _check("GET", "/conversations", (await api.get("/conversations", token=a.token)).data)
    _check("GET", "/conversations/{conversationId}", (await api.get(f"/conversations/{conv}", token=b.token)).data)
    _check(
        "GET",
        "/conversations/{conversationId}/messages",
        (await api.get(f"/conversations/{conv}/messages", token=a.token)).data,
    )
    _check("GET", "/notifications", (await api.get("/notifications", token=a.token)).data)
    _check("GET", "/notifications/unread-count", (await api.get("/notifications/unread-count", token=a.token)).data)

    # server → client events, against the catalog
    catalog = {event.name: event.payload for event in server_events()}
    await sock_a.wait_for("chat:message", lambda m: m["seq"] == 2)
    await sock_a.wait_for("chat:typing")
    await sock_b.wait_for("chat:read")
    await sock_b.close()  # b goes offline: a shares a conversation with b, so a hears of it
    await sock_a.wait_for("presence", lambda p: p["userId"] == b.id and not p["online"])
    for sock in (sock_a, sock_b):
        for name, payload in sock.received:
            if name in catalog:
                model = catalog[name]
                assert isinstance(model, type)
                _strict(model, payload)
    seen = {name for sock in (sock_a, sock_b) for name, _ in sock.received}
    assert {"chat:message", "chat:typing", "chat:read", "presence"} <= seen, seen
