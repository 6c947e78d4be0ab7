"""TC-INT-011 (error handling and recovery) and the rest of issue 13: crafted input gets a clean 400
or a refused ack with a reason, Redis going down and coming back, abuse limits, exposure."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from datetime import timedelta
from typing import Any

from server.http import CTX_KEY
from tests.helpers import Api, SocketClient
from tests.processes import free_port
from tests.workers.test_queue import start_redis_on

EN = {"Accept-Language": "en"}
EDGES = ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00Z"]


def later(clock: Any, **delta: float) -> str:
    return (clock.now() + timedelta(**delta)).isoformat()


async def test_TC_INT_011_times_at_the_ends_of_the_calendar_are_400(api: Api) -> None:
    tutor, student, customer = await api.user("TUTOR"), await api.user("STUDENT"), await api.user("CUSTOMER")
    admin = await api.admin()
    for edge in EDGES:
        booked = await api.post(
            "/sessions",
            {"tutorId": tutor.id, "subject": "Math", "startTime": edge, "durationMinutes": 60},
            token=student.token,
            headers=EN,
        )
        assert booked.status == 400, (edge, booked.body)
        assert booked.body["validationErrors"][0]["field"] == "startTime"
        assert booked.body["message"] == "Time must be between 1900-01-01 and 9000-01-01"
        booking = await api.post(
            "/admin/bookings",
            {
                "customerId": customer.id,
                "serviceName": "Clean",
                "serviceAddress": "Here",
                "bookingTime": edge,
                "estimatedDurationHours": 1,
                "pricePerUnit": 1,
            },
            token=admin.token,
        )
        assert booking.status == 400 and booking.body["validationErrors"][0]["field"] == "bookingTime"
        listed = await api.get("/sessions", token=student.token, params={"from": edge})
        assert listed.status == 400 and listed.body["validationErrors"][0]["field"] == "from"
        announced = await api.post(
            "/admin/announcements", {"title": "t", "body": "b", "role": "STUDENT", "processAt": edge}, token=admin.token
        )
        assert announced.status == 400
    far = await api.post(
        "/classes",
        {
            "title": "Late",
            "subject": "Math",
            "capacity": 3,
            "startDate": "9999-12-25",
            "endDate": "9999-12-31",
            "schedule": [{"dayOfWeek": 1, "startTime": "10:00", "durationMinutes": 60}],
        },
        token=tutor.token,
    )
    assert far.status == 400 and far.body["validationErrors"][0]["field"] == "startDate"


async def test_TC_INT_011_a_time_zone_must_be_a_zone(api: Api) -> None:
    tutor = await api.user("TUTOR")
    for zone in ("America", "../../etc/passwd", "Not/AZone", ""):
        reply = await api.post(
            "/classes",
            {
                "title": "Zoned",
                "subject": "Math",
                "capacity": 3,
                "startDate": "2026-01-05",
                "endDate": "2026-01-30",
                "timezone": zone,
                "schedule": [{"dayOfWeek": 1, "startTime": "10:00", "durationMinutes": 60}],
            },
            token=tutor.token,
        )
        assert reply.status == 400, (zone, reply.body)
        assert reply.body["validationErrors"][0]["field"] == "timezone"


async def test_TC_INT_011_hostile_bodies_are_400(api: Api) -> None:
    nested = await api.post("/auth/login", raw=b"[" * 10_000 + b"]" * 10_000, headers=EN)
    assert nested.status == 400 and nested.body["message"] == "The body is not valid JSON"
    nested_object = await api.post("/auth/login", raw=b'{"a":' * 10_000 + b"1" + b"}" * 10_000)
    assert nested_object.status == 400
    bad_utf8 = await api.post("/auth/login", raw=b'{"username": "\xed\xa0\x80", "password": "x"}')
    assert bad_utf8.status == 400

    a, b = await api.user(), await api.user()
    conv = (await api.post("/conversations", {"participantIds": [b.id]}, token=a.token)).data
    lone = await api.post(
        f"/conversations/{conv['id']}/messages", raw=b'{"body": "a\\ud800b"}', token=a.token, headers=EN
    )
    assert lone.status == 400 and lone.body["message"] == "Text contains invalid Unicode characters"
    pair = await api.post(f"/conversations/{conv['id']}/messages", raw=b'{"body": "\\ud83d\\ude00"}', token=a.token)
    assert pair.status == 201 and pair.data["body"] == "\U0001f600"  # a proper surrogate pair is fine


async def test_TC_INT_011_socket_input_is_refused_with_a_reason(api: Api, sockets) -> None:
    a, b = await api.user(), await api.user()
    conv = (await api.post("/conversations", {"participantIds": [b.id]}, token=a.token)).data
    sock = await sockets(a.token, locale="en")
    binary = await sock.call("chat:send", {"conversationId": conv["id"], "body": b"\x00\x01"})
    assert binary == {
        "success": False,
        "message": "Binary data is not accepted",
        "validationErrors": [{"field": "payload", "message": "Binary data is not accepted"}],
    }
    extra = await sock.sio.call("chat:send", ({"conversationId": conv["id"], "body": "hi"}, "extra"), timeout=5)
    assert extra == {"success": False, "message": "The event takes a single argument"}
    unknown = await sock.call("no:such:event", {"x": 1})
    assert unknown == {"success": False, "message": "Unsupported event: no:such:event"}
    deep = asyncio.get_running_loop().create_future()
    sock.sio.callbacks.setdefault("/", {})[999_999] = lambda *args: deep.set_result(args[0])
    await sock.sio.eio.send('2999999["chat:send",' + "[" * 10_000 + "]" * 10_000 + "]")  # a hand-made packet
    assert (await asyncio.wait_for(deep, 5))["message"] == "The body is not valid JSON"
    lone = await sock.call("chat:send", {"conversationId": conv["id"], "body": "a\ud800"})
    assert lone["success"] is False and lone["message"] == "Text contains invalid Unicode characters"
    ok = await sock.call("chat:send", {"conversationId": conv["id"], "body": "still here", "clientMessageId": "1"})
    assert ok["success"] is True  # the connection survived all of it


async def test_TC_INT_011_redis_down_and_back(make_app, aiohttp_client, tmp_path) -> None:
    """Redis stops: requests that need it answer 503 quickly (revocation checks fail closed), the
    service stays up (/health), jobs wait in the outbox; Redis returns: everything works again and
    live sockets are told to resync."""
    port = free_port()
    rdb = str(tmp_path / "outage.rdb")
    server = start_redis_on(rdb, port)
    try:
        app = await make_app(redis_url=f"redis://127.0.0.1:{port}/0", redis_socket_timeout_seconds=1)
        client = await aiohttp_client(app)
        ctx = app[CTX_KEY]
        api = Api(client, "admin-password-1")
        alice, bob = await api.user(), await api.user()
        conv = (await api.post("/conversations", {"participantIds": [bob.id]}, token=alice.token)).data
        sock = SocketClient()
        await sock.connect(str(client.make_url("")).rstrip("/"), bob.token)

        server.shutdown(save=True)  # Redis goes away
        started = time.monotonic()
        me = await api.get("/auth/me", token=alice.token, headers=EN)
        assert me.status == 503, me.body
        assert me.body == {"success": False, "message": "Service temporarily unavailable, please retry"}
        login = await api.post("/auth/login", {"username": alice.username, "password": alice.password})
        assert login.status == 503
        assert time.monotonic() - started < 5
        assert (await api.get("/health")).status == 200
        ready = await api.get("/ready")
        assert ready.status == 503 and ready.body["checks"]["redis"] == "unavailable"
        job_id = await ctx.queue.enqueue("notify", {"userIds": [bob.id]})
        assert await ctx.db["outbox"].count_documents({"_id": job_id}) == 1

        server = start_redis_on(rdb, port)  # Redis is back
        for _ in range(50):
            if (await api.get("/auth/me", token=alice.token)).status == 200:
                break
            await asyncio.sleep(0.1)
        assert (await api.get("/auth/me", token=alice.token)).status == 200
        assert await sock.wait_for("realtime:resync", timeout=5) == {}
        sent = await api.post(
            f"/conversations/{conv['id']}/messages", {"body": "back", "clientMessageId": "b1"}, token=alice.token
        )
        assert sent.status == 201
        got = await sock.wait_for("chat:message", timeout=5)
        assert got["body"] == "back"
        synced = await sock.call("chat:sync", {"conversationId": conv["id"], "afterSeq": 0})
        assert [m["body"] for m in synced["data"]["messages"]] == ["back"]
        await sock.close()
    finally:
        server.shutdown(save=False)


async def test_abuse_limits_per_user(make_app, aiohttp_client) -> None:
    app = await make_app(
        typing_rate_limit=3, sync_rate_limit=2, room_join_rate_limit=2, conversation_create_rate_limit=2
    )
    client = await aiohttp_client(app)
    api = Api(client, "admin-password-1")
    a, b, c = await api.user(), await api.user(), await api.user()
    for other in (b, c):
        assert (await api.post("/conversations", {"participantIds": [other.id]}, token=a.token)).status == 201
    refused = await api.post("/conversations", {"participantIds": [b.id], "title": "x"}, token=a.token)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    conv = (await api.get("/conversations", token=a.token)).data[0]
    sock = SocketClient()
    await sock.connect(str(client.make_url("")).rstrip("/"), a.token, locale="en")
    try:
        for event, payload, limit in (
            ("chat:typing", {"conversationId": conv["id"], "typing": True}, 3),
            ("chat:sync", {"conversationId": conv["id"], "afterSeq": 0}, 2),
            ("room:join", {"room": f"conversation:{conv['id']}"}, 2),
        ):
            for _ in range(limit):
                assert (await sock.call(event, payload))["success"], event
            ack = await sock.call(event, payload)
            assert ack["success"] is False and ack["retryAfter"] >= 1, (event, ack)
            assert ack["message"].startswith("Too many requests")
        # Another user is not affected.
        assert (await api.post("/conversations", {"participantIds": [c.id]}, token=b.token)).status == 201
    finally:
        await sock.close()


async def test_open_group_sessions_hide_the_roster_from_non_participants(api: Api, clock) -> None:
    tutor = await api.user("TUTOR")
    group = await api.post(
        "/sessions",
        {"subject": "Math", "title": "Group", "startTime": later(clock, days=1), "durationMinutes": 60, "capacity": 5},
        token=tutor.token,
    )
    member, browser = await api.user(), await api.user()
    assert (await api.post(f"/sessions/{group.data['id']}/join", token=member.token)).status == 200
    seen = (await api.get("/sessions", token=browser.token, params={"open": "true"})).data
    assert seen[0]["id"] == group.data["id"] and "studentIds" not in seen[0] and seen[0]["enrolledCount"] == 1
    as_member = (await api.get("/sessions", token=member.token, params={"open": "true"})).data
    assert as_member[0]["studentIds"] == [member.id]
    assert (await api.get(f"/sessions/{group.data['id']}", token=browser.token)).status == 403


async def test_generated_bootstrap_password_goes_to_a_private_file_not_the_log(
    make_app, aiohttp_client, settings, caplog
) -> None:
    client = await aiohttp_client(await make_app(admin_password=None))  # the lifespan creates the admin
    path = settings.data_dir / "bootstrap-admin-password"
    password = path.read_text().strip()
    assert len(password) >= 20
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert password not in logged and str(path) in logged
    assert (await Api(client, password).admin()).role == "ADMIN"
