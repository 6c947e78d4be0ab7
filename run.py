#!/usr/bin/env python3
"""The command line: `python run.py [serve|worker|scheduler|seed]` (see `--help`)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from config.logging import setup_logging
from config.settings import Settings


def serve(settings: Settings, with_workers: bool) -> None:
    from aiohttp import web

    from server.app import create_app

    web.run_app(
        create_app(settings, run_workers=with_workers),
        host=settings.host,
        port=settings.port,
        print=lambda msg: print(msg.replace("(Press CTRL+C to quit)", "(Ctrl+C to stop)"), flush=True),
        shutdown_timeout=10,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Realtime server for learning and home-service platforms. "
        "Settings come from the environment or .env (see README).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("all", help="everything in one process: HTTP, Socket.IO, worker, scheduler (the default)")
    sub.add_parser("serve", help="HTTP and Socket.IO only (run workers and a scheduler beside it)")
    sub.add_parser("worker", help="a notification worker: consumes the jobs stream")
    sub.add_parser("scheduler", help="the scheduler: moves due delayed jobs and outbox jobs into the stream")
    sub.add_parser("seed", help="load the demo data (the seed documents' sample accounts and assignments)")
    args = parser.parse_args(argv)

    settings = Settings()
    setup_logging(settings.log_level)
    command = args.command or "all"
    if command in ("all", "serve"):
        serve(settings, with_workers=command == "all")
    elif command == "worker":
        from workers.runner import run_worker

        asyncio.run(run_worker(settings))
    elif command == "scheduler":
        from workers.runner import run_scheduler

        asyncio.run(run_scheduler(settings))
    elif command == "seed":
        from models.demo import load_demo_data

        asyncio.run(load_demo_data(settings))
    return 0


if __name__ == "__main__":
    from server.datadir_lock import DataDirInUse

    try:
        sys.exit(main())
    except DataDirInUse as refused:  # a second process on one DATA_DIR: what to do, not a traceback
        sys.exit(f"run.py: {refused}")
