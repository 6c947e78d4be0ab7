"""CORS: only configured origins get the headers, on preflights and on replies."""

from __future__ import annotations


async def test_configured_origin_only(aiohttp_client, make_app) -> None:
    client = await aiohttp_client(await make_app(cors_origins="https://app.example"))
    preflight = await client.options(
        "/api/v1/auth/login",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    reply = await client.get("/health", headers={"Origin": "https://app.example"})
    assert reply.headers["Access-Control-Allow-Origin"] == "https://app.example"
    other = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
