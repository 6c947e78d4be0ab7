"""Time as a dependency: every rule asks `ctx.clock.now()`, so tests move time instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def to_millis(moment: datetime) -> datetime:
    """MongoDB keeps milliseconds; truncating every time we make makes both stores compare alike."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def epoch_millis(moment: datetime) -> int:
    """Milliseconds since the epoch: the score of delayed jobs, rate-limit windows, presence stamps."""
    return int(moment.timestamp() * 1000)


class SystemClock:
    def now(self) -> datetime:
        return to_millis(datetime.now(UTC))

    def timestamp(self) -> float:
        return self.now().timestamp()


class FakeClock(SystemClock):
    """A clock that stands still until told to move."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = to_millis(start or datetime.now(UTC))

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = to_millis(moment if moment.tzinfo else moment.replace(tzinfo=UTC))

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        self._now = to_millis(self._now + timedelta(seconds=seconds, **delta))
        return self._now


def as_utc(moment: datetime) -> datetime:
    """Stores may hand back naive datetimes (UTC by convention); make them aware."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
