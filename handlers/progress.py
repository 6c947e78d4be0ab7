"""Student progress entries and statistics."""

from __future__ import annotations

from models import progress, views
from server.area import Area
from server.http import Call, Reply, Routes
from server.roles import Role

routes = Routes(tag="progress")

READERS = (Role.STUDENT, Role.TUTOR, Role.MANAGEMENT, Role.ADMIN)


@routes.post(
    "/progress",
    roles=(Role.TUTOR, Role.ADMIN),
    body=progress.NewProgress,
    status=201,
    response=views.ProgressEntry,
    summary="The tutor of a COMPLETED session records a student's progress, once per session; live `progress:created`",
)
async def record_progress(call: Call) -> Reply:
    return Reply(await progress.record(call.ctx, call.user, call.body), "progress.created", status=201)


@routes.get(
    "/students/{studentId}/progress",
    roles=READERS,
    query=progress.ProgressQuery,
    response=views.ProgressEntry,
    response_list=True,
    summary="A student's progress entries, newest first (the student, their tutors, MANAGEMENT, ADMIN)",
)
async def list_progress(call: Call) -> Reply:
    items, total = await progress.list_progress(call.ctx, call.user, call.path("studentId"), call.query)
    return Reply(items, "progress.listed", total=total)


@routes.get(
    "/students/{studentId}/progress/stats",
    roles=READERS,
    response=views.ProgressStats,
    summary="{entries, completedSessions, averageScore, bySubject} (the student, their tutors, MANAGEMENT, ADMIN)",
)
async def progress_stats(call: Call) -> Reply:
    return Reply(await progress.statistics(call.ctx, call.user, call.path("studentId")), "progress.stats")


area = Area("progress", routes=routes, indexes=progress.INDEXES)
