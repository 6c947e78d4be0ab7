"""Homework submissions and their grades.

One submission per student per homework, backed by a unique index on (homeworkId, studentId).
Submitting is ONE upsert whose filter requires the stored submission to be still SUBMITTED: it
replaces an ungraded submission, creates the first one, and — when the stored one is GRADED — the
upsert's insert hits the unique index, which is how "no resubmission after grading" (409) holds
against a grade landing at the same moment. Two first submissions racing: one inserts, the other
gets the duplicate key and replaces it (or learns it was graded meanwhile).

Grading is ONE conditional update on the submission (`_id`, the caller's tutorship, `maxScore >=
score`), so a regrade simply replaces the grade and the score bound needs no read of the homework
(the submission carries the homework's immutable `maxScore`). A grade applies to the content stored
when it lands; a resubmission after it is refused.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.homework import find_homework
from models.notifications import notify
from models.session_access import CLOSED, is_overseer, require_student_of
from models.sessions import find_session
from server.auth import Principal
from server.clock import as_utc
from server.context import Context
from server.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.indexes import IndexSpec
from server.paging import PageQuery, fetch_page
from server.realtime import user_rooms
from server.roles import Role

COLLECTION = "submissions"
GRADE_EVENT = "grade:updated"
INDEXES: list[IndexSpec] = [
    (COLLECTION, [("homeworkId", 1), ("studentId", 1)], {"unique": True}),
    (COLLECTION, [("studentId", 1), ("submittedAt", -1)], {}),
]


class SubmissionStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    GRADED = "GRADED"


class NewSubmission(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    content: str = Field(min_length=1, max_length=50_000)


class Grade(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    score: float = Field(ge=0, description="0 to the homework's maxScore")
    feedback: str | None = Field(None, max_length=5000)


class SubmissionQuery(PageQuery):
    """Earliest submitted first."""


def render(doc: dict[str, Any]) -> dict[str, Any]:
    graded = doc["status"] == SubmissionStatus.GRADED
    return {
        "id": doc["_id"],
        "homeworkId": doc["homeworkId"],
        "sessionId": doc["sessionId"],
        "studentId": doc["studentId"],
        "content": doc["content"],
        "status": doc["status"],
        "late": doc["late"],
        "revision": doc["revision"],
        "submittedAt": doc["submittedAt"],
        "maxScore": doc["maxScore"],
        "score": doc.get("score") if graded else None,
        "feedback": doc.get("feedback") if graded else None,
        "gradedAt": doc.get("gradedAt") if graded else None,
    }


def number(value: float) -> str:
    """8.0 reads "8", 8.5 reads "8.5" in notification texts."""
    return f"{value:g}"


async def submit(ctx: Context, student: Principal, homework_id: str, new: NewSubmission) -> tuple[dict[str, Any], bool]:
    """Store (or replace) the student's submission; True when it is their first."""
    homework = await find_homework(ctx, homework_id)
    session = await find_session(ctx, homework["sessionId"])
    require_student_of(student, session)
    if session["status"] in CLOSED:
        raise Conflict("coursework.session_closed", status=session["status"])
    now = ctx.clock.now()
    mine = {"homeworkId": homework_id, "studentId": student.id, "status": SubmissionStatus.SUBMITTED.value}
    update = {
        "$set": {"content": new.content, "submittedAt": now, "late": now > as_utc(homework["dueAt"])},
        "$inc": {"revision": 1},
        "$setOnInsert": {
            "_id": str(uuid.uuid4()),
            "sessionId": homework["sessionId"],
            "tutorId": homework["tutorId"],
            "maxScore": homework["maxScore"],
        },
    }
    try:
        doc = await ctx.db[COLLECTION].find_one_and_update(
            mine, update, upsert=True, return_document=ReturnDocument.AFTER
        )
    except DuplicateKeyError:
        # Either it is graded, or a concurrent first submission inserted it: replace that one.
        del update["$setOnInsert"]
        doc = await ctx.db[COLLECTION].find_one_and_update(mine, update, return_document=ReturnDocument.AFTER)
    if doc is None:  # graded: the insert met the stored submission, and the replace found it graded
        raise Conflict("submission.already_graded")
    return render(doc), doc["revision"] == 1


async def list_submissions(
    ctx: Context, principal: Principal, homework_id: str, query: SubmissionQuery
) -> tuple[list[dict[str, Any]], int]:
    """The tutor (MANAGEMENT, ADMIN) sees every submission; a student of the session only their own."""
    homework = await find_homework(ctx, homework_id)
    where: dict[str, Any] = {"homeworkId": homework_id}
    if principal.id != homework["tutorId"] and not is_overseer(principal):
        require_student_of(principal, await find_session(ctx, homework["sessionId"]))
        where["studentId"] = principal.id
    docs, total = await fetch_page(ctx.db[COLLECTION], where, query, [("submittedAt", 1), ("_id", 1)])
    return [render(d) for d in docs], total


async def grade(ctx: Context, principal: Principal, submission_id: str, request: Grade) -> dict[str, Any]:
    now = ctx.clock.now()
    where: dict[str, Any] = {"_id": submission_id, "maxScore": {"$gte": request.score}}
    if principal.role != Role.ADMIN:
        where["tutorId"] = principal.id
    doc = await ctx.db[COLLECTION].find_one_and_update(
        where,
        {
            "$set": {
                "status": SubmissionStatus.GRADED.value,
                "score": request.score,
                "feedback": request.feedback,
                "gradedAt": now,
                "gradedBy": principal.id,
            }
        },
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        current = await ctx.db[COLLECTION].find_one({"_id": submission_id})
        if current is None:
            raise NotFound("submission.not_found")
        if principal.role != Role.ADMIN and current["tutorId"] != principal.id:
            raise Forbidden()
        raise ValidationFailed(
            [{"field": "score", "key": "submission.score_above_max", "params": {"max": number(current["maxScore"])}}]
        )
    submission = render(doc)
    homework = await find_homework(ctx, doc["homeworkId"])
    await notify(
        ctx,
        [doc["studentId"]],
        "submission.graded",
        params={"homework": homework["title"], "score": number(request.score), "max": number(doc["maxScore"])},
        data={"homeworkId": doc["homeworkId"], "submissionId": doc["_id"], "sessionId": doc["sessionId"]},
    )
    # The grade is the student's alone: their `user:` room (and the tutor's), never the session room.
    await ctx.realtime.emit(GRADE_EVENT, submission, user_rooms([doc["studentId"], doc["tutorId"]]))
    return submission
