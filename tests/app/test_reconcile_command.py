"""`python run.py reconcile`: through the running server when one answers, else on the store itself."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from config.settings import Settings
from server.runtime import open_context
from tests.processes import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]


def test_run_py_reconcile_help() -> None:
    out = subprocess.run(
        [sys.executable, "run.py", "reconcile", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: run.py reconcile [-h]")
    text = " ".join(out.stdout.split())  # argparse wraps lines
    assert "RECONCILE_INTERVAL_SECONDS" in text and "Runs through the running server when one answers" in text
    listed = subprocess.run([sys.executable, "run.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "reconcile" in listed.stdout


def start_server(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "run.py", "serve"], cwd=ROOT, env=env, stdout=out, stderr=out)


def reconcile_command(env: dict[str, str]) -> tuple[str, dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "run.py", "reconcile"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    first, _, rest = out.stdout.partition("\n")
    return first, json.loads(rest)


async def test_run_py_reconcile_through_the_server_then_directly(tmp_path: Path, redis_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATA_DIR": str(tmp_path),
        "REDIS_URL": redis_url,
        "MONGODB_DATABASE": f"test_{uuid.uuid4().hex[:12]}",
        "JWT_SECRET": "test-secret-" + uuid.uuid4().hex,
        "ADMIN_PASSWORD": "admin-password-1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "PASSWORD_HASH_TIME_COST": "1",
        "LOG_LEVEL": "WARNING",
    }
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items() if k in {"HOST", "DATA_DIR"}})
    settings = settings.model_copy(
        update={
            "redis_url": redis_url,
            "mongodb_url": os.environ.get("MONGODB_URL") or None,
            "mongodb_database": env["MONGODB_DATABASE"],
        }
    )
    # A class whose count drifted from its enrolments, written to the store before the server starts.
    ctx, close = await open_context(settings)
    now = datetime.now(UTC)
    await ctx.db["classes"].insert_one(
        {"_id": "class-1", "tutorId": "t", "studentIds": ["a", "b"], "enrolledCount": 5, "createdAt": now}
    )
    await close()

    log = tmp_path / "server.log"
    server = start_server(env, log)
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, f"http://127.0.0.1:{port}", server, log=log)
        said, report = await asyncio.to_thread(reconcile_command, env)
        assert said == f"Reconcile pass run through the running server at http://127.0.0.1:{port}: 1 repaired."
        assert report["repaired"] == {"classEnrolledCount": {"count": 1, "ids": ["class-1"]}}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    said, report = await asyncio.to_thread(reconcile_command, env)  # no server now: on the store itself
    assert (
        said == f"Reconcile pass run straight on the store (no server answered at http://127.0.0.1:{port}): 0 repaired."
    )
    assert (report["repairedTotal"], report["repaired"], report["complete"]) == (0, {}, True)
    ctx, close = await open_context(settings)
    try:
        assert (await ctx.db["classes"].find_one({"_id": "class-1"}))["enrolledCount"] == 2
        if settings.mongodb_url:
            await ctx.db.client.drop_database(settings.mongodb_database)
    finally:
        await close()
