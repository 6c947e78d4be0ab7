"""The error contract for what no route handles: unknown paths, wrong methods, large bodies, crashes."""

from __future__ import annotations

from server.http import Call, Reply, Routes
from server.i18n import catalogs
from tests.helpers import Api


async def test_unknown_path_is_json_404(api: Api) -> None:
    reply = await api.get("/no/such/thing")
    assert reply.status == 404
    assert reply.body == {"success": False, "message": "Không tìm thấy đường dẫn"}
    en = await api.get("/no/such/thing", headers={"Accept-Language": "en"})
    assert en.body == {"success": False, "message": "Path not found"}


async def test_wrong_method_is_json_405(api: Api) -> None:
    reply = await api.call("DELETE", "/auth/login")
    assert reply.status == 405 and reply.body["success"] is False
    assert "POST" in reply.headers["Allow"]


async def test_body_over_one_mib_is_413(api: Api) -> None:
    big = b'{"username": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    reply = await api.post("/auth/login", raw=big)
    assert reply.status == 413 and reply.body["success"] is False


async def test_unexpected_error_is_500_without_internals(aiohttp_client, make_app, caplog) -> None:
    app = await make_app()
    routes = Routes(tag="test")

    @routes.get("/boom", public=True)
    async def boom(call: Call) -> Reply:
        raise RuntimeError("secret internal detail")

    app.router._frozen = False
    routes.install(app)
    client = await aiohttp_client(app)
    resp = await client.get("/api/v1/boom")
    body = await resp.json()
    assert resp.status == 500 and body["success"] is False
    assert "secret" not in body["message"]
    request_id = resp.headers["X-Request-Id"]
    assert request_id in body["message"]
    assert any(request_id in r.getMessage() for r in caplog.records)


async def test_health_and_ready(api: Api) -> None:
    assert (await api.get("/health")).body == {"status": "ok"}
    ready = await api.get("/ready")
    assert ready.status == 200 and ready.body["checks"] == {"mongodb": "ok", "redis": "ok"}


async def test_openapi_lists_routes(api: Api) -> None:
    spec = (await api.get("/api/openapi.json")).body
    assert "/api/v1/auth/login" in spec["paths"]
    assert spec["paths"]["/api/v1/auth/me"]["get"]["security"] == [{"bearer": []}]


def test_catalogs_have_the_same_keys() -> None:
    vi, en = catalogs()["vi"], catalogs()["en"]
    assert set(vi) == set(en), set(vi) ^ set(en)
