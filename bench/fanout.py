#!/usr/bin/env python3
"""Fan-out ladder: the project's chat:send beside bare python-socketio and Node socket.io, in one run.

    .venv/bin/python -m bench.fanout            # the full ladder (about 10-20 minutes on 2 cores)
    .venv/bin/python -m bench.fanout --quick    # fewer, shorter steps (about 3 minutes)
    .venv/bin/python -m bench.fanout --contend cpu   # the same with a core taken by other work
    .venv/bin/python -m bench.fanout --profile 50 --profile-out /tmp/fanout-profile
                                                # py-spy on the project at one load (I = 50 ms)

Each server gets `--clients` (200) socket.io clients (the official Node client, bench/node/load.js)
in rooms/conversations of `--group` (10); every client sends every I ms for `--duration` seconds,
I shrinking step by step. A step holds when at least 97% of the expected deliveries (sent x group)
arrive and p99 <= 250 ms; after the ladder, `--refine` rounds (3) bisect each server's limit between
its last held and first missed step; a server's sustained figure is its best held step
(deliveries/s). Servers:

  project   `run.py serve` on embedded defaults (fresh DATA_DIR), driving its own `chat:send` with
            users and conversations made over REST (bench/setup_chat.py); the chat rate limit is
            raised for the run and password hashing made cheap. After every step, load.js checks
            from the ack data that every acked message reached every member in seq order, and this
            program checks over REST that each conversation's newest seq equals the messages acked.
  python    bench/ref_server.py: bare python-socketio + aiohttp with the same interpreter.
  node      bench/node/ref_server.js: bare Node socket.io (skipped when `node` is missing).

Then: the sustained deliveries/s of each and the ratios project/python and project/node, and one
more step on each server at one third of python-socketio's sustained load, with the p99s and
their ratios. One server at a time carries load (the others idle); all share the 2 cores with the
load generator, so compare figures only within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import contention
from bench.common import (
    NODE_DIR,
    Children,
    cpu_seconds,
    ensure_node_modules,
    exit_on_sigterm,
    last_json_line,
    machine,
    ratio,
    start_project,
    start_ref_node,
    start_ref_python,
    temp_dir,
)

FULL_INTERVALS = [2000, 1000, 700, 500, 350, 250, 180, 130, 100, 70, 50, 35, 25, 18, 13, 10]
QUICK_INTERVALS = [1000, 500, 250, 125, 60, 30, 15]
HOLD_RATIO = 0.97
HOLD_P99_MS = 250.0


@dataclass
class Server:
    name: str
    url: str
    pid: int
    auth: Path | None = None  # the project's auth.json
    tokens: dict[str, str] = field(default_factory=dict)  # conversationId -> a member's token
    acked_total: Counter[str] = field(default_factory=Counter)
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sustained(self) -> dict[str, Any] | None:
        held = [s for s in self.steps if s["held"]]
        return max(held, key=lambda s: s["delivered_per_s"]) if held else None


def run_step(node: str, server: Server, clients: int, group: int, interval: int, duration: float) -> dict[str, Any]:
    """One load.js run; the step's figures, whether it held, and the server's CPU share."""
    cmd = [node, str(NODE_DIR / "load.js"), server.url, str(clients), str(group), str(interval), str(duration)]
    if server.auth:
        cmd.append(str(server.auth))
    gen0, wall0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    window: dict[str, tuple[float, float]] = {}  # phase -> (server CPU seconds, time)
    proc = subprocess.Popen(cmd, cwd=NODE_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # load.js prints the phases of its sending window, then the result
            lines.append(line)
            if line.startswith('{"phase"'):
                window[json.loads(line)["phase"]] = (cpu_seconds(server.pid), time.perf_counter())
        stderr = proc.stderr.read() if proc.stderr else ""
        proc.wait(timeout=duration + 180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    gen1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter() - wall0
    if proc.returncode != 0:
        return {"interval_ms": interval, "error": (stderr or "".join(lines)).strip()[-500:], "held": False}
    r = last_json_line("".join(lines))
    expected = r["sent"] * group
    r["expected"] = expected
    r["delivered_ratio"] = r["delivered"] / expected if expected else 0.0
    r["held"] = bool(expected) and r["delivered_ratio"] >= HOLD_RATIO and (r["p99_ms"] or 1e9) <= HOLD_P99_MS
    # The server's CPU share over the sending window; the load generator's over its whole run
    # (connect + send + drain), so an underestimate of its share while sending.
    (c0, t0), (c1, t1) = window.get("sending", (0.0, 0.0)), window.get("stopped", (0.0, 1.0))
    r["server_cpu"] = (c1 - c0) / (t1 - t0) if t1 > t0 else float("nan")
    r["loadgen_cpu"] = (gen1.ru_utime + gen1.ru_stime - gen0.ru_utime - gen0.ru_stime) / wall
    if server.auth:
        for conv, n in r.get("acked_by_conv", {}).items():
            server.acked_total[conv] += n
        r["history_mismatch"] = check_history(server)
    return r


def check_history(server: Server) -> list[str]:
    """Over REST: each conversation's newest message has seq == every message acked in it so far
    (seqs are gapless, so the history holds exactly the acked messages)."""
    bad = []
    for conv, token in server.tokens.items():
        req = urllib.request.Request(
            f"{server.url}/api/v1/conversations/{conv}/messages?limit=1", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            items = json.load(resp)["data"]
        newest = items[0]["seq"] if items else 0
        if newest != server.acked_total[conv]:
            bad.append(f"{conv}: newest seq {newest}, acked {server.acked_total[conv]}")
    return bad


def fmt_step(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"  I={r['interval_ms']:>5} ms  ERROR {r['error']}"
    line = (
        f"  I={r['interval_ms']:>5} ms  sends/s {r['sent_per_s']:>6}  deliveries/s {r['delivered_per_s']:>7}"
        f"  ({100 * r['delivered_ratio']:5.1f}%)  p50 {r['p50_ms'] if r['p50_ms'] is not None else '-':>7}"
        f"  p99 {r['p99_ms'] if r['p99_ms'] is not None else '-':>8}  {'HELD' if r['held'] else 'no  '}"
        f"  cpu server {100 * r['server_cpu']:3.0f}% loadgen {100 * r['loadgen_cpu']:3.0f}%"
    )
    if "order_violations" in r:
        problems = []
        if r.get("ack_failed"):
            problems.append(f"ack failures {r['ack_failed']} {r.get('ack_errors')}")
        if r.get("unanswered"):
            problems.append(f"unanswered {r['unanswered']}")
        for key in ("order_violations", "missing_deliveries", "duplicates"):
            if r.get(key):
                problems.append(f"{key} {r[key]}")
        if r.get("history_mismatch"):
            problems.append(f"history mismatch in {len(r['history_mismatch'])} conversations")
        line += "  check: " + ("; ".join(problems) if problems else "ok (in order, all acked delivered, REST agrees)")
    return line


def ladders(node: str, servers: list[Server], intervals: list[int], args: argparse.Namespace, stop_after: int) -> None:
    """The servers' ladders interleaved (at each interval, each server still climbing takes its step),
    so that the machine's slow drifts (other work on shared cores) fall on all of them alike."""
    print(f"\n{args.clients} clients, groups of {args.group}, {args.duration:g} s per step", flush=True)
    misses = dict.fromkeys((s.name for s in servers), 0)
    for interval in intervals:
        climbing = [s for s in servers if misses[s.name] < stop_after]
        if not climbing:
            break
        for server in climbing:
            r = run_step(node, server, args.clients, args.group, interval, args.duration)
            server.steps.append(r)
            print(f"  {server.name:16}" + fmt_step(r), flush=True)
            misses[server.name] = 0 if r["held"] else misses[server.name] + 1
            time.sleep(1)


def refine(node: str, servers: list[Server], rounds: int, args: argparse.Namespace) -> None:
    """Bisect each server's limit between its best held interval and the next one it missed
    (geometric midpoints, `rounds` times, the servers' steps interleaved): a ladder's coarse steps
    can make two servers look equal (both held I=250 and missed I=125) when one holds far more."""
    if rounds <= 0:
        return
    bounds: dict[str, tuple[int, int]] = {}
    for server in servers:
        best = server.sustained
        missed = [s["interval_ms"] for s in server.steps if not s["held"]]
        if best is None or not any(i < best["interval_ms"] for i in missed):
            continue  # nothing held, or it never missed: no bracket to narrow
        bounds[server.name] = (best["interval_ms"], max(i for i in missed if i < best["interval_ms"]))
    if bounds:
        print(f"\nrefining between the last held and the first missed interval ({rounds} rounds)", flush=True)
    for _ in range(rounds):
        for server in servers:
            if server.name not in bounds:
                continue
            held, missed = bounds[server.name]
            interval = round((held * missed) ** 0.5)
            if interval in (held, missed):
                continue
            r = run_step(node, server, args.clients, args.group, interval, args.duration)
            server.steps.append(r)
            print(f"  {server.name:16}" + fmt_step(r), flush=True)
            bounds[server.name] = (interval, missed) if r["held"] else (held, interval)
            time.sleep(1)


def prepare_project(children: Children, data_dir: Path, args: argparse.Namespace) -> Server:
    from bench.setup_chat import main as setup_chat

    proc, base = start_project(children, data_dir)
    auth = data_dir / "auth.json"
    t0 = time.perf_counter()
    asyncio.run(setup_chat(base, args.clients, args.group, str(auth)))
    entries = json.loads(auth.read_text())
    print(
        f"project: {args.clients} users and {args.clients // args.group} conversations in "
        f"{time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    tokens = {e["conversationId"]: e["token"] for e in entries}
    return Server("project", base, proc.pid, auth=auth, tokens=tokens)


def profile(node: str, args: argparse.Namespace) -> None:
    """One project step at --profile ms with py-spy recording the server."""
    from bench.pyspy import record_and_summarize

    with temp_dir("fanout-profile-") as tmp, Children() as children:
        server = prepare_project(children, tmp, args)
        loader = subprocess.Popen(
            [node, str(NODE_DIR / "load.js"), server.url, str(args.clients), str(args.group), str(args.profile),
             str(args.duration), str(server.auth)],
            cwd=NODE_DIR, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            time.sleep(3)  # connects, then sends
            record_and_summarize(server.pid, max(5, int(args.duration) - 6), args.profile_out)
            out, _ = loader.communicate(timeout=args.duration + 120)
        finally:
            if loader.poll() is None:
                loader.kill()
        r = last_json_line(out)
        expected = r["sent"] * args.group
        print(
            f"step under the profiler: I={args.profile} ms sends/s {r['sent_per_s']} deliveries/s "
            f"{r['delivered_per_s']} ({100 * r['delivered'] / max(1, expected):.1f}%) p50 {r['p50_ms']} p99 {r['p99_ms']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter steps (5 s; stop at the first miss)")
    parser.add_argument("--clients", type=int, default=200, help="socket clients (default 200)")
    parser.add_argument("--group", type=int, default=10, help="clients per room/conversation (default 10)")
    parser.add_argument("--duration", type=float, help="seconds per step (default 20; --quick 5)")
    parser.add_argument("--intervals", help="comma-separated send intervals in ms, largest first")
    parser.add_argument("--stop-after", type=int, help="misses in a row that end a ladder (default 2; --quick 1)")
    parser.add_argument(
        "--servers", default="project,python,node", help="which of project,python,node (default: all three)"
    )
    parser.add_argument(
        "--refine", type=int, help="bisection rounds between each server's last held and first missed step (default 3)"
    )
    parser.add_argument(
        "--contend",
        metavar="KINDS",
        help=f"other work running through the whole run, comma-separated: {', '.join(contention.KINDS)} "
        "(bench/contention.py; default none)",
    )
    parser.add_argument("--no-third", action="store_true", help="skip the steps at 1/3 of python-socketio's load")
    parser.add_argument("--profile", type=int, metavar="MS", help="only: py-spy on the project at this interval")
    parser.add_argument("--profile-out", default="/tmp/fanout-profile", help="py-spy output prefix (with --profile)")
    args = parser.parse_args()
    if args.clients % args.group:
        parser.error("--clients must be a multiple of --group")
    args.duration = args.duration or (5.0 if args.quick else 20.0)
    intervals = (
        [int(x) for x in args.intervals.split(",")]
        if args.intervals
        else QUICK_INTERVALS
        if args.quick
        else FULL_INTERVALS
    )
    stop_after = args.stop_after or (1 if args.quick else 2)
    wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
    try:
        contend = contention.parse(args.contend)
    except ValueError as error:
        parser.error(str(error))

    exit_on_sigterm()
    node = ensure_node_modules(required=True)
    assert node is not None
    os.environ.setdefault("LOAD_DRAIN_S", "10")
    if args.profile:
        profile(node, args)
        return

    loaded = f"; contended by {', '.join(contend)} (bench/contention.py)" if contend else ""
    print(f"machine: {machine()}{loaded}")
    servers: dict[str, Server] = {}
    with temp_dir("fanout-") as tmp, Children() as children:
        contention.start(children, contend, tmp)
        if "project" in wanted:
            (tmp / "project").mkdir()
            servers["project"] = prepare_project(children, tmp / "project", args)
        if "python" in wanted:
            proc, url = start_ref_python(children, tmp / "ref_python.log")
            servers["python"] = Server("python-socketio", url, proc.pid)
        if "node" in wanted:
            proc, url = start_ref_node(children, node, tmp / "ref_node.log")
            servers["node"] = Server("node socket.io", url, proc.pid)

        ladders(node, list(servers.values()), intervals, args, stop_after)
        refine(node, list(servers.values()), args.refine if args.refine is not None else 3, args)

        third: dict[str, dict[str, Any]] = {}
        ref = servers.get("python")
        ref_best = ref.sustained if ref else None
        if ref_best and not args.no_third:
            load = ref_best["delivered_per_s"] / 3
            interval = max(1, round(1000 * args.clients * args.group / load))
            print(f"\n[one third of python-socketio's sustained load: {load:,.0f} deliveries/s -> I={interval} ms]")
            for key, server in servers.items():
                third[key] = run_step(node, server, args.clients, args.group, interval, args.duration)
                print(f"  {server.name:16}" + fmt_step(third[key]), flush=True)

    print("\n== summary ==")
    for server in servers.values():
        print(f"{server.name}:")
        for r in server.steps:
            print(fmt_step(r))
    print(f"machine: {machine()}{loaded}; {args.clients} clients, groups of {args.group}, {args.duration:g} s per step")
    sustained = {k: (s.sustained or {}).get("delivered_per_s") for k, s in servers.items()}
    for server in servers.values():
        best = server.sustained
        if best:
            print(
                f"sustained {server.name:16} {best['delivered_per_s']:>8,} deliveries/s "
                f"(I={best['interval_ms']} ms, p50 {best['p50_ms']} ms, p99 {best['p99_ms']} ms)"
            )
        else:
            print(f"sustained {server.name:16} no step held")
    if "project" in servers:
        if "python" in servers:
            print(f"ratio project/python-socketio (sustained): {ratio(sustained['project'], sustained.get('python'))}")
        if "node" in servers:
            print(f"ratio project/node socket.io (sustained):  {ratio(sustained['project'], sustained.get('node'))}")
    if third:
        p99 = {k: r.get("p99_ms") for k, r in third.items()}
        print(
            "p99 at 1/3 of python-socketio's sustained load: "
            + ", ".join(f"{servers[k].name} {v} ms" for k, v in p99.items())
        )
        if "project" in p99:
            for k in ("python", "node"):
                if k in p99:
                    print(f"ratio p99 project/{servers[k].name} at that load: {ratio(p99['project'], p99[k])}")
    if "project" in servers:
        checks = [
            s
            for s in servers["project"].steps + ([third["project"]] if "project" in third else [])
            if "order_violations" in s
        ]
        bad = [
            s
            for s in checks
            if s.get("order_violations")
            or s.get("missing_deliveries")
            or s.get("duplicates")
            or s.get("history_mismatch")
            or s.get("ack_failed")
            or s.get("unanswered")
        ]
        print(
            f"project delivery check: {len(checks) - len(bad)} of {len(checks)} steps clean "
            f"(every acked message delivered to every member, in seq order; REST history agrees)"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
