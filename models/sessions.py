"""Tutoring sessions: booking, group sessions, confirmation, completion, reminders.

Lifecycle (every arrow is ONE conditional update whose filter carries the expected state):

    ONE_ON_ONE (booked by a student)  PENDING --confirm--> CONFIRMED --complete--> COMPLETED
                                         |                     |
                                       reject              cancel request approved
                                         v                     v
                                      REJECTED              CANCELLED
    GROUP (created by a tutor, or generated from a class) starts CONFIRMED.

No double booking: a session first takes its interval in the tutor's calendar
(`models.calendars`, one atomic single-document condition), then is inserted; the interval is
given back when the session is rejected or cancelled, or when its insert is known not to have
happened. A crash between two such writes is repaired by `models.reconcile`.

Reminders: when a session becomes CONFIRMED a job `session.reminder` is queued for
SESSION_REMINDER_MINUTES before the start. The job re-reads the session when it fires and reminds
the participants only if it is still CONFIRMED and not reminded yet; a cancelled session's
reminder is thereby dropped without having to find it in the queue.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymongo import ReturnDocument

from models import calendars, tutors
from models.cancel_request_records import close_open_requests
from models.notifications import notify
from models.users import get_user
from server.auth import Principal
from server.clock import as_utc, to_millis
from server.context import Context
from server.documents import absent, find_or_404
from server.errors import Conflict, Forbidden, RuleViolation
from server.faults import crash_point
from server.indexes import IndexSpec
from server.jsonutil import iso
from server.paging import PageQuery, fetch_page, mongo_sort
from server.queue import Job
from server.realtime import user_rooms
from server.roles import OVERSEERS
from server.validation import UtcDatetime

COLLECTION = "sessions"
REMINDER_JOB = "session.reminder"


class SessionStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"


ACTIVE = (SessionStatus.PENDING, SessionStatus.CONFIRMED)
MIN_DURATION, MAX_DURATION = 15, 8 * 60
MAX_ADVANCE = timedelta(days=366)

INDEXES: list[IndexSpec] = [
    (COLLECTION, [("tutorId", 1), ("startTime", 1), ("_id", 1)], {}),
    (COLLECTION, [("studentIds", 1), ("startTime", 1), ("_id", 1)], {}),
    (COLLECTION, [("classId", 1), ("startTime", 1)], {}),
    (COLLECTION, [("status", 1), ("startTime", 1), ("_id", 1)], {}),
    (COLLECTION, [("startTime", 1), ("_id", 1)], {}),  # the unfiltered MANAGEMENT/ADMIN list
    # One session per class slot: what makes generating a class's sessions idempotent.
    (COLLECTION, [("slotKey", 1)], {"unique": True, "partialFilterExpression": {"slotKey": {"$type": "string"}}}),
]

SORTS = {"startTime": "startTime", "createdAt": "createdAt", "status": "status"}
DEFAULT_ORDER = [("startTime", 1), ("_id", 1)]


def utc(moment: datetime) -> datetime:
    """Aware UTC with millisecond precision (what both stores keep)."""
    return to_millis(as_utc(moment).astimezone(UTC))


class _Times(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    subject: str = Field(min_length=1, max_length=100)
    startTime: UtcDatetime
    durationMinutes: int = Field(ge=MIN_DURATION, le=MAX_DURATION)
    note: str | None = Field(None, max_length=1000)

    @field_validator("startTime")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return utc(value)


class Booking(_Times):
    """A student's booking of a one-on-one session."""

    tutorId: str = Field(min_length=1, max_length=100)


class GroupSession(_Times):
    """A tutor's group session."""

    title: str = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=1, le=200)


class NewSession(BaseModel):
    """POST /sessions as documented: a STUDENT sends a Booking, a TUTOR a GroupSession."""

    model_config = ConfigDict(extra="allow")

    tutorId: str | None = Field(None, description="STUDENT: the tutor to book")
    subject: str | None = None
    title: str | None = Field(None, description="TUTOR: the group session's title")
    startTime: UtcDatetime | None = None
    durationMinutes: int | None = None
    capacity: int | None = Field(None, description="TUTOR: seats of the group session")
    note: str | None = None


class Rejection(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reason: str | None = Field(None, max_length=1000)


class SessionQuery(PageQuery):
    status: SessionStatus | None = None
    from_: UtcDatetime | None = Field(None, alias="from", description="sessions starting at or after")
    to: UtcDatetime | None = Field(None, description="sessions starting before")
    classId: str | None = Field(None, max_length=100)
    open: bool = Field(False, description="instead: upcoming group sessions anyone may join")


def render(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "type": doc["type"],
        "tutorId": doc["tutorId"],
        "studentIds": list(doc["studentIds"]),
        "subject": doc["subject"],
        "title": doc.get("title"),
        "note": doc.get("note"),
        "startTime": doc["startTime"],
        "endTime": doc["endTime"],
        "durationMinutes": doc["durationMinutes"],
        "status": doc["status"],
        "classId": doc.get("classId"),
        "capacity": doc["capacity"],
        "rejectReason": doc.get("rejectReason"),
        "cancelReason": doc.get("cancelReason"),
        "createdAt": doc["createdAt"],
        "updatedAt": doc["updatedAt"],
    }


def render_for(principal: Principal, doc: dict[str, Any]) -> dict[str, Any]:
    """The session as `principal` may see it: who attends is for its participants, MANAGEMENT and
    ADMIN; anyone else (browsing open group sessions) sees how many seats are taken."""
    view = render(doc)
    if not may_view(principal, doc):
        del view["studentIds"]
        view["enrolledCount"] = len(doc["studentIds"])
    return view


def participants(doc: dict[str, Any]) -> list[str]:
    return [doc["tutorId"], *doc["studentIds"]]


def is_participant(principal: Principal, doc: dict[str, Any]) -> bool:
    return principal.id == doc["tutorId"] or principal.id in doc["studentIds"]


def may_view(principal: Principal, doc: dict[str, Any]) -> bool:
    return principal.role in OVERSEERS or is_participant(principal, doc)


async def announce(ctx: Context, doc: dict[str, Any], *also: str) -> None:
    """`session:updated` to every participant (and `also`) and to the session's topic room."""
    rooms = [*user_rooms([*participants(doc), *also]), f"session:{doc['_id']}"]
    await ctx.realtime.emit("session:updated", render(doc), rooms)


def _check_start(ctx: Context, start: datetime) -> None:
    now = ctx.clock.now()
    if start <= now:
        raise RuleViolation("session.start_in_past")
    if start > now + MAX_ADVANCE:
        raise RuleViolation("session.start_too_far")


def new_doc(
    ctx: Context,
    *,
    kind: str,
    status: str,
    tutor_id: str,
    student_ids: list[str],
    subject: str,
    title: str | None,
    start: datetime,
    minutes: int,
    capacity: int,
    note: str | None = None,
    class_id: str | None = None,
    slot_key: str | None = None,
) -> dict[str, Any]:
    now = ctx.clock.now()
    doc: dict[str, Any] = {
        "_id": str(uuid.uuid4()),
        "type": kind,
        "status": status,
        "tutorId": tutor_id,
        "studentIds": student_ids,
        "subject": subject,
        "title": title,
        "note": note,
        "startTime": start,
        "endTime": start + timedelta(minutes=minutes),
        "durationMinutes": minutes,
        "capacity": capacity,
        "classId": class_id,
        "createdAt": now,
        "updatedAt": now,
    }
    if status == SessionStatus.CONFIRMED:
        doc["confirmedAt"] = now
    if slot_key is not None:
        doc["slotKey"] = slot_key  # absent otherwise: the unique index covers strings only
    return doc


async def insert_with_slot(ctx: Context, doc: dict[str, Any]) -> bool:
    """Take the session's interval in the tutor's calendar, then insert it. False when the tutor is busy.

    If the insert fails, the interval is given back only once a re-read shows the session does not
    exist: a failed insert (a lost reply, a cancelled task) may still have written it, and freeing
    a booked slot would let a second booking take it. If the re-read fails too, the interval stays
    and the reconcile pass decides later, from the sessions collection."""
    if not await calendars.reserve(
        ctx, doc["tutorId"], doc["_id"], doc["startTime"], doc["endTime"], doc.get("slotKey")
    ):
        return False
    crash_point(ctx, "session.reserved")
    try:
        await ctx.db[COLLECTION].insert_one(doc)
    except BaseException:
        if await absent(ctx.db[COLLECTION], doc["_id"]):
            await calendars.release(ctx, doc["tutorId"], doc["_id"])
        raise
    return True


def notice_params(doc: dict[str, Any]) -> dict[str, Any]:
    """Parameters the notification texts use."""
    return {"subject": doc["subject"], "title": doc.get("title") or doc["subject"], "start": iso(doc["startTime"])}


async def schedule_reminder(ctx: Context, doc: dict[str, Any]) -> None:
    at = as_utc(doc["startTime"]) - timedelta(minutes=ctx.settings.session_reminder_minutes)
    await ctx.queue.enqueue(
        REMINDER_JOB, {"sessionId": doc["_id"]}, process_at=at, job_id=f"{REMINDER_JOB}:{doc['_id']}"
    )


async def book_session(ctx: Context, student: Principal, booking: Booking) -> dict[str, Any]:
    _check_start(ctx, booking.startTime)
    await tutors.get_tutor_doc(ctx, booking.tutorId)
    me = await get_user(ctx, student.id)
    doc = new_doc(
        ctx,
        kind="ONE_ON_ONE",
        status=SessionStatus.PENDING,
        tutor_id=booking.tutorId,
        student_ids=[student.id],
        subject=booking.subject,
        title=None,
        start=booking.startTime,
        minutes=booking.durationMinutes,
        capacity=1,
        note=booking.note,
    )
    if not await insert_with_slot(ctx, doc):
        raise Conflict("session.tutor_busy")
    await notify(
        ctx,
        [doc["tutorId"]],
        "session.booked",
        params={**notice_params(doc), "student": me["fullName"]},
        data={"sessionId": doc["_id"]},
    )
    await announce(ctx, doc)
    return render(doc)


async def create_group_session(ctx: Context, tutor: Principal, request: GroupSession) -> dict[str, Any]:
    _check_start(ctx, request.startTime)
    await tutors.get_tutor_doc(ctx, tutor.id)
    doc = new_doc(
        ctx,
        kind="GROUP",
        status=SessionStatus.CONFIRMED,
        tutor_id=tutor.id,
        student_ids=[],
        subject=request.subject,
        title=request.title,
        start=request.startTime,
        minutes=request.durationMinutes,
        capacity=request.capacity,
        note=request.note,
    )
    if not await insert_with_slot(ctx, doc):
        raise Conflict("session.tutor_busy")
    await schedule_reminder(ctx, doc)
    await announce(ctx, doc)
    return render(doc)


async def find_session(ctx: Context, session_id: str) -> dict[str, Any]:
    return await find_or_404(ctx.db[COLLECTION], session_id, "session.not_found")


async def get_session(ctx: Context, principal: Principal, session_id: str) -> dict[str, Any]:
    doc = await find_session(ctx, session_id)
    if not may_view(principal, doc):
        raise Forbidden()
    return render(doc)


async def list_sessions(ctx: Context, principal: Principal, query: SessionQuery) -> tuple[list[dict[str, Any]], int]:
    where: dict[str, Any] = {}
    if query.open:
        where.update(
            {"type": "GROUP", "classId": None, "status": SessionStatus.CONFIRMED, "startTime": {"$gt": ctx.clock.now()}}
        )
    elif principal.role not in OVERSEERS:
        where["$or"] = [{"tutorId": principal.id}, {"studentIds": principal.id}]
    if query.status:
        where["status"] = query.status
    if query.classId:
        where["classId"] = query.classId
    if query.from_ or query.to:
        window = where.setdefault("startTime", {})
        if query.from_:
            window["$gte"] = utc(query.from_)
        if query.to:
            window["$lt"] = utc(query.to)
    docs, total = await fetch_page(ctx.db[COLLECTION], where, query, mongo_sort(query.sort, SORTS, DEFAULT_ORDER))
    return [render_for(principal, d) for d in docs], total


async def _tutor_transition(
    ctx: Context,
    principal: Principal,
    session_id: str,
    expected: str,
    changes: dict[str, Any],
    *,
    time_rule: dict[str, Any] | None = None,
    time_key: str = "",
) -> dict[str, Any]:
    """Move a session of the caller's (the tutor's) from `expected` in one conditional update.

    When nothing matched, the session is re-read to say why: not found (404), not yours (403),
    not in the expected state (409), or the time rule (400)."""
    where: dict[str, Any] = {"_id": session_id, "status": expected}
    if time_rule:
        where["startTime"] = time_rule
    if not principal.is_admin:
        where["tutorId"] = principal.id
    doc = await ctx.db[COLLECTION].find_one_and_update(
        where, {"$set": {**changes, "updatedAt": ctx.clock.now()}}, return_document=ReturnDocument.AFTER
    )
    if doc is not None:
        return doc
    current = await find_session(ctx, session_id)
    if not principal.is_admin and current["tutorId"] != principal.id:
        raise Forbidden()
    if current["status"] != expected or time_rule is None:
        raise Conflict("session.wrong_status", status=current["status"], expected=expected)
    raise RuleViolation(time_key)


async def confirm_session(ctx: Context, principal: Principal, session_id: str) -> dict[str, Any]:
    now = ctx.clock.now()
    doc = await _tutor_transition(
        ctx,
        principal,
        session_id,
        SessionStatus.PENDING,
        {"status": SessionStatus.CONFIRMED, "confirmedAt": now},
        time_rule={"$gt": now},
        time_key="session.already_started",
    )
    await schedule_reminder(ctx, doc)
    await notify(ctx, doc["studentIds"], "session.confirmed", params=notice_params(doc), data={"sessionId": doc["_id"]})
    await announce(ctx, doc)
    return render(doc)


async def reject_session(ctx: Context, principal: Principal, session_id: str, rejection: Rejection) -> dict[str, Any]:
    now = ctx.clock.now()
    doc = await _tutor_transition(
        ctx,
        principal,
        session_id,
        SessionStatus.PENDING,
        {"status": SessionStatus.REJECTED, "rejectedAt": now, "rejectReason": rejection.reason},
    )
    await calendars.release(ctx, doc["tutorId"], doc["_id"])
    await close_open_requests(ctx, doc["_id"])
    await notify(
        ctx,
        doc["studentIds"],
        "session.rejected",
        params={**notice_params(doc), "reason": rejection.reason or "-"},
        data={"sessionId": doc["_id"]},
    )
    await announce(ctx, doc)
    return render(doc)


async def complete_session(ctx: Context, principal: Principal, session_id: str) -> dict[str, Any]:
    now = ctx.clock.now()
    doc = await _tutor_transition(
        ctx,
        principal,
        session_id,
        SessionStatus.CONFIRMED,
        {"status": SessionStatus.COMPLETED, "completedAt": now},
        time_rule={"$lte": now},
        time_key="session.not_started_yet",
    )
    crash_point(ctx, "session.completed")
    await tutors.count_completed_session(ctx, doc["tutorId"])
    await close_open_requests(ctx, doc["_id"])
    await notify(ctx, doc["studentIds"], "session.completed", params=notice_params(doc), data={"sessionId": doc["_id"]})
    await announce(ctx, doc)
    return render(doc)


async def join_session(ctx: Context, student: Principal, session_id: str) -> dict[str, Any]:
    current = await find_session(ctx, session_id)
    if current["type"] != "GROUP":
        raise RuleViolation("session.not_group")
    if current.get("classId"):
        raise RuleViolation("session.class_session")
    now = ctx.clock.now()
    # Capacity never changes, so "a seat is left" is a condition on the array itself.
    doc = await ctx.db[COLLECTION].find_one_and_update(
        {
            "_id": session_id,
            "status": SessionStatus.CONFIRMED,
            "startTime": {"$gt": now},
            "studentIds": {"$ne": student.id},
            f"studentIds.{current['capacity'] - 1}": {"$exists": False},
        },
        {"$push": {"studentIds": student.id}, "$set": {"updatedAt": now}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        current = await find_session(ctx, session_id)
        if student.id in current["studentIds"]:
            raise Conflict("session.already_joined")
        if current["status"] != SessionStatus.CONFIRMED:
            raise Conflict("session.wrong_status", status=current["status"], expected=SessionStatus.CONFIRMED)
        if as_utc(current["startTime"]) <= now:
            raise RuleViolation("session.already_started")
        raise Conflict("session.full")
    me = await get_user(ctx, student.id)
    await notify(
        ctx,
        [doc["tutorId"]],
        "session.joined",
        params={**notice_params(doc), "student": me["fullName"]},
        data={"sessionId": doc["_id"]},
    )
    await announce(ctx, doc)
    return render(doc)


async def cancel_session(ctx: Context, session_id: str, reason: str) -> dict[str, Any] | None:
    """An active session becomes CANCELLED and frees its interval; None if it was no longer active."""
    now = ctx.clock.now()
    doc = await ctx.db[COLLECTION].find_one_and_update(
        {"_id": session_id, "status": {"$in": list(ACTIVE)}},
        {"$set": {"status": SessionStatus.CANCELLED, "cancelledAt": now, "cancelReason": reason, "updatedAt": now}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        return None
    crash_point(ctx, "session.cancelled")
    await calendars.release(ctx, doc["tutorId"], doc["_id"])
    await close_open_requests(ctx, doc["_id"])
    await announce(ctx, doc)
    return doc


async def remove_student(ctx: Context, session_id: str, student_id: str) -> dict[str, Any] | None:
    """A student leaves a group session (their cancellation approved); the session goes on."""
    doc = await ctx.db[COLLECTION].find_one_and_update(
        {"_id": session_id, "studentIds": student_id},
        {"$pull": {"studentIds": student_id}, "$set": {"updatedAt": ctx.clock.now()}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is not None:
        await announce(ctx, doc, student_id)
    return doc


async def add_student_to_class_sessions(ctx: Context, class_id: str, student_id: str) -> int:
    """A later enrolment joins the class's upcoming active sessions."""
    result = await ctx.db[COLLECTION].update_many(
        {"classId": class_id, "startTime": {"$gt": ctx.clock.now()}, "status": {"$in": list(ACTIVE)}},
        {"$addToSet": {"studentIds": student_id}, "$set": {"updatedAt": ctx.clock.now()}},
    )
    return result.modified_count


async def send_reminder(ctx: Context, job: Job) -> None:
    """The `session.reminder` job: remind the participants if the session is still CONFIRMED.

    Idempotent: the notification's job id derives from this job's id (a redelivery creates the same
    notifications, which the notification worker stores once), and `remindedAt` stops later runs."""
    doc = await ctx.db[COLLECTION].find_one({"_id": job.payload.get("sessionId")})
    now = ctx.clock.now()
    if (
        doc is None
        or doc["status"] != SessionStatus.CONFIRMED
        or doc.get("remindedAt")
        or as_utc(doc["startTime"]) <= now
    ):
        return
    minutes = max(0, int((as_utc(doc["startTime"]) - now).total_seconds() // 60))
    await notify(
        ctx,
        participants(doc),
        "session.reminder",
        params={**notice_params(doc), "minutes": minutes},
        data={"sessionId": doc["_id"]},
        job_id=f"{job.id}:notify",
    )
    await ctx.db[COLLECTION].update_one({"_id": doc["_id"], "remindedAt": None}, {"$set": {"remindedAt": now}})


async def may_watch(ctx: Context, principal: Principal, session_id: str) -> bool:
    """The `room:join` check for `session:<id>`."""
    doc = await ctx.db[COLLECTION].find_one({"_id": session_id}, {"tutorId": 1, "studentIds": 1})
    return doc is not None and may_view(principal, doc)
