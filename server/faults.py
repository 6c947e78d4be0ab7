"""Crash points: where a test may stop an operation between two writes, as a `kill -9` would.

    crash_point(ctx, "session.reserved")   # in the model, between the calendar write and the insert
    ctx.faults.arm("session.reserved")     # in a test: the next pass through that point "dies"

`SimulatedCrash` derives from BaseException, not Exception, so no `except Exception` on the way up
(the error middleware, a model's cleanup) mistakes it for an ordinary failure and repairs what a
killed process could not have repaired: the writes made so far stay, those after it never happen.
What is left behind is what the reconcile pass (`models/reconcile.py`) must find and repair.

Unarmed, a crash point is one attribute read and a falsy test: nothing to await, no lookup.
The registry lives on the Context, so tests running side by side never arm each other's points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class SimulatedCrash(BaseException):
    """The process "died" at a crash point."""

    def __init__(self, name: str) -> None:
        super().__init__(f"simulated crash at {name!r}")
        self.name = name


@dataclass
class Faults:
    """The crash points armed on one Context: name -> how many more passes crash."""

    armed: dict[str, int] = field(default_factory=dict)

    def arm(self, name: str, times: int = 1) -> None:
        self.armed[name] = self.armed.get(name, 0) + times


class HasFaults(Protocol):
    faults: Faults


def crash_point(ctx: HasFaults, name: str) -> None:
    """Raise `SimulatedCrash` if a test armed `name`; otherwise nothing (and nothing costly)."""
    armed = ctx.faults.armed
    if not armed:
        return
    left = armed.get(name)
    if not left:
        return
    if left == 1:
        del armed[name]
    else:
        armed[name] = left - 1
    raise SimulatedCrash(name)
