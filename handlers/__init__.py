"""Transports: one module per area with its routes (`routes`) and socket events (`events`).

Each module may also define `setup(ctx)` to register what it contributes at start (room checks).
`areas()` is the list the app factory installs.
"""

from __future__ import annotations

from types import ModuleType

from handlers import accounts, assignments, chat, classes, demo, notifications, presence, rooms, sessions, tutors


def areas() -> list[ModuleType]:
    return [accounts, notifications, rooms, assignments, demo, tutors, sessions, classes, chat, presence]
