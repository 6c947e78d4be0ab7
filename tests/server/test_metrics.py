"""`GET /metrics`: Prometheus text that a scraper parses, with the families an operator watches."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import Api, SocketClient

FAMILIES = {
    "http_requests",
    "http_request_duration_seconds",
    "socketio_open_sockets",
    "socketio_events",
    "socketio_connections",
    "queue_jobs",
    "queue_job_outcomes",
    "rate_limit_refusals",
    "event_loop_lag_seconds",
}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(client: Any, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = await client.get("/metrics", headers=headers)
    return resp.status, await resp.text()


async def test_metrics_cover_http_sockets_queue_and_limits(aiohttp_client: Any, make_app: Any) -> None:
    client = await aiohttp_client(await make_app(chat_rate_limit_messages=1))
    api = Api(client, "admin-password-1")
    a, b = await api.user(), await api.user()
    conv = (await api.post("/conversations", {"participantIds": [b.id], "title": "t"}, token=a.token)).data
    sock = SocketClient()
    await sock.connect(str(client.make_url("")).rstrip("/"), a.token)
    try:
        first = await sock.call("chat:send", {"conversationId": conv["id"], "body": "1", "clientMessageId": "m1"})
        second = await sock.call("chat:send", {"conversationId": conv["id"], "body": "2", "clientMessageId": "m2"})
        assert first["success"] is True and second["success"] is False  # the second is over the limit
        status, text = await scrape(client)
    finally:
        await sock.close()
    assert status == 200
    found = samples(text)
    names = {family.name for family in text_string_to_metric_families(text)}
    assert names >= FAMILIES
    assert found[("socketio_open_sockets", ())] == 1.0
    assert found[("socketio_events_total", (("event", "chat:send"), ("outcome", "ok")))] == 1.0
    assert found[("socketio_events_total", (("event", "chat:send"), ("outcome", "refused")))] == 1.0
    assert found[("rate_limit_refusals_total", (("bucket", "chat"),))] == 1.0
    created = (("method", "POST"), ("route", "/api/v1/conversations"), ("status", "201"))
    assert found[("http_requests_total", created)] == 1.0
    assert found[("http_request_duration_seconds_count", (("method", "POST"), ("route", "/api/v1/conversations")))] == 1
    assert ("queue_jobs", (("state", "ready"),)) in found and ("queue_jobs", (("state", "dead"),)) in found


async def test_job_outcomes_are_counted(api: Api, client: Any, jobs: Any) -> None:
    admin = await api.admin()
    user = await api.user()
    reply = await api.post("/admin/announcements", {"userIds": [user.id], "title": "T", "body": "B"}, token=admin.token)
    assert reply.status == 202
    assert await jobs.run() >= 1
    _, text = await scrape(client)
    assert samples(text)[("queue_job_outcomes_total", (("outcome", "done"), ("type", "notify")))] >= 1


async def test_metrics_may_require_a_bearer_token(aiohttp_client: Any, make_app: Any) -> None:
    client = await aiohttp_client(await make_app(metrics_token="scrape-secret"))
    assert (await scrape(client))[0] == 401
    assert (await scrape(client, "wrong"))[0] == 401
    status, text = await scrape(client, "scrape-secret")
    assert status == 200 and "http_requests_total" in text
