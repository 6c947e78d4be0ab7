"""The paged lists `bench.store` measures at volume: for each family, the records one reader owns
(made through the REST API, so they are exactly what the server writes), the fillers that grow the
collection to the size measured (copies of those records with other owners, written into the
journal), and the list request the reader repeats.

    messages       GET /conversations/{id}/messages?before=<seq>&limit=20   (the reader's conversation)
    notifications  GET /notifications?page=p&size=20                        (the reader's)
    assignments    GET /employee/{employeeId}/assignments?page=p&size=20    (the employee's)
    sessions       GET /sessions?page=p&size=20                             (the reader's bookings)
    forum posts    GET /forum/posts?page=p&size=20                          (everyone's, newest first)

Every family holds `size` documents (at least OWN): OWN of them the reader's, the rest other
users' (other conversations, employees, tutors and students; forum posts older than the reader's),
as a shared collection grows. Fillers of sessions and assignments are CANCELLED, so that no
calendar or counter depends on them and the reconcile pass has nothing to repair.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from bson import ObjectId

from bench.common import ADMIN_PASSWORD
from bench.load import Setup
from models import assignments, chat, forum, notifications, sessions
from server.embedded_journal import Journal, encode, encode_document
from server.embedded_store import JOURNAL_FILE

OWN = 200  # the reader's own documents in every family, the same at every size
PAGE_SIZE = 20
PAGES = OWN // PAGE_SIZE
CONCURRENCY = 8
FILLER_START = datetime(2025, 1, 1)  # older than anything made through the API; naive UTC, as stored


@dataclass
class Reader:
    """What one family's list request needs: whose token, which URL, what a good answer holds."""

    family: str
    token: str
    url: Callable[[], str]
    check: Callable[[dict[str, Any]], bool]


def _paged(path: str) -> Callable[[], str]:
    return lambda: f"{path}?page={random.randrange(PAGES)}&size={PAGE_SIZE}"


def _full_page(body: dict[str, Any], total: int) -> bool:
    return len(body["data"]) == PAGE_SIZE and body.get("totalItems") == total


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


async def _gather_limited(calls: list[Callable[[], Any]]) -> list[Any]:
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one(call: Callable[[], Any]) -> Any:
        async with sem:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


async def make_own(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    """The reader's OWN records of every family except notifications (seeded with the fillers)."""
    s = Setup(http, base)
    admin = await s.login("admin", ADMIN_PASSWORD)
    reader, peer = await s.user("STUDENT", 0, "vol"), await s.user("STUDENT", 1, "vol")
    tutor, customer = await s.user("TUTOR", 0, "vol"), await s.user("CUSTOMER", 0, "vol")
    employee = await s.user("EMPLOYEE", 0, "vol", admin["token"])
    await s.call(
        "PUT", "/tutors/me", {"subjects": ["Math"], "bio": "Volume tutor", "hourlyRate": 150000}, token=tutor["token"]
    )
    conversation = (await s.call("POST", "/conversations", {"participantIds": [peer["id"]]}, token=reader["token"]))[
        "id"
    ]
    first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)

    async def booking(n: int) -> None:
        b = await s.call("POST", "/admin/bookings", {
            "customerId": customer["id"], "serviceName": "Tổng vệ sinh", "serviceAddress": "1 Lê Lợi, Q1",
            "bookingTime": _iso(first + timedelta(hours=3 * n)), "estimatedDurationHours": 2,
            "pricePerUnit": 100000, "quantity": 1}, token=admin["token"], ok=(201,))  # fmt: skip
        await s.call("POST", f"/admin/bookings/{b['id']}/assignments", {"employeeId": employee["employeeId"]},
                     token=admin["token"], ok=(201,))  # fmt: skip

    calls: list[Callable[[], Any]] = []
    for n in range(OWN):
        calls.append(lambda n=n: s.call("POST", f"/conversations/{conversation}/messages",
                                        {"body": f"message {n}", "clientMessageId": f"own-{n}"},
                                        token=(reader, peer)[n % 2]["token"], ok=(201,)))  # fmt: skip
        calls.append(lambda n=n: s.call("POST", "/sessions", {
            "tutorId": tutor["id"], "subject": "Math", "startTime": _iso(first + timedelta(hours=3 * n)),
            "durationMinutes": 60}, token=reader["token"], ok=(201,)))  # fmt: skip
        calls.append(lambda n=n: s.call("POST", "/forum/posts", {"title": f"Post {n}", "body": "A forum post body.",
                                        "tags": ["volume"]}, token=reader["token"], ok=(201,)))  # fmt: skip
        calls.append(lambda n=n: booking(n))
    await _gather_limited(calls)
    return {"reader": reader["username"], "employee": employee["username"], "employeeId": employee["employeeId"],
            "conversation": conversation, "readerId": reader["id"]}  # fmt: skip


async def readers(http: aiohttp.ClientSession, base: str, own: dict[str, Any], size: int) -> list[Reader]:
    s = Setup(http, base)
    reader, employee = await s.login(own["reader"]), await s.login(own["employee"])
    conversation = own["conversation"]
    return [
        Reader(
            "messages",
            reader["token"],
            lambda: (
                f"/conversations/{conversation}/messages?before={random.randrange(PAGE_SIZE + 1, OWN + 2)}"
                f"&limit={PAGE_SIZE}"
            ),
            lambda body: len(body["data"]) == PAGE_SIZE,
        ),
        Reader("notifications", reader["token"], _paged("/notifications"), lambda b: _full_page(b, OWN)),
        Reader(
            "assignments",
            employee["token"],
            _paged(f"/employee/{own['employeeId']}/assignments"),
            lambda b: _full_page(b, OWN),
        ),
        Reader("sessions", reader["token"], _paged("/sessions"), lambda b: _full_page(b, OWN)),
        Reader("forum posts", reader["token"], _paged("/forum/posts"), lambda b: _full_page(b, max(size, OWN))),
    ]


def _new_id(like: Any, family: str, n: int) -> Any:
    return ObjectId() if isinstance(like, ObjectId) else f"bench-{family}-{n}"


def _fillers(family: str, template: dict[str, Any], count: int, change: Callable[[int], dict[str, Any]]):
    for n in range(count):
        yield {**template, "_id": _new_id(template["_id"], family, n), **change(n)}


def _message(n: int) -> dict[str, Any]:
    return {"conversationId": f"bench-conversation-{n // 100}", "seq": n % 100 + 1, "clientMessageId": f"fill-{n}",
            "createdAt": FILLER_START + timedelta(seconds=n)}  # fmt: skip


def _assignment(n: int) -> dict[str, Any]:
    return {"employeeId": f"bench-employee-{n % 500}", "employeeUserId": f"bench-user-{n % 500}",
            "bookingId": f"bench-booking-{n}", "bookingTime": FILLER_START + timedelta(minutes=n),
            "status": assignments.AssignmentStatus.CANCELLED.value}  # fmt: skip


def _session(n: int) -> dict[str, Any]:
    start = FILLER_START + timedelta(minutes=n)
    return {"tutorId": f"bench-tutor-{n % 500}", "studentIds": [f"bench-student-{n % 2000}"], "startTime": start,
            "endTime": start + timedelta(minutes=60), "status": sessions.SessionStatus.CANCELLED.value, "slotKey": None,
            "classId": None}  # fmt: skip


def _post(n: int) -> dict[str, Any]:
    return {"title": f"Older post {n}", "createdAt": FILLER_START + timedelta(seconds=n)}


def _notification(owner: str, n: int, others: int) -> dict[str, Any]:
    return {
        "_id": f"bench:{n}",
        "userId": owner if n < OWN else f"user-{n % others}",
        "type": "announcement",
        "title": f"Notice {n}",
        "body": "A notification body of typical length, to weigh like the real ones.",
        "params": {},
        "data": {"n": n},
        "read": n % 3 == 0,
        "createdAt": FILLER_START + timedelta(seconds=n),
        "jobId": f"bench-{n}",
    }


FILLERS: dict[str, tuple[str, Callable[[int], dict[str, Any]]]] = {
    "messages": (chat.MESSAGES, _message),
    "assignments": (assignments.ASSIGNMENTS, _assignment),
    "sessions": (sessions.COLLECTION, _session),
    "forum posts": (forum.POSTS, _post),
}


def seed(data_dir: Path, own: dict[str, Any], size: int) -> None:
    """Grow every family to `size` documents in the stopped server's journal."""
    path = data_dir / JOURNAL_FILE
    journal = Journal(path, background=False)
    templates: dict[str, dict[str, Any]] = {}
    for collection, doc in journal.documents():
        for family, (name, _) in FILLERS.items():
            if collection == name and family not in templates and _is_template(family, doc):
                templates[family] = doc
    missing = set(FILLERS) - set(templates)
    assert not missing, f"no record of {missing} in the journal"
    batch: list[tuple[str, ...]] = []

    def put(collection: str, doc: dict[str, Any]) -> None:
        batch.append(("put", collection, encode(doc["_id"]), encode_document(doc)))
        if len(batch) == 5000:
            journal.append(batch)
            batch.clear()

    for family, (collection, change) in FILLERS.items():
        for doc in _fillers(family, templates[family], max(0, size - OWN), change):
            put(collection, doc)
    others = max(1, (size - OWN) // 100)
    for n in range(max(size, OWN)):
        put(notifications.COLLECTION, _notification(own["readerId"], n, others))
    if batch:
        journal.append(batch)
    journal.close()


def _is_template(family: str, doc: dict[str, Any]) -> bool:
    return family != "messages" or (doc.get("seq") or 0) > 0  # a numbered message, not a reservation
