"""Course materials of a session: posted by its tutor, read by its participants, MANAGEMENT and ADMIN.

A material is an immutable document keyed by a fresh uuid, so posting needs no condition beyond
"the caller is the session's tutor" (a session's tutor never changes). Reading checks participation
on the session at read time: a student who joins a group session later sees what was posted before.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from models.session_access import open_session_for_tutor, publish_to_session, session_for_reader
from server.auth import Principal
from server.context import Context
from server.indexes import IndexSpec
from server.paging import PageQuery, fetch_page, mongo_sort

COLLECTION = "materials"
EVENT = "material:created"
INDEXES: list[IndexSpec] = [(COLLECTION, [("sessionId", 1), ("createdAt", 1)], {})]


def web_url(value: str) -> str:
    """An absolute http(s) URL: `javascript:`, `data:`, relative paths are refused."""
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise PydanticCustomError("material.invalid_url", "an http or https URL is expected")
    return value


WebUrl = Annotated[str, Field(max_length=2000), AfterValidator(web_url)]


class NewMaterial(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    body: str | None = Field(None, max_length=20_000)
    url: WebUrl | None = Field(None, description="an absolute http or https URL")


class MaterialQuery(PageQuery):
    """Oldest first by default: materials read in the order the tutor posted them."""


SORTS = {"createdAt": "createdAt", "title": "title"}
DEFAULT_ORDER = [("createdAt", 1)]


def render(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "sessionId": doc["sessionId"],
        "tutorId": doc["tutorId"],
        "title": doc["title"],
        "body": doc.get("body"),
        "url": doc.get("url"),
        "createdAt": doc["createdAt"],
    }


async def post_material(ctx: Context, principal: Principal, session_id: str, new: NewMaterial) -> dict[str, Any]:
    session = await open_session_for_tutor(ctx, principal, session_id)
    doc = {
        "_id": str(uuid.uuid4()),
        "sessionId": session["_id"],
        "tutorId": session["tutorId"],
        "title": new.title,
        "body": new.body,
        "url": new.url,
        "createdAt": ctx.clock.now(),
    }
    await ctx.db[COLLECTION].insert_one(doc)
    material = render(doc)
    params = {"material": new.title}
    await publish_to_session(ctx, session, EVENT, material, "material.created", params, {"materialId": doc["_id"]})
    return material


async def list_materials(
    ctx: Context, principal: Principal, session_id: str, query: MaterialQuery
) -> tuple[list[dict[str, Any]], int]:
    await session_for_reader(ctx, principal, session_id)
    order = mongo_sort(query.sort, SORTS, DEFAULT_ORDER)
    docs, total = await fetch_page(ctx.db[COLLECTION], {"sessionId": session_id}, query, order)
    return [render(d) for d in docs], total
