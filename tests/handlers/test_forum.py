"""The forum through the real app (TC-INT-010): posts, threaded comments, notifications, live events."""

from __future__ import annotations

from typing import Any

from server.jsonutil import iso
from tests.tutoring_fixtures import kinds, of_kind


async def post(
    api: Any, author: Any, title: str = "Hỏi về đạo hàm", body: str = "Ai giải thích giúp?", **more: Any
) -> Any:
    reply = await api.post("/forum/posts", {"title": title, "body": body, **more}, token=author.token)
    assert reply.status == 201, reply.body
    return reply.data


async def comment(api: Any, author: Any, post_id: str, body: str, parent: str | None = None) -> Any:
    payload = {"body": body} if parent is None else {"body": body, "parentCommentId": parent}
    return await api.post(f"/forum/posts/{post_id}/comments", payload, token=author.token)


async def test_TC_INT_010_forum_to_notification_flow(api, clock, jobs, sockets) -> None:
    user_a = await api.user("STUDENT", fullName="Nguyen Van A")
    user_b = await api.user("TUTOR", fullName="Tran Thi B")
    watcher = await api.user("STUDENT")
    now = iso(clock.now())
    a_socket = await sockets(user_a.token)
    room_socket = await sockets(watcher.token)

    # 1. User A creates a forum post.
    created = await api.post(
        "/forum/posts",
        {"title": "Hỏi về đạo hàm", "body": "Đạo hàm của x^2 là gì?", "tags": ["Toan", "dao-ham", "toan"]},
        token=user_a.token,
    )
    assert created.status == 201, created.body
    assert created.body["message"] == "Đăng bài thành công"
    the_post = created.data
    post_id = the_post["id"]
    assert the_post == {
        "id": post_id,
        "authorId": user_a.id,
        "authorName": "Nguyen Van A",
        "title": "Hỏi về đạo hàm",
        "body": "Đạo hàm của x^2 là gì?",
        "tags": ["toan", "dao-ham"],
        "commentCount": 0,
        "createdAt": now,
        "updatedAt": now,
    }
    joined = await room_socket.call("room:join", {"room": f"post:{post_id}"})
    assert joined == {"success": True, "data": {"room": f"post:{post_id}"}}

    # 2. User B comments on the post.
    clock.advance(seconds=30)
    commented = await comment(api, user_b, post_id, "Là 2x")
    assert commented.status == 201, commented.body
    assert commented.body["message"] == "Bình luận thành công"
    b_comment = commented.data
    assert b_comment == {
        "id": b_comment["id"],
        "postId": post_id,
        "authorId": user_b.id,
        "authorName": "Tran Thi B",
        "body": "Là 2x",
        "parentCommentId": None,
        "createdAt": iso(clock.now()),
    }
    # Live: the author and the post's room receive it.
    assert await a_socket.wait_for("forum:comment", lambda c: c["id"] == b_comment["id"]) == b_comment
    assert await room_socket.wait_for("forum:comment", lambda c: c["id"] == b_comment["id"]) == b_comment

    # 3. User A is notified of the comment; B is not notified of their own.
    await jobs.run()
    [note] = await of_kind(api, user_a, "forum.commented")
    assert note["data"] == {"postId": post_id, "commentId": b_comment["id"]}
    assert note["title"] == "Bình luận mới về bài viết của bạn"
    assert note["body"] == 'Tran Thi B đã bình luận về bài viết "Hỏi về đạo hàm"'
    assert await kinds(api, user_b) == []

    # 4. User A responds to the comment.
    clock.advance(seconds=30)
    replied = await comment(api, user_a, post_id, "Cảm ơn bạn!", parent=b_comment["id"])
    assert replied.status == 201, replied.body
    a_reply = replied.data
    assert a_reply["parentCommentId"] == b_comment["id"] and a_reply["authorId"] == user_a.id
    assert await room_socket.wait_for("forum:comment", lambda c: c["id"] == a_reply["id"]) == a_reply

    # 5. User B is notified of the reply; A is never notified of their own action.
    await jobs.run()
    [note] = await of_kind(api, user_b, "forum.replied")
    assert note["data"] == {"postId": post_id, "commentId": a_reply["id"], "parentCommentId": b_comment["id"]}
    assert note["body"] == 'Nguyen Van A đã trả lời bình luận của bạn trong bài viết "Hỏi về đạo hàm"'
    assert await kinds(api, user_a) == ["forum.commented"]
    assert await kinds(api, user_b) == ["forum.replied"]

    # The post shows both comments, threaded.
    shown = await api.get(f"/forum/posts/{post_id}", token=user_b.token)
    assert shown.status == 200 and shown.body["message"] == "Lấy bài viết thành công"
    assert shown.data == {
        **the_post,
        "commentCount": 2,
        "updatedAt": a_reply["createdAt"],
        "comments": [{**b_comment, "replies": [a_reply]}],
    }


async def test_someone_who_is_both_post_and_comment_author_gets_one_notification(api, clock, jobs) -> None:
    author, replier, third = await api.user("STUDENT"), await api.user("STUDENT"), await api.user("TUTOR")
    p = await post(api, author)
    own = (await comment(api, author, p["id"], "Tự trả lời trước")).data
    await jobs.run()
    assert await kinds(api, author) == []  # their own comment

    reply = (await comment(api, replier, p["id"], "Bổ sung", parent=own["id"])).data
    await jobs.run()
    assert await kinds(api, author) == ["forum.replied"]

    # A reply to a reply stays in the first comment's thread and tells the replier (and the post's author).
    deeper = (await comment(api, third, p["id"], "Đồng ý", parent=reply["id"])).data
    await jobs.run()
    assert await kinds(api, replier) == ["forum.replied"]
    assert sorted(await kinds(api, author)) == ["forum.commented", "forum.replied"]
    shown = (await api.get(f"/forum/posts/{p['id']}", token=third.token)).data
    assert [(c["id"], [r["id"] for r in c["replies"]]) for c in shown["comments"]] == [
        (own["id"], [reply["id"], deeper["id"]])
    ]
    assert [r["parentCommentId"] for r in shown["comments"][0]["replies"]] == [own["id"], reply["id"]]


async def test_forum_list_filters_and_paging(api, clock) -> None:
    user = await api.user("CUSTOMER")
    first = await post(api, user, "Giải tích 1", "Giới hạn và liên tục", tags=["toan"])
    clock.advance(seconds=1)
    second = await post(api, user, "C++ (nâng cao)", "Con trỏ và tham chiếu", tags=["lap-trinh"])
    clock.advance(seconds=1)
    third = await post(api, user, "Vật lý", "Động lực học [chương 2]", tags=["ly", "toan"])

    async def ids(**params: Any) -> tuple[list[str], int]:
        reply = await api.get("/forum/posts", token=user.token, params=params)
        assert reply.status == 200, reply.body
        return [p["id"] for p in reply.data], reply.body["totalItems"]

    assert await ids() == ([third["id"], second["id"], first["id"]], 3)
    assert await ids(size=2, page=1) == ([first["id"]], 3)
    assert await ids(tag="TOAN") == ([third["id"], first["id"]], 2)
    assert await ids(q="c++ (") == ([second["id"]], 1)  # taken literally, not as a pattern
    assert await ids(q="[chương") == ([third["id"]], 1)
    assert await ids(q="giới HẠN") == ([first["id"]], 1)
    assert await ids(q=".*") == ([], 0)
    assert await ids(q="và", tag="lap-trinh") == ([second["id"]], 1)
    too_long = await api.get("/forum/posts", token=user.token, params={"q": "x" * 101})
    assert too_long.status == 400 and too_long.body["validationErrors"][0]["field"] == "q"


async def test_forum_validation_and_not_found(api, clock, sockets) -> None:
    user = await api.user("EMPLOYEE")
    p = await post(api, user)
    other = await post(api, user, "Khác")
    foreign = (await comment(api, user, other["id"], "Ở bài khác")).data

    async def refused(path: str, body: dict[str, Any]) -> Any:
        reply = await api.post(path, body, token=user.token, headers={"Accept-Language": "en"})
        assert reply.status == 400, reply.body
        return reply.body

    assert (await refused("/forum/posts", {"title": "t", "body": " "}))["validationErrors"] == [
        {"field": "body", "message": "Must not be blank"}
    ]
    assert (await refused("/forum/posts", {"title": "t" * 201, "body": "b"}))["validationErrors"] == [
        {"field": "title", "message": "Must have at most 200 characters"}
    ]
    assert (await refused("/forum/posts", {"title": "t", "body": "b", "tags": ["a b"]}))["validationErrors"] == [
        {"field": "tags.0", "message": "Invalid format"}
    ]
    path = f"/forum/posts/{p['id']}/comments"
    assert (await refused(path, {"body": "x" * 4001}))["validationErrors"] == [
        {"field": "body", "message": "Must have at most 4000 characters"}
    ]
    assert await refused(path, {"body": "x", "parentCommentId": foreign["id"]}) == {
        "success": False,
        "message": "The comment replied to is not on this post",
    }
    assert (await refused(path, {"body": "x", "parentCommentId": "nope"}))["success"] is False
    missing = await api.post("/forum/posts/nope/comments", {"body": "x"}, token=user.token)
    assert missing.status == 404 and missing.body == {"success": False, "message": "Không tìm thấy bài viết"}
    assert (await api.get("/forum/posts/nope", token=user.token)).status == 404
    assert (await api.get("/forum/posts")).status == 401
    sock = await sockets(user.token)
    assert (await sock.call("room:join", {"room": "post:nope"})) == {"success": False, "message": "Access denied"}
