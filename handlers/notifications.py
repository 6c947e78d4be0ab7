"""Notifications of the caller, admin announcements and the queue's state."""

from __future__ import annotations

from models import notifications, views
from server.area import Area
from server.http import Call, Reply, Routes
from server.roles import Role

routes = Routes(tag="notifications")


@routes.get(
    "/notifications",
    query=notifications.NotificationQuery,
    response=views.Notification,
    response_list=True,
    summary="Your notifications, newest first",
)
async def list_notifications(call: Call) -> Reply:
    items, total = await notifications.list_notifications(call.ctx, call.user.id, call.query, call.locale)
    return Reply(items, "notification.listed", total=total)


@routes.get(
    "/notifications/unread-count", response=views.UnreadCount, summary="How many of your notifications are unread"
)
async def unread_count(call: Call) -> Reply:
    return Reply({"count": await notifications.unread_count(call.ctx, call.user.id)}, "notification.count")


@routes.post("/notifications/read-all", response=views.UpdatedCount, summary="Mark all your notifications read")
async def read_all(call: Call) -> Reply:
    return Reply({"updated": await notifications.mark_all_read(call.ctx, call.user.id)}, "notification.all_marked_read")


@routes.post(
    "/notifications/{notificationId}/read", response=views.Notification, summary="Mark one of your notifications read"
)
async def read_one(call: Call) -> Reply:
    doc = await notifications.mark_read(call.ctx, call.user.id, call.path("notificationId"), call.locale)
    return Reply(doc, "notification.marked_read")


@routes.post(
    "/admin/announcements",
    roles=(Role.ADMIN,),
    body=notifications.Announcement,
    status=202,
    response=views.QueuedJob,
    summary="Notify users (by id or role), now or at processAt",
)
async def announce(call: Call) -> Reply:
    job_id = await notifications.announce(call.ctx, call.body)
    return Reply({"jobId": job_id}, "notification.announcement_queued", status=202)


@routes.get(
    "/admin/queue",
    roles=(Role.ADMIN,),
    response=views.QueueStats,
    summary="Ready, delayed, pending and dead jobs, and the next delayed",
)
async def queue(call: Call) -> Reply:
    return Reply(await call.ctx.queue.stats(), "notification.queue_stats")


area = Area("notifications", routes=routes, indexes=notifications.INDEXES)
