"""kill -9 loses nothing that was acknowledged: a real `python run.py serve` on the embedded
defaults takes writes over HTTP, is SIGKILLed together with its embedded redis-server, and a new
process on the same DATA_DIR finds every one of them, while a logged-out and an already-used
refresh token (and the logged-out access token) stay refused.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.processes import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "admin-password-1"
PASSWORD = "correct-horse-battery"


def start(data_dir: Path, port: int, secret: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATA_DIR": str(data_dir),
        "JWT_SECRET": secret,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "PASSWORD_HASH_TIME_COST": "1",
        "LOG_LEVEL": "WARNING",
    }
    for name in ("MONGODB_URL", "REDIS_URL", "EMBEDDED_INTERLEAVE_SEED"):
        env.pop(name, None)  # the embedded defaults, as a newcomer runs them
    log = open(data_dir / "server.log", "ab")  # noqa: SIM115 - the child process owns it
    return subprocess.Popen(
        [sys.executable, "run.py", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def embedded_redis_pid(data_dir: Path) -> int:
    registry = json.loads((data_dir / "redis.rdb.settings").read_text())
    return int(Path(registry["pidfile"]).read_text().strip())


class Client:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.api = http, f"{base}/api/v1"

    async def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(method, self.api + path, json=body, headers=headers) as resp:
            return resp.status, await resp.json(content_type=None)

    async def ok(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        status, reply = await self.call(method, path, body, token)
        assert status in (200, 201), (method, path, status, reply)
        return reply.get("data")

    async def login(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        return await self.ok("POST", "/auth/login", {"username": username, "password": password})  # type: ignore[no-any-return]

    async def register(self, username: str, role: str) -> dict[str, Any]:
        body = {
            "username": username,
            "email": f"{username}@example.com",
            "password": PASSWORD,
            "fullName": username.title(),
            "role": role,
        }
        await self.ok("POST", "/auth/register", body)
        return await self.login(username)


def kill_9(server: subprocess.Popen[bytes], data_dir: Path) -> None:
    """SIGKILL the server and its embedded redis-server: nothing gets a chance to flush."""
    redis_pid = embedded_redis_pid(data_dir)
    server.send_signal(signal.SIGKILL)
    server.wait()
    os.kill(redis_pid, signal.SIGKILL)


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


async def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    if os.environ.get("MONGODB_URL"):
        pytest.skip("kill -9 durability is the embedded store's promise")
    secret, port = uuid.uuid4().hex * 2, free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(tmp_path, port, secret)
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, base, server, 60, tmp_path / "server.log")
            client = Client(http, base)
            admin = await client.login("admin", ADMIN_PASSWORD)
            an, binh = await client.register("anh", "STUDENT"), await client.register("binh", "STUDENT")
            customer = await client.register("khach", "CUSTOMER")
            worker_body = {
                "username": "tho",
                "email": "tho@example.com",
                "password": PASSWORD,
                "fullName": "Tho",
                "role": "EMPLOYEE",
            }
            await client.ok("POST", "/admin/users", worker_body, admin["accessToken"])
            employee = await client.login("tho")
            chat = await client.ok(
                "POST", "/conversations", {"participantIds": [binh["user"]["id"]]}, an["accessToken"]
            )
            sent = [
                await client.ok(
                    "POST",
                    f"/conversations/{chat['id']}/messages",
                    {"body": f"tin {n}", "clientMessageId": f"c{n}"},
                    token,
                )
                for n, token in enumerate([an["accessToken"], binh["accessToken"], an["accessToken"]])
            ]
            booking = await client.ok(
                "POST",
                "/admin/bookings",
                {
                    "customerId": customer["user"]["id"],
                    "serviceName": "Tổng vệ sinh",
                    "serviceAddress": "123 Lê Trọng Tấn",
                    "bookingTime": "2099-01-02T03:00:00Z",
                    "estimatedDurationHours": 2,
                    "pricePerUnit": 350000,
                },
                admin["accessToken"],
            )
            me = await client.ok("GET", "/auth/me", token=employee["accessToken"])
            assigned = await client.ok(
                "POST",
                f"/admin/bookings/{booking['id']}/assignments",
                {"employeeId": me["employeeId"]},
                admin["accessToken"],
            )
            # Rotation: the first refresh token is used up; the second is revoked by the logout.
            session = await client.login("anh")
            rotated = await client.ok("POST", "/auth/refresh", {"refreshToken": session["refreshToken"]})
            await client.ok("POST", "/auth/logout", {"refreshToken": rotated["refreshToken"]}, rotated["accessToken"])

            kill_9(server, tmp_path)  # right after the last reply

            server = start(tmp_path, port, secret)
            await wait_healthy(http, base, server, 60, tmp_path / "server.log")
            for name in ("anh", "binh", "khach", "tho"):
                await client.login(name)
            an_again = await client.login("anh")
            history = await client.ok("GET", f"/conversations/{chat['id']}/messages", token=an_again["accessToken"])
            assert [(m["id"], m["seq"], m["body"]) for m in reversed(history)] == [
                (m["id"], m["seq"], m["body"]) for m in sent
            ]
            bookings = await client.ok("GET", "/customer/bookings", token=(await client.login("khach"))["accessToken"])
            assert [b["bookingCode"] for b in bookings] == [booking["bookingCode"]]
            assert [a["assignmentId"] for a in bookings[0]["assignments"]] == [assigned["assignmentId"]]

            # First the logged-out access token (its revocation is in Redis; checked before the
            # refreshes below, whose reuse detection would revoke its family again).
            status, _ = await client.call("GET", "/auth/me", token=rotated["accessToken"])
            assert status == 401
            for refused in (session["refreshToken"], rotated["refreshToken"]):
                status, _ = await client.call("POST", "/auth/refresh", {"refreshToken": refused})
                assert status == 401
    finally:
        stop(server)
