"""Access tokens (JWT, HS256 pinned on decode), their revocation in Redis, and authorization helpers.

An access token names its refresh family (`fam`), so logging out or detecting refresh-token reuse
stops every access token of that family at once: Redis keeps `revoked:jti:<jti>` and
`revoked:fam:<fam>` until the longest such token would have expired anyway.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from config.settings import Settings
from server.context import Context
from server.errors import AuthError, Forbidden
from server.roles import Role

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as proven by an access token."""

    id: str
    role: Role
    jti: str
    family: str
    expires_at: float

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def load_or_create_secret(data_dir: Path) -> str:
    """A random signing key kept in DATA_DIR, so tokens outlive a restart without configuration."""
    path = data_dir / "jwt_secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def issue_access_token(ctx: Context, user_id: str, role: str, family: str) -> tuple[str, int]:
    return sign_access_token(ctx.settings, ctx.clock.now(), user_id, role, family)


def sign_access_token(
    settings: Settings, now: datetime, user_id: str, role: str, family: str, jti: str | None = None
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds (the seed CLI signs one without a Context).

    The same arguments (and `jti`) sign the same token: a refresh answered again within its grace
    window hands back the very token it issued the first time."""
    ttl = settings.access_token_ttl_seconds
    claims = {
        "sub": user_id,
        "role": role,
        "fam": family,
        "jti": jti or uuid.uuid4().hex,
        "type": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM), ttl


def _revoked_keys(jti: str, family: str) -> list[str]:
    return [f"revoked:jti:{jti}", f"revoked:fam:{family}"]


async def principal_from_token(ctx: Context, token: str | None) -> Principal:
    """Decode and check a bearer token; raise the seed's 401 on anything wrong with it."""
    if not token:
        raise AuthError.missing()
    try:
        # Expiry is checked against ctx.clock below, so tests can move time.
        claims: dict[str, Any] = jwt.decode(
            token,
            ctx.settings.jwt_secret,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "require": ["sub", "exp", "jti", "fam", "role"]},
        )
    except jwt.PyJWTError:
        raise AuthError.invalid() from None
    if claims.get("type") != "access" or claims["exp"] <= ctx.clock.timestamp():
        raise AuthError.invalid()
    if claims["role"] not in Role.__members__:
        raise AuthError.invalid()
    if any(await ctx.redis.mget(_revoked_keys(claims["jti"], claims["fam"]))):
        raise AuthError.invalid()
    return Principal(
        id=claims["sub"],
        role=Role(claims["role"]),
        jti=claims["jti"],
        family=claims["fam"],
        expires_at=float(claims["exp"]),
    )


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def revoke_access_token(ctx: Context, principal: Principal) -> None:
    ttl = max(1, int(principal.expires_at - ctx.clock.timestamp()) + 1)
    await ctx.redis.set(f"revoked:jti:{principal.jti}", "1", ex=ttl)


async def revoke_family(ctx: Context, family: str) -> None:
    # Any access token of the family expires within one access TTL of now.
    await ctx.redis.set(f"revoked:fam:{family}", "1", ex=ctx.settings.access_token_ttl_seconds + 1)


def require_role(principal: Principal, roles: tuple[str, ...]) -> None:
    if principal.role not in roles:
        raise AuthError.role_required(roles)


def ensure_owner(principal: Principal, owner_id: str | None) -> None:
    """Acting on something that is not yours: 403 "Access denied" (ADMIN may act on anything)."""
    if not principal.is_admin and principal.id != owner_id:
        raise Forbidden()


async def ensure_still_valid(ctx: Context, principal: Principal) -> None:
    """For long-lived sockets: the token behind a connection may since have expired or been revoked."""
    if principal.expires_at <= ctx.clock.timestamp():
        raise AuthError.invalid("expired")
    if any(await ctx.redis.mget(_revoked_keys(principal.jti, principal.family))):
        raise AuthError.invalid("revoked")
