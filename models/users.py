"""Accounts: registration, admin-created users, credential checks, the bootstrap admin."""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymongo.errors import DuplicateKeyError

from models.tutor_profiles import profile_fields
from server.context import Context
from server.documents import find_or_404
from server.errors import BadCredentials, Conflict
from server.indexes import IndexSpec
from server.passwords import hash_password, verify_password
from server.ratelimit import take
from server.roles import Role
from server.text import search_key

log = logging.getLogger(__name__)

COLLECTION = "users"

INDEXES: list[IndexSpec] = [
    (COLLECTION, [("usernameKey", 1)], {"unique": True}),
    (COLLECTION, [("email", 1)], {"unique": True}),
    (COLLECTION, [("employeeId", 1)], {"unique": True, "partialFilterExpression": {"employeeId": {"$type": "string"}}}),
    (COLLECTION, [("role", 1)], {}),
]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class NewUser(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    username: str = Field(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=8, max_length=128)
    fullName: str = Field(min_length=1, max_length=100)
    role: Role
    phone: str | None = Field(None, max_length=20, pattern=r"^\+?[0-9 .-]{6,20}$")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("invalid email")
        return value.lower()


class Registration(NewUser):
    role: Literal[Role.STUDENT, Role.TUTOR, Role.CUSTOMER]


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=254)  # a username or an email
    password: str = Field(min_length=1, max_length=128)


def public_user(doc: dict[str, Any]) -> dict[str, Any]:
    """The user as the API shows it: never the password hash."""
    user = {
        "id": doc["_id"],
        "username": doc["username"],
        "email": doc["email"],
        "fullName": doc["fullName"],
        "phone": doc.get("phone"),
        "role": doc["role"],
        "createdAt": doc["createdAt"],
    }
    if doc["role"] == Role.EMPLOYEE:
        user["employeeId"] = doc.get("employeeId")
    if doc["role"] == Role.TUTOR:
        user.update(profile_fields(doc))
    return user


async def create_user(
    ctx: Context,
    data: NewUser,
    *,
    user_id: str | None = None,
    employee_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": user_id or str(uuid.uuid4()),
        "username": data.username,
        "usernameKey": data.username.lower(),
        "email": data.email,
        "passwordHash": await hash_password(ctx.settings, data.password),
        "fullName": data.fullName,
        "nameKey": search_key(data.fullName),  # tutor search by name ignores case and diacritics
        "phone": data.phone,
        "role": data.role,
        "createdAt": ctx.clock.now(),
        **(extra or {}),
    }
    if data.role == Role.EMPLOYEE:
        doc["employeeId"] = employee_id or str(uuid.uuid4())
    try:
        await ctx.db[COLLECTION].insert_one(doc)
    except DuplicateKeyError:
        if await ctx.db[COLLECTION].find_one({"usernameKey": doc["usernameKey"]}, {"_id": 1}):
            raise Conflict("auth.username_taken") from None
        raise Conflict("auth.email_taken") from None
    return public_user(doc)


async def register(ctx: Context, data: Registration) -> dict[str, Any]:
    return await create_user(ctx, data)


async def authenticate(ctx: Context, credentials: Credentials) -> dict[str, Any]:
    """The account for a username-or-email and password; one vague 401 whatever was wrong."""
    key = credentials.username.strip().lower()
    # Against password guessing: a bounded number of attempts per account name and window.
    await take(
        ctx,
        f"login:{key}",
        limit=ctx.settings.login_attempts_per_window,
        window_seconds=ctx.settings.login_window_seconds,
        message_key="auth.too_many_attempts",
    )
    doc = await ctx.db[COLLECTION].find_one({"$or": [{"usernameKey": key}, {"email": key}]})
    if not await verify_password(ctx.settings, doc["passwordHash"] if doc else None, credentials.password):
        raise BadCredentials()
    assert doc is not None
    return doc


async def get_user(ctx: Context, user_id: str) -> dict[str, Any]:
    return await find_or_404(ctx.db[COLLECTION], user_id, "auth.user_not_found")


async def users_by_ids(ctx: Context, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    docs = await ctx.db[COLLECTION].find({"_id": {"$in": list(set(user_ids))}}).to_list(None)
    return {d["_id"]: d for d in docs}


async def ids_with_role(ctx: Context, role: str) -> list[str]:
    docs = await ctx.db[COLLECTION].find({"role": role}, {"_id": 1}).to_list(None)
    return [d["_id"] for d in docs]


async def ensure_bootstrap_admin(ctx: Context) -> None:
    """Create ADMIN_USERNAME when no account of that name exists (a random password if none is set)."""
    name = ctx.settings.admin_username
    if await ctx.db[COLLECTION].find_one({"usernameKey": name.lower()}, {"_id": 1}):
        return
    password = ctx.settings.admin_password or secrets.token_urlsafe(12)
    admin = NewUser(
        username=name,
        email=f"{name.lower()}@localhost.localdomain",
        password=password,
        fullName="Administrator",
        role=Role.ADMIN,
    )
    try:
        await create_user(ctx, admin)
    except Conflict:
        return  # another process created it first
    if ctx.settings.admin_password:
        log.info("bootstrap admin %r created", name)
    else:
        log.warning("bootstrap admin %r created with password %r (set ADMIN_PASSWORD to choose it)", name, password)


async def backfill_name_keys(ctx: Context, batch: int = 500) -> int:
    """Give accounts created before name search folded diacritics their `nameKey` (once, at start)."""
    done = 0
    while True:
        docs = await ctx.db[COLLECTION].find({"nameKey": {"$exists": False}}, {"fullName": 1}).to_list(batch)
        for doc in docs:
            await ctx.db[COLLECTION].update_one({"_id": doc["_id"]}, {"$set": {"nameKey": search_key(doc["fullName"])}})
        done += len(docs)
        if len(docs) < batch:
            return done
