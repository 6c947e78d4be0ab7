"""Evaluations: a student of a COMPLETED session rates its tutor once (`{rating 1-5, comment?}`).

"Once" is the unique index on (sessionId, studentId): of any number of concurrent evaluations by
one student of one session exactly one is inserted, the others are 409. Only after that insert do
the stars reach the tutor, in ONE `$inc` of `ratingSum` and `ratingCount` on the tutor's document
(`models.tutors.record_rating`): many students evaluating at once each add their own stars
atomically, so no evaluation is lost and the average is exact; search ranks from those two
counters, so it reflects an evaluation as soon as it is acknowledged.

Not covered yet: a process dying between the insert and the `$inc` leaves that evaluation
uncounted. The repair would be a reconcile job making the `$inc` idempotent per evaluation id.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pymongo.errors import DuplicateKeyError

from models import tutors
from models.notifications import notify
from models.session_access import require_student_of
from models.sessions import find_session, notice_params
from models.users import get_user
from server.auth import Principal
from server.context import Context
from server.errors import Conflict
from server.faults import crash_point
from server.indexes import IndexSpec
from server.paging import PageQuery, fetch_page
from server.realtime import user_room

COLLECTION = "evaluations"
EVENT = "evaluation:created"
INDEXES: list[IndexSpec] = [
    (COLLECTION, [("sessionId", 1), ("studentId", 1)], {"unique": True}),
    (COLLECTION, [("tutorId", 1), ("createdAt", -1), ("_id", 1)], {}),
]


class NewEvaluation(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    rating: int = Field(ge=1, le=5, description="stars, 1 to 5")
    comment: str | None = Field(None, max_length=2000)


class EvaluationQuery(PageQuery):
    """Newest first."""


def render(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "sessionId": doc["sessionId"],
        "tutorId": doc["tutorId"],
        "studentId": doc["studentId"],
        "studentName": doc["studentName"],
        "subject": doc["subject"],
        "rating": doc["rating"],
        "comment": doc.get("comment"),
        "createdAt": doc["createdAt"],
    }


async def evaluate(ctx: Context, student: Principal, session_id: str, new: NewEvaluation) -> dict[str, Any]:
    session = await find_session(ctx, session_id)
    require_student_of(student, session)
    if session["status"] != "COMPLETED":
        raise Conflict("session.wrong_status", status=session["status"], expected="COMPLETED")
    me = await get_user(ctx, student.id)
    doc = {
        "_id": str(uuid.uuid4()),
        "sessionId": session_id,
        "tutorId": session["tutorId"],
        "studentId": student.id,
        "studentName": me["fullName"],
        "subject": session["subject"],
        "rating": new.rating,
        "comment": new.comment,
        "createdAt": ctx.clock.now(),
    }
    try:
        await ctx.db[COLLECTION].insert_one(doc)
    except DuplicateKeyError:
        raise Conflict("evaluation.already_exists") from None
    crash_point(ctx, "evaluation.inserted")  # a crash here leaves the rating to the reconcile pass
    await tutors.record_rating(ctx, session["tutorId"], new.rating)
    evaluation = render(doc)
    await notify(
        ctx,
        [session["tutorId"]],
        "evaluation.received",
        params={**notice_params(session), "student": me["fullName"], "rating": new.rating},
        data={"sessionId": session_id, "evaluationId": doc["_id"]},
    )
    await ctx.realtime.emit(EVENT, evaluation, [user_room(session["tutorId"])])
    return evaluation


async def list_for_tutor(ctx: Context, tutor_id: str, query: EvaluationQuery) -> tuple[list[dict[str, Any]], int]:
    await tutors.get_tutor_doc(ctx, tutor_id)
    docs, total = await fetch_page(ctx.db[COLLECTION], {"tutorId": tutor_id}, query, [("createdAt", -1), ("_id", 1)])
    return [render(d) for d in docs], total
