"""The forum: posts, threaded comments, and the `post:<id>` room anyone may watch."""

from __future__ import annotations

from models import forum, views
from server.area import Area
from server.http import Call, Reply, Routes

routes = Routes(tag="forum")


@routes.post("/forum/posts", body=forum.NewPost, status=201, response=views.ForumPost, summary="Write a post")
async def create_post(call: Call) -> Reply:
    return Reply(await forum.create_post(call.ctx, call.user, call.body), "forum.post_created", status=201)


@routes.get(
    "/forum/posts",
    query=forum.PostQuery,
    response=views.ForumPost,
    response_list=True,
    summary="Posts, newest first; `tag` and `q` filters",
)
async def list_posts(call: Call) -> Reply:
    items, total = await forum.list_posts(call.ctx, call.query)
    return Reply(items, "forum.listed", total=total)


@routes.get("/forum/posts/{postId}", response=views.ForumPostDetail, summary="A post with its comments, threaded")
async def get_post(call: Call) -> Reply:
    return Reply(await forum.get_post(call.ctx, call.path("postId")), "forum.found")


@routes.post(
    "/forum/posts/{postId}/comments",
    body=forum.NewComment,
    status=201,
    response=views.ForumComment,
    summary="Comment on a post, or reply to a comment (`parentCommentId`); notifies the authors",
)
async def add_comment(call: Call) -> Reply:
    doc = await forum.add_comment(call.ctx, call.user, call.path("postId"), call.body)
    return Reply(doc, "forum.commented", status=201)


area = Area("forum", routes=routes, room_checks={"post": forum.may_watch}, indexes=forum.INDEXES)
