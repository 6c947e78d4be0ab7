"""Accounts and tokens through the real app (TC-INT-013 and the foundation's error contract)."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from server.errors import AuthError
from tests.helpers import Api, ConnectionRefused

INVALID = {"error": "Unauthorized", "message": "Invalid or expired token"}
MISSING = {"error": "Unauthorized", "message": "Access token is missing or invalid"}


def registration(username: str = "alice", role: str = "STUDENT", **extra: str) -> dict[str, str]:
    return {
        "username": username,
        "email": f"{username}@example.com",
        "password": "s3cret-pass",
        "fullName": "Alice Nguyen",
        "role": role,
        **extra,
    }


async def test_register_login_me(api: Api) -> None:
    reply = await api.post("/auth/register", registration(phone="0901234567"))
    assert reply.status == 201
    assert reply.body["success"] is True and reply.body["message"] == "Đăng ký thành công"
    user = reply.data
    assert {k: user[k] for k in ("username", "email", "fullName", "role", "phone")} == {
        "username": "alice",
        "email": "alice@example.com",
        "fullName": "Alice Nguyen",
        "role": "STUDENT",
        "phone": "0901234567",
    }
    assert "passwordHash" not in user and "password" not in user
    assert user["createdAt"].endswith("Z")

    for login_name in ("alice", "ALICE@example.com"):
        login = await api.post("/auth/login", {"username": login_name, "password": "s3cret-pass"})
        assert login.status == 200, login.body
        assert login.data["tokenType"] == "Bearer" and login.data["expiresIn"] == 900
        assert login.data["user"]["id"] == user["id"]

    me = await api.get("/auth/me", token=login.data["accessToken"])
    assert me.status == 200 and me.data == user


async def test_english_messages(api: Api) -> None:
    reply = await api.post("/auth/register", registration(), headers={"Accept-Language": "en-US,en;q=0.9"})
    assert reply.body["message"] == "Registered successfully"
    dup = await api.post("/auth/register", registration(), headers={"Accept-Language": "en"})
    assert dup.status == 409 and dup.body == {"success": False, "message": "Username already exists"}
    vi = await api.post("/auth/register", registration())
    assert vi.body == {"success": False, "message": "Tên đăng nhập đã tồn tại"}


async def test_duplicate_username_is_409_whatever_the_case(api: Api) -> None:
    assert (await api.post("/auth/register", registration("bob"))).status == 201
    clash = await api.post("/auth/register", {**registration("BOB"), "email": "other@example.com"})
    assert clash.status == 409
    email_clash = await api.post("/auth/register", {**registration("carol"), "email": "bob@example.com"})
    assert email_clash.status == 409 and email_clash.body["message"] == "Email đã được sử dụng"


async def test_wrong_password_and_unknown_user_look_alike(api: Api) -> None:
    await api.post("/auth/register", registration())
    wrong = await api.post("/auth/login", {"username": "alice", "password": "wrong-password"})
    unknown = await api.post("/auth/login", {"username": "nobody", "password": "wrong-password"})
    assert wrong.status == unknown.status == 401
    assert wrong.body == unknown.body == {"success": False, "message": "Tên đăng nhập hoặc mật khẩu không đúng"}


@pytest.mark.parametrize("role", ["ADMIN", "EMPLOYEE", "MANAGEMENT"])
async def test_registration_of_privileged_roles_is_refused(api: Api, role: str) -> None:
    reply = await api.post("/auth/register", registration(role=role))
    assert reply.status == 400
    assert reply.body["validationErrors"][0]["field"] == "role"
    assert (await api.post("/auth/login", {"username": "alice", "password": "s3cret-pass"})).status == 401


async def test_missing_fields_give_validation_errors(api: Api) -> None:
    reply = await api.post("/auth/register", {"username": "al"}, headers={"Accept-Language": "en"})
    assert reply.status == 400 and reply.body["success"] is False
    fields = {e["field"]: e["message"] for e in reply.body["validationErrors"]}
    assert fields["username"] == "Must have at least 3 characters"
    for name in ("email", "password", "fullName", "role"):
        assert fields[name] == "This field is required"
    assert reply.body["message"] == reply.body["validationErrors"][0]["message"]


async def test_invalid_json_body(api: Api) -> None:
    reply = await api.post("/auth/login", raw=b"{not json")
    assert reply.status == 400 and reply.body["validationErrors"][0]["field"] == "body"


async def test_admin_creates_any_role_and_employee_gets_employee_id(api: Api) -> None:
    employee = await api.user("EMPLOYEE")
    me = await api.get("/auth/me", token=employee.token)
    assert me.data["role"] == "EMPLOYEE" and me.data["employeeId"]
    student = await api.user("STUDENT")
    refused = await api.post("/admin/users", registration("mallory", role="ADMIN"), token=student.token)
    assert refused.status == 403
    assert refused.body == {"error": "Forbidden", "message": "Access denied. Required role: ADMIN"}


async def test_refresh_rotates_and_old_pair_keeps_working_until_used(api: Api) -> None:
    user = await api.user()
    first = await api.post("/auth/refresh", {"refreshToken": user.refresh_token})
    assert first.status == 200
    pair = first.data
    assert pair["refreshToken"] != user.refresh_token and pair["accessToken"] != user.token
    assert (await api.get("/auth/me", token=pair["accessToken"])).status == 200
    second = await api.post("/auth/refresh", {"refreshToken": pair["refreshToken"]})
    assert second.status == 200


async def test_reusing_a_used_refresh_token_revokes_the_family(api: Api, clock, settings) -> None:
    user = await api.user()
    rotated = (await api.post("/auth/refresh", {"refreshToken": user.refresh_token})).data
    clock.advance(seconds=settings.refresh_reuse_grace_seconds + 0.001)  # past the grace window
    replay = await api.post("/auth/refresh", {"refreshToken": user.refresh_token})
    assert replay.status == 401 and replay.body == INVALID
    # The legitimate holder's newer tokens die with the family.
    assert (await api.post("/auth/refresh", {"refreshToken": rotated["refreshToken"]})).status == 401
    assert (await api.get("/auth/me", token=rotated["accessToken"])).body == INVALID
    # Another login is a new family and works.
    assert (await api.get("/auth/me", token=(await api.login(user.username, user.password)).token)).status == 200


async def test_concurrent_refreshes_get_the_same_pair(api: Api, clock, settings) -> None:
    """Two tabs refreshing the same token at once: both succeed with one pair, which keeps working."""
    user = await api.user()
    first, second = await asyncio.gather(
        *(api.post("/auth/refresh", {"refreshToken": user.refresh_token}) for _ in range(2))
    )
    assert first.status == second.status == 200, (first.body, second.body)
    assert first.data["accessToken"] == second.data["accessToken"]
    assert first.data["refreshToken"] == second.data["refreshToken"]
    clock.advance(seconds=settings.refresh_reuse_grace_seconds)  # still within the window: same pair
    again = await api.post("/auth/refresh", {"refreshToken": user.refresh_token})
    assert again.data["refreshToken"] == first.data["refreshToken"]
    assert (await api.get("/auth/me", token=first.data["accessToken"])).status == 200
    following = await api.post("/auth/refresh", {"refreshToken": first.data["refreshToken"]})
    assert following.status == 200 and following.data["refreshToken"] != first.data["refreshToken"]


async def test_logout_stops_access_token_over_rest_and_socket(api: Api, sockets) -> None:
    user = await api.user()
    sock = await sockets(user.token)
    assert sock.sio.connected
    assert (await api.post("/auth/logout", {"refreshToken": user.refresh_token}, token=user.token)).status == 200
    assert (await api.get("/auth/me", token=user.token)).body == INVALID
    assert (await api.post("/auth/refresh", {"refreshToken": user.refresh_token})).status == 401
    for _ in range(50):  # the server closes the socket; give the client a moment to notice
        if not sock.sio.connected:
            break
        await asyncio.sleep(0.02)
    assert not sock.sio.connected
    with pytest.raises(ConnectionRefused) as refused:
        await sockets(user.token)
    assert str(refused.value) == INVALID["message"]


async def test_socket_connect_refused_with_rest_messages(api: Api, sockets) -> None:
    with pytest.raises(ConnectionRefused) as missing:
        await sockets(None)
    assert str(missing.value) == MISSING["message"]
    with pytest.raises(ConnectionRefused) as bad:
        await sockets("not-a-token")
    assert str(bad.value) == INVALID["message"]


async def test_expired_access_token(api: Api, clock) -> None:
    user = await api.user()
    assert (await api.get("/auth/me", token=user.token)).status == 200
    clock.advance(seconds=901)
    reply = await api.get("/auth/me", token=user.token)
    assert reply.status == 401 and reply.body == INVALID


async def test_tokens_signed_otherwise_are_refused(api: Api, settings) -> None:
    user = await api.user()
    claims = jwt.decode(user.token, options={"verify_signature": False})
    forged = [
        jwt.encode(claims, "another-key", algorithm="HS256"),
        jwt.encode(claims, settings.jwt_secret, algorithm="HS512"),
        jwt.encode(claims, None, algorithm="none"),
        jwt.encode({**claims, "exp": int(time.time()) + 10**6}, "another-key", algorithm="HS256"),
    ]
    for token in forged:
        reply = await api.get("/auth/me", token=token)
        assert reply.status == 401 and reply.body == INVALID


async def test_missing_or_malformed_header(api: Api) -> None:
    assert (await api.get("/auth/me")).body == MISSING
    reply = await api.get("/auth/me", headers={"Authorization": "Basic abc"})
    assert reply.status == 401 and reply.body == MISSING


def test_auth_error_role_message() -> None:
    assert AuthError.role_required(("EMPLOYEE", "ADMIN")).body == {
        "error": "Forbidden",
        "message": "Access denied. Required role: EMPLOYEE or ADMIN",
    }


async def test_password_guessing_is_rate_limited(api: Api, clock) -> None:
    await api.post("/auth/register", registration())
    for _ in range(10):
        assert (await api.post("/auth/login", {"username": "alice", "password": "guess-guess"})).status == 401
    blocked = await api.post(
        "/auth/login", {"username": "alice", "password": "s3cret-pass"}, headers={"Accept-Language": "en"}
    )
    assert blocked.status == 429
    assert blocked.headers["Retry-After"] == "300"
    assert blocked.body == {
        "success": False,
        "message": "Too many failed login attempts, please try again in 300 seconds",
        "retryAfter": 300,
    }
    clock.advance(seconds=300)
    assert (await api.post("/auth/login", {"username": "alice", "password": "s3cret-pass"})).status == 200


async def test_TC_INT_013_token_lifecycle(api: Api, clock) -> None:
    """Login, use, expire, refresh, continue, logout, invalidated."""
    await api.post("/auth/register", registration("tokenuser"))
    login = await api.post("/auth/login", {"username": "tokenuser", "password": "s3cret-pass"})
    access, refresh_token = login.data["accessToken"], login.data["refreshToken"]
    assert (await api.get("/auth/me", token=access)).status == 200
    clock.advance(seconds=login.data["expiresIn"])
    assert (await api.get("/auth/me", token=access)).body == INVALID
    renewed = await api.post("/auth/refresh", {"refreshToken": refresh_token})
    assert renewed.status == 200
    access = renewed.data["accessToken"]
    assert (await api.get("/auth/me", token=access)).data["username"] == "tokenuser"
    assert (await api.post("/auth/logout", {"refreshToken": renewed.data["refreshToken"]}, token=access)).status == 200
    assert (await api.get("/auth/me", token=access)).body == INVALID
    assert (await api.post("/auth/refresh", {"refreshToken": renewed.data["refreshToken"]})).status == 401
