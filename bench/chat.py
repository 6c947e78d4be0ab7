#!/usr/bin/env python3
"""Chat benchmark: N Socket.IO clients in group conversations on one server process.

    .venv/bin/python -m bench.chat                       # 100 clients, groups of 10, 1 msg/s each, 15 s
    .venv/bin/python -m bench.chat --clients 200 --rate 2 --duration 30

The bench starts its own `python run.py serve` (embedded store and embedded Redis in a temporary
DATA_DIR), creates the users over REST, puts them in conversations of `--group`, connects one
real `socketio.AsyncClient` each, and has every client send `chat:send` at a fixed rate for a
fixed time. Every `chat:message` a member receives (the sender's own echo is not counted) is a
delivery; its latency is from just before the sender emitted `chat:send` to its arrival, both
read from this process's monotonic clock. Prints deliveries per second and p50/p99 latencies.
The clients run in this one process, so at high loads they can be the bottleneck: the server's
CPU use is printed beside the figures to tell which side is saturated.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from bench.common import free_port
from tests.processes import wait_healthy

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-123"


def start_server(port: int, data_dir: Path, rate_limit: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATA_DIR": str(data_dir),
        "JWT_SECRET": uuid.uuid4().hex * 2,
        "ADMIN_PASSWORD": "bench-admin-password",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "PASSWORD_HASH_TIME_COST": "1",
        "LOG_LEVEL": "WARNING",
        "CHAT_RATE_LIMIT_MESSAGES": str(rate_limit),
        "CHAT_RATE_LIMIT_WINDOW_SECONDS": "10",
    }
    for name in ("MONGODB_URL", "REDIS_URL"):
        env.pop(name, None)  # the bench measures the embedded defaults
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - the child process owns it
    return subprocess.Popen(
        [sys.executable, "run.py", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


async def make_user(http: aiohttp.ClientSession, api: str, n: int, run: str) -> dict[str, str]:
    name = f"bench{run}{n}"
    body = {
        "username": name,
        "email": f"{name}@example.com",
        "password": PASSWORD,
        "fullName": f"Bench {n}",
        "role": "STUDENT",
    }
    async with http.post(f"{api}/auth/register", json=body) as resp:
        assert resp.status == 201, await resp.text()
    async with http.post(f"{api}/auth/login", json={"username": name, "password": PASSWORD}) as resp:
        data = (await resp.json())["data"]
    return {"id": data["user"]["id"], "token": data["accessToken"]}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class Stats:
    def __init__(self) -> None:
        self.sent_at: dict[str, float] = {}
        self.sender_of: dict[str, str] = {}
        self.latencies: list[float] = []
        self.ack_latencies: list[float] = []
        self.sent = self.acked = self.failed = 0
        self.measuring = True


async def client_loop(
    sock: socketio.AsyncClient,
    user_id: str,
    conversation_id: str,
    stats: Stats,
    rate: float,
    duration: float,
    start: float,
) -> None:
    pending: list[asyncio.Task[Any]] = []
    interval = 1.0 / rate
    k = 0
    while True:
        due = start + k * interval
        if due >= start + duration:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        client_id = uuid.uuid4().hex
        stats.sender_of[client_id] = user_id
        stats.sent_at[client_id] = time.perf_counter()
        stats.sent += 1
        pending.append(asyncio.create_task(send_one(sock, conversation_id, client_id, stats)))
        k += 1
    await asyncio.gather(*pending)


async def send_one(sock: socketio.AsyncClient, conversation_id: str, client_id: str, stats: Stats) -> None:
    try:
        ack = await sock.call(
            "chat:send",
            {"conversationId": conversation_id, "body": f"bench {client_id}", "clientMessageId": client_id},
            timeout=30,
        )
    except Exception:
        stats.failed += 1
        return
    if ack.get("success"):
        stats.acked += 1
        stats.ack_latencies.append(time.perf_counter() - stats.sent_at[client_id])
    else:
        stats.failed += 1


async def run(args: argparse.Namespace) -> None:
    if args.clients % args.group:
        raise SystemExit("--clients must be a multiple of --group")
    tmp = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    port = free_port()
    rate_limit = max(30, math.ceil(args.rate * 10 * 2))
    server = start_server(port, tmp, rate_limit)
    base = f"http://127.0.0.1:{port}"
    api = f"{base}/api/v1"
    socks: list[socketio.AsyncClient] = []
    stats = Stats()
    try:
        connector = aiohttp.TCPConnector(limit=50)
        async with aiohttp.ClientSession(connector=connector) as http:
            await wait_healthy(http, base, server, timeout=60)
            run_id = uuid.uuid4().hex[:6]
            users = await asyncio.gather(*(make_user(http, api, n, run_id) for n in range(args.clients)))
            conversation_of: dict[str, str] = {}
            for g in range(0, args.clients, args.group):
                members = users[g : g + args.group]
                async with http.post(
                    f"{api}/conversations",
                    headers={"Authorization": f"Bearer {members[0]['token']}"},
                    json={"participantIds": [m["id"] for m in members[1:]], "title": f"group {g}"},
                ) as resp:
                    assert resp.status == 201, await resp.text()
                    cid = (await resp.json())["data"]["id"]
                for m in members:
                    conversation_of[m["id"]] = cid

        def on_message_for(user_id: str) -> Any:
            async def on_message(message: dict[str, Any]) -> None:
                now = time.perf_counter()
                client_id = message.get("clientMessageId")
                sent = stats.sent_at.get(client_id)
                if sent is None or stats.sender_of.get(client_id) == user_id:
                    return  # not ours, or the sender's own echo
                stats.latencies.append(now - sent)

            return on_message

        for user in users:
            sock = socketio.AsyncClient(reconnection=False)
            sock.on("chat:message", on_message_for(user["id"]))
            await sock.connect(base, auth={"token": user["token"]}, transports=["websocket"], wait_timeout=10)
            socks.append(sock)

        cpu_before = cpu_seconds(server.pid)
        start = time.perf_counter() + 0.5
        # Spread the clients' phases over one interval, so sends are steady rather than in bursts.
        loops = [
            client_loop(
                sock,
                user["id"],
                conversation_of[user["id"]],
                stats,
                args.rate,
                args.duration,
                start + (i / args.clients) / args.rate,
            )
            for i, (sock, user) in enumerate(zip(socks, users, strict=False))
        ]
        await asyncio.gather(*loops)
        expected = stats.acked * (args.group - 1)
        drain_deadline = time.perf_counter() + args.drain
        while len(stats.latencies) < expected and time.perf_counter() < drain_deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - start
        cpu_after = cpu_seconds(server.pid)
    finally:
        for sock in socks:
            try:
                await sock.disconnect()
            except Exception:
                pass
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()

    ms = [v * 1000 for v in stats.latencies]
    ack_ms = [v * 1000 for v in stats.ack_latencies]
    print(
        f"clients={args.clients} group={args.group} rate={args.rate}/s per client duration={args.duration}s "
        f"(one server process, embedded store, embedded Redis)"
    )
    print(
        f"sent={stats.sent} acked={stats.acked} failed={stats.failed} "
        f"deliveries={len(ms)} of {expected} expected ({args.group - 1} recipients per message)"
    )
    print(f"messages stored per second:    {stats.acked / args.duration:10.1f}")
    print(f"messages delivered per second: {len(ms) / elapsed:10.1f}")
    print(
        f"send->deliver latency ms: p50={percentile(ms, 0.50):.1f} p99={percentile(ms, 0.99):.1f} "
        f"max={max(ms) if ms else float('nan'):.1f}"
    )
    print(f"send->ack latency ms:     p50={percentile(ack_ms, 0.50):.1f} p99={percentile(ack_ms, 0.99):.1f}")
    if cpu_before is not None and cpu_after is not None:
        print(f"server CPU: {100 * (cpu_after - cpu_before) / elapsed:.0f}% of one core during the run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100, help="socket clients (default 100)")
    parser.add_argument("--group", type=int, default=10, help="members per conversation (default 10)")
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second per client (default 1)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of sending (default 15)")
    parser.add_argument("--drain", type=float, default=10.0, help="seconds to wait for late deliveries (default 10)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
