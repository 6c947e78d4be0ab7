"""Classes: a tutor's course with a weekly schedule, enrolment up to capacity, and its sessions.

Enrolment is ONE conditional update of the class document — the student is not enrolled yet and
`enrolledCount < capacity` — pushing the student and counting them in the same write, so neither
"once" nor "up to capacity" can be beaten by concurrent requests (the enrolment list lives in the
class document, whose single-document atomicity stands in for a unique index).

Generating sessions walks the schedule from startDate to endDate in the class's timezone (so
"Monday 18:00" stays 18:00 local across DST changes) and stores each slot's session in UTC under a
unique `slotKey` (`<classId>:<local date>T<HH:MM>`): running it again finds the slots already made
and creates nothing twice. Each session takes the tutor's calendar like any other, so a slot that
overlaps another of the tutor's sessions is reported back, not double-booked.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models import calendars, sessions, tutors
from models.notifications import notify
from models.users import get_user
from server.auth import Principal
from server.context import Context
from server.documents import find_or_404
from server.errors import Conflict, Forbidden, RuleViolation
from server.indexes import IndexSpec
from server.jsonutil import iso
from server.paging import PageQuery, fetch_page, mongo_sort
from server.realtime import user_rooms
from server.roles import OVERSEERS
from server.validation import CalendarDate, is_time_zone

COLLECTION = "classes"
INDEXES: list[IndexSpec] = [
    (COLLECTION, [("tutorId", 1), ("createdAt", -1), ("_id", 1)], {}),
    (COLLECTION, [("createdAt", -1), ("_id", 1)], {}),  # the unfiltered MANAGEMENT/ADMIN list
    (COLLECTION, [("studentIds", 1)], {}),
    (COLLECTION, [("subjectKey", 1)], {}),
]
MAX_SPAN_DAYS = 366
SORTS = {"createdAt": "createdAt", "startDate": "startDate", "title": "title"}
DEFAULT_ORDER = [("createdAt", -1), ("_id", 1)]


def _error(key: str) -> PydanticCustomError:
    return PydanticCustomError(key, key)


class ScheduleSlot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dayOfWeek: int = Field(ge=1, le=7, description="1 = Monday … 7 = Sunday (ISO)")
    startTime: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM local time")
    durationMinutes: int = Field(ge=sessions.MIN_DURATION, le=sessions.MAX_DURATION)


class NewClass(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    subject: str = Field(min_length=1, max_length=100)
    description: str | None = Field(None, max_length=2000)
    capacity: int = Field(ge=1, le=500)
    startDate: CalendarDate
    endDate: CalendarDate
    schedule: list[ScheduleSlot] = Field(min_length=1, max_length=14)
    timezone: str | None = Field(None, max_length=64, description="IANA zone; default: TIMEZONE")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not is_time_zone(value):  # ZoneInfo() also opens directories ("America") and paths
            raise _error("class.invalid_timezone")
        return value

    @model_validator(mode="after")
    def _dates(self) -> NewClass:
        if self.endDate < self.startDate:
            raise _error("class.end_before_start")
        if (self.endDate - self.startDate).days > MAX_SPAN_DAYS:
            raise _error("class.too_long")
        slots = [(s.dayOfWeek, s.startTime) for s in self.schedule]
        if len(set(slots)) != len(slots):
            raise _error("class.duplicate_slot")
        return self


class ClassQuery(PageQuery):
    tutorId: str | None = Field(None, max_length=100)
    subject: str | None = Field(None, max_length=100)
    q: str | None = Field(None, max_length=100, description="part of the title")
    mine: bool = Field(False, description="only classes you teach or attend")


def render(doc: dict[str, Any], viewer: Principal | None = None) -> dict[str, Any]:
    """The class; its roster only for its tutor, MANAGEMENT and ADMIN."""
    view = {
        "id": doc["_id"],
        "tutorId": doc["tutorId"],
        "title": doc["title"],
        "subject": doc["subject"],
        "description": doc.get("description"),
        "capacity": doc["capacity"],
        "enrolledCount": doc["enrolledCount"],
        "startDate": doc["startDate"],
        "endDate": doc["endDate"],
        "schedule": doc["schedule"],
        "timezone": doc["timezone"],
        "createdAt": doc["createdAt"],
        "updatedAt": doc["updatedAt"],
    }
    if viewer is not None:
        view["enrolled"] = viewer.id in doc["studentIds"]
        if viewer.role in OVERSEERS or viewer.id == doc["tutorId"]:
            view["studentIds"] = list(doc["studentIds"])
    return view


async def announce(ctx: Context, doc: dict[str, Any], **extra: Any) -> None:
    """`class:updated` to the tutor, the enrolled students and the class's topic room."""
    rooms = [*user_rooms([doc["tutorId"], *doc["studentIds"]]), f"class:{doc['_id']}"]
    await ctx.realtime.emit("class:updated", {**render(doc), **extra}, rooms)


def _today(doc: dict[str, Any], ctx: Context) -> date:
    return ctx.clock.now().astimezone(ZoneInfo(doc["timezone"])).date()


async def create_class(ctx: Context, tutor: Principal, request: NewClass) -> dict[str, Any]:
    await tutors.get_tutor_doc(ctx, tutor.id)
    zone = request.timezone or ctx.settings.timezone
    now = ctx.clock.now()
    if request.endDate < now.astimezone(ZoneInfo(zone)).date():
        raise RuleViolation("class.ends_in_past")
    doc = {
        "_id": str(uuid.uuid4()),
        "tutorId": tutor.id,
        "title": request.title,
        "subject": request.subject,
        "subjectKey": request.subject.casefold(),
        "description": request.description,
        "capacity": request.capacity,
        "startDate": request.startDate.isoformat(),
        "endDate": request.endDate.isoformat(),
        "schedule": [s.model_dump() for s in request.schedule],
        "timezone": zone,
        "studentIds": [],
        "enrolledCount": 0,
        "createdAt": now,
        "updatedAt": now,
    }
    await ctx.db[COLLECTION].insert_one(doc)
    return render(doc, tutor)


async def find_class(ctx: Context, class_id: str) -> dict[str, Any]:
    return await find_or_404(ctx.db[COLLECTION], class_id, "class.not_found")


async def get_class(ctx: Context, principal: Principal, class_id: str) -> dict[str, Any]:
    return render(await find_class(ctx, class_id), principal)


async def list_classes(ctx: Context, principal: Principal, query: ClassQuery) -> tuple[list[dict[str, Any]], int]:
    where: dict[str, Any] = {}
    if query.tutorId:
        where["tutorId"] = query.tutorId
    if query.subject and query.subject.strip():
        where["subjectKey"] = query.subject.strip().casefold()
    if query.q and query.q.strip():
        where["title"] = {"$regex": re.escape(query.q.strip()), "$options": "i"}
    if query.mine:
        where["$or"] = [{"tutorId": principal.id}, {"studentIds": principal.id}]
    docs, total = await fetch_page(ctx.db[COLLECTION], where, query, mongo_sort(query.sort, SORTS, DEFAULT_ORDER))
    return [render(d, principal) for d in docs], total


async def enroll(ctx: Context, student: Principal, class_id: str) -> dict[str, Any]:
    current = await find_class(ctx, class_id)
    if current["endDate"] < _today(current, ctx).isoformat():
        raise RuleViolation("class.ended")
    now = ctx.clock.now()
    doc = await ctx.db[COLLECTION].find_one_and_update(
        {"_id": class_id, "studentIds": {"$ne": student.id}, "enrolledCount": {"$lt": current["capacity"]}},
        {"$push": {"studentIds": student.id}, "$inc": {"enrolledCount": 1}, "$set": {"updatedAt": now}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        current = await find_class(ctx, class_id)
        if student.id in current["studentIds"]:
            raise Conflict("class.already_enrolled")
        raise Conflict("class.full", capacity=current["capacity"])
    joined = await sessions.add_student_to_class_sessions(ctx, class_id, student.id)
    me = await get_user(ctx, student.id)
    await notify(
        ctx,
        [doc["tutorId"]],
        "class.enrolled",
        params={
            "student": me["fullName"],
            "title": doc["title"],
            "enrolled": doc["enrolledCount"],
            "capacity": doc["capacity"],
        },
        data={"classId": class_id},
    )
    await announce(ctx, doc)
    return {**render(doc, student), "joinedSessions": joined}


@dataclass(frozen=True)
class Slot:
    key: str
    start: datetime  # UTC
    minutes: int


def class_slots(doc: dict[str, Any]) -> list[Slot]:
    """Every scheduled slot between the class's dates, local times turned into UTC."""
    zone = ZoneInfo(doc["timezone"])
    first, last = date.fromisoformat(doc["startDate"]), date.fromisoformat(doc["endDate"])
    by_day: dict[int, list[dict[str, Any]]] = {}
    for item in doc["schedule"]:
        by_day.setdefault(item["dayOfWeek"], []).append(item)
    slots = []
    day = first
    while day <= last:
        for item in sorted(by_day.get(day.isoweekday(), []), key=lambda i: i["startTime"]):
            local = datetime.combine(day, time.fromisoformat(item["startTime"]), tzinfo=zone)
            slots.append(
                Slot(
                    f"{doc['_id']}:{day.isoformat()}T{item['startTime']}",
                    sessions.utc(local.astimezone(UTC)),
                    item["durationMinutes"],
                )
            )
        day += timedelta(days=1)
    return slots


async def generate_sessions(ctx: Context, principal: Principal, class_id: str) -> tuple[dict[str, Any], bool]:
    """Create the sessions of the class's schedule not made yet; returns the report and whether any was."""
    cls = await find_class(ctx, class_id)
    if not principal.is_admin and principal.id != cls["tutorId"]:
        raise Forbidden()
    now = ctx.clock.now()
    slots = class_slots(cls)
    upcoming = [s for s in slots if s.start > now]
    made = (
        await ctx.db[sessions.COLLECTION]
        .find({"classId": class_id, "slotKey": {"$in": [s.key for s in upcoming]}}, {"slotKey": 1})
        .to_list(None)
    )
    existing = {d["slotKey"] for d in made}
    created: list[str] = []
    conflicts: list[dict[str, Any]] = []
    already = len(existing)
    for slot in upcoming:
        if slot.key in existing:
            continue
        doc = sessions.new_doc(
            ctx,
            kind="GROUP",
            status="CONFIRMED",
            tutor_id=cls["tutorId"],
            student_ids=list(cls["studentIds"]),
            subject=cls["subject"],
            title=cls["title"],
            start=slot.start,
            minutes=slot.minutes,
            capacity=cls["capacity"],
            class_id=class_id,
            slot_key=slot.key,
        )
        try:
            if await sessions.insert_with_slot(ctx, doc):
                created.append(doc["_id"])
                continue
        except DuplicateKeyError:
            already += 1  # a concurrent run made this slot first
            continue
        clashes = await calendars.overlapping(ctx, cls["tutorId"], doc["startTime"], doc["endTime"])
        if any(c.get("slotKey") == slot.key for c in clashes):
            already += 1  # a concurrent run holds this very slot
        else:
            conflicts.append(
                {
                    "slotKey": slot.key,
                    "startTime": doc["startTime"],
                    "endTime": doc["endTime"],
                    "reason": "TUTOR_BUSY",
                    "sessionIds": [c["sessionId"] for c in clashes],
                }
            )
    docs: list[dict[str, Any]] = []
    cls = await find_class(ctx, class_id)
    if created:
        # Students who enrolled while this ran joined only the sessions that existed then.
        await ctx.db[sessions.COLLECTION].update_many(
            {"_id": {"$in": created}}, {"$addToSet": {"studentIds": {"$each": list(cls["studentIds"])}}}
        )
        docs = await ctx.db[sessions.COLLECTION].find({"_id": {"$in": created}}).sort([("startTime", 1)]).to_list(None)
        for doc in docs:
            await sessions.schedule_reminder(ctx, doc)
        await notify(
            ctx,
            cls["studentIds"],
            "class.sessions_generated",
            params={"title": cls["title"], "count": len(docs), "first": iso(docs[0]["startTime"])},
            data={"classId": class_id, "sessionIds": [d["_id"] for d in docs]},
        )
        await announce(ctx, cls, generatedSessions=len(docs))
    report = {
        "classId": class_id,
        "created": [sessions.render(d) for d in docs],
        "createdCount": len(docs),
        "existingCount": already,
        "skippedPastCount": len(slots) - len(upcoming),
        "conflicts": conflicts,
    }
    return report, bool(docs)


async def may_watch(ctx: Context, principal: Principal, class_id: str) -> bool:
    """The `room:join` check for `class:<id>`: its tutor, its students, MANAGEMENT and ADMIN."""
    doc = await ctx.db[COLLECTION].find_one({"_id": class_id}, {"tutorId": 1, "studentIds": 1})
    return doc is not None and (
        principal.role in OVERSEERS or principal.id == doc["tutorId"] or principal.id in doc["studentIds"]
    )
