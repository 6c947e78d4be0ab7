"""Accounts and tokens: register, login, refresh, logout, me, admin-created users."""

from __future__ import annotations

from models import tokens, users, views
from server.http import Call, Reply, Routes

routes = Routes(tag="accounts")


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
    user = await users.authenticate(call.ctx, call.body)
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


@routes.post("/auth/logout", body=tokens.LogoutRequest, summary="Stop this access token and its refresh family")
async def logout(call: Call) -> Reply:
    await tokens.logout(call.ctx, call.user, call.body.refreshToken)
    return Reply(message_key="auth.logged_out")


@routes.get("/auth/me", response=views.UserView, summary="The calling user")
async def me(call: Call) -> Reply:
    return Reply(users.public_user(await users.get_user(call.ctx, call.user.id)), "auth.me")


@routes.post(
    "/admin/users",
    roles=("ADMIN",),
    body=users.NewUser,
    status=201,
    response=views.UserView,
    summary="Create an account of any role",
)
async def create_user(call: Call) -> Reply:
    return Reply(await users.create_user(call.ctx, call.body), "auth.user_created", status=201)
