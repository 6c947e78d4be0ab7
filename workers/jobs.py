"""Job types and the model operations that handle them (a worker calls models like a handler does)."""

from __future__ import annotations

from models import notifications, sessions
from workers.worker import JobHandler

JOB_HANDLERS: dict[str, JobHandler] = {
    notifications.JOB_TYPE: notifications.deliver,
    sessions.REMINDER_JOB: sessions.send_reminder,
}
