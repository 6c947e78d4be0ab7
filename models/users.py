"""Accounts: registration, admin-created users, credential checks, the bootstrap admin."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymongo.errors import DuplicateKeyError

from models.tutor_profiles import profile_fields
from server.context import Context
from server.documents import find_or_404
from server.errors import BadCredentials, Conflict
from server.indexes import IndexSpec
from server.passwords import hash_password, verify_password
from server.ratelimit import Bucket, release, reserve
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


def user_document(
    data: NewUser,
    password_hash: str,
    created_at: datetime,
    *,
    user_id: str | None = None,
    employee_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A stored account (what `create_user` inserts; bench/fault.py inserts its recipients in bulk)."""
    doc: dict[str, Any] = {
        "_id": user_id or str(uuid.uuid4()),
        "username": data.username,
        "usernameKey": data.username.lower(),
        "email": data.email,
        "passwordHash": password_hash,
        "fullName": data.fullName,
        "nameKey": search_key(data.fullName),  # tutor search by name ignores case and diacritics
        "phone": data.phone,
        "role": data.role,
        "createdAt": created_at,
        **(extra or {}),
    }
    if data.role == Role.EMPLOYEE:
        doc["employeeId"] = employee_id or str(uuid.uuid4())
    return doc


async def create_user(
    ctx: Context,
    data: NewUser,
    *,
    user_id: str | None = None,
    employee_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    password_hash = await hash_password(ctx.settings, data.password)
    doc = user_document(data, password_hash, ctx.clock.now(), user_id=user_id, employee_id=employee_id, extra=extra)
    try:
        await ctx.db[COLLECTION].insert_one(doc)
    except DuplicateKeyError:
        if await ctx.db[COLLECTION].find_one({"usernameKey": doc["usernameKey"]}, {"_id": 1}):
            raise Conflict("auth.username_taken") from None
        raise Conflict("auth.email_taken") from None
    return public_user(doc)


async def register(ctx: Context, data: Registration) -> dict[str, Any]:
    return await create_user(ctx, data)


def login_buckets(ctx: Context, account: str, address: str) -> list[Bucket]:
    """Where failed logins are counted (LOGIN_* settings), so that a guesser is refused while the
    account's owner, from their own address, is not:

    - the account from one address (LOGIN_ATTEMPTS_PER_WINDOW): stops one guesser on one account;
    - the client address, whatever account (LOGIN_ADDRESS_ATTEMPTS_PER_WINDOW): stops spraying
      many usernames from one address;
    - the account from all addresses (LOGIN_ACCOUNT_ATTEMPTS_PER_WINDOW, set high): a ceiling on
      guessing spread over many addresses, at the price of locking the owner out while it lasts.
    """
    s = ctx.settings
    window = s.login_window_seconds
    return [
        Bucket(f"login:account-address:{account}|{address}", s.login_attempts_per_window, window),
        Bucket(f"login:address:{address}", s.login_address_attempts_per_window, window),
        Bucket(f"login:account:{account}", s.login_account_attempts_per_window, window),
    ]


async def authenticate(ctx: Context, credentials: Credentials, client_address: str) -> dict[str, Any]:
    """The account for a username-or-email and password; one vague 401 whatever was wrong.

    Only failed attempts count against the limits: each attempt takes its slot before the password
    is checked (so parallel guesses cannot overrun a limit) and gives it back when it succeeds. An
    account is one bucket whichever identifier (username or email) names it; an unknown name is
    counted under the name itself."""
    key = credentials.username.strip().lower()
    doc = await ctx.db[COLLECTION].find_one({"$or": [{"usernameKey": key}, {"email": key}]})
    account = f"id:{doc['_id']}" if doc else f"name:{key}"
    buckets = login_buckets(ctx, account, client_address)
    attempt = await reserve(ctx, buckets, message_key="auth.too_many_attempts")
    if not await verify_password(ctx.settings, doc["passwordHash"] if doc else None, credentials.password):
        raise BadCredentials()
    assert doc is not None
    await release(ctx, buckets, attempt)
    return doc


async def get_user(ctx: Context, user_id: str) -> dict[str, Any]:
    return await find_or_404(ctx.db[COLLECTION], user_id, "auth.user_not_found")


async def users_by_ids(ctx: Context, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    docs = await ctx.db[COLLECTION].find({"_id": {"$in": list(set(user_ids))}}).to_list(None)
    return {d["_id"]: d for d in docs}


async def ids_with_role(ctx: Context, role: str) -> list[str]:
    docs = await ctx.db[COLLECTION].find({"role": role}, {"_id": 1}).to_list(None)
    return [d["_id"] for d in docs]


BOOTSTRAP_PASSWORD_FILE = "bootstrap-admin-password"


def _write_secret_file(path: Path, text: str) -> None:
    """Create `path` readable by the owner only (0600 from the start, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")


async def ensure_bootstrap_admin(ctx: Context) -> None:
    """Create ADMIN_USERNAME when no account of that name exists.

    Without ADMIN_PASSWORD the password is random and never logged: it is written once to
    DATA_DIR/bootstrap-admin-password (mode 0600) and the log says where."""
    name = ctx.settings.admin_username
    if await ctx.db[COLLECTION].find_one({"usernameKey": name.lower()}, {"_id": 1}):
        return
    password = ctx.settings.admin_password or secrets.token_urlsafe(18)
    admin = NewUser(
        username=name,
        email=f"{name.lower()}@localhost.localdomain",
        password=password,
        fullName="Administrator",
        role=Role.ADMIN,
        phone=None,
    )
    try:
        await create_user(ctx, admin)
    except Conflict:
        return  # another process created it first
    if ctx.settings.admin_password:
        log.info("bootstrap admin %r created", name)
        return
    path = ctx.settings.data_dir / BOOTSTRAP_PASSWORD_FILE
    await asyncio.to_thread(_write_secret_file, path, password)
    log.warning("bootstrap admin %r created; its password is in %s (set ADMIN_PASSWORD to choose it)", name, path)


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
