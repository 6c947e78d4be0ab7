"""The forum and its notifications."""

VI = {
    "forum.post_created": "Đăng bài thành công",
    "forum.listed": "Lấy danh sách bài viết thành công",
    "forum.found": "Lấy bài viết thành công",
    "forum.commented": "Bình luận thành công",
    "forum.post_not_found": "Không tìm thấy bài viết",
    "forum.parent_not_in_post": "Bình luận được trả lời không thuộc bài viết này",
    "forum.too_many_comments": "Bài viết đã đạt tối đa {limit} bình luận",
    "notification.forum.commented.title": "Bình luận mới về bài viết của bạn",
    "notification.forum.commented.body": '{commenter} đã bình luận về bài viết "{title}"',
    "notification.forum.replied.title": "Có người trả lời bình luận của bạn",
    "notification.forum.replied.body": '{commenter} đã trả lời bình luận của bạn trong bài viết "{title}"',
}

EN = {
    "forum.post_created": "Post published successfully",
    "forum.listed": "Posts retrieved successfully",
    "forum.found": "Post retrieved successfully",
    "forum.commented": "Comment posted successfully",
    "forum.post_not_found": "Post not found",
    "forum.parent_not_in_post": "The comment replied to is not on this post",
    "forum.too_many_comments": "The post has reached its limit of {limit} comments",
    "notification.forum.commented.title": "New comment on your post",
    "notification.forum.commented.body": '{commenter} commented on your post "{title}"',
    "notification.forum.replied.title": "New reply to your comment",
    "notification.forum.replied.body": '{commenter} replied to your comment on "{title}"',
}
