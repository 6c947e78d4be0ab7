from models.notifications import notify


async def test_notify_reaches_user_over_rest_and_socket(api, ctx, jobs, sockets) -> None:
    user = await api.user()
    sock = await sockets(user.token)
    await notify(ctx, [user.id], "announcement", title="Hello", body="World")
    assert await jobs.run() == 1
    pushed = await sock.wait_for("notification")
    assert pushed["title"] == "Hello" and pushed["read"] is False
    listed = await api.get("/notifications", token=user.token)
    assert listed.body["totalItems"] == 1 and listed.data[0]["id"] == pushed["id"]
