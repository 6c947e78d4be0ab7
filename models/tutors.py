"""Tutor profiles and tutor search.

A tutor's profile lives on their user document (role TUTOR): `subjects`, `bio`, `hourlyRate`, and
the counters `ratingSum`, `ratingCount`, `rating` (the raw average) and `totalSessions` (COMPLETED
sessions). The profile shows the raw average and count; search ranks, by default, by a Bayesian
average

    score = (C * m + ratingSum) / (C + ratingCount)

where m is the mean of every review of every tutor and C is TUTOR_RATING_PRIOR_WEIGHT: a tutor's
own reviews outweigh the prior only once there are enough of them, so three 5-star reviews do not
outrank a hundred reviews averaging 4.8.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from pymongo import ReturnDocument

from models.tutor_profiles import profile
from models.users import COLLECTION as USERS
from server.context import Context
from server.errors import NotFound
from server.indexes import IndexSpec
from server.paging import PageQuery, mongo_sort
from server.roles import Role
from server.text import search_key

INDEXES: list[IndexSpec] = [
    (USERS, [("role", 1), ("subjectKeys", 1)], {}),
    (USERS, [("role", 1), ("nameKey", 1)], {}),
    (USERS, [("role", 1), ("rating", -1)], {}),
]

# Public sort fields of GET /tutors; `score` is the Bayesian-adjusted rating (the default).
SORTS = {
    "score": "score",
    "rating": "rating",
    "ratingCount": "ratingCount",
    "hourlyRate": "hourlyRate",
    "totalSessions": "totalSessions",
    "fullName": "fullName",
}
DEFAULT_ORDER = [("score", -1), ("ratingCount", -1), ("fullName", 1), ("_id", 1)]


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    subjects: list[str] = Field(min_length=1, max_length=20)
    bio: str = Field("", max_length=2000)
    hourlyRate: float = Field(ge=0, le=100_000_000)

    @field_validator("subjects")
    @classmethod
    def _subjects(cls, value: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for subject in value:
            subject = subject.strip()
            if not subject or len(subject) > 100:
                raise PydanticCustomError("tutor.invalid_subject", "invalid subject")
            seen.setdefault(subject.casefold(), subject)  # one entry per subject, whatever the case
        return list(seen.values())


class TutorQuery(PageQuery):
    q: str | None = Field(None, max_length=100, description="part of the tutor's name")
    subject: str | None = Field(None, max_length=100)
    minRating: float | None = Field(None, ge=0, le=5, description="minimum raw average rating")


async def get_tutor_doc(ctx: Context, tutor_id: str) -> dict[str, Any]:
    doc = await ctx.db[USERS].find_one({"_id": tutor_id, "role": Role.TUTOR})
    if doc is None:
        raise NotFound("tutor.not_found")
    return doc


async def get_profile(ctx: Context, tutor_id: str) -> dict[str, Any]:
    return profile(await get_tutor_doc(ctx, tutor_id))


async def update_profile(ctx: Context, tutor_id: str, update: ProfileUpdate) -> dict[str, Any]:
    doc = await ctx.db[USERS].find_one_and_update(
        {"_id": tutor_id, "role": Role.TUTOR},
        {
            "$set": {
                "subjects": update.subjects,
                "subjectKeys": [s.casefold() for s in update.subjects],
                "bio": update.bio,
                "hourlyRate": update.hourlyRate,
                "profileUpdatedAt": ctx.clock.now(),
            }
        },
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        raise NotFound("tutor.not_found")
    return profile(doc)


async def record_rating(ctx: Context, tutor_id: str, stars: int) -> dict[str, Any]:
    """Add one review's stars to the tutor's counters (called when an evaluation is stored).

    The counters move with one `$inc`; the stored raw average is then set only if the counters are
    still those it was computed from, so concurrent reviews can never leave a stale average (the
    last writer's condition is the one that holds)."""
    doc = await ctx.db[USERS].find_one_and_update(
        {"_id": tutor_id, "role": Role.TUTOR},
        {"$inc": {"ratingSum": stars, "ratingCount": 1}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        raise NotFound("tutor.not_found")
    await ctx.db[USERS].update_one(
        {"_id": tutor_id, "ratingSum": doc["ratingSum"], "ratingCount": doc["ratingCount"]},
        {"$set": {"rating": doc["ratingSum"] / doc["ratingCount"]}},
    )
    return profile(doc)


async def count_completed_session(ctx: Context, tutor_id: str) -> None:
    await ctx.db[USERS].update_one({"_id": tutor_id, "role": Role.TUTOR}, {"$inc": {"totalSessions": 1}})


async def prior_mean(ctx: Context) -> float:
    """m: the mean of every review of every tutor (0 while there are none)."""
    cursor = await ctx.db[USERS].aggregate(
        [
            {"$match": {"role": Role.TUTOR, "ratingCount": {"$gt": 0}}},
            {"$group": {"_id": None, "sum": {"$sum": "$ratingSum"}, "count": {"$sum": "$ratingCount"}}},
        ]
    )
    rows = await cursor.to_list(None)
    return rows[0]["sum"] / rows[0]["count"] if rows and rows[0]["count"] else 0.0


async def search(ctx: Context, query: TutorQuery) -> tuple[list[dict[str, Any]], int]:
    where: dict[str, Any] = {"role": Role.TUTOR}
    if query.q and query.q.strip():
        where["nameKey"] = {"$regex": re.escape(search_key(query.q))}
    if query.subject and query.subject.strip():
        where["subjectKeys"] = query.subject.strip().casefold()
    if query.minRating:  # a tutor without reviews has no average: only a 0 minimum keeps them
        where["rating"] = {"$gte": query.minRating}
    order = mongo_sort(query.sort, SORTS, DEFAULT_ORDER)
    total = await ctx.db[USERS].count_documents(where)
    weight = ctx.settings.tutor_rating_prior_weight
    mean = await prior_mean(ctx)
    cursor = await ctx.db[USERS].aggregate(
        [
            {"$match": where},
            {
                "$addFields": {
                    "rating": {"$ifNull": ["$rating", 0]},
                    "ratingCount": {"$ifNull": ["$ratingCount", 0]},
                    "totalSessions": {"$ifNull": ["$totalSessions", 0]},
                    "score": {
                        "$divide": [
                            {"$add": [weight * mean, {"$ifNull": ["$ratingSum", 0]}]},
                            {"$add": [weight, {"$ifNull": ["$ratingCount", 0]}]},
                        ]
                    },
                }
            },
            {"$sort": dict(order)},
            {"$skip": query.skip},
            {"$limit": query.size},
        ]
    )
    docs = await cursor.to_list(None)
    return [{**profile(doc), "score": round(doc["score"], 4)} for doc in docs], total
