"""Tutor profiles and search (the search step of TC-INT-001, the ranking behind TC-INT-009)."""

from __future__ import annotations

from models.tutors import record_rating
from tests.tutoring_fixtures import tutor


async def rate(ctx, tutor_id: str, *stars: int) -> None:
    for value in stars:
        await record_rating(ctx, tutor_id, value)


async def test_profile_update_and_view(api) -> None:
    teacher = await api.user("TUTOR", fullName="Vo Minh Tri")
    reply = await api.put(
        "/tutors/me",
        {"subjects": ["Toán", "toán", " Vật lý "], "bio": "Thạc sĩ", "hourlyRate": 300000},
        token=teacher.token,
    )
    assert reply.status == 200 and reply.body["message"] == "Cập nhật hồ sơ gia sư thành công"
    assert reply.data == {
        "id": teacher.id,
        "fullName": "Vo Minh Tri",
        "subjects": ["Toán", "Vật lý"],
        "bio": "Thạc sĩ",
        "hourlyRate": 300000,
        "rating": 0.0,
        "ratingCount": 0,
        "totalSessions": 0,
    }
    student = await api.user("STUDENT")
    assert (await api.get(f"/tutors/{teacher.id}", token=student.token)).data == reply.data
    me = await api.get("/auth/me", token=teacher.token)
    assert me.data["subjects"] == ["Toán", "Vật lý"] and me.data["ratingCount"] == 0

    refused = await api.put("/tutors/me", {"subjects": ["Toán"], "hourlyRate": 1}, token=student.token)
    assert refused.status == 403
    assert refused.body == {"error": "Forbidden", "message": "Access denied. Required role: TUTOR"}
    invalid = await api.put("/tutors/me", {"subjects": [], "hourlyRate": -1}, token=teacher.token)
    assert invalid.status == 400
    assert {e["field"] for e in invalid.body["validationErrors"]} == {"subjects", "hourlyRate"}
    assert (await api.get(f"/tutors/{student.id}", token=student.token)).status == 404
    assert (await api.get("/tutors/unknown", token=student.token)).status == 404
    assert (await api.get("/tutors")).status == 401


async def test_search_by_name_subject_and_minimum_rating(api, ctx) -> None:
    an = await tutor(api, "Nguyễn Thị An", ("Toán", "Hóa học"))
    binh = await tutor(api, "Trần Văn Bình", ("Tiếng Anh",))
    chi = await tutor(api, "Lê An Chi", ("Toán",))
    await rate(ctx, an.id, 5, 4)  # 4.5
    await rate(ctx, chi.id, 3)  # 3.0
    student = await api.user("STUDENT")

    async def ids(**params) -> list[str]:
        reply = await api.get("/tutors", token=student.token, params=params)
        assert reply.status == 200, reply.body
        assert reply.body["totalItems"] == len(reply.data)
        return sorted(t["id"] for t in reply.data)

    assert await ids(q="an") == sorted([an.id, binh.id, chi.id])  # "Trần Văn" folds to "tran van"
    assert await ids(q="thi an") == [an.id]
    assert await ids(q="AN CHI") == [chi.id]
    assert await ids(subject="toán") == sorted([an.id, chi.id])
    assert await ids(subject="Tiếng Anh") == [binh.id]
    assert await ids(minRating="4") == [an.id]
    assert await ids(minRating="3", subject="Toán") == sorted([an.id, chi.id])
    assert await ids(q="(.*") == []  # the name is matched literally
    # Case and diacritics are folded on both sides: "nguyen" finds "Nguyễn", "BINH" finds "Bình".
    assert await ids(q="nguyen thi") == [an.id]
    assert await ids(q="BINH") == [binh.id]
    assert await ids(q="Trần  Văn") == [binh.id]
    assert await ids(q="bính") == [binh.id]
    assert (await api.get("/tutors", token=student.token, params={"minRating": "6"})).status == 400
    assert (await api.get("/tutors", token=student.token, params={"sort": "password,asc"})).status == 400

    profile = (await api.get(f"/tutors/{an.id}", token=student.token)).data
    assert profile["rating"] == 4.5 and profile["ratingCount"] == 2
    paged = await api.get("/tutors", token=student.token, params={"size": "2", "page": "1"})
    assert paged.body["totalItems"] == 3 and len(paged.data) == 1


async def test_bayesian_ranking_three_fives_do_not_outrank_a_hundred_4_8s(api, ctx) -> None:
    newcomer = await tutor(api, "Three Fives")
    veteran = await tutor(api, "Hundred Four Point Eight")
    average = await tutor(api, "Average Tutor")
    weak = await tutor(api, "Weak Tutor")
    await rate(ctx, newcomer.id, 5, 5, 5)
    await rate(ctx, veteran.id, *([5] * 80 + [4] * 20))  # 4.8 over a hundred reviews
    await rate(ctx, average.id, *([4] * 30 + [3] * 30))  # 3.5
    await rate(ctx, weak.id, *([3] * 10 + [2] * 10))  # 2.5
    unrated = await tutor(api, "Nobody Yet")
    student = await api.user("STUDENT")

    ranked = (await api.get("/tutors", token=student.token)).data
    # m = 755 / 183 ≈ 4.13; C = 10: veteran ≈ 4.74, newcomer ≈ 4.33, an unrated tutor sits at the
    # prior mean (4.13), average ≈ 3.59, weak ≈ 3.04.
    assert [t["id"] for t in ranked] == [veteran.id, newcomer.id, unrated.id, average.id, weak.id]
    by_id = {t["id"]: t for t in ranked}
    # The raw average and count are what the profile shows.
    assert (by_id[newcomer.id]["rating"], by_id[newcomer.id]["ratingCount"]) == (5.0, 3)
    assert (by_id[veteran.id]["rating"], by_id[veteran.id]["ratingCount"]) == (4.8, 100)
    assert by_id[veteran.id]["score"] > by_id[newcomer.id]["score"]

    # Sorting by the raw rating is still available.
    raw = (await api.get("/tutors", token=student.token, params={"sort": "rating,desc"})).data
    assert [t["id"] for t in raw][:2] == [newcomer.id, veteran.id]


async def test_prior_weight_is_a_setting(make_app, aiohttp_client) -> None:
    from server.http import CTX_KEY
    from tests.conftest import ADMIN_PASSWORD
    from tests.helpers import Api

    client = await aiohttp_client(await make_app(tutor_rating_prior_weight=0.5))
    api, ctx = Api(client, ADMIN_PASSWORD), client.app[CTX_KEY]
    newcomer, veteran = await tutor(api, "Three Fives"), await tutor(api, "Hundred Four Point Eight")
    weak = await tutor(api, "Weak Tutor")
    await rate(ctx, newcomer.id, 5, 5, 5)
    await rate(ctx, veteran.id, *([5] * 80 + [4] * 20))
    await rate(ctx, weak.id, *([2] * 50))
    ranked = (await api.get("/tutors", token=newcomer.token)).data
    # With almost no prior, the raw averages decide.
    assert [t["id"] for t in ranked] == [newcomer.id, veteran.id, weak.id]
