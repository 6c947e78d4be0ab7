#!/usr/bin/env python3
"""The command line: `python run.py [all|serve|worker|scheduler|seed|reconcile]` (see `--help`)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from pydantic import ValidationError

from config.logging import setup_logging
from config.settings import Settings
from server.datadir_lock import DataDirInUse
from server.store import SharedStoreRequired, require_shared_store

DESCRIPTION = """\
Realtime server for learning and home-service platforms: REST under /api/v1, Socket.IO, a
notification worker and a scheduler. Without a command, runs everything in one process (`all`).

Settings come from the environment or a .env file in the working directory (README, section
"Configuration"): e.g. PORT=9000, MONGODB_URL=mongodb://db:27017/?replicaSet=rs0,
REDIS_URL=redis://cache:6379/0, JWT_SECRET=..., LOG_LEVEL=DEBUG. Without MONGODB_URL and REDIS_URL
it uses the embedded document store and an embedded Redis, with their files in DATA_DIR (./var).
"""

EPILOG = """\
examples:
  python run.py                              everything on http://127.0.0.1:8080
  python run.py serve --host 0.0.0.0 --port 9000
  python run.py worker                       one more notification worker (shared Redis needed)
  python run.py seed                         demo accounts and assignments (README walk-through)

then open http://127.0.0.1:8080/api/docs (REST), /api/asyncapi (Socket.IO events), /console
"""


def event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (requirements.txt pins it): its transports and scheduling in C cut the
    loop's own share of a busy server's time; plain asyncio otherwise (e.g. on Windows)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def serve(settings: Settings, with_workers: bool) -> None:
    from aiohttp import web

    from app.web import create_app

    loop = event_loop()
    asyncio.set_event_loop(loop)
    web.run_app(
        create_app(settings, run_workers=with_workers, freeze_at_start=True),
        host=settings.host,
        port=settings.port,
        print=lambda msg: print(msg.replace("(Press CTRL+C to quit)", "(Ctrl+C to stop)"), flush=True),
        shutdown_timeout=10,
        access_log=None,  # the app writes its own access log, with the request id (server/http.py)
        loop=loop,
    )


def _listen_options(parser: argparse.ArgumentParser, default: object = None) -> None:
    parser.add_argument(
        "--host", default=default, help="address to listen on (default: HOST, else 127.0.0.1; 0.0.0.0: all)"
    )
    parser.add_argument("--port", type=int, default=default, help="port to listen on (default: PORT, else 8080)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run.py",
        usage="%(prog)s [-h] [--host HOST] [--port PORT] [COMMAND] [command options]",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _listen_options(parser)  # for `all`, the default command
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    everything = sub.add_parser(
        "all",
        prog="run.py all",
        help="everything in one process: HTTP, Socket.IO, worker, scheduler (the default)",
        description="HTTP, Socket.IO, a notification worker and the scheduler in one process: "
        "the simplest deployment, and what `python run.py` with no command runs.",
    )
    _listen_options(everything, argparse.SUPPRESS)  # SUPPRESS: do not reset the top-level value
    serve_parser = sub.add_parser(
        "serve",
        prog="run.py serve",
        help="HTTP and Socket.IO only (run workers and a scheduler beside it)",
        description="HTTP and Socket.IO only. Run as many as you like behind a load balancer with "
        "sticky sessions, all on the same MONGODB_URL and REDIS_URL, with `worker` and `scheduler` "
        "processes beside them.",
    )
    _listen_options(serve_parser, argparse.SUPPRESS)
    sub.add_parser(
        "worker",
        prog="run.py worker",
        help="a notification worker: consumes the jobs stream",
        description="A notification worker: consumes the Redis jobs stream in a consumer group "
        "(several workers share the jobs). Needs the same REDIS_URL and MONGODB_URL as the servers.",
    )
    sub.add_parser(
        "scheduler",
        prog="run.py scheduler",
        help="the scheduler: moves due delayed jobs and outbox jobs into the stream",
        description="Moves delayed jobs into the stream when they are due, every "
        "SCHEDULER_INTERVAL_SECONDS. One or more (moving a job is atomic).",
    )
    sub.add_parser(
        "seed",
        prog="run.py seed",
        help="load the demo data (the seed documents' sample accounts and assignments)",
        description="Load the demo data: asks the running server (HOST/PORT) to load it, or writes "
        "the store directly when no server runs. Idempotent; resets the demo records.",
    )
    sub.add_parser(
        "reconcile",
        prog="run.py reconcile",
        help="one reconcile pass: rebuild calendars, counters and statuses from their records; prints the report",
        description="Rebuild derived state from the records that own it (tutor and employee calendars, booking "
        "counters and statuses, class enrolment counts, tutor totals and ratings, approved cancellations) and "
        "print what was repaired. Runs through the running server when one answers at HOST:PORT (the embedded "
        "store lives in its process), else directly on the store. The scheduler also runs it every "
        "RECONCILE_INTERVAL_SECONDS.",
    )
    return parser


def load_settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with --host/--port on top. A bad setting ends the program
    with one line naming it (no traceback)."""
    overrides = {k: v for k in ("host", "port") if (v := getattr(args, k, None)) is not None}
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper() or "settings"
            source = f"--{name.lower()}" if name.lower() in overrides else name
            lines.append(f"{source}={error.get('input')!r}: {error['msg']}")
        raise SystemExit("run.py: invalid setting " + "; ".join(lines)) from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "port", None) is not None and not 1 <= args.port <= 65535:
        parser.error(f"--port {args.port}: must be between 1 and 65535")
    settings = load_settings(args)
    try:
        setup_logging(settings.log_level, settings.log_format)
    except ValueError as exc:
        raise SystemExit(f"run.py: invalid setting LOG_LEVEL={settings.log_level!r}: {exc}") from None
    command = args.command or "all"
    if command in ("all", "serve"):
        serve(settings, with_workers=command == "all")
    elif command == "worker":
        from app.worker import run_worker

        require_shared_store(settings, command)
        asyncio.run(run_worker(settings))
    elif command == "scheduler":
        from app.worker import run_scheduler

        require_shared_store(settings, command)
        asyncio.run(run_scheduler(settings))
    elif command == "seed":
        from app.seed import load_demo_data

        asyncio.run(load_demo_data(settings))
    elif command == "reconcile":
        from app.reconcile import run_reconcile

        asyncio.run(run_reconcile(settings))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (DataDirInUse, SharedStoreRequired) as refused:  # what to do instead, not a traceback
        sys.exit(f"run.py: {refused}")
