"""The cancellation-request records that a session's own transitions close.

Separate from `cancel_requests` (which builds on `sessions`) so that `sessions` can close a
session's open requests without importing it back.
"""

from __future__ import annotations

from server.context import Context

COLLECTION = "cancel_requests"


async def close_open_requests(ctx: Context, session_id: str) -> None:
    """The session stopped being active: its open requests have nothing left to decide."""
    now = ctx.clock.now()
    await ctx.db[COLLECTION].update_many(
        {"sessionId": session_id, "status": "PENDING"},
        {"$set": {"status": "CLOSED", "decidedAt": now, "updatedAt": now}, "$unset": {"openKey": ""}},
    )
