#!/usr/bin/env python3
"""Embedded-store benchmark: event-loop stalls and paged-list latency at 1k and 100k documents.

    .venv/bin/python -m bench.store                          # 1,000 and 100,000 documents, 10 s each
    .venv/bin/python -m bench.store --sizes 1000 300000 --duration 20 --rate 100

For each size the bench runs a real `python run.py serve` (embedded store, embedded Redis) in a
temporary DATA_DIR: it makes a reader's 200 records of each paged family through the REST API,
stops the server, grows every family to that many documents in the store's journal (bench/volume.py:
messages, notifications, assignments, sessions, forum posts; the rest other users', as a shared
collection grows), and starts the server again, which replays them (the start time is printed).
Then, for `--duration` seconds and all at once:
  - a writer sends chat messages over REST at a steady `--rate` per second (each send is several
    journaled writes: reservation, seq, numbering, lastMessage);
  - a prober requests /health every 10 ms: its worst latency is the longest the server's event
    loop was held (plus one HTTP round trip), its p99 the usual wait;
  - a reader pages through its lists, one family after the other, one request at a time (a random
    page of 20 among its 10; messages: `before` a random seq).
Targets (issues #12, #14): the longest stall under 50 ms at every size; each family's paged-list
p99 at the largest size within 2x of the smallest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench import volume
from bench.chat import cpu_seconds, free_port, percentile
from tests.processes import wait_healthy

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-123"
PROBE_INTERVAL = 0.01
STALL_TARGET_MS = 50.0


def start_server(data_dir: Path, port: int, secret: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATA_DIR": str(data_dir),
        "JWT_SECRET": secret,
        "ADMIN_PASSWORD": "bench-admin-password",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "PASSWORD_HASH_TIME_COST": "1",
        "LOG_LEVEL": "WARNING",
        "CHAT_RATE_LIMIT_MESSAGES": "100000",
    }
    for name in ("MONGODB_URL", "REDIS_URL", "EMBEDDED_INTERLEAVE_SEED"):
        env.pop(name, None)  # the bench measures the embedded defaults
    log = open(data_dir / "server.log", "ab")  # noqa: SIM115 - the child process owns it
    return subprocess.Popen(
        [sys.executable, "run.py", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


async def account(http: aiohttp.ClientSession, api: str, name: str) -> dict[str, Any]:
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD, "fullName": name, "role": "STUDENT"}
    async with http.post(f"{api}/auth/register", json=body) as resp:
        assert resp.status == 201, await resp.text()
    return await login(http, api, name)


async def login(http: aiohttp.ClientSession, api: str, name: str) -> dict[str, Any]:
    async with http.post(f"{api}/auth/login", json={"username": name, "password": PASSWORD}) as resp:
        assert resp.status == 200, await resp.text()
        data: dict[str, Any] = (await resp.json())["data"]
    return data


async def probe(http: aiohttp.ClientSession, base: str, until: float, out: list[float]) -> None:
    while time.perf_counter() < until:
        began = time.perf_counter()
        async with http.get(f"{base}/health") as resp:
            await resp.read()
        out.append(time.perf_counter() - began)
        await asyncio.sleep(max(0.0, PROBE_INTERVAL - (time.perf_counter() - began)))


async def write(http: aiohttp.ClientSession, url: str, token: str, rate: float, until: float, out: list[float]) -> None:
    pending: list[asyncio.Task[None]] = []
    headers = {"Authorization": f"Bearer {token}"}

    async def send(n: int) -> None:
        began = time.perf_counter()
        async with http.post(
            url, json={"body": f"message {n}", "clientMessageId": uuid.uuid4().hex}, headers=headers
        ) as resp:
            assert resp.status == 201, await resp.text()
        out.append(time.perf_counter() - began)

    start, n = time.perf_counter(), 0
    while (due := start + n / rate) < until:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        pending.append(asyncio.create_task(send(n)))
        n += 1
    await asyncio.gather(*pending)


async def read(
    http: aiohttp.ClientSession, api: str, lists: list[volume.Reader], until: float, out: dict[str, list[float]]
) -> None:
    while time.perf_counter() < until:
        for reader in lists:
            began = time.perf_counter()
            async with http.get(api + reader.url(), headers={"Authorization": f"Bearer {reader.token}"}) as resp:
                body = await resp.json()
            out[reader.family].append(time.perf_counter() - began)
            assert resp.status == 200 and reader.check(body), (reader.family, resp.status, body)
            await asyncio.sleep(0.002)


async def measure(size: int, args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="store-bench-"))
    port, secret = free_port(), uuid.uuid4().hex * 2
    base, api = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/api/v1"
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:
            server = start_server(data_dir, port, secret)
            try:
                await wait_healthy(http, base, server, 60, data_dir / "server.log")
                own = await volume.make_own(http, base)
                sender, peer = await account(http, api, "sender"), await account(http, api, "peer")
                headers = {"Authorization": f"Bearer {sender['accessToken']}"}
                async with http.post(
                    f"{api}/conversations", json={"participantIds": [peer["user"]["id"]]}, headers=headers
                ) as resp:
                    conversation = (await resp.json())["data"]["id"]
            finally:
                stop_server(server)
            volume.seed(data_dir, own, size)
            began = time.perf_counter()
            server = start_server(data_dir, port, secret)
            try:
                await wait_healthy(http, base, server, 600, data_dir / "server.log")
                started = time.perf_counter() - began
                sender = await login(http, api, "sender")
                readers = await volume.readers(http, base, own, size)
                health: list[float] = []
                writes: list[float] = []
                lists: dict[str, list[float]] = {r.family: [] for r in readers}
                cpu_before, wall = cpu_seconds(server.pid), time.perf_counter()
                until = time.perf_counter() + args.duration
                await asyncio.gather(
                    probe(http, base, until, health),
                    write(
                        http,
                        f"{api}/conversations/{conversation}/messages",
                        sender["accessToken"],
                        args.rate,
                        until,
                        writes,
                    ),
                    read(http, api, readers, until, lists),
                )
                cpu_after, wall = cpu_seconds(server.pid), time.perf_counter() - wall
            finally:
                stop_server(server)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    ms = 1000.0
    return {
        "documents": size,
        "start_s": started,
        "stall_ms": max(health) * ms,
        "health_p99_ms": percentile(health, 0.99) * ms,
        "list_p50_ms": percentile(every := [t for ts in lists.values() for t in ts], 0.50) * ms,
        "list_p99_ms": percentile(every, 0.99) * ms,
        "lists": len(every),
        "families": {f: (percentile(ts, 0.50) * ms, percentile(ts, 0.99) * ms, len(ts)) for f, ts in lists.items()},
        "writes_per_s": len(writes) / args.duration,
        "write_p50_ms": percentile(writes, 0.50) * ms,
        "write_p99_ms": percentile(writes, 0.99) * ms,
        "cpu_pct": 100 * (cpu_after - cpu_before) / wall
        if cpu_before is not None and cpu_after is not None
        else float("nan"),
    }


async def run(args: argparse.Namespace) -> None:
    rows = [await measure(size, args) for size in args.sizes]
    print(
        f"embedded store, one `run.py serve` process; {args.rate:g} chat sends/s and paging for {args.duration:g} s per size"
    )
    print(
        f"{'documents':>10} {'start s':>8} {'stall ms':>9} {'health p99':>11} {'list p50':>9} {'list p99':>9} "
        f"{'lists':>6} {'writes/s':>9} {'write p50':>10} {'write p99':>10} {'cpu %':>6}"
    )
    for r in rows:
        print(
            f"{r['documents']:>10,} {r['start_s']:>8.1f} {r['stall_ms']:>9.1f} {r['health_p99_ms']:>11.1f} "
            f"{r['list_p50_ms']:>9.1f} {r['list_p99_ms']:>9.1f} {r['lists']:>6} {r['writes_per_s']:>9.1f} "
            f"{r['write_p50_ms']:>10.1f} {r['write_p99_ms']:>10.1f} {r['cpu_pct']:>6.0f}"
        )
    print("\npaged lists, p50 / p99 ms (requests) at each size:")
    print(f"{'family':<14}" + "".join(f"{r['documents']:>24,}" for r in rows) + f"{'p99 ratio':>11}")
    ratios = []
    for family in rows[0]["families"]:
        cells = "".join(f"{'{:.1f} / {:.1f} ({})'.format(*r['families'][family]):>24}" for r in rows)
        ratio = rows[-1]["families"][family][1] / rows[0]["families"][family][1]
        ratios.append(ratio)
        print(f"{family:<14}{cells}{ratio:>10.2f}x")
    stall = max(r["stall_ms"] for r in rows)
    print(
        f"longest stall: {stall:.1f} ms (target < {STALL_TARGET_MS:.0f} ms): {'ok' if stall < STALL_TARGET_MS else 'MISSED'}"
    )
    print(
        f"list p99 at {rows[-1]['documents']:,} / at {rows[0]['documents']:,}, worst family: {max(ratios):.2f}x "
        f"(target <= 2x): {'ok' if max(ratios) <= 2 else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000], help="documents (default 1000 100000)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per size (default 10)")
    parser.add_argument("--rate", type=float, default=50.0, help="chat sends per second (default 50)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
