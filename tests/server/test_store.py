"""Opening the document store: who may run on the embedded store, and bounded client integers."""

from __future__ import annotations

import pytest

from config.settings import Settings
from server.store import SharedStoreRequired, require_shared_store
from tests.helpers import Api


@pytest.mark.parametrize("command", ["worker", "scheduler"])
def test_worker_and_scheduler_need_a_shared_store(command: str) -> None:
    with pytest.raises(SharedStoreRequired, match=f"run.py {command}` needs MONGODB_URL") as refused:
        require_shared_store(Settings(_env_file=None, mongodb_url=None), command)
    assert "python run.py" in str(refused.value)  # and what to run instead
    require_shared_store(Settings(_env_file=None, mongodb_url="mongodb://db:27017"), command)


async def test_huge_client_integers_are_a_400(api: Api) -> None:
    user = await api.user()
    assert (await api.get("/notifications?page=10000000", token=user.token)).status == 200
    for url in ("/notifications?page=100000000000000000000", "/notifications?page=10000001"):
        assert (await api.get(url, token=user.token)).status == 400
    cid = (await api.post("/conversations", {"participantIds": [(await api.user()).id]}, token=user.token)).data["id"]
    assert (await api.get(f"/conversations/{cid}/messages?before={10**20}", token=user.token)).status == 400
