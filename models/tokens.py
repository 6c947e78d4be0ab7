"""Token pairs: issuing, refresh with rotation and reuse detection, logout.

A refresh token is an opaque random string; only its SHA-256 is stored. Each login starts a
family; every refresh marks the presented token used (one conditional update, so two racing
refreshes cannot both win) and issues the next token of the same family. Presenting a token that
was already used means it was stolen or replayed: the whole family is revoked, and with it every
access token issued from it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from models.users import get_user, public_user
from server.auth import Principal, issue_access_token, revoke_access_token, revoke_family
from server.context import Context
from server.errors import AuthError
from server.realtime import family_room

COLLECTION = "refresh_tokens"
INDEXES = [
    (COLLECTION, [("family", 1)], {}),
    # Housekeeping: MongoDB drops a token a day after it expires by the wall clock. Validity itself
    # is the `expiresAt` condition against ctx.clock, so a fake clock never races the TTL monitor.
    (COLLECTION, [("purgeAt", 1)], {"expireAfterSeconds": 0}),
]


class RefreshRequest(BaseModel):
    refreshToken: str = Field(min_length=1, max_length=512)


class LogoutRequest(BaseModel):
    refreshToken: str | None = Field(None, max_length=512)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _new_refresh_token(ctx: Context, user_id: str, family: str) -> str:
    token = secrets.token_urlsafe(48)
    now = ctx.clock.now()
    ttl = timedelta(seconds=ctx.settings.refresh_token_ttl_seconds)
    await ctx.db[COLLECTION].insert_one(
        {
            "_id": _digest(token),
            "userId": user_id,
            "family": family,
            "createdAt": now,
            "expiresAt": now + ttl,
            "purgeAt": datetime.now(UTC) + ttl + timedelta(days=1),
            "usedAt": None,
            "revokedAt": None,
        }
    )
    return token


async def issue_pair(ctx: Context, user: dict[str, Any], family: str | None = None) -> dict[str, Any]:
    family = family or uuid.uuid4().hex
    access, ttl = issue_access_token(ctx, user["_id"], user["role"], family)
    return {
        "accessToken": access,
        "refreshToken": await _new_refresh_token(ctx, user["_id"], family),
        "tokenType": "Bearer",
        "expiresIn": ttl,
        "user": public_user(user),
    }


async def refresh(ctx: Context, token: str) -> dict[str, Any]:
    now = ctx.clock.now()
    tokens = ctx.db[COLLECTION]
    claimed = await tokens.find_one_and_update(
        {"_id": _digest(token), "usedAt": None, "revokedAt": None, "expiresAt": {"$gt": now}},
        {"$set": {"usedAt": now}},
    )
    if claimed is None:
        known = await tokens.find_one({"_id": _digest(token)})
        if known and known.get("usedAt") is not None:
            await _revoke_family(ctx, known["family"])  # reuse: someone else holds this chain
        raise AuthError.invalid()
    user = await get_user(ctx, claimed["userId"])
    return await issue_pair(ctx, user, family=claimed["family"])


async def _revoke_family(ctx: Context, family: str) -> None:
    """Stop the family's refresh tokens, its access tokens, and the sockets opened with any of them
    (in every process, after an `auth:revoked` notice)."""
    await ctx.db[COLLECTION].update_many(
        {"family": family, "revokedAt": None}, {"$set": {"revokedAt": ctx.clock.now()}}
    )
    await revoke_family(ctx, family)
    await ctx.realtime.end_sessions([family_room(family)])


async def logout(ctx: Context, principal: Principal, refresh_token: str | None) -> None:
    """Stop the calling access token at once, and its refresh family (the presented token's too)."""
    await revoke_access_token(ctx, principal)
    await _revoke_family(ctx, principal.family)
    if refresh_token:
        known = await ctx.db[COLLECTION].find_one({"_id": _digest(refresh_token)})
        if known and known["userId"] == principal.id and known["family"] != principal.family:
            await _revoke_family(ctx, known["family"])
