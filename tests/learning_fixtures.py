"""Helpers shared by the learning tests (coursework, evaluations, progress)."""

from __future__ import annotations

from typing import Any

from server.clock import FakeClock
from tests.helpers import Api, User
from tests.tutoring_fixtures import later


async def group_session(
    api: Api,
    clock: FakeClock,
    teacher: User,
    *students: User,
    subject: str = "Math",
    title: str = "Luyện đề",
    capacity: int = 5,
    minutes: float = 10,
    duration: int = 30,
) -> dict[str, Any]:
    """A tutor's group session starting `minutes` from now, joined by `students`."""
    created = await api.post(
        "/sessions",
        {
            "subject": subject,
            "title": title,
            "startTime": later(clock, minutes=minutes),
            "durationMinutes": duration,
            "capacity": capacity,
        },
        token=teacher.token,
    )
    assert created.status == 201, created.body
    for student in students:
        joined = await api.post(f"/sessions/{created.data['id']}/join", token=student.token)
        assert joined.status == 200, joined.body
    return (await api.get(f"/sessions/{created.data['id']}", token=teacher.token)).data


async def complete(api: Api, teacher: User, session: dict[str, Any]) -> dict[str, Any]:
    """Complete a session whose start has passed on the fake clock."""
    done = await api.post(f"/sessions/{session['id']}/complete", token=teacher.token)
    assert done.status == 200, done.body
    return done.data
