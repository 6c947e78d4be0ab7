"""Homework of a session: set by its tutor (`{title, description, dueAt, maxScore}`), read by its
participants, MANAGEMENT and ADMIN.

A homework is immutable once set: submissions copy its `maxScore`, `dueAt`, session and tutor, so
grading and the late mark are decided on the submission alone, in one conditional update
(`models.submissions`), never by reading the homework and then writing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.session_access import open_session_for_tutor, publish_to_session, session_for_reader
from models.sessions import utc
from server.auth import Principal
from server.context import Context
from server.documents import find_or_404
from server.errors import RuleViolation
from server.indexes import IndexSpec
from server.jsonutil import iso
from server.paging import PageQuery, fetch_page, mongo_sort

COLLECTION = "homework"
EVENT = "homework:created"
INDEXES: list[IndexSpec] = [(COLLECTION, [("sessionId", 1), ("dueAt", 1)], {})]
MAX_SCORE = 1000

SORTS = {"dueAt": "dueAt", "createdAt": "createdAt", "title": "title"}
DEFAULT_ORDER = [("dueAt", 1), ("createdAt", 1)]


class NewHomework(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=20_000)
    dueAt: datetime = Field(description="ISO 8601; submissions after it are accepted and marked late")
    maxScore: float = Field(gt=0, le=MAX_SCORE)

    @field_validator("dueAt")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return utc(value)


class HomeworkQuery(PageQuery):
    """Soonest due first by default."""


def render(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "sessionId": doc["sessionId"],
        "tutorId": doc["tutorId"],
        "title": doc["title"],
        "description": doc["description"],
        "dueAt": doc["dueAt"],
        "maxScore": doc["maxScore"],
        "createdAt": doc["createdAt"],
    }


async def find_homework(ctx: Context, homework_id: str) -> dict[str, Any]:
    return await find_or_404(ctx.db[COLLECTION], homework_id, "homework.not_found")


async def set_homework(ctx: Context, principal: Principal, session_id: str, new: NewHomework) -> dict[str, Any]:
    session = await open_session_for_tutor(ctx, principal, session_id)
    now = ctx.clock.now()
    if new.dueAt <= now:
        raise RuleViolation("homework.due_in_past")
    doc = {
        "_id": str(uuid.uuid4()),
        "sessionId": session["_id"],
        "tutorId": session["tutorId"],
        "subject": session["subject"],
        "title": new.title,
        "description": new.description,
        "dueAt": new.dueAt,
        "maxScore": new.maxScore,
        "createdAt": now,
    }
    await ctx.db[COLLECTION].insert_one(doc)
    homework = render(doc)
    params = {"homework": new.title, "due": iso(new.dueAt)}
    await publish_to_session(ctx, session, EVENT, homework, "homework.created", params, {"homeworkId": doc["_id"]})
    return homework


async def list_homework(
    ctx: Context, principal: Principal, session_id: str, query: HomeworkQuery
) -> tuple[list[dict[str, Any]], int]:
    await session_for_reader(ctx, principal, session_id)
    order = mongo_sort(query.sort, SORTS, DEFAULT_ORDER)
    docs, total = await fetch_page(ctx.db[COLLECTION], {"sessionId": session_id}, query, order)
    return [render(d) for d in docs], total
