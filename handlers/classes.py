"""Classes: creation, enrolment, session generation; `room:join` of `class:<id>`."""

from __future__ import annotations

from models import classes, views
from server.area import Area
from server.http import Call, Reply, Routes
from server.roles import Role

routes = Routes(tag="classes")


@routes.post(
    "/classes",
    roles=(Role.TUTOR,),
    body=classes.NewClass,
    status=201,
    response=views.TutoringClass,
    summary="Create a class with a weekly schedule",
)
async def create_class(call: Call) -> Reply:
    return Reply(await classes.create_class(call.ctx, call.user, call.body), "class.created", status=201)


@routes.get(
    "/classes",
    query=classes.ClassQuery,
    response=views.TutoringClass,
    response_list=True,
    summary="Classes, with enrolledCount",
)
async def list_classes(call: Call) -> Reply:
    items, total = await classes.list_classes(call.ctx, call.user, call.query)
    return Reply(items, "class.listed", total=total)


@routes.get("/classes/{classId}", response=views.TutoringClass, summary="A class, with enrolledCount")
async def get_class(call: Call) -> Reply:
    return Reply(await classes.get_class(call.ctx, call.user, call.path("classId")), "class.found")


@routes.post(
    "/classes/{classId}/enroll",
    roles=(Role.STUDENT,),
    status=201,
    response=views.Enrollment,
    summary="Enrol in a class (once, up to capacity); joins its upcoming sessions",
)
async def enroll(call: Call) -> Reply:
    return Reply(await classes.enroll(call.ctx, call.user, call.path("classId")), "class.enrolled", status=201)


@routes.post(
    "/classes/{classId}/sessions",
    roles=(Role.TUTOR, Role.ADMIN),
    status=201,
    response=views.SessionGeneration,
    summary="Generate the class's sessions from its schedule (idempotent; conflicts reported)",
)
async def generate_sessions(call: Call) -> Reply:
    report, created = await classes.generate_sessions(call.ctx, call.user, call.path("classId"))
    return Reply(
        report,
        "class.sessions_generated" if created else "class.sessions_up_to_date",
        status=201 if created else 200,
        params={"count": report["createdCount"]},
    )


area = Area("classes", routes=routes, room_checks={"class": classes.may_watch}, indexes=classes.INDEXES)
