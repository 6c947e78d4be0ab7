"""Token pairs: issuing, refresh with rotation and reuse detection, logout.

A refresh token is an opaque random string; only its SHA-256 is stored. Each login starts a
family; every refresh marks the presented token used (one conditional update, so two racing
refreshes cannot both win) and issues the next token of the same family. The same token again
within a short grace window gets the same pair (racing tabs); later, a token that was already used
means it was stolen or replayed: the whole family is revoked, and with it every access token
issued from it and every socket opened with one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from pymongo import ReturnDocument

from models.users import get_user, public_user
from server.auth import Principal, issue_access_token, revoke_access_token, revoke_family, sign_access_token
from server.clock import as_utc
from server.context import Context
from server.errors import AuthError
from server.indexes import IndexSpec
from server.realtime import family_room

COLLECTION = "refresh_tokens"
INDEXES: list[IndexSpec] = [
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


def _successor_of(ctx: Context, token: str) -> str:
    """The refresh token that follows `token`: derived from it with the signing key, so a refresh
    answered again (within the grace window) gives the same token without storing it anywhere."""
    assert ctx.settings.jwt_secret
    mac = hmac.new(ctx.settings.jwt_secret.encode(), b"refresh-successor\x00" + token.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


async def _store_refresh_token(ctx: Context, token: str, user_id: str, family: str, issued_at: datetime) -> None:
    """Keep the token's digest (idempotent: storing the same token twice keeps the first record)."""
    ttl = timedelta(seconds=ctx.settings.refresh_token_ttl_seconds)
    await ctx.db[COLLECTION].update_one(
        {"_id": _digest(token)},
        {
            "$setOnInsert": {
                "userId": user_id,
                "family": family,
                "createdAt": issued_at,
                "expiresAt": issued_at + ttl,
                "purgeAt": datetime.now(UTC) + ttl + timedelta(days=1),
                "usedAt": None,
                "revokedAt": None,
            }
        },
        upsert=True,
    )


def _pair(access: str, ttl: int, refresh_token: str, user: dict[str, Any]) -> dict[str, Any]:
    return {
        "accessToken": access,
        "refreshToken": refresh_token,
        "tokenType": "Bearer",
        "expiresIn": ttl,
        "user": public_user(user),
    }


async def issue_pair(ctx: Context, user: dict[str, Any], family: str | None = None) -> dict[str, Any]:
    family = family or uuid.uuid4().hex
    access, ttl = issue_access_token(ctx, user["_id"], user["role"], family)
    refresh_token = secrets.token_urlsafe(48)
    await _store_refresh_token(ctx, refresh_token, user["_id"], family, ctx.clock.now())
    return _pair(access, ttl, refresh_token, user)


async def refresh(ctx: Context, token: str) -> dict[str, Any]:
    """The next pair of the token's family; the token is used up.

    Marking it used records what it is exchanged for (the new access token's jti and time) in the
    same conditional update, so the exchange is decided once however many requests race. The same
    token presented again within REFRESH_REUSE_GRACE_SECONDS (two tabs refreshing at once, a retry
    after a lost reply) gets that same pair back; presented later, it is reuse: the family is
    revoked, and with it every token and socket of that login."""
    now = ctx.clock.now()
    tokens = ctx.db[COLLECTION]
    claimed = await tokens.find_one_and_update(
        {"_id": _digest(token), "usedAt": None, "revokedAt": None, "expiresAt": {"$gt": now}},
        {"$set": {"usedAt": now, "successor": {"jti": uuid.uuid4().hex, "issuedAt": now}}},
        return_document=ReturnDocument.AFTER,
    )
    if claimed is not None:
        return await _successor_pair(ctx, token, claimed)
    known = await tokens.find_one({"_id": _digest(token)})
    if known is None or known.get("usedAt") is None:
        raise AuthError.invalid()  # unknown, expired or revoked before use
    grace = timedelta(seconds=ctx.settings.refresh_reuse_grace_seconds)
    if known.get("revokedAt") is None and known.get("successor") and now - as_utc(known["usedAt"]) <= grace:
        return await _successor_pair(ctx, token, known)
    await _revoke_family(ctx, known["family"])  # reuse: someone else holds this chain
    raise AuthError.invalid()


async def _successor_pair(ctx: Context, token: str, used: dict[str, Any]) -> dict[str, Any]:
    """The pair `token` was exchanged for, signed and stored again identically (idempotent)."""
    user = await get_user(ctx, used["userId"])
    issued_at = as_utc(used["successor"]["issuedAt"])
    access, ttl = sign_access_token(
        ctx.settings, issued_at, user["_id"], user["role"], used["family"], jti=used["successor"]["jti"]
    )
    successor = _successor_of(ctx, token)
    await _store_refresh_token(ctx, successor, user["_id"], used["family"], issued_at)
    return _pair(access, ttl, successor, user)


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
