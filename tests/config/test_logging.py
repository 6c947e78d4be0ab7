"""LOG_FORMAT=json: one JSON object per line, the access log carrying the request id."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from config.logging import JsonFormatter, TextFormatter
from tests.helpers import Api


@pytest.fixture
def json_lines() -> Any:
    """Capture every log record as the JSON formatter writes it."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old = root.level
    root.setLevel(logging.INFO)
    yield lines
    root.removeHandler(handler)
    root.setLevel(old)


async def test_access_log_is_json_with_request_id_user_route_status(
    api: Api, sockets: Any, json_lines: list[str]
) -> None:
    user = await api.user()
    reply = await api.get("/auth/me", token=user.token, headers={"X-Request-Id": "req-42"})
    assert reply.status == 200
    sock = await sockets(user.token)
    await sock.close()

    def disconnect_logged() -> bool:
        return any(user.id in line and "disconnected" in line for line in json_lines)

    for _ in range(100):  # the server sees the close a moment after the client
        if disconnect_logged():
            break
        await asyncio.sleep(0.05)
    records = [json.loads(line) for line in json_lines]  # every line parses
    access = [r for r in records if r["logger"] == "server.access" and r.get("request_id") == "req-42"]
    assert len(access) == 1
    entry = access[0]
    assert entry["user_id"] == user.id and entry["route"] == "/api/v1/auth/me" and entry["status"] == 200
    assert isinstance(entry["duration_ms"], float) and entry["level"] == "INFO"
    socket_lines = [r for r in records if r["logger"] == "server.sockets" and r.get("user_id") == user.id]
    assert any("connected" in r["message"] for r in socket_lines)
    assert any("disconnected" in r["message"] for r in socket_lines)


def test_text_format_appends_the_request_id() -> None:
    record = logging.LogRecord("server.access", logging.INFO, __file__, 1, "GET / 200", None, None)
    record.request_id = "abc"
    assert TextFormatter().format(record).endswith("GET / 200 [abc]")
