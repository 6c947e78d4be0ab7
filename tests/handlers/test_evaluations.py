"""Evaluations and the tutor's rating through the real app (TC-INT-009)."""

from __future__ import annotations

import asyncio

from tests.learning_fixtures import complete, group_session
from tests.tutoring_fixtures import (
    interleaving,  # noqa: F401 (fixture)
    of_kind,
    tutor,
)

FORBIDDEN = {"error": "Forbidden", "message": "Access denied"}


async def test_TC_INT_009_evaluation_updates_rating_profile_and_search(api, clock, jobs, sockets) -> None:
    # Preconditions: two completed sessions; "Anh" sorts first by name while nobody has reviews.
    teacher = await tutor(api, "Tran Thi Mai", ("Math",))
    rival = await tutor(api, "Anh Rival", ("Math",))
    a, b = await api.user("STUDENT", fullName="Le Van A"), await api.user("STUDENT", fullName="Pham Thi B")
    outsider = await api.user("STUDENT")
    session = await group_session(api, clock, teacher, a, b, minutes=1)
    rival_session = await group_session(api, clock, rival, a, minutes=1)
    unfinished = await group_session(api, clock, teacher, a, minutes=60)
    before = await api.get("/tutors", token=a.token, params={"subject": "Math"})
    assert [t["id"] for t in before.data] == [rival.id, teacher.id]
    clock.advance(minutes=2)
    await complete(api, teacher, session)
    await complete(api, rival, rival_session)
    live = await sockets(teacher.token)
    path = f"/sessions/{session['id']}/evaluations"

    # 1-2. Students create evaluations; they are created.
    first = await api.post(path, {"rating": 5, "comment": "Dạy rất dễ hiểu"}, token=a.token)
    assert first.status == 201, first.body
    assert first.body["message"] == "Đánh giá gia sư thành công"
    assert {k: v for k, v in first.data.items() if k not in ("id", "createdAt")} == {
        "sessionId": session["id"],
        "tutorId": teacher.id,
        "studentId": a.id,
        "studentName": "Le Van A",
        "subject": "Math",
        "rating": 5,
        "comment": "Dạy rất dễ hiểu",
    }
    clock.advance(seconds=1)
    second = await api.post(path, {"rating": 4}, token=b.token)
    assert second.status == 201 and second.data["comment"] is None
    assert (await api.post(f"/sessions/{rival_session['id']}/evaluations", {"rating": 3}, token=a.token)).status == 201

    # Once per student per session; only its students; only once COMPLETED.
    twice = await api.post(path, {"rating": 1}, token=a.token, headers={"Accept-Language": "en"})
    assert twice.status == 409 and twice.body == {"success": False, "message": "You already evaluated this session"}
    assert (await api.post(path, {"rating": 5}, token=outsider.token)).body == FORBIDDEN
    by_tutor = await api.post(path, {"rating": 5}, token=teacher.token)
    assert by_tutor.body == {"error": "Forbidden", "message": "Access denied. Required role: STUDENT"}
    early = await api.post(f"/sessions/{unfinished['id']}/evaluations", {"rating": 5}, token=a.token)
    assert early.status == 409
    for bad in ({"rating": 0}, {"rating": 6}, {"rating": "five"}, {}):
        refused = await api.post(path, bad, token=b.token)
        assert refused.status == 400 and refused.body["validationErrors"][0]["field"] == "rating"
    assert (await api.post("/sessions/nope/evaluations", {"rating": 5}, token=a.token)).status == 404

    listed = await api.get(f"/tutors/{teacher.id}/evaluations", token=outsider.token)
    assert listed.status == 200 and listed.body["totalItems"] == 2
    assert [e["id"] for e in listed.data] == [second.data["id"], first.data["id"]]  # newest first
    paged = await api.get(f"/tutors/{teacher.id}/evaluations", token=outsider.token, params={"size": 1, "page": 1})
    assert paged.data == [first.data] and paged.body["totalItems"] == 2
    assert (await api.get(f"/tutors/{a.id}/evaluations", token=a.token)).status == 404

    # 3-5. The tutor's rating, count and completed sessions, as the profile shows them.
    profile = await api.get(f"/tutors/{teacher.id}", token=outsider.token)
    assert {k: profile.data[k] for k in ("rating", "ratingCount", "totalSessions")} == {
        "rating": 4.5,
        "ratingCount": 2,
        "totalSessions": 1,
    }

    # 6. The rating affects search: the better-rated tutor now ranks first.
    after = await api.get("/tutors", token=outsider.token, params={"subject": "Math"})
    assert [t["id"] for t in after.data] == [teacher.id, rival.id]
    # m = 12 / 3 = 4, C = 10: (40 + 9) / 12 and (40 + 3) / 11.
    assert [t["score"] for t in after.data] == [round(49 / 12, 4), round(43 / 11, 4)]
    assert [t["id"] for t in (await api.get("/tutors", token=a.token, params={"minRating": 4})).data] == [teacher.id]

    # The tutor hears of it, live and through the notification pipeline.
    assert (await live.wait_for("evaluation:created"))["id"] == first.data["id"]
    assert [e["rating"] for e in live.events("evaluation:created")] == [5, 4]
    await jobs.run()
    notes = await of_kind(api, teacher, "evaluation.received")
    assert sorted(n["body"] for n in notes) == [
        "Le Van A đánh giá buổi học Luyện đề 5/5 sao",
        "Pham Thi B đánh giá buổi học Luyện đề 4/5 sao",
    ]
    assert {n["data"]["evaluationId"] for n in notes} == {first.data["id"], second.data["id"]}


async def test_twenty_students_evaluate_at_once(api, clock, ctx, interleaving) -> None:
    teacher = await tutor(api)
    students = [await api.user("STUDENT") for _ in range(20)]
    session = await group_session(api, clock, teacher, *students, capacity=20, minutes=1)
    clock.advance(minutes=2)
    await complete(api, teacher, session)
    stars = [5] * 7 + [4] * 6 + [3] * 4 + [2] * 2 + [1]  # 76 / 20 = 3.8
    path = f"/sessions/{session['id']}/evaluations"

    # Each student sends their evaluation twice at the same moment: 20 are stored, 20 refused.
    calls = [
        api.post(path, {"rating": r}, token=s.token) for _ in range(2) for s, r in zip(students, stars, strict=True)
    ]
    replies = await asyncio.gather(*calls)
    assert sorted(r.status for r in replies) == [201] * 20 + [409] * 20

    profile = (await api.get(f"/tutors/{teacher.id}", token=students[0].token)).data
    assert (profile["rating"], profile["ratingCount"], profile["totalSessions"]) == (3.8, 20, 1)
    stored = await ctx.db["users"].find_one({"_id": teacher.id})
    assert (stored["ratingSum"], stored["ratingCount"], stored["rating"]) == (76, 20, 3.8)
    listed = await api.get(f"/tutors/{teacher.id}/evaluations", token=students[0].token, params={"size": 100})
    assert listed.body["totalItems"] == 20
    assert sorted(e["studentId"] for e in listed.data) == sorted(s.id for s in students)
