"""The browser console (/console) in a real headless Chromium: two users, each in their own browser
context, log in, start a conversation, chat live, see each other typing and online/offline, and
get a notification; and the docs pages render. Runs Playwright (requirements-dev.txt) against the
system Chromium (`apt-get install -y chromium`; `.ci/run` installs it). Without a browser the test
is skipped locally and fails under CI, so CI always exercises the page.

`SCREENSHOT_DIR=docs/screenshots .venv/bin/python -m pytest tests/browser` also saves screenshots.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Api, User

HOW_TO_INSTALL = (
    "needs Chromium and Playwright: `apt-get install -y chromium` (or set CHROMIUM=/path/to/chrome) "
    "and `pip install -r requirements-dev.txt`; never `playwright install`"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-battery"


def chromium_path() -> str | None:
    candidates = [os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
    for candidate in candidates:
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser test: {reason}; {HOW_TO_INSTALL}")
    pytest.skip(f"{reason}: {HOW_TO_INSTALL}")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("Playwright is not installed")
    executable = chromium_path()
    if executable is None:
        _unavailable("no Chromium found")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def open_console(browser: Any, base: str, user: User) -> Any:
    context = await browser.new_context(viewport={"width": 1360, "height": 820}, locale="en-US")
    context.set_default_timeout(10_000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    await page.goto(f"{base}/console")
    await page.fill("#username", user.username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-button")
    await page.wait_for_selector("#socket-status.connected")
    assert await page.inner_text("#me-id") == user.id
    return page


def _shot_dir() -> Path | None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


async def test_two_users_chat_through_the_console(client, api: Api, jobs, browser) -> None:
    base = str(client.make_url("")).rstrip("/")
    an = await api.user("STUDENT", fullName="An Nguyễn")
    binh = await api.user("TUTOR", fullName="Bình Trần")
    page_a = await open_console(browser, base, an)
    page_b = await open_console(browser, base, binh)

    # An starts a direct conversation with Bình (by id) and says hello.
    await page_a.fill("#participant-ids", binh.id)
    await page_a.click("#create-conversation")
    await page_a.wait_for_selector("#conversations li.selected")
    assert await page_a.inner_text("#chat-title") == "Bình Trần"
    await page_a.fill("#message-input", "Chào thầy Bình!")
    await page_a.click("#send-button")
    await page_a.wait_for_selector("#messages li.mine[data-seq='1'] >> text=Chào thầy Bình!")

    # Bình's console learns of the new conversation live, unread 1; opening it shows the history.
    conversation = page_b.locator("#conversations li", has_text="An Nguyễn")
    await conversation.locator(".badge[data-unread='1']").wait_for()
    await conversation.click()
    await page_b.wait_for_selector("#messages li[data-seq='1'] >> text=Chào thầy Bình!")
    await page_b.wait_for_selector(f"#participants li[data-user='{an.id}'][data-online='true']")

    # Bình types: An sees it; Bình sends: An gets the message live (chat:send → chat:message).
    await page_b.locator("#message-input").press_sequentially("Chào An", delay=20)
    await page_a.wait_for_selector("#typing >> text=Bình Trần is typing")
    await page_b.click("#send-button")
    await page_a.wait_for_selector("#messages li[data-seq='2']:not(.mine) >> text=Chào An")
    await page_a.wait_for_selector("#typing:empty")
    await page_b.wait_for_selector("#messages li.mine[data-seq='2']")

    # A notification for An arrives live (an announcement through the notification pipeline).
    admin = await api.admin()
    queued = await api.post(
        "/admin/announcements",
        {"title": "Lịch học mới", "body": "Buổi học chuyển sang thứ Năm", "userIds": [an.id]},
        token=admin.token,
    )
    assert queued.status == 202, queued.body
    await jobs.run()
    await page_a.wait_for_selector("#notifications li.unread >> text=Lịch học mới")
    assert await page_a.inner_text("#notification-count") == "1"
    await page_a.wait_for_selector("#log li >> text=chat:message")

    if shots := _shot_dir():
        await page_a.screenshot(path=str(shots / "console.png"), full_page=True)

    # Bình leaves: An sees Bình go offline (presence).
    await page_a.wait_for_selector(f"#participants li[data-user='{binh.id}'][data-online='true']")
    await page_b.context.close()
    await page_a.wait_for_selector(f"#participants li[data-user='{binh.id}'][data-online='false']")
    assert page_a.errors == [] and page_b.errors == []


async def test_docs_pages_render_offline(client, browser) -> None:
    base = str(client.make_url("")).rstrip("/")
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    outside: list[str] = []

    async def only_this_server(route: Any) -> None:
        if route.request.url.startswith(base):
            await route.continue_()
        else:  # nothing may be fetched from another host
            outside.append(route.request.url)
            await route.abort()

    await context.route("**/*", only_this_server)
    page = await context.new_page()
    await page.goto(f"{base}/api/docs")
    await page.wait_for_selector(".swagger-ui .opblock-tag")
    await page.wait_for_selector("text=Learning & home-services realtime server")
    assert await page.locator(".opblock").count() > 30
    if shots := _shot_dir():
        await page.screenshot(path=str(shots / "api-docs.png"))
    await page.goto(f"{base}/api/asyncapi")
    await page.wait_for_selector("#client tbody tr#send-chat\\:send")
    await page.wait_for_selector("#server tbody tr#receive-chat\\:message")
    if shots:
        await page.screenshot(path=str(shots / "asyncapi.png"))
    assert outside == []
    await context.close()
