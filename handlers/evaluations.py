"""Evaluations of tutors by the students of their completed sessions."""

from __future__ import annotations

from models import evaluations, views
from server.area import Area
from server.http import Call, Reply, Routes
from server.roles import Role

routes = Routes(tag="evaluations")


@routes.post(
    "/sessions/{sessionId}/evaluations",
    roles=(Role.STUDENT,),
    body=evaluations.NewEvaluation,
    status=201,
    response=views.Evaluation,
    summary="A student of a COMPLETED session rates its tutor, once (409 after); live `evaluation:created` to the tutor",
)
async def evaluate(call: Call) -> Reply:
    doc = await evaluations.evaluate(call.ctx, call.user, call.path("sessionId"), call.body)
    return Reply(doc, "evaluation.created", status=201)


@routes.get(
    "/tutors/{tutorId}/evaluations",
    query=evaluations.EvaluationQuery,
    response=views.Evaluation,
    response_list=True,
    summary="A tutor's evaluations, newest first",
)
async def list_evaluations(call: Call) -> Reply:
    items, total = await evaluations.list_for_tutor(call.ctx, call.path("tutorId"), call.query)
    return Reply(items, "evaluation.listed", total=total)


area = Area("evaluations", routes=routes, indexes=evaluations.INDEXES)
