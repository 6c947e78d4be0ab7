"""Helpers shared by the tutoring tests (tutors, sessions, cancel requests, classes)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from server.clock import FakeClock
from server.jsonutil import iso
from tests.helpers import Api, User


def later(clock: FakeClock, **delta: float) -> str:
    """An ISO time `delta` after the fake clock's now."""
    return iso(clock.now() + timedelta(**delta))


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def tutor(
    api: Api,
    full_name: str = "Nguyen Van Tutor",
    subjects: tuple[str, ...] = ("Math",),
    hourly_rate: float = 200000,
    bio: str = "Experienced tutor",
) -> User:
    user = await api.user("TUTOR", fullName=full_name)
    reply = await api.put(
        "/tutors/me", {"subjects": list(subjects), "bio": bio, "hourlyRate": hourly_rate}, token=user.token
    )
    assert reply.status == 200, reply.body
    return user


async def book(api: Api, student: User, tutor_id: str, start: str, minutes: int = 60, subject: str = "Math") -> Any:
    return await api.post(
        "/sessions",
        {"tutorId": tutor_id, "subject": subject, "startTime": start, "durationMinutes": minutes},
        token=student.token,
    )


async def notifications(api: Api, user: User) -> list[dict[str, Any]]:
    reply = await api.get("/notifications", token=user.token, params={"size": 100})
    assert reply.status == 200, reply.body
    return reply.data


async def kinds(api: Api, user: User) -> list[str]:
    return [n["type"] for n in await notifications(api, user)]


async def of_kind(api: Api, user: User, kind: str) -> list[dict[str, Any]]:
    """The user's notifications of one type (notifications made at one fake instant tie on createdAt)."""
    return [n for n in await notifications(api, user) if n["type"] == kind]


async def relogin(api: Api, *users: User) -> list[User]:
    """Fresh tokens after the fake clock moved past the access-token lifetime."""
    return [await api.login(u.username, u.password) for u in users]


@pytest.fixture
def interleaving() -> None:
    """Every embedded-store operation yields to the event loop: now true of every test (random,
    seeded yields around and inside every operation, see tests/conftest.py), so this fixture only
    marks the tests written to catch a race."""
