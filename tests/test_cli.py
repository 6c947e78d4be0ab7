"""The command line as a newcomer meets it: `--help` of run.py and of each command, a bad setting
(one clear line, non-zero exit, no traceback), and `serve --host/--port`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.handlers.test_chat_processes import stop
from tests.processes import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("all", "serve", "worker", "scheduler", "seed")


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_lists_every_command_and_option() -> None:
    result = run("--help")
    assert result.returncode == 0 and result.stderr == ""
    for command in COMMANDS:
        assert f"    {command}" in result.stdout, command
    assert "--host" in result.stdout and "--port" in result.stdout and "/api/docs" in result.stdout
    for command in COMMANDS:
        sub = run(command, "--help")
        assert sub.returncode == 0, (command, sub.stderr)
        assert sub.stdout.startswith(f"usage: run.py {command}"), sub.stdout
        assert len(sub.stdout.splitlines()) >= 4, (command, sub.stdout)  # a description, not just usage
    assert "--port PORT" in run("serve", "--help").stdout and "--host HOST" in run("all", "--help").stdout


def test_a_bad_setting_is_one_clear_line() -> None:
    for env, name in (({"PORT": "abc"}, "PORT"), ({"DEFAULT_LOCALE": "fr"}, "DEFAULT_LOCALE")):
        result = run("serve", **env)
        assert result.returncode != 0, env
        assert result.stdout == "" and "Traceback" not in result.stderr, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"run.py: invalid setting {name}="), lines[0]
    log_level = run("worker", LOG_LEVEL="loud")
    assert log_level.returncode != 0 and "LOG_LEVEL='loud'" in log_level.stderr
    assert "Traceback" not in log_level.stderr
    bad_port = run("serve", "--port", "70000")
    assert bad_port.returncode == 2 and "--port 70000" in bad_port.stderr and "Traceback" not in bad_port.stderr


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "run.py", *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def test_serve_listens_where_host_and_port_say(tmp_path: Path, redis_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PORT": "1",  # overridden by --port
        "REDIS_URL": redis_url,
        "DATA_DIR": str(tmp_path),
        "JWT_SECRET": "cli-test-secret",
        "ADMIN_PASSWORD": "admin-password-1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "PASSWORD_HASH_TIME_COST": "1",
        "LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "server.log"
    process = start(["serve", "--host", "127.0.0.1", "--port", str(port)], env, log)
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, base, process, log=log)
            async with http.get(f"{base}/api/docs") as resp:
                assert resp.status == 200
            async with http.get(f"{base}/api/asyncapi.json") as resp:
                assert resp.status == 200 and "chat:message" in (await resp.json())["channels"]
    finally:
        stop(process)


def test_worker_and_scheduler_refuse_the_embedded_store() -> None:
    for command in ("worker", "scheduler"):
        result = run(command, MONGODB_URL="")
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().startswith(f"run.py: `python run.py {command}` needs MONGODB_URL"), result.stderr
