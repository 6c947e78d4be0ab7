"""Login throttling counts failed attempts only, per account (whichever identifier) and per address."""

from __future__ import annotations

import asyncio

from tests.handlers.test_accounts import registration
from tests.helpers import Api

GUESSER = {"X-Forwarded-For": "203.0.113.66"}
VICTIM = {"X-Forwarded-For": "198.51.100.7"}


async def login(api: Api, name: str, password: str, headers: dict[str, str] | None = None):
    return await api.post("/auth/login", {"username": name, "password": password}, headers=headers)


async def test_successful_logins_are_never_counted(api: Api) -> None:
    await api.post("/auth/register", registration())
    for _ in range(25):  # far above LOGIN_ATTEMPTS_PER_WINDOW
        assert (await login(api, "alice", "s3cret-pass")).status == 200


async def test_guesser_is_refused_while_the_owner_logs_in_from_their_address(make_app, aiohttp_client) -> None:
    app = await make_app(trusted_proxies="127.0.0.1")  # the test client's peer is a trusted proxy
    api = Api(await aiohttp_client(app), "admin-password-1")
    await api.post("/auth/register", registration())
    # Username and email name one account: the guesser's failures count together whichever is used.
    for i in range(10):
        name = "alice" if i % 2 else "ALICE@example.com"
        assert (await login(api, name, f"guess-{i}", GUESSER)).status == 401
    refused = await login(api, "alice@example.com", "s3cret-pass", {**GUESSER, "Accept-Language": "en"})
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.body["message"].startswith("Too many failed login attempts")
    # The owner, from their own address, is not locked out.
    assert (await login(api, "alice", "s3cret-pass", VICTIM)).status == 200


async def test_spraying_usernames_from_one_address_is_throttled(make_app, aiohttp_client) -> None:
    app = await make_app(trusted_proxies="127.0.0.1", login_address_attempts_per_window=5)
    api = Api(await aiohttp_client(app), "admin-password-1")
    for i in range(5):
        assert (await login(api, f"user{i}", "Password1!", GUESSER)).status == 401
    sprayed = await login(api, "user99", "Password1!", GUESSER)
    assert sprayed.status == 429 and sprayed.headers["Retry-After"]
    assert (await login(api, "user99", "Password1!", VICTIM)).status == 401  # another address is not refused


async def test_parallel_guesses_cannot_overrun_the_limit(api: Api) -> None:
    await api.post("/auth/register", registration())
    replies = await asyncio.gather(*(login(api, "alice", f"guess-{i}") for i in range(16)))
    statuses = sorted(r.status for r in replies)
    assert statuses.count(401) == 10 and statuses.count(429) == 6
