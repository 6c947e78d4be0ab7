"""Notifications: queued with `notify`, created by the worker, pushed live, read over REST.

Call sites are one line:

    await notify(ctx, [tutor_id], "session.booked", params={"student": name}, data={"sessionId": sid})

Title and body are catalog keys (`notification.<kind>.title` / `.body`) rendered in the reader's
language when listed over REST, and in DEFAULT_LOCALE when pushed live. An announcement carries
literal text instead. Each notification's id is `<jobId>:<userId>`, so a job handled twice
(delivery is at least once) creates it once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.users import COLLECTION as USERS
from models.users import ids_with_role
from server.context import Context
from server.errors import NotFound, ValidationFailed
from server.i18n import translate
from server.indexes import IndexSpec
from server.paging import PageQuery, fetch_page
from server.queue import Job
from server.realtime import user_room
from server.roles import Role
from server.validation import UtcDatetime

log = logging.getLogger(__name__)

COLLECTION = "notifications"
JOB_TYPE = "notify"
INDEXES: list[IndexSpec] = [
    (COLLECTION, [("userId", 1), ("createdAt", -1), ("_id", 1)], {}),
    (COLLECTION, [("userId", 1), ("read", 1)], {}),
]


async def notify(
    ctx: Context,
    user_ids: Iterable[str] | None,
    kind: str,
    *,
    role: str | None = None,
    params: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    process_at: datetime | None = None,
    job_id: str | None = None,
    title: str | None = None,
    body: str | None = None,
) -> str:
    """Queue a notification for users (or every member of `role`); returns the job id."""
    payload = {
        "userIds": sorted(set(user_ids or [])),
        "role": role,
        "type": kind,
        "params": params or {},
        "data": data or {},
        "title": title,
        "body": body,
    }
    return await ctx.queue.enqueue(JOB_TYPE, payload, process_at=process_at, job_id=job_id)


def render(doc: dict[str, Any], locale: str) -> dict[str, Any]:
    """The notification as clients see it, its texts in `locale`."""
    params = doc.get("params") or {}
    kind = doc["type"]
    return {
        "id": doc["_id"],
        "type": kind,
        "title": doc.get("title") or translate(f"notification.{kind}.title", locale, **params),
        "body": doc.get("body") or translate(f"notification.{kind}.body", locale, **params),
        "data": doc.get("data") or {},
        "read": doc["read"],
        "createdAt": doc["createdAt"],
    }


async def write_notifications(ctx: Context, job: Job) -> Callable[[], Awaitable[None]] | None:
    """Worker side, the writes: create each recipient's notification once. Returns the step that
    pushes the new ones live, to be run once they are durable (the worker runs it after the journal
    commit that holds its batch's writes); None when there is nothing new to push."""
    payload = job.payload
    recipients = list(payload.get("userIds") or [])
    if payload.get("role"):
        recipients = sorted(set(recipients) | set(await ids_with_role(ctx, payload["role"])))
    now = ctx.clock.now()
    created: list[dict[str, Any]] = []
    for user_id in recipients:
        doc = {
            "_id": f"{job.id}:{user_id}",
            "userId": user_id,
            "type": payload["type"],
            "title": payload.get("title"),
            "body": payload.get("body"),
            "params": payload.get("params") or {},
            "data": payload.get("data") or {},
            "read": False,
            "createdAt": now,
            "jobId": job.id,
        }
        try:
            await ctx.db[COLLECTION].insert_one(doc)
        except DuplicateKeyError:
            continue  # this job was already handled for this user
        created.append(doc)
    if not created:
        return None

    async def push() -> None:
        for doc in created:
            await ctx.realtime.emit(
                "notification", render(doc, ctx.settings.default_locale), [user_room(doc["userId"])]
            )

    return push


class NotificationQuery(PageQuery):
    unreadOnly: bool = False


async def list_notifications(
    ctx: Context, user_id: str, query: NotificationQuery, locale: str
) -> tuple[list[dict[str, Any]], int]:
    where: dict[str, Any] = {"userId": user_id}
    if query.unreadOnly:
        where["read"] = False
    docs, total = await fetch_page(ctx.db[COLLECTION], where, query, [("createdAt", -1), ("_id", 1)])
    return [render(d, locale) for d in docs], total


async def unread_count(ctx: Context, user_id: str) -> int:
    return await ctx.db[COLLECTION].count_documents({"userId": user_id, "read": False})


async def mark_read(ctx: Context, user_id: str, notification_id: str, locale: str) -> dict[str, Any]:
    # The owner is part of the condition: someone else's notification is simply not found.
    doc = await ctx.db[COLLECTION].find_one_and_update(
        {"_id": notification_id, "userId": user_id},
        {"$set": {"read": True, "readAt": ctx.clock.now()}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        raise NotFound("notification.not_found")
    return render(doc, locale)


async def mark_all_read(ctx: Context, user_id: str) -> int:
    result = await ctx.db[COLLECTION].update_many(
        {"userId": user_id, "read": False}, {"$set": {"read": True, "readAt": ctx.clock.now()}}
    )
    return result.modified_count


class Announcement(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=4000)
    userIds: list[str] | None = Field(None, min_length=1, max_length=10_000)
    role: Role | None = None
    processAt: UtcDatetime | None = None

    @model_validator(mode="after")
    def _audience(self) -> Announcement:
        if not self.userIds and not self.role:
            raise PydanticCustomError("notification.audience_required", "userIds or role is required")
        return self


async def announce(ctx: Context, announcement: Announcement) -> str:
    """Queue an announcement; every addressed user must exist (an id that names nobody would
    otherwise become a stored notification no one can ever read)."""
    if announcement.userIds:
        wanted = list(dict.fromkeys(announcement.userIds))
        found = {d["_id"] for d in await ctx.db[USERS].find({"_id": {"$in": wanted}}, {"_id": 1}).to_list(None)}
        unknown = [u for u in wanted if u not in found]
        if unknown:
            shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            error = {
                "field": "userIds",
                "key": "notification.unknown_users",
                "params": {"count": len(unknown), "ids": shown},
            }
            raise ValidationFailed([error])
    return await notify(
        ctx,
        announcement.userIds,
        "announcement",
        role=announcement.role,
        title=announcement.title,
        body=announcement.body,
        process_at=announcement.processAt,
    )
