"""Student progress: the tutor of a COMPLETED session records how a student of it did.

One entry per student per session, backed by a unique index on (sessionId, studentId): a retried
request cannot count a session twice in the statistics (409 instead). An entry carries the
session's subject, so the per-subject statistics are one `$group` over the student's entries.

Readers: the student, tutors who have taught them (a COMPLETED session together), MANAGEMENT and
ADMIN; anyone else 403. Unknown students read as 403 to all but the overseers, so an id's
existence is not disclosed.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from pymongo.errors import DuplicateKeyError

from models.notifications import notify
from models.session_access import is_overseer, session_for_tutor
from models.sessions import COLLECTION as SESSIONS
from models.sessions import notice_params
from models.users import COLLECTION as USERS
from server.auth import Principal
from server.context import Context
from server.errors import Conflict, Forbidden, NotFound, RuleViolation
from server.indexes import IndexSpec
from server.paging import PageQuery, fetch_page
from server.realtime import user_rooms
from server.roles import Role

COLLECTION = "progress"
EVENT = "progress:created"
COMPLETED = "COMPLETED"
INDEXES: list[IndexSpec] = [
    (COLLECTION, [("sessionId", 1), ("studentId", 1)], {"unique": True}),
    (COLLECTION, [("studentId", 1), ("createdAt", -1), ("_id", 1)], {}),
]


class NewProgress(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    studentId: str = Field(min_length=1, max_length=100)
    sessionId: str = Field(min_length=1, max_length=100)
    score: float = Field(ge=0, le=100)
    notes: str | None = Field(None, max_length=5000)
    skills: list[str] = Field(default_factory=list, max_length=20, description="at most 20, 1-50 characters each")

    @field_validator("skills")
    @classmethod
    def _skills(cls, value: list[str]) -> list[str]:
        kept: dict[str, str] = {}
        for skill in value:
            skill = skill.strip()
            if not skill or len(skill) > 50:
                raise PydanticCustomError("progress.invalid_skill", "invalid skill")
            kept.setdefault(skill.casefold(), skill)
        return list(kept.values())


class ProgressQuery(PageQuery):
    """Newest first."""


def render(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "studentId": doc["studentId"],
        "sessionId": doc["sessionId"],
        "tutorId": doc["tutorId"],
        "subject": doc["subject"],
        "score": doc["score"],
        "notes": doc.get("notes"),
        "skills": list(doc.get("skills") or []),
        "createdAt": doc["createdAt"],
    }


async def record(ctx: Context, principal: Principal, new: NewProgress) -> dict[str, Any]:
    session = await session_for_tutor(ctx, principal, new.sessionId)
    if session["status"] != COMPLETED:
        raise Conflict("session.wrong_status", status=session["status"], expected=COMPLETED)
    if new.studentId not in session["studentIds"]:
        raise RuleViolation("progress.not_in_session")
    doc = {
        "_id": str(uuid.uuid4()),
        "studentId": new.studentId,
        "sessionId": session["_id"],
        "tutorId": session["tutorId"],
        "subject": session["subject"],
        "score": new.score,
        "notes": new.notes,
        "skills": new.skills,
        "createdAt": ctx.clock.now(),
    }
    try:
        await ctx.db[COLLECTION].insert_one(doc)
    except DuplicateKeyError:
        raise Conflict("progress.already_recorded") from None
    entry = render(doc)
    await notify(
        ctx,
        [new.studentId],
        "progress.recorded",
        params={**notice_params(session), "score": f"{new.score:g}"},
        data={"sessionId": session["_id"], "progressId": doc["_id"]},
    )
    await ctx.realtime.emit(EVENT, entry, user_rooms([new.studentId, session["tutorId"]]))
    return entry


async def ensure_reader(ctx: Context, principal: Principal, student_id: str) -> None:
    if principal.id == student_id:
        return
    if is_overseer(principal):
        if await ctx.db[USERS].find_one({"_id": student_id, "role": Role.STUDENT.value}, {"_id": 1}) is None:
            raise NotFound("progress.student_not_found")
        return
    if principal.role == Role.TUTOR and await ctx.db[SESSIONS].find_one(
        {"tutorId": principal.id, "studentIds": student_id, "status": COMPLETED}, {"_id": 1}
    ):
        return
    raise Forbidden()


async def list_progress(
    ctx: Context, principal: Principal, student_id: str, query: ProgressQuery
) -> tuple[list[dict[str, Any]], int]:
    await ensure_reader(ctx, principal, student_id)
    docs, total = await fetch_page(
        ctx.db[COLLECTION], {"studentId": student_id}, query, [("createdAt", -1), ("_id", 1)]
    )
    return [render(d) for d in docs], total


def _average(total: float, count: int) -> float:
    return round(total / count, 2) if count else 0.0


async def statistics(ctx: Context, principal: Principal, student_id: str) -> dict[str, Any]:
    """`{entries, completedSessions, averageScore, bySubject: [{subject, entries, averageScore}]}`.

    Averages are rounded to 2 decimals (0.0 without entries, as a tutor's rating without reviews);
    subjects are listed by name."""
    await ensure_reader(ctx, principal, student_id)
    cursor = await ctx.db[COLLECTION].aggregate(
        [
            {"$match": {"studentId": student_id}},
            {"$group": {"_id": "$subject", "entries": {"$sum": 1}, "total": {"$sum": "$score"}}},
        ]
    )
    rows = sorted(await cursor.to_list(None), key=lambda row: row["_id"])
    completed = await ctx.db[SESSIONS].count_documents({"studentIds": student_id, "status": COMPLETED})
    entries = sum(row["entries"] for row in rows)
    return {
        "entries": entries,
        "completedSessions": completed,
        "averageScore": _average(sum(row["total"] for row in rows), entries),
        "bySubject": [
            {"subject": row["_id"], "entries": row["entries"], "averageScore": _average(row["total"], row["entries"])}
            for row in rows
        ],
    }
