"""Two real server processes (`python run.py serve`) sharing one Redis: an emit in one reaches a
client connected to the other.

The embedded document store lives inside each process, so the domain data (users, the
conversation) is created on process A; the client on process B connects with a token from A,
which B accepts because both share JWT_SECRET and Redis (several processes serving one app need
MONGODB_URL, see the README).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from tests.helpers import SocketClient
from tests.processes import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


def start_server(port: int, data_dir: Path, redis_url: str, secret: str, database: str) -> subprocess.Popen[bytes]:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "REDIS_URL": redis_url,
        "DATA_DIR": str(data_dir),
        "JWT_SECRET": secret,
        "MONGODB_DATABASE": database,
        "ADMIN_PASSWORD": "admin-password-1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "PASSWORD_HASH_TIME_COST": "1",
        "LOG_LEVEL": "WARNING",
    }
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - the child process owns it
    return subprocess.Popen(
        [sys.executable, "run.py", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


async def register(http: aiohttp.ClientSession, api: str, name: str) -> dict[str, Any]:
    body = {
        "username": name,
        "email": f"{name}@example.com",
        "password": "correct-horse-battery",
        "fullName": name.title(),
        "role": "STUDENT",
    }
    async with http.post(f"{api}/auth/register", json=body) as resp:
        assert resp.status == 201, await resp.text()
    async with http.post(f"{api}/auth/login", json={"username": name, "password": body["password"]}) as resp:
        assert resp.status == 200, await resp.text()
        data = (await resp.json())["data"]
    return {"id": data["user"]["id"], "token": data["accessToken"]}


async def test_a_room_emit_on_one_process_reaches_a_client_on_the_other(
    redis_url: str, flushed_redis: None, tmp_path: Path
) -> None:
    secret = uuid.uuid4().hex * 2
    database = f"test_{uuid.uuid4().hex[:12]}"
    ports = free_port(), free_port()
    processes = [
        start_server(port, tmp_path / f"process-{i}", redis_url, secret, database) for i, port in enumerate(ports)
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    sockets: list[SocketClient] = []
    try:
        async with aiohttp.ClientSession() as http:
            for i, (base, process) in enumerate(zip(bases, processes, strict=False)):
                await wait_healthy(http, base, process, START_TIMEOUT, tmp_path / f"process-{i}" / "server.log")
            api_a = f"{bases[0]}/api/v1"
            x, y = await register(http, api_a, "xuan"), await register(http, api_a, "yen")
            auth_x = {"Authorization": f"Bearer {x['token']}"}
            async with http.post(f"{api_a}/conversations", json={"participantIds": [y["id"]]}, headers=auth_x) as resp:
                assert resp.status == 201, await resp.text()
                cid = (await resp.json())["data"]["id"]

            on_a, on_b = SocketClient(), SocketClient()
            sockets += [on_a, on_b]
            await on_a.connect(bases[0], x["token"])
            await on_b.connect(bases[1], y["token"])  # a token from A, accepted by B

            # Sent through process A's REST API, delivered to the client on process B.
            async with http.post(
                f"{api_a}/conversations/{cid}/messages",
                headers=auth_x,
                json={"body": "xin chào từ A", "clientMessageId": "x-1"},
            ) as resp:
                assert resp.status == 201, await resp.text()
                sent = (await resp.json())["data"]
            got = await on_b.wait_for("chat:message", lambda m: m["id"] == sent["id"], timeout=10)
            assert got["body"] == "xin chào từ A" and got["seq"] == 1
            assert (await on_a.wait_for("chat:message", timeout=10))["id"] == sent["id"]

            # A socket event handled on A (typing) reaches B's client the same way.
            ack = await on_a.call("chat:typing", {"conversationId": cid, "typing": True})
            assert ack["success"], ack
            assert (await on_b.wait_for("chat:typing", timeout=10))["userId"] == x["id"]
    finally:
        for sock in sockets:
            try:
                await sock.close()
            except Exception:
                pass
        for process in processes:
            stop(process)
        if os.environ.get("MONGODB_URL"):  # both processes used this database: drop it
            from pymongo import AsyncMongoClient

            mongo: AsyncMongoClient = AsyncMongoClient(os.environ["MONGODB_URL"])
            await mongo.drop_database(database)
            await mongo.close()
