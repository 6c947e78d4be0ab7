"""Running real server processes from tests and benchmarks."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path

import aiohttp


def free_port() -> int:
    """A TCP port nothing listens on now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(
    http: aiohttp.ClientSession,
    base: str,
    process: subprocess.Popen[bytes],
    timeout: float = 30.0,
    log: Path | None = None,
) -> None:
    """Wait until the server at `base` answers /health; fail early if its process exits."""

    def failure(reason: str) -> RuntimeError:
        detail = log.read_text(errors="replace") if log and log.exists() else ""
        return RuntimeError(f"server at {base} {reason}" + (f":\n{detail}" if detail else ""))

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if process.poll() is not None:
            raise failure(f"exited with {process.returncode}")
        try:
            async with http.get(f"{base}/health") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise failure("did not start")
        await asyncio.sleep(0.1)
