"""`python run.py seed`: the demo data, loaded through a running server or straight into the store."""

from __future__ import annotations

from typing import Any

import pytest

from app import seed
from config.settings import Settings
from models import demo
from models.assignments import ASSIGNMENTS, BOOKINGS
from models.users import COLLECTION as USERS
from server.clock import FakeClock
from server.context import Context
from server.store import open_store
from tests.assignments_fixtures import A1, A2, A3, CANCEL_BODY, LIST_URL, cancel_url
from tests.helpers import Api
from tests.processes import free_port

DEMO_IDS = [demo.CUSTOMER_ID, demo.EMPLOYEE_USER_ID, demo.ADMIN_ID]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """These tests seed: the demo loader is enabled for them (it is off unless DEMO_DATA_ENABLED)."""
    return settings.model_copy(update={"demo_data_enabled": True})


async def counts(ctx: Context) -> tuple[int, int, int]:
    return (
        await ctx.db[USERS].count_documents({"_id": {"$in": DEMO_IDS}}),
        await ctx.db[BOOKINGS].count_documents({}),
        await ctx.db[ASSIGNMENTS].count_documents({}),
    )


async def test_seed_cases_answer_as_the_seed_says_after_seeding(api: Api, ctx: Context, clock: FakeClock) -> None:
    admin = await api.admin()
    for _ in range(2):  # idempotent
        loaded = await api.post("/admin/demo-data", token=admin.token)
        assert loaded.status == 200 and loaded.body["message"] == "Đã nạp dữ liệu mẫu"
    assert await counts(ctx) == (3, 3, 3)
    jane = await api.login("jane_smith", demo.DEMO_PASSWORD)
    john = await api.login("john_doe", demo.DEMO_PASSWORD)
    admin_1 = await api.login("admin_1", demo.DEMO_PASSWORD)
    assert jane.raw["employeeId"] == demo.EMPLOYEE_ID and jane.id == demo.EMPLOYEE_USER_ID

    listed = await api.get(LIST_URL, token=jane.token)
    assert listed.status == 200 and listed.body["totalItems"] == 3
    assert [i["assignmentId"] for i in listed.data] == [A1, A3, A2]
    first = listed.data[0]
    assert {
        k: first[k]
        for k in ("bookingCode", "serviceName", "customerName", "customerPhone", "status", "note", "totalAmount")
    } == {
        "bookingCode": "BK62589569",
        "serviceName": "Tổng vệ sinh",
        "customerName": "Nguyễn Văn A",
        "customerPhone": "0901234567",
        "status": "ASSIGNED",
        "note": "Cần dọn dẹp kỹ lưỡng phòng khách và bếp",
        "totalAmount": 350000.0,
    }
    only_assigned = await api.get(LIST_URL + "?status=ASSIGNED&page=0&size=10", token=jane.token)
    assert [i["assignmentId"] for i in only_assigned.data] == [A1, A3]
    assert (await api.get(LIST_URL, token=admin_1.token)).body == listed.body
    assert (await api.get(LIST_URL, token=john.token)).status == 403

    assert (await api.post(cancel_url(A2), CANCEL_BODY, token=jane.token)).body[
        "message"
    ] == "Chỉ có thể hủy công việc đang ở trạng thái 'Đã nhận'"
    assert (await api.post(cancel_url(A3), CANCEL_BODY, token=jane.token)).body[
        "message"
    ] == "Không thể hủy công việc trong vòng 2 giờ trước giờ bắt đầu"
    assert (await api.post(cancel_url(A1), CANCEL_BODY, token=jane.token)).status == 200

    # Seeding again restores the demo state for another walk-through.
    await api.post("/admin/demo-data", token=admin.token)
    assert await counts(ctx) == (3, 3, 3)
    again = await api.get(LIST_URL + "?status=ASSIGNED", token=jane.token)
    assert [i["assignmentId"] for i in again.data] == [A1, A3]
    bookings = await api.get("/customer/bookings", token=john.token)
    assert {b["bookingCode"]: b["status"] for b in bookings.data} == {
        "BK62589569": "CONFIRMED",
        "BK62589570": "COMPLETED",
        "BK62589571": "CONFIRMED",
    }


async def test_demo_data_is_admin_only(api: Api) -> None:
    customer = await api.user("CUSTOMER")
    reply = await api.post("/admin/demo-data", token=customer.token)
    assert reply.status == 403 and reply.body == {
        "error": "Forbidden",
        "message": "Access denied. Required role: ADMIN",
    }


async def test_an_account_named_like_a_demo_one_is_not_overwritten(api: Api, ctx: Context) -> None:
    taken = await api.user("CUSTOMER", name="john_doe")
    reply = await api.post("/admin/demo-data", token=(await api.admin()).token)
    assert reply.status == 409
    assert reply.body["message"] == "Đã có tài khoản khác tên john_doe: không thể tạo tài khoản mẫu"
    assert (await api.login("john_doe", taken.password)).id == taken.id


async def test_seed_command_goes_through_the_running_server(
    api: Api, client: Any, ctx: Context, settings: Settings, capsys: Any
) -> None:
    summary = await seed.load_demo_data(settings.model_copy(update={"host": "127.0.0.1", "port": client.port}))
    assert "through the running server" in capsys.readouterr().out
    assert [a["username"] for a in summary["accounts"]] == ["john_doe", "jane_smith", "admin_1"]
    assert await counts(ctx) == (3, 3, 3)  # in the server's own store
    jane = await api.login("jane_smith", demo.DEMO_PASSWORD)
    assert (await api.get(LIST_URL, token=jane.token)).body["totalItems"] == 3


async def test_seed_command_without_a_server_writes_the_store(
    settings: Settings, flushed_redis: None, capsys: Any
) -> None:
    offline = settings.model_copy(update={"host": "127.0.0.1", "port": free_port()})
    await seed.load_demo_data(offline)
    assert "straight into the store" in capsys.readouterr().out
    store = await open_store(offline, snapshot=True)  # what a server started afterwards would load
    try:
        assert await store.db[ASSIGNMENTS].count_documents({}) == 3
        assert await store.db[USERS].count_documents({"_id": {"$in": DEMO_IDS}}) == 3
    finally:
        if offline.mongodb_url:
            await store.db.client.drop_database(offline.mongodb_database)
        await store.close()


async def test_demo_data_is_refused_unless_enabled(make_app, aiohttp_client) -> None:
    """Off by default: no ADMIN with the published password, no password reset, on any deployment."""
    app = await make_app(demo_data_enabled=False)
    api = Api(await aiohttp_client(app), "admin-password-1")
    reply = await api.post("/admin/demo-data", token=(await api.admin()).token, headers={"Accept-Language": "en"})
    assert reply.status == 403
    assert reply.body == {
        "success": False,
        "message": "Demo data is disabled on this server (set DEMO_DATA_ENABLED=true to enable it)",
    }
    assert (await api.post("/auth/login", {"username": "admin_1", "password": demo.DEMO_PASSWORD})).status == 401
