"""Accounts and tokens: register, login, refresh, logout, me, admin-created users."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from models import tokens, users, views
from server.area import Area
from server.context import Context
from server.http import Call, Reply, Routes, client_address
from server.roles import Role

routes = Routes(tag="accounts")


@asynccontextmanager
async def bootstrap_admin(ctx: Context) -> AsyncIterator[None]:
    """At start, make sure an ADMIN exists (ADMIN_PASSWORD, or a generated one), and that every
    account has its name search key."""
    await users.ensure_bootstrap_admin(ctx)
    await users.backfill_name_keys(ctx)
    yield


@routes.post(
    "/auth/register",
    public=True,
    body=users.Registration,
    status=201,
    response=views.UserView,
    summary="Create a STUDENT, TUTOR or CUSTOMER account",
)
async def register(call: Call) -> Reply:
    return Reply(await users.register(call.ctx, call.body), "auth.registered", status=201)


@routes.post(
    "/auth/login",
    public=True,
    body=users.Credentials,
    response=views.TokenPair,
    summary="Log in by username or email",
)
async def login(call: Call) -> Reply:
    user = await users.authenticate(call.ctx, call.body, client_address(call.request, call.ctx.settings))
    return Reply(await tokens.issue_pair(call.ctx, user), "auth.logged_in")


@routes.post(
    "/auth/refresh",
    public=True,
    body=tokens.RefreshRequest,
    response=views.TokenPair,
    summary="Exchange a refresh token for a new pair (each works once)",
)
async def refresh(call: Call) -> Reply:
    return Reply(await tokens.refresh(call.ctx, call.body.refreshToken), "auth.refreshed")


@routes.post(
    "/auth/logout",
    body=tokens.LogoutRequest,
    response=views.NoData,
    summary="Stop this access token and its refresh family",
)
async def logout(call: Call) -> Reply:
    await tokens.logout(call.ctx, call.user, call.body.refreshToken)
    return Reply(message_key="auth.logged_out")


@routes.get("/auth/me", response=views.UserView, summary="The calling user")
async def me(call: Call) -> Reply:
    return Reply(users.public_user(await users.get_user(call.ctx, call.user.id)), "auth.me")


@routes.post(
    "/admin/users",
    roles=(Role.ADMIN,),
    body=users.NewUser,
    status=201,
    response=views.UserView,
    summary="Create an account of any role",
)
async def create_user(call: Call) -> Reply:
    return Reply(await users.create_user(call.ctx, call.body), "auth.user_created", status=201)


area = Area("accounts", routes=routes, indexes=[*users.INDEXES, *tokens.INDEXES], lifespans=[bootstrap_admin])
