"""The cancellation-request records that a session's own transitions close.

Separate from `cancel_requests` (which builds on `sessions`) so that `sessions` can close a
session's open requests without importing it back.
"""

from __future__ import annotations

from enum import StrEnum

from server.context import Context

COLLECTION = "cancel_requests"


class CancelRequestStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CLOSED = "CLOSED"  # its session stopped being active before anyone decided


async def close_open_requests(ctx: Context, session_id: str) -> None:
    """The session stopped being active: its open requests have nothing left to decide."""
    now = ctx.clock.now()
    await ctx.db[COLLECTION].update_many(
        {"sessionId": session_id, "status": CancelRequestStatus.PENDING},
        {"$set": {"status": CancelRequestStatus.CLOSED, "decidedAt": now, "updatedAt": now}, "$unset": {"openKey": ""}},
    )
