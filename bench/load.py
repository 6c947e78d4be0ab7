#!/usr/bin/env python3
"""Mixed load (TC-INT-015 "Performance Under Load"): REST reads and writes of every area plus
connected Socket.IO users, against one `run.py` process (HTTP, Socket.IO, worker and scheduler).

    .venv/bin/python -m bench.load                    # 60 s, 100 REST requests/s, 500 socket users
    .venv/bin/python -m bench.load --quick            # 15 s
    .venv/bin/python -m bench.load --rps 0            # closed loop: as fast as --concurrency allows

Set-up over REST (not measured): tutors with profiles and classes, students, customers, employees
and bookings with assignments, and `--sockets` users in conversations of 10. Then, for
`--duration` seconds, at once:
  - REST: a separate load process (`--workers` of them) sends requests at `--rps` in all (open
    loop: a request is started on schedule whether or not earlier ones have answered), each drawn
    from ROUTES by weight; a route answering 404 when probed is skipped (areas not built yet);
  - sockets: all `--sockets` users connected (bench/node/idle.js), of whom `--chatters` send
    `chat:send` every `--chat-interval` ms (bench/node/load.js, which checks delivery and order);
  - a /health probe every 20 ms from this process: the event loop's stall is its worst latency.
Reports requests/s and p50/p99 per route family, errors (a 5xx, an unexpected status or a failed
request), the socket chat's deliveries and latency, and the stall (target: max < 50 ms).

Extend the mix by appending a `Route` to ROUTES (its `make` builds the request from the world).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import random
import resource
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    ADMIN_PASSWORD,
    NODE_DIR,
    ROOT,
    Children,
    cpu_seconds,
    ensure_node_modules,
    exit_on_sigterm,
    last_json_line,
    machine,
    start_project,
    temp_dir,
)

PASSWORD = "bench-password-123"
SUBJECTS = ["Math", "Physics", "Chemistry", "English", "Literature"]
HEALTH_EVERY = 0.020
STALL_TARGET_MS = 50.0

# ------------------------------------------------------------------------------------ the mix

World = dict[str, Any]  # what set-up made: users by role, ids (see build_world)
Request = tuple[str, str, dict[str, Any] | None, dict[str, Any] | None, str | None]  # method, path, json, params, token


@dataclass
class Route:
    name: str
    family: str
    weight: float
    make: Callable[[World, random.Random], Request]
    ok: tuple[int, ...] = (200,)  # statuses that are not errors


_seq = itertools.count()


def _future(rng: random.Random, days: int = 300) -> str:
    """A start time on a random future quarter hour (bookings collide rarely; a 409 is expected)."""
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    start = base + timedelta(minutes=15 * rng.randrange(days * 24 * 4))
    return start.isoformat().replace("+00:00", "Z")


def _pick(world: World, role: str, rng: random.Random) -> dict[str, Any]:
    return rng.choice(world[role])


def _register(w: World, r: random.Random) -> Request:
    name = f"load{uuid.uuid4().hex[:12]}"
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD, "fullName": "Load User",
            "role": "STUDENT"}  # fmt: skip
    return "POST", "/auth/register", body, None, None


def _login(w: World, r: random.Random) -> Request:
    u = _pick(w, r.choice(["tutors", "customers", "employees"]), r)  # made with PASSWORD (students were not)
    return "POST", "/auth/login", {"username": u["username"], "password": PASSWORD}, None, None


def _as(role: str, method: str, path: str | Callable[[World, dict[str, Any], random.Random], str], **kw: Any):
    """A request by a random user of `role`; `path` may use the user (own ids) and the world."""
    body, params = kw.get("body"), kw.get("params")

    def make(w: World, r: random.Random) -> Request:
        u = _pick(w, role, r)
        p = path(w, u, r) if callable(path) else path
        b = body(w, u, r) if callable(body) else body
        q = params(w, u, r) if callable(params) else params
        return method, p, b, q, u["token"]

    return make


ROUTES: list[Route] = [
    # accounts
    Route("POST /auth/login", "accounts", 2, _login),
    Route("GET /auth/me", "accounts", 3, _as("students", "GET", "/auth/me")),
    Route("POST /auth/register", "accounts", 0.5, _register, ok=(201,)),
    # tutors
    Route("GET /tutors?subject", "tutors", 3, _as("students", "GET", "/tutors",
          params=lambda w, u, r: {"subject": r.choice(SUBJECTS)})),
    Route("GET /tutors?q&sort", "tutors", 2, _as("students", "GET", "/tutors",
          params=lambda w, u, r: {"q": "Tutor", "sort": "rating,desc", "size": 20})),
    Route("GET /tutors/{id}", "tutors", 2, _as("students", "GET",
          lambda w, u, r: f"/tutors/{r.choice(w['tutors'])['id']}")),
    # sessions
    Route("POST /sessions (book)", "sessions", 2, _as("students", "POST", "/sessions",
          body=lambda w, u, r: {"tutorId": r.choice(w["tutors"])["id"], "subject": "Math",
                                "startTime": _future(r), "durationMinutes": 60}), ok=(201, 409)),
    Route("GET /sessions", "sessions", 3, _as("students", "GET", "/sessions")),
    Route("GET /sessions (tutor)", "sessions", 1, _as("tutors", "GET", "/sessions", params={"status": "PENDING"})),
    Route("GET /cancel-requests", "sessions", 1, _as("students", "GET", "/cancel-requests")),
    # classes
    Route("GET /classes", "classes", 3, _as("students", "GET", "/classes",
          params=lambda w, u, r: {"subject": r.choice(SUBJECTS)})),
    Route("GET /classes/{id}", "classes", 2, _as("students", "GET",
          lambda w, u, r: f"/classes/{r.choice(w['classes'])}")),
    Route("POST /classes/{id}/enroll", "classes", 1, _as("students", "POST",
          lambda w, u, r: f"/classes/{r.choice(w['classes'])}/enroll"), ok=(201, 409)),
    # home services
    Route("GET /employee/{id}/assignments", "assignments", 2, _as("employees", "GET",
          lambda w, u, r: f"/employee/{u['employeeId']}/assignments")),
    Route("GET /customer/bookings", "assignments", 2, _as("customers", "GET", "/customer/bookings")),
    # chat over REST
    Route("POST /conversations/{id}/messages", "chat", 3, _as("students", "POST",
          lambda w, u, r: f"/conversations/{u['conversationId']}/messages",
          body=lambda w, u, r: {"body": "rest load", "clientMessageId": f"rest-{uuid.uuid4().hex}"}), ok=(201,)),
    Route("GET /conversations/{id}/messages", "chat", 3, _as("students", "GET",
          lambda w, u, r: f"/conversations/{u['conversationId']}/messages", params={"limit": 50})),
    Route("GET /conversations", "chat", 2, _as("students", "GET", "/conversations")),
    # notifications and presence
    Route("GET /notifications", "notifications", 3, _as("tutors", "GET", "/notifications")),
    Route("GET /notifications/unread-count", "notifications", 2, _as("students", "GET", "/notifications/unread-count")),
    Route("GET /presence", "presence", 2, _as("students", "GET", "/presence",
          params=lambda w, u, r: {"userIds": ",".join(x["id"] for x in r.sample(w["students"], 10))})),
    # areas other engineers are building: skipped while they answer 404
    Route("GET /forum/posts", "forum", 2, _as("students", "GET", "/forum/posts")),
    Route("POST /forum/posts", "forum", 1, _as("students", "POST", "/forum/posts",
          body={"title": "Load test post", "body": "Hello from the load", "tags": ["load"]}), ok=(201,)),
    Route("GET /approvals", "approvals", 1, _as("tutors", "GET", "/approvals")),
    Route("POST /approvals", "approvals", 0.5, _as("tutors", "POST", "/approvals",
          body={"type": "ROOM", "title": "Room for a class", "details": "load test"}), ok=(201,)),
    Route("GET /sessions/{id}/materials", "materials", 1, _as("tutors", "GET",
          lambda w, u, r: f"/sessions/{w['group_sessions'][u['id']]}/materials")),
    Route("GET /sessions/{id}/homework", "homework", 1, _as("tutors", "GET",
          lambda w, u, r: f"/sessions/{w['group_sessions'][u['id']]}/homework")),
]  # fmt: skip


# ---------------------------------------------------------------------------------- set-up (REST)


class Setup:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.api = http, base + "/api/v1"

    async def call(self, method: str, path: str, body: Any = None, token: str | None = None, ok=(200, 201)) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(method, self.api + path, json=body, headers=headers) as resp:
            payload = await resp.json(content_type=None)
            if resp.status not in ok:
                raise RuntimeError(f"set-up {method} {path}: {resp.status} {payload}")
            return payload.get("data")

    async def login(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        data = await self.call("POST", "/auth/login", {"username": username, "password": password})
        return {**data["user"], "token": data["accessToken"], "refreshToken": data["refreshToken"]}

    async def user(self, role: str, n: int, run: str, admin_token: str | None = None) -> dict[str, Any]:
        name = f"{role.lower()}{run}{n}"
        body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD,
                "fullName": f"{role.title()} Tutor {n}" if role == "TUTOR" else f"{role.title()} {n}", "role": role}  # fmt: skip
        if role in ("STUDENT", "TUTOR", "CUSTOMER"):
            await self.call("POST", "/auth/register", body, ok=(201,))
        else:
            await self.call("POST", "/admin/users", body, token=admin_token, ok=(201,))
        return await self.login(name)


async def build_world(base: str, auth: list[dict[str, Any]], args: argparse.Namespace) -> World:
    """Users of every role and the records the routes read; students are the socket users."""
    run = uuid.uuid4().hex[:5]
    async with aiohttp.ClientSession() as http:
        s = Setup(http, base)
        admin = await s.login("admin", ADMIN_PASSWORD)
        sem = asyncio.Semaphore(8)

        async def limited(coro):
            async with sem:
                return await coro

        tutors = await asyncio.gather(*(limited(s.user("TUTOR", i, run)) for i in range(args.tutors)))
        customers = await asyncio.gather(*(limited(s.user("CUSTOMER", i, run)) for i in range(5)))
        employees = await asyncio.gather(*(limited(s.user("EMPLOYEE", i, run, admin["token"])) for i in range(5)))
        classes, group_sessions = [], {}
        today = date.today()
        for i, t in enumerate(tutors):
            subjects = [SUBJECTS[i % len(SUBJECTS)], SUBJECTS[(i + 1) % len(SUBJECTS)]]
            await s.call("PUT", "/tutors/me", {"subjects": subjects, "bio": "Load tutor", "hourlyRate": 150000 + i},
                         token=t["token"])  # fmt: skip
            c = await s.call("POST", "/classes", {
                "title": f"Class {i}", "subject": subjects[0], "capacity": 500,
                "startDate": (today + timedelta(days=1)).isoformat(), "endDate": (today + timedelta(days=60)).isoformat(),
                "schedule": [{"dayOfWeek": 1 + i % 7, "startTime": f"{8 + i % 10:02d}:00", "durationMinutes": 90}],
            }, token=t["token"], ok=(201,))  # fmt: skip
            classes.append(c["id"])
            g = await s.call("POST", "/sessions", {
                "subject": subjects[0], "title": f"Group {i}", "capacity": 50, "durationMinutes": 60,
                "startTime": (datetime.now(UTC) + timedelta(days=300 - i)).replace(microsecond=0).isoformat()
                .replace("+00:00", "Z")}, token=t["token"], ok=(201,))  # fmt: skip
            group_sessions[t["id"]] = g["id"]
        for i in range(20):  # bookings with assignments: what the customers' and employees' lists show
            cust, emp = customers[i % len(customers)], employees[i % len(employees)]
            b = await s.call("POST", "/admin/bookings", {
                "customerId": cust["id"], "serviceName": "Tổng vệ sinh", "serviceAddress": "1 Lê Lợi, Q1",
                "bookingTime": (datetime.now(UTC) + timedelta(days=3, hours=i)).isoformat(),
                "estimatedDurationHours": 2, "pricePerUnit": 100000, "quantity": 1,
            }, token=admin["token"], ok=(201,))  # fmt: skip
            await s.call("POST", f"/admin/bookings/{b['id']}/assignments", {"employeeId": emp["employeeId"]},
                         token=admin["token"], ok=(201,))  # fmt: skip
        # REST students: socket users after the chatters (idle sockets; their conversations get REST chat).
        students = []
        for entry in auth[args.chatters : args.chatters + args.rest_users]:
            me = await s.call("GET", "/auth/me", token=entry["token"])
            students.append({**me, "token": entry["token"], "conversationId": entry["conversationId"]})
    return {
        "students": students,
        "tutors": tutors,
        "customers": customers,
        "employees": employees,
        "admin": admin,
        "classes": classes,
        "group_sessions": group_sessions,
    }


# ------------------------------------------------------------------------------- the load process


async def load_process(spec: dict[str, Any]) -> dict[str, Any]:
    """Run in a child process: send the mix at spec['rps'] (open loop) for spec['duration'] s."""
    world, base, routes = spec["world"], spec["base"] + "/api/v1", [r for r in ROUTES if r.name in spec["routes"]]
    rng = random.Random(spec["seed"])
    weights = [r.weight for r in routes]
    results: dict[str, dict[str, Any]] = defaultdict(lambda: {"lat": [], "status": defaultdict(int), "errors": 0})
    error_samples: list[str] = []
    inflight = 0
    dropped = 0
    connector = aiohttp.TCPConnector(limit=spec["concurrency"])
    timeout = aiohttp.ClientTimeout(total=30)

    async def one(http: aiohttp.ClientSession, route: Route) -> None:
        nonlocal inflight
        method, path, body, params, token = route.make(world, rng)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        res = results[route.name]
        t0 = time.perf_counter()
        try:
            async with http.request(method, base + path, json=body, params=params, headers=headers) as resp:
                await resp.read()
                status = resp.status
        except Exception as exc:
            status = 0
            if len(error_samples) < 20:
                error_samples.append(f"{route.name}: {type(exc).__name__} {exc}")
        finally:
            inflight -= 1
        res["lat"].append((time.perf_counter() - t0) * 1000)
        res["status"][status] += 1
        if status not in route.ok:
            res["errors"] += 1
            if len(error_samples) < 20 and status:
                error_samples.append(f"{route.name}: {status}")

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        tasks: set[asyncio.Task[None]] = set()
        start = time.perf_counter()
        end = start + spec["duration"]
        k = 0
        rps, concurrency = spec["rps"], spec["concurrency"]
        slots = asyncio.Semaphore(concurrency)  # closed loop: this many in flight
        while time.perf_counter() < end:
            if rps:
                due = start + k / rps
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if inflight >= concurrency * 4:
                    dropped += 1  # the server is far behind: do not pile up without bound
                    k += 1
                    continue
            else:
                await slots.acquire()
            route = rng.choices(routes, weights)[0]
            inflight += 1
            task = asyncio.create_task(one(http, route))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if not rps:
                task.add_done_callback(lambda _: slots.release())
            k += 1
        elapsed = time.perf_counter() - start
        if tasks:
            await asyncio.wait(tasks, timeout=35)
    return {"elapsed": elapsed, "dropped": dropped, "errors": error_samples,
            "routes": {k: {**v, "status": dict(v["status"])} for k, v in results.items()}}  # fmt: skip


def load_main(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    Path(out_path).write_text(json.dumps(asyncio.run(load_process(spec))))


# ------------------------------------------------------------------------------------ the driver


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def probe_routes(base: str, world: World) -> tuple[list[str], list[str]]:
    """Each route once: those answering 404 (not built yet) are skipped."""
    rng = random.Random(1)
    keep, skipped = [], []
    async with aiohttp.ClientSession() as http:
        for route in ROUTES:
            try:
                method, path, body, params, token = route.make(world, rng)
            except (KeyError, IndexError):
                skipped.append(f"{route.name} (no data for it)")
                continue
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.request(method, base + "/api/v1" + path, json=body, params=params, headers=headers) as r:
                await r.read()
                if r.status == 404:
                    skipped.append(f"{route.name} (404)")
                else:
                    keep.append(route.name)
    return keep, skipped


async def health_probe(base: str, stop: asyncio.Event) -> list[float]:
    """GET /health every 20 ms (the next one starts 20 ms after the last answered); latencies in ms."""
    lat = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                async with http.get(base + "/health") as resp:
                    await resp.read()
            except aiohttp.ClientError:
                pass
            lat.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(HEALTH_EVERY)
    return lat


async def gc_figures(base: str) -> dict[str, float]:
    """The server's collector figures from /metrics (server/collector.py): pause counts and sums by
    generation and by histogram bucket, frozen objects, thaws."""
    async with aiohttp.ClientSession() as http, http.get(base + "/metrics") as resp:
        text = await resp.text()
    figures: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(("gc_pause_seconds_", "gc_frozen_objects ", "gc_thaws ")):
            name, _, value = line.rpartition(" ")
            figures[name] = float(value)
    return figures


def gc_report(before: dict[str, float], after: dict[str, float]) -> str:
    """Collections during the load by generation: how many, their total, and the bucket bounding the longest."""
    parts = []
    for gen in ("0", "1", "2"):

        def delta(name: str) -> float:
            return after.get(name, 0.0) - before.get(name, 0.0)

        count = delta(f'gc_pause_seconds_count{{generation="{gen}"}}')
        if not count:
            parts.append(f"gen{gen} 0")
            continue
        bounds = sorted(
            float(k.split('le="')[1].rstrip('"}')) for k in after
            if k.startswith("gc_pause_seconds_bucket") and f'generation="{gen}"' in k and "+Inf" not in k
        )  # fmt: skip
        longest = next(
            (b for b in bounds if delta(f'gc_pause_seconds_bucket{{generation="{gen}",le="{b}"}}') >= count), None
        )
        bound = f"<= {longest * 1000:g} ms" if longest is not None else f"> {bounds[-1] * 1000:g} ms"
        total_ms = delta(f'gc_pause_seconds_sum{{generation="{gen}"}}') * 1000
        parts.append(f"gen{gen} {count:.0f} ({total_ms:.0f} ms in all, longest {bound})")
    frozen, thaws = after.get("gc_frozen_objects"), after.get("gc_thaws", 0.0) - before.get("gc_thaws", 0.0)
    return ", ".join(parts) + (f"; frozen objects {frozen:,.0f}, thaws {thaws:.0f}" if frozen is not None else "")


async def run(args: argparse.Namespace, children: Children, tmp: Path, node: str) -> None:
    from bench.setup_chat import main as setup_chat

    # Login throttling is raised like the chat rate limit: on this branch it counts successful logins
    # too (10 per account per 5 min), which a load of repeated logins by 30 accounts would hit.
    proc, base = start_project(children, tmp, command="all", LOGIN_ATTEMPTS_PER_WINDOW="1000000")
    t0 = time.perf_counter()
    await setup_chat(base, args.sockets, 10, str(tmp / "auth.json"))
    auth = json.loads((tmp / "auth.json").read_text())
    world = await build_world(base, auth, args)
    keep, skipped = await probe_routes(base, world)
    print(f"set-up: {args.sockets} socket users, {len(world['tutors'])} tutors with classes, 5 customers, "
          f"5 employees, 20 bookings in {time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
    print(f"routes in the mix: {len(keep)}; skipped: {', '.join(skipped) if skipped else 'none'}", flush=True)

    # Sockets: the chatters (load.js: chat:send with delivery/order checks) and the idle rest.
    chat_auth, idle_auth = tmp / "chat-auth.json", tmp / "idle-auth.json"
    chat_auth.write_text(json.dumps(auth[: args.chatters]))
    idle_auth.write_text(json.dumps(auth[args.chatters :]))
    idle = None
    if args.sockets > args.chatters:
        idle = children.spawn([node, str(NODE_DIR / "idle.js"), base, str(args.sockets - args.chatters), "3600",
                               str(idle_auth)], cwd=NODE_DIR, stdout=subprocess.PIPE)  # fmt: skip
        assert idle.stdout is not None
        line = await asyncio.to_thread(idle.stdout.readline)
        if b"connected" not in line:
            raise RuntimeError(f"idle.js: {line!r}")
    chat = children.spawn([node, str(NODE_DIR / "load.js"), base, str(args.chatters), "10", str(args.chat_interval),
                           str(args.duration), str(chat_auth)], cwd=NODE_DIR, stdout=subprocess.PIPE)  # fmt: skip
    assert chat.stdout is not None
    while True:  # load.js connects its clients, then says it is sending
        line = await asyncio.to_thread(chat.stdout.readline)
        if not line or b'"sending"' in line:
            break

    spec_paths, outs, workers = [], [], []
    per = args.rps / args.workers if args.rps else 0
    for k in range(args.workers):
        spec = {"world": world, "base": base, "routes": keep, "rps": per, "duration": args.duration,
                "concurrency": args.concurrency, "seed": k}  # fmt: skip
        spec_paths.append(tmp / f"load-spec-{k}.json")
        outs.append(tmp / f"load-out-{k}.json")
        spec_paths[-1].write_text(json.dumps(spec))
        workers.append(children.spawn([sys.executable, "-m", "bench.load", "--load-process", str(spec_paths[-1]),
                                       str(outs[-1])], cwd=ROOT))  # fmt: skip
    gc0 = await gc_figures(base)
    cpu0, wall0 = cpu_seconds(proc.pid), time.perf_counter()
    gen0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    stop = asyncio.Event()
    probe = asyncio.create_task(health_probe(base, stop))
    for w in workers:
        await asyncio.to_thread(w.wait, args.duration + 120)
    stop.set()
    health = await probe
    gc1 = await gc_figures(base)
    wall = time.perf_counter() - wall0
    server_cpu = (cpu_seconds(proc.pid) - cpu0) / wall
    gen1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the REST load processes (waited for above)
    loadgen_cpu = (gen1.ru_utime + gen1.ru_stime - gen0.ru_utime - gen0.ru_stime) / wall
    chat_out, _ = await asyncio.to_thread(chat.communicate, None, 120)
    if idle is not None:
        children.stop(idle)

    # ------------------------------------------------------------------------ report
    merged: dict[str, dict[str, Any]] = {}
    elapsed, dropped, samples = 0.0, 0, []
    for out in outs:
        data = json.loads(out.read_text())
        elapsed = max(elapsed, data["elapsed"])
        dropped += data["dropped"]
        samples += data["errors"]
        for name, res in data["routes"].items():
            m = merged.setdefault(name, {"lat": [], "status": defaultdict(int), "errors": 0})
            m["lat"] += res["lat"]
            m["errors"] += res["errors"]
            for st, n in res["status"].items():
                m["status"][st] += n
    family_of = {r.name: r.family for r in ROUTES}
    families: dict[str, dict[str, Any]] = {}
    for name, m in merged.items():
        f = families.setdefault(family_of[name], {"lat": [], "errors": 0, "status": defaultdict(int)})
        f["lat"] += m["lat"]
        f["errors"] += m["errors"]
        for st, n in m["status"].items():
            f["status"][st] += n

    mode = f"open loop at {args.rps:g} requests/s" if args.rps else f"closed loop, {args.concurrency} in flight"
    print(f"\n== mixed load: {args.duration:g} s, REST {mode} from {args.workers} process(es); "
          f"{args.sockets} sockets connected, {args.chatters} sending chat:send every {args.chat_interval} ms ==")  # fmt: skip
    print(f"{'route family':14} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}  statuses")
    total_n = total_err = 0
    all_lat: list[float] = []
    for fam, f in sorted(families.items()):
        n = len(f["lat"])
        total_n += n
        total_err += f["errors"]
        all_lat += f["lat"]
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(f["status"].items()))
        print(f"{fam:14} {n:>8} {n / elapsed:>7.1f} {pct(f['lat'], 0.5):>8.1f} {pct(f['lat'], 0.99):>8.1f} "
              f"{f['errors']:>6}  {statuses}")  # fmt: skip
    print(f"{'all REST':14} {total_n:>8} {total_n / elapsed:>7.1f} {pct(all_lat, 0.5):>8.1f} "
          f"{pct(all_lat, 0.99):>8.1f} {total_err:>6}" + (f"  (not sent, server behind: {dropped})" if dropped else ""))  # fmt: skip
    if args.verbose:
        print("per route:")
        for name, m in sorted(merged.items()):
            print(f"  {name:38} {len(m['lat']):>6} p50 {pct(m['lat'], 0.5):7.1f} p99 {pct(m['lat'], 0.99):7.1f} "
                  f"errors {m['errors']} {dict(m['status'])}")  # fmt: skip
    for s in samples[:10]:
        print(f"  error: {s}")
    try:
        c = last_json_line(chat_out.decode())
        expected = c["sent"] * 10
        print(f"socket chat:   sent {c['sent']}, acked {c['acked']}, deliveries/s {c['delivered_per_s']} "
              f"({100 * c['delivered'] / max(1, expected):.1f}% of {expected}), p50 {c['p50_ms']} ms, p99 {c['p99_ms']} ms; "
              f"check: order violations {c.get('order_violations')}, missing {c.get('missing_deliveries')}, "
              f"ack failures {c.get('ack_failed')} {c.get('ack_errors') or ''}")  # fmt: skip
    except ValueError as exc:
        print(f"socket chat: no result ({exc})")
    over = sum(1 for x in health if x > STALL_TARGET_MS)
    verdict = "OK" if health and max(health) < STALL_TARGET_MS else "over target"
    print(f"event-loop stall (/health every {HEALTH_EVERY * 1000:.0f} ms, {len(health)} probes): "
          f"max {max(health):.1f} ms, p99 {pct(health, 0.99):.1f} ms, p50 {pct(health, 0.5):.1f} ms, "
          f"{over} over {STALL_TARGET_MS:.0f} ms -> {verdict} (target max < {STALL_TARGET_MS:.0f} ms)")  # fmt: skip
    print(f"cycle collector during the load: {gc_report(gc0, gc1)}")
    print(
        f"server CPU: {100 * server_cpu:.0f}% of one core, REST load processes {100 * loadgen_cpu:.0f}%; errors: {total_err} REST"
        f" ({'none' if not total_err else 'see statuses'}); machine: {machine()}"
    )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--load-process":
        load_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="15 s instead of 60")
    parser.add_argument("--duration", type=float, help="seconds of load (default 60; --quick 15)")
    parser.add_argument("--rps", type=float, default=100, help="REST requests/s in all; 0: closed loop (default 100)")
    parser.add_argument("--concurrency", type=int, default=32, help="REST requests in flight per process (default 32)")
    parser.add_argument("--workers", type=int, default=1, help="REST load processes (default 1)")
    parser.add_argument("--sockets", type=int, default=500, help="connected Socket.IO users (default 500)")
    parser.add_argument("--chatters", type=int, default=100, help="of them, sending chat:send (default 100)")
    parser.add_argument("--chat-interval", type=int, default=2000, help="ms between a chatter's sends (default 2000)")
    parser.add_argument("--tutors", type=int, default=20, help="tutors (each with a class) (default 20)")
    parser.add_argument("--rest-users", type=int, default=100, help="students acting over REST (default 100)")
    parser.add_argument("--verbose", action="store_true", help="also per route")
    args = parser.parse_args()
    args.duration = args.duration or (15.0 if args.quick else 60.0)
    if args.sockets % 10 or args.chatters % 10 or args.chatters > args.sockets:
        parser.error("--sockets and --chatters: multiples of 10, chatters <= sockets")
    args.rest_users = min(args.rest_users, args.sockets - args.chatters)
    if args.rest_users < 10:
        parser.error("--sockets must leave at least 10 users beside --chatters for the REST students")
    exit_on_sigterm()
    node = ensure_node_modules(required=True)
    assert node is not None
    with temp_dir("load-") as tmp, Children() as children:
        asyncio.run(run(args, children, tmp, node))


if __name__ == "__main__":
    main()
