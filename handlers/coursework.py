"""Coursework of a session: materials, homework, submissions and grades."""

from __future__ import annotations

from models import homework, materials, submissions, views
from server.area import Area
from server.http import Call, Reply, Routes
from server.roles import Role

routes = Routes(tag="coursework")

TUTOR = (Role.TUTOR, Role.ADMIN)


@routes.post(
    "/sessions/{sessionId}/materials",
    roles=TUTOR,
    body=materials.NewMaterial,
    status=201,
    response=views.Material,
    summary="The session's tutor posts a material; live `material:created` to participants and `session:<id>`",
)
async def post_material(call: Call) -> Reply:
    doc = await materials.post_material(call.ctx, call.user, call.path("sessionId"), call.body)
    return Reply(doc, "material.created", status=201)


@routes.get(
    "/sessions/{sessionId}/materials",
    query=materials.MaterialQuery,
    response=views.Material,
    response_list=True,
    summary="The session's materials, oldest first (participants, MANAGEMENT, ADMIN)",
)
async def list_materials(call: Call) -> Reply:
    items, total = await materials.list_materials(call.ctx, call.user, call.path("sessionId"), call.query)
    return Reply(items, "material.listed", total=total)


@routes.post(
    "/sessions/{sessionId}/homework",
    roles=TUTOR,
    body=homework.NewHomework,
    status=201,
    response=views.Homework,
    summary="The session's tutor sets homework; live `homework:created` to participants and `session:<id>`",
)
async def set_homework(call: Call) -> Reply:
    doc = await homework.set_homework(call.ctx, call.user, call.path("sessionId"), call.body)
    return Reply(doc, "homework.created", status=201)


@routes.get(
    "/sessions/{sessionId}/homework",
    query=homework.HomeworkQuery,
    response=views.Homework,
    response_list=True,
    summary="The session's homework, soonest due first (participants, MANAGEMENT, ADMIN)",
)
async def list_homework(call: Call) -> Reply:
    items, total = await homework.list_homework(call.ctx, call.user, call.path("sessionId"), call.query)
    return Reply(items, "homework.listed", total=total)


@routes.post(
    "/homework/{homeworkId}/submissions",
    roles=(Role.STUDENT,),
    body=submissions.NewSubmission,
    status=201,
    response=views.Submission,
    summary="A student of the session submits (201), or replaces their ungraded submission (200); graded: 409",
)
async def submit(call: Call) -> Reply:
    doc, first = await submissions.submit(call.ctx, call.user, call.path("homeworkId"), call.body)
    return Reply(doc, "submission.submitted" if first else "submission.replaced", status=201 if first else 200)


@routes.get(
    "/homework/{homeworkId}/submissions",
    query=submissions.SubmissionQuery,
    response=views.Submission,
    response_list=True,
    summary="Submissions with grades: the tutor (MANAGEMENT, ADMIN) sees all, a student only their own",
)
async def list_submissions(call: Call) -> Reply:
    items, total = await submissions.list_submissions(call.ctx, call.user, call.path("homeworkId"), call.query)
    return Reply(items, "submission.listed", total=total)


@routes.post(
    "/submissions/{submissionId}/grade",
    roles=TUTOR,
    body=submissions.Grade,
    response=views.Submission,
    summary="The tutor grades (or regrades) a submission, 0 <= score <= maxScore; live `grade:updated` to the student",
)
async def grade(call: Call) -> Reply:
    doc = await submissions.grade(call.ctx, call.user, call.path("submissionId"), call.body)
    return Reply(doc, "submission.graded")


area = Area(
    "coursework",
    routes=routes,
    indexes=[*materials.INDEXES, *homework.INDEXES, *submissions.INDEXES],
)
