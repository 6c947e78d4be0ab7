"""The forum: posts with tags, and comments threaded by `parentCommentId`.

Threads are two levels deep as shown: a top-level comment carries its `replies`, every comment of
its thread (a reply to a reply included) oldest first, each naming the comment it answers in
`parentCommentId`. Nesting deeper would let one long chain of replies nest the reply as deep as
it is long.

A comment takes the post's next `commentSeq` with ONE conditional `$inc` on the post (it exists
and has room: at most MAX_COMMENTS), so comments are ordered exactly even when they share a
timestamp, and a post can never grow past the bound however many people comment at once. A failed
insert after it leaves a gap in the sequence, which orders nothing wrongly.

Notifications: a comment tells the post's author (`forum.commented`); a reply also tells the
parent comment's author (`forum.replied`); nobody is told of their own action, and whoever is both
gets only the reply notice. Live: `forum:comment` goes to the post's author and to `post:<id>`,
a room anyone may watch.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pymongo import ReturnDocument

from models.notifications import notify
from models.users import users_by_ids
from server.auth import Principal
from server.context import Context
from server.documents import find_or_404
from server.errors import RuleViolation
from server.paging import PageQuery, fetch_page
from server.realtime import user_room
from server.validation import NonBlankStr

POSTS = "forum_posts"
COMMENTS = "forum_comments"
MAX_COMMENTS = 1000
MAX_TAGS = 10

INDEXES: list[tuple[str, list[tuple[str, int]], dict[str, Any]]] = [
    (POSTS, [("createdAt", -1), ("_id", 1)], {}),
    (POSTS, [("tags", 1), ("createdAt", -1), ("_id", 1)], {}),
    (COMMENTS, [("postId", 1), ("seq", 1)], {}),
]

Tag = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=30, pattern=r"^[\w-]+$")]


class NewPost(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    title: NonBlankStr = Field(max_length=200)
    body: NonBlankStr = Field(max_length=20_000)
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS, description="letters, digits, _ and -")

    @field_validator("tags")
    @classmethod
    def _distinct(cls, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(tags))


class NewComment(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    body: NonBlankStr = Field(max_length=4000)
    parentCommentId: str | None = Field(None, min_length=1, max_length=100, description="the comment this answers")


class PostQuery(PageQuery):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    tag: Tag | None = None
    q: str | None = Field(None, min_length=1, max_length=100, description="words in the title or body")


def _name(users: dict[str, dict[str, Any]], user_id: str) -> str | None:
    user = users.get(user_id)
    return user["fullName"] if user else None


def render_post(doc: dict[str, Any], users: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "authorId": doc["authorId"],
        "authorName": _name(users, doc["authorId"]),
        "title": doc["title"],
        "body": doc["body"],
        "tags": list(doc["tags"]),
        "commentCount": doc["commentSeq"],
        "createdAt": doc["createdAt"],
        "updatedAt": doc["updatedAt"],
    }


def render_comment(doc: dict[str, Any], users: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "postId": doc["postId"],
        "authorId": doc["authorId"],
        "authorName": _name(users, doc["authorId"]),
        "body": doc["body"],
        "parentCommentId": doc.get("parentCommentId"),
        "createdAt": doc["createdAt"],
    }


async def create_post(ctx: Context, author: Principal, request: NewPost) -> dict[str, Any]:
    now = ctx.clock.now()
    doc = {
        "_id": str(uuid.uuid4()),
        "authorId": author.id,
        "title": request.title,
        "body": request.body,
        "tags": request.tags,
        "commentSeq": 0,
        "createdAt": now,
        "updatedAt": now,
    }
    await ctx.db[POSTS].insert_one(doc)
    return render_post(doc, await users_by_ids(ctx, [author.id]))


async def list_posts(ctx: Context, query: PostQuery) -> tuple[list[dict[str, Any]], int]:
    """Newest first; `tag` matches one tag exactly, `q` any words of the title or body, literally."""
    where: dict[str, Any] = {}
    if query.tag:
        where["tags"] = query.tag
    if query.q:
        pattern = {"$regex": re.escape(query.q), "$options": "i"}
        where["$or"] = [{"title": pattern}, {"body": pattern}]
    docs, total = await fetch_page(ctx.db[POSTS], where, query, [("createdAt", -1), ("_id", 1)])
    users = await users_by_ids(ctx, [d["authorId"] for d in docs])
    return [render_post(d, users) for d in docs], total


async def _find_post(ctx: Context, post_id: str) -> dict[str, Any]:
    return await find_or_404(ctx.db[POSTS], post_id, "forum.post_not_found")


async def get_post(ctx: Context, post_id: str) -> dict[str, Any]:
    """The post with its comments: threads oldest first, each with its replies oldest first."""
    post = await _find_post(ctx, post_id)
    docs = await ctx.db[COMMENTS].find({"postId": post_id}).sort([("seq", 1)]).to_list(MAX_COMMENTS)
    users = await users_by_ids(ctx, [post["authorId"], *(d["authorId"] for d in docs)])
    threads: dict[str, dict[str, Any]] = {}
    for doc in docs:
        if doc.get("threadId") is None:
            threads[doc["_id"]] = {**render_comment(doc, users), "replies": []}
    for doc in docs:
        thread = threads.get(doc.get("threadId") or "")
        if thread is not None:
            thread["replies"].append(render_comment(doc, users))
    return {**render_post(post, users), "comments": list(threads.values())}


async def add_comment(ctx: Context, author: Principal, post_id: str, request: NewComment) -> dict[str, Any]:
    post = await _find_post(ctx, post_id)
    parent = None
    if request.parentCommentId is not None:
        # Comments are never moved or deleted, so this check cannot be outdated by the insert below.
        parent = await ctx.db[COMMENTS].find_one({"_id": request.parentCommentId, "postId": post_id})
        if parent is None:
            raise RuleViolation("forum.parent_not_in_post")
    now = ctx.clock.now()
    counted = await ctx.db[POSTS].find_one_and_update(
        {"_id": post_id, "commentSeq": {"$lt": MAX_COMMENTS}},
        {"$inc": {"commentSeq": 1}, "$set": {"updatedAt": now}},
        projection={"commentSeq": 1},
        return_document=ReturnDocument.AFTER,
    )
    if counted is None:
        await _find_post(ctx, post_id)
        raise RuleViolation("forum.too_many_comments", limit=MAX_COMMENTS)
    doc = {
        "_id": str(uuid.uuid4()),
        "postId": post_id,
        "authorId": author.id,
        "body": request.body,
        "parentCommentId": parent["_id"] if parent else None,
        "threadId": (parent.get("threadId") or parent["_id"]) if parent else None,
        "seq": counted["commentSeq"],
        "createdAt": now,
    }
    await ctx.db[COMMENTS].insert_one(doc)
    users = await users_by_ids(ctx, [author.id])
    comment = render_comment(doc, users)
    await _notify_comment(ctx, author, post, parent, comment)
    await ctx.realtime.emit("forum:comment", comment, [user_room(post["authorId"]), f"post:{post_id}"])
    return comment


async def _notify_comment(
    ctx: Context, author: Principal, post: dict[str, Any], parent: dict[str, Any] | None, comment: dict[str, Any]
) -> None:
    """The parent comment's author is told of the reply, the post's author of the comment; each
    person once, and never the commenter."""
    params = {"commenter": comment["authorName"] or "", "title": post["title"]}
    data = {"postId": post["_id"], "commentId": comment["id"]}
    replied: set[str] = set()
    if parent is not None:
        replied = {parent["authorId"]} - {author.id}
        if replied:
            await notify(ctx, replied, "forum.replied", params=params, data={**data, "parentCommentId": parent["_id"]})
    commented = {post["authorId"]} - {author.id} - replied
    if commented:
        await notify(ctx, commented, "forum.commented", params=params, data=data)


async def may_watch(ctx: Context, principal: Principal, post_id: str) -> bool:
    """The `room:join` check for `post:<id>`: anyone signed in may watch an existing post."""
    return await ctx.db[POSTS].find_one({"_id": post_id}, {"_id": 1}) is not None
