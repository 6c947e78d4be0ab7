"""The reconcile pass: rebuild derived state from the records that own it (issue #12, TC-INT-014).

Some rules need several documents to agree and are written one after another: a tutor's calendar
then the session; an employee's calendar, the booking's counter, then the assignment; a
cancellation decision then the session's cancel; a completed session then the tutor's counter. A
process that dies between two of those writes leaves them disagreeing. Rather than pretend the
sequence is atomic, each derived value is rebuilt here from its owner:

    calendars (tutors', employees')      <- active sessions and assignments  (reconcile_calendars)
    resource calendars (rooms, ...)      <- APPROVED approvals               (reconcile_resources)
    booking counters and statuses        <- assignments                      (reconcile_records)
    class enrolment counts               <- the class's enrolled students
    tutor totalSessions / rating         <- COMPLETED sessions / evaluations
    APPROVED cancel requests             -> their session's cancel, finished

A pass is idempotent (a second one right after repairs nothing), bounded (at most MAX_REPAIRS per
kind, documents read PAGE at a time with a yield to the event loop between pages), and safe beside
live traffic: it leaves alone whatever changed within RECONCILE_GRACE_SECONDS (an operation may be
between its writes) and makes every repair a conditional single-document update.

It runs as the `reconcile` job, queued by the scheduler every RECONCILE_INTERVAL_SECONDS (one job
per time bucket, whatever the number of schedulers), on demand through `POST /admin/reconcile`,
and as `python run.py reconcile`.
"""

from __future__ import annotations

import logging
from typing import Any

from models.reconcile_calendars import reconcile_calendars
from models.reconcile_records import (
    finish_approved_cancels,
    reconcile_bookings,
    reconcile_classes,
    reconcile_tutors,
)
from models.reconcile_report import Report, Window
from models.reconcile_resources import reconcile_resources
from server.context import Context
from server.queue import Job

log = logging.getLogger(__name__)

JOB_TYPE = "reconcile"


async def reconcile(ctx: Context) -> dict[str, Any]:
    """One pass over every kind of derived state; returns the report (and logs it)."""
    window = Window.of(ctx)
    report = Report(started_at=window.now)
    # Cancels first: finishing one frees a calendar interval the calendar step would otherwise see.
    await finish_approved_cancels(ctx, window, report)
    await reconcile_calendars(ctx, window, report)
    await reconcile_resources(ctx, window, report)
    await reconcile_bookings(ctx, window, report)
    await reconcile_classes(ctx, window, report)
    await reconcile_tutors(ctx, window, report)
    report.finished_at = ctx.clock.now()
    summary = report.as_dict()
    counts = {kind: item["count"] for kind, item in summary["repaired"].items()}
    unresolved = {kind: item["ids"] for kind, item in summary["unresolved"].items()}
    if counts or unresolved:
        log.warning("reconcile: repaired %s; unresolved %s; report %s", counts, unresolved, summary)
    else:
        log.info("reconcile: nothing to repair")
    return summary


async def run_job(ctx: Context, job: Job) -> None:
    """The `reconcile` job. Delivered at least once: a second delivery is simply a second pass,
    which finds nothing left to repair."""
    await reconcile(ctx)
