"""The generated documents and the developer pages: /api/docs (offline), /api/openapi.json,
/api/asyncapi.json and /api/asyncapi, /console; and that the documents cannot drift from the code."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

from app.web import AREAS
from handlers.server_events import server_events
from models.views import NoData

REPO = Path(__file__).resolve().parents[2]
CONTRACT = REPO.parent / "shared" / "API.md"

# The events of the contract's "Socket.IO" section (copied from API.md; parsed from it too when the
# contract is beside the repository, and both must agree).
CLIENT_EVENTS = {"room:join", "room:leave", "chat:send", "chat:read", "chat:typing", "chat:sync"}
SERVER_EVENTS = {
    "chat:message",
    "chat:read",
    "chat:typing",
    "notification",
    "session:updated",
    "class:updated",
    "assignment:updated",
    "presence",
    "auth:expired",
    "auth:revoked",
}
OPERATION_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NO_DATA_ROUTES = {(s.method, s.path) for a in AREAS if a.routes for s in a.routes.specs if s.response is NoData}


class Assets(HTMLParser):
    """Every src and href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


async def _assets_of(client: Any, path: str) -> list[str]:
    async with client.get(path) as resp:
        assert resp.status == 200, path
        assert resp.content_type == "text/html"
        parser = Assets()
        parser.feed(await resp.text())
    return parser.urls


async def _check_page_is_self_contained(client: Any, path: str) -> list[str]:
    urls = await _assets_of(client, path)
    assert urls, path
    for url in urls:
        parsed = urlparse(url)
        assert not parsed.scheme and not parsed.netloc, f"{path} references an outside URL: {url}"
        async with client.get(urljoin(path, url)) as resp:
            assert resp.status == 200, f"{path}: {url} -> {resp.status}"
            body = await resp.read()
            assert body, url
            if url.endswith(".js"):
                text = body.decode("utf-8", "replace")
                # scripts load nothing from outside hosts either (the online validator is switched off)
                assert "unpkg.com" not in text and "cdn.jsdelivr" not in text, url
    return urls


async def test_docs_page_and_every_asset_are_served_by_the_server(client) -> None:
    urls = await _check_page_is_self_contained(client, "/api/docs")
    assert "/api/docs/static/swagger-ui-bundle.js" in urls and "/api/docs/static/swagger-ui.css" in urls
    async with client.get("/api/docs/static/swagger-ui-bundle.js") as resp:
        assert "SwaggerUIBundle" in await resp.text()
        assert resp.headers["Content-Type"].startswith("text/javascript")
    async with client.get("/static/docs.js") as resp:
        script = await resp.text()
    assert '"/api/openapi.json"' in script and "validatorUrl: null" in script
    # only the files the page needs are exposed, nothing else of the package or the file system
    for path in ("/api/docs/static/swagger-editor.js", "/api/docs/static/..%2Fcore.py", "/static/../run.py"):
        async with client.get(path) as resp:
            assert resp.status == 404, path


async def test_asyncapi_page_and_console_are_self_contained(client) -> None:
    await _check_page_is_self_contained(client, "/api/asyncapi")
    urls = await _check_page_is_self_contained(client, "/console")
    assert "/static/vendor/socket.io.min.js" in urls
    async with client.get("/static/vendor/socket.io.min.js") as resp:
        assert (await resp.text()).startswith("/*!\n * Socket.IO v4.8.4")
    assert (REPO / "static/vendor/socket.io-client.LICENSE").read_text().startswith("The MIT License")


# --------------------------------------------------------------------------------------- OpenAPI


async def _openapi(client: Any) -> dict[str, Any]:
    async with client.get("/api/openapi.json") as resp:
        assert resp.status == 200
        return await resp.json()


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = doc
        for key in node["$ref"].lstrip("#/").split("/"):
            target = target[key]
        node = target
    return node


async def test_openapi_document_is_valid(client) -> None:
    from openapi_spec_validator import validate

    validate(await _openapi(client))  # raises on any violation of the OpenAPI 3.1 schema


async def test_openapi_operation_ids_are_valid_and_unique(client) -> None:
    doc = await _openapi(client)
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) > 30
    assert all(OPERATION_ID.match(i) for i in ids), [i for i in ids if not OPERATION_ID.match(i)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert doc["paths"]["/api/v1/auth/login"]["post"]["operationId"] == "login"
    assert doc["paths"]["/api/v1/conversations"]["get"]["operationId"] == "listConversations"


async def test_openapi_every_operation_documents_success_and_errors(client) -> None:
    doc = await _openapi(client)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            success = [code for code in op["responses"] if code.startswith("2")]
            assert success, where
            content = op["responses"][success[0]]["content"]["application/json"]
            envelope = content["schema"]
            no_data = (method.upper(), path.removeprefix("/api/v1")) in NO_DATA_ROUTES
            expected_fields = {"success", "message"} if no_data else {"success", "message", "data"}
            assert expected_fields <= set(envelope["properties"]), where
            assert ("data" in envelope["properties"]) is not no_data, where
            assert ("data" in content["example"]) is not no_data, where
            assert content["example"]["success"] is True, where
            expected = {"400", "404", "429"}
            if op["security"]:
                expected |= {"401", "403"}
            if method in ("post", "put", "delete"):
                expected |= {"409", "413"}
            assert expected <= set(op["responses"]), (where, sorted(op["responses"]))
            for code in expected:
                response = resolve(doc, op["responses"][code])
                schema = resolve(doc, response["content"]["application/json"]["schema"])
                assert "message" in schema["properties"], (where, code)
    too_many = resolve(doc, doc["paths"]["/api/v1/auth/login"]["post"]["responses"]["429"])
    assert "Retry-After" in too_many["headers"]


async def test_openapi_response_models_describe_data(client, api) -> None:
    doc = await _openapi(client)
    login = doc["paths"]["/api/v1/auth/login"]["post"]["responses"]["200"]["content"]["application/json"]
    assert login["schema"]["properties"]["data"] == {"$ref": "#/components/schemas/TokenPair"}
    token_pair = doc["components"]["schemas"]["TokenPair"]
    assert {"accessToken", "refreshToken", "expiresIn", "user"} <= set(token_pair["properties"])
    assert login["example"]["data"]["tokenType"] == "Bearer"
    assert isinstance(login["example"]["data"]["user"]["id"], str)
    listed = doc["paths"]["/api/v1/conversations"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listed["schema"]["properties"]["data"]["items"] == {"$ref": "#/components/schemas/Conversation"}
    assert "totalItems" in listed["schema"]["properties"] and listed["example"]["totalItems"] == 1
    queue = doc["paths"]["/api/v1/admin/queue"]["get"]["responses"]["200"]["content"]["application/json"]
    assert queue["schema"]["properties"]["data"] == {"$ref": "#/components/schemas/QueueStats"}
    assert isinstance(queue["example"]["data"]["nextDelayed"][0]["processAt"], str)
    # a map: GET /presence answers {userId: {online, lastSeen}}, with an example of that shape
    presence = doc["paths"]["/api/v1/presence"]["get"]["responses"]["200"]["content"]["application/json"]
    assert doc["components"]["schemas"]["PresenceMap"]["additionalProperties"] == {
        "$ref": "#/components/schemas/PresenceEntry"
    }
    assert all(set(entry) == {"online", "lastSeen"} for entry in presence["example"]["data"].values())
    # `response=views.NoData`: the envelope without data (logout, the seed's cancel)
    logout = doc["paths"]["/api/v1/auth/logout"]["post"]["responses"]["200"]["content"]["application/json"]
    assert set(logout["schema"]["properties"]) == {"success", "message"}
    assert logout["example"] == {"success": True, "message": "OK"}


# -------------------------------------------------------------------------------------- AsyncAPI


def _contract_events() -> tuple[set[str], set[str]] | None:
    """(client → server, server → client) event names of API.md's Socket.IO section."""
    if not CONTRACT.exists():
        return None
    text = CONTRACT.read_text(encoding="utf-8")
    section = text.split("## Socket.IO", 1)[1].split("\n## ", 1)[0]
    to_server, to_client = section.split("Server → client", 1)

    def names(part: str) -> set[str]:
        found = set()
        for line in part.splitlines():
            if line.startswith("| `"):  # a table row: the events are in its first column
                found |= set(re.findall(r"`([^`]+)`", line.split("|")[1]))
        return found

    prose = set(re.findall(r"`([a-z]+:[a-z]+)`", to_server.split("Client → server", 1)[0]))  # auth:expired ...
    return names(to_server.split("Client → server", 1)[1]), names(to_client) | prose


async def test_asyncapi_lists_every_event_of_the_contract(client) -> None:
    async with client.get("/api/asyncapi.json") as resp:
        assert resp.status == 200
        doc = await resp.json()
    assert doc["asyncapi"] == "2.6.0"
    parsed = _contract_events()
    if parsed is not None:
        assert parsed == (CLIENT_EVENTS, SERVER_EVENTS), "API.md's Socket.IO events changed: update this test"
    channels = doc["channels"]
    for event in CLIENT_EVENTS:
        op = channels[event]["publish"]
        message = resolve(doc, op["message"])
        assert message["name"] == event and message["payload"], event
        assert message["x-ack"]["args"]["oneOf"], event
    for event in SERVER_EVENTS:
        op = channels[event]["subscribe"]
        message = resolve(doc, op["message"])
        assert message["payload"] and message["x-rooms"] == channels[event]["x-rooms"], event
        assert channels[event]["x-rooms"], event
    send = resolve(doc, channels["chat:send"]["publish"]["message"])
    assert set(resolve(doc, send["payload"])["required"]) >= {"conversationId", "body"}
    ack_data = send["x-ack"]["args"]["oneOf"][0]["properties"]["data"]
    assert ack_data == {"$ref": "#/components/schemas/Message"}
    sync_ack = resolve(doc, channels["chat:sync"]["publish"]["message"])["x-ack"]["example"]["data"]
    assert {"messages", "hasMore"} <= set(sync_ack)
    assert "user:<memberId> (every member)" in channels["chat:message"]["x-rooms"]
    operation_ids = [
        op["operationId"] for ch in channels.values() for k, op in ch.items() if k in ("publish", "subscribe")
    ]
    assert all(OPERATION_ID.match(i) for i in operation_ids) and len(operation_ids) == len(set(operation_ids))


def test_every_event_the_code_emits_is_declared() -> None:
    """The server → client catalog cannot drift: an emitted event name missing from it fails here."""
    emitted: set[str] = set()
    # A literal name in an emit call, or an event-name constant (`EVENT = "x:y"`) that a call uses.
    literal = re.compile(r"""\.emit\(\s*["']([^"']+)["']""")
    constant = re.compile(r"""^[A-Z_]*EVENT\s*=\s*["']([^"']+)["']""", re.M)
    for folder in ("models", "server", "handlers", "workers"):
        for source in (REPO / folder).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            emitted |= set(literal.findall(text)) | set(constant.findall(text))
    declared = {event.name for event in server_events()}
    assert emitted, "the pattern found no emit call: update it"
    assert emitted <= declared, sorted(emitted - declared)
    assert len(declared) == len(server_events()), "an event is declared twice"
