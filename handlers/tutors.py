"""Tutor search and profiles."""

from __future__ import annotations

from models import tutors, views
from server.area import Area
from server.http import Call, Reply, Routes
from server.roles import Role

routes = Routes(tag="tutors")


@routes.get(
    "/tutors",
    query=tutors.TutorQuery,
    response=views.TutorSearchHit,
    response_list=True,
    summary="Search tutors by name, subject and minimum rating (default: Bayesian-ranked)",
)
async def search_tutors(call: Call) -> Reply:
    items, total = await tutors.search(call.ctx, call.query)
    return Reply(items, "tutor.listed", total=total)


@routes.put(
    "/tutors/me",
    roles=(Role.TUTOR,),
    body=tutors.ProfileUpdate,
    response=views.TutorProfile,
    summary="Set your tutor profile",
)
async def update_my_profile(call: Call) -> Reply:
    return Reply(await tutors.update_profile(call.ctx, call.user.id, call.body), "tutor.profile_updated")


@routes.get(
    "/tutors/{tutorId}", response=views.TutorProfile, summary="A tutor's profile (raw average rating and count)"
)
async def get_tutor(call: Call) -> Reply:
    return Reply(await tutors.get_profile(call.ctx, call.path("tutorId")), "tutor.found")


area = Area("tutors", routes=routes, indexes=tutors.INDEXES)
