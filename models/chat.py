"""Chat: direct and group conversations, ordered messages, unread counts, receipts and typing.

The rules, and how each one holds under concurrency:

- Order. A conversation keeps `lastSeq`; a message takes its `seq` with one `$inc` of it, so seqs
  are 1, 2, 3... per conversation with no duplicate and no gap, however many senders race.
- Once only. A message sent with a clientMessageId has the id `uuid5(conversationId, senderId,
  clientMessageId)`, so the primary key is the unique index on that triple: one lookup finds a
  resend, and one insert either reserves the message or fails as a duplicate (no secondary unique
  index to maintain, and the embedded store needs no scan). Only the request whose insert made the
  reservation takes a seq: a resend (retry, reconnect, double click), even one racing the first
  request, gets the first message back and never burns a seq. A message without clientMessageId
  gets a random UUID. A message is visible (history, sync, lastMessage) once it has its seq.
- No seq is ever skipped by a reader. Taking a seq and numbering the message are two writes, so
  B (seq 14) may become visible before A (seq 13). History and sync therefore stop at a seq that
  has no message yet: sync returns the run after `afterSeq` up to the first missing seq, and the
  newest history page starts below the lowest missing one, so no client ever holds 14 without 13
  and then asks for what follows 14. A seq whose sender died (or stalled longer than
  STALE_RESERVATION) before numbering its message would stop readers for good, so a reader that
  meets such a seq, with a later message numbered more than STALE_RESERVATION ago, fills it with
  a void marker. The unique (conversationId, seq) index makes the marker and a late numbering
  exclude each other (the late sender then takes a new seq).
- Unread. Each member has a read pointer `reads.<userId>` (only ever raised, with `$max`); the
  unread count is `lastSeq - lastReadSeq`, no counter per message per member. Sending raises the
  sender's pointer to their message (replying means you have read the conversation), so your own
  messages are never unread.
- Members only, every operation: someone else's conversation is 403, an unknown one 404.
  ADMIN gets no exception here: conversations are private to their members.
- One send operation for REST and Socket.IO (`send_message`): rate limited per user (shared by both
  paths, through Redis, so across processes too), delivered as `chat:message` to every member's
  `user:` room, and a member who is offline gets one "new messages" notification per conversation
  until they read it (not one per message).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models import presence
from models.notifications import notify
from models.users import users_by_ids
from server.auth import Principal
from server.clock import as_utc
from server.context import Context
from server.documents import durable_at_end, find_or_404
from server.errors import Conflict, Forbidden, NotFound, RuleViolation
from server.indexes import IndexSpec
from server.paging import PageQuery, fetch_page
from server.ratelimit import per_user, take
from server.realtime import user_rooms

log = logging.getLogger(__name__)

CONVERSATIONS = "conversations"
MESSAGES = "messages"
INDEXES: list[IndexSpec] = [
    (
        CONVERSATIONS,
        [("directKey", 1)],
        {"unique": True, "partialFilterExpression": {"directKey": {"$type": "string"}}},
    ),
    (CONVERSATIONS, [("memberIds", 1), ("lastActivityAt", -1), ("_id", 1)], {}),
    # One document per seq (a message or a void marker); reservations (seq None) are not indexed.
    (MESSAGES, [("conversationId", 1), ("seq", 1)], {"unique": True, "partialFilterExpression": {"seq": {"$gt": 0}}}),
]

MAX_BODY_CHARS = 4000
MAX_MEMBERS = 200
HISTORY_LIMIT = 50
SYNC_LIMIT = 500
NOTICE_KIND = "chat.new_messages"
NOTICE_MARKER = "chat:notice:"  # + "<conversationId>:<userId>" while a notice is pending
PREVIEW_CHARS = 100
# A reservation whose request died before numbering it is taken over by a resend after this long;
# a live request numbers its reservation within milliseconds.
STALE_RESERVATION = timedelta(seconds=10)
REPLAY_WAIT_SECONDS = 2.0
REPLAY_POLL_SECONDS = 0.02
NUMBERING_ATTEMPTS = 3
# History and sync read this many documents beyond `limit`: room for void markers and for the
# seqs of sends still in flight above the newest page.
READ_SLACK = 64
MAX_SEQ = 2**53 - 1  # seqs from clients: any larger would not fit a BSON int64 after +1 (and JS loses them)

# Names the ids of messages sent with a clientMessageId (see message_id); never change it.
MESSAGE_ID_NAMESPACE = uuid.UUID("6f1d6c2e-3b0a-4c59-9a47-1f5d2b8e7c31")

Id = Annotated[str, Field(min_length=1, max_length=100)]


def message_id(conversation_id: str, sender_id: str, client_message_id: str | None) -> str:
    """The id of a message: derived from (conversation, sender, clientMessageId) when there is one,
    so that a resend names the same document; random otherwise."""
    if client_message_id is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, "\x1f".join((conversation_id, sender_id, client_message_id))))


def room(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


# ---------------------------------------------------------------------------------------- shapes


class NewConversation(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    participantIds: list[Id] = Field(min_length=1, max_length=MAX_MEMBERS - 1)
    title: str | None = Field(None, min_length=1, max_length=200)


def _checked_body(value: str) -> str:
    value = value.strip()
    if not value:
        raise PydanticCustomError("chat.body_blank", "Message must not be empty")
    if len(value) > MAX_BODY_CHARS:
        raise PydanticCustomError("chat.body_too_long", "Message too long", {"max": MAX_BODY_CHARS})
    return value


class NewMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str
    clientMessageId: Id | None = None

    _body = field_validator("body")(_checked_body)


class SendPayload(NewMessage):
    conversationId: Id


class ReadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=0, le=MAX_SEQ)


class ReadPayload(ReadRequest):
    conversationId: Id


class TypingPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversationId: Id
    typing: bool = True


class SyncPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversationId: Id
    afterSeq: int = Field(0, ge=0, le=MAX_SEQ)
    limit: int = Field(SYNC_LIMIT, ge=1, le=SYNC_LIMIT)


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    before: int | None = Field(None, ge=1, le=MAX_SEQ)
    limit: int = Field(HISTORY_LIMIT, ge=1, le=100)


# ----------------------------------------------------------------------------------------- views


def message_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "conversationId": doc["conversationId"],
        "senderId": doc["senderId"],
        "body": doc["body"],
        "seq": doc["seq"],
        "createdAt": doc["createdAt"],
        "clientMessageId": doc["clientMessageId"],
    }


def _last_read(doc: dict[str, Any], user_id: str) -> int:
    return int((doc.get("reads") or {}).get(user_id, 0))


def conversation_view(doc: dict[str, Any], user_id: str, users: dict[str, dict[str, Any]]) -> dict[str, Any]:
    last_read = _last_read(doc, user_id)
    return {
        "id": doc["_id"],
        "type": doc["type"],
        "title": doc.get("title"),
        "participantIds": doc["memberIds"],
        "participants": [
            {"id": m, "fullName": users.get(m, {}).get("fullName"), "role": users.get(m, {}).get("role")}
            for m in doc["memberIds"]
        ],
        "createdBy": doc["createdBy"],
        "createdAt": doc["createdAt"],
        "updatedAt": doc["lastActivityAt"],
        "lastSeq": doc["lastSeq"],
        "lastReadSeq": last_read,
        "unreadCount": max(0, doc["lastSeq"] - last_read),
        "lastMessage": doc.get("lastMessage"),
    }


# ---------------------------------------------------------------------------------- conversations


async def create_conversation(
    ctx: Context, principal: Principal, request: NewConversation
) -> tuple[dict[str, Any], bool]:
    """A conversation of the caller and the participants; returns it and whether it is new.

    Two members and no title make a direct conversation, which exists once per pair (a unique
    `directKey`): asking again returns the same one. A title or more members make a group."""
    await per_user(ctx, "conversation-create", principal.id, ctx.settings.conversation_create_rate_limit)
    members = list(dict.fromkeys([principal.id, *request.participantIds]))
    if len(members) < 2:
        raise RuleViolation("chat.participants_required")
    if len(members) > MAX_MEMBERS:
        raise RuleViolation("chat.too_many_participants", max=MAX_MEMBERS)
    users = await users_by_ids(ctx, members)
    if len(users) != len(members):
        raise NotFound("chat.participant_not_found")
    now = ctx.clock.now()
    direct = len(members) == 2 and not request.title
    doc: dict[str, Any] = {
        "_id": str(uuid.uuid4()),
        "type": "DIRECT" if direct else "GROUP",
        "title": None if direct else request.title,
        "memberIds": members,
        "createdBy": principal.id,
        "createdAt": now,
        "lastActivityAt": now,
        "lastSeq": 0,
        "lastMessage": None,
        "reads": {},
    }
    created = True
    if direct:
        doc["directKey"] = "|".join(sorted(members))
    try:
        await ctx.db[CONVERSATIONS].insert_one(doc)
    except DuplicateKeyError:
        if not direct:
            raise
        existing = await ctx.db[CONVERSATIONS].find_one({"directKey": doc["directKey"]})
        if existing is None:  # the one that won the race was deleted since
            raise
        doc, created = existing, False
    return conversation_view(doc, principal.id, users), created


async def _member_doc(
    ctx: Context, principal: Principal, conversation_id: str, projection: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The conversation, if the caller is a member: 404 when unknown, 403 when not theirs."""
    doc = await ctx.db[CONVERSATIONS].find_one({"_id": conversation_id}, projection)
    if doc is None:
        raise NotFound("chat.conversation_not_found")
    if principal.id not in doc["memberIds"]:
        raise Forbidden()
    return doc


async def is_member(ctx: Context, principal: Principal, conversation_id: str) -> bool:
    """The `room:join` check for `conversation:<id>`."""
    return (
        await ctx.db[CONVERSATIONS].find_one({"_id": conversation_id, "memberIds": principal.id}, {"_id": 1})
        is not None
    )


async def get_conversation(ctx: Context, principal: Principal, conversation_id: str) -> dict[str, Any]:
    doc = await _member_doc(ctx, principal, conversation_id)
    return conversation_view(doc, principal.id, await users_by_ids(ctx, doc["memberIds"]))


async def list_conversations(ctx: Context, principal: Principal, page: PageQuery) -> tuple[list[dict[str, Any]], int]:
    """The caller's conversations, most recently active first, each with unreadCount and lastMessage."""
    docs, total = await fetch_page(
        ctx.db[CONVERSATIONS], {"memberIds": principal.id}, page, [("lastActivityAt", -1), ("_id", 1)]
    )
    users = await users_by_ids(ctx, [m for d in docs for m in d["memberIds"]])
    return [conversation_view(d, principal.id, users) for d in docs], total


# --------------------------------------------------------------------------------------- messages


SENDING_FIELDS = {"lastSeq": 1, "memberIds": 1, "type": 1, "title": 1}  # what delivering a message needs


async def send_message(ctx: Context, principal: Principal, conversation_id: str, request: NewMessage) -> dict[str, Any]:
    """Store a message and deliver it; the one send operation behind REST and `chat:send`.

    A send reads nothing before it writes. The reservation goes in first: a resend of the same
    clientMessageId meets it (a duplicate key) and is answered with the first message, neither
    rate limited nor copied. Whether the sender may post here is settled where the conversation's
    counter moves (`_number`: only a member's send increments it, and that same update returns the
    members to deliver to); a refused send (rate limit, not a member) withdraws its reservation."""
    client_id = request.clientMessageId
    new_id = message_id(conversation_id, principal.id, client_id)
    now = ctx.clock.now()
    reservation = {
        "_id": new_id,
        "conversationId": conversation_id,
        "senderId": principal.id,
        "clientMessageId": client_id,
        "body": request.body,
        "seq": None,
        "createdAt": now,
        "reservedAt": now,
    }
    # The reservation, its seq and lastMessage are journaled together (one commit wait), before
    # anything is delivered.
    async with durable_at_end(ctx.db):
        try:
            await ctx.db[MESSAGES].insert_one(reservation)
        except DuplicateKeyError:  # a resend (or the same resend racing us)
            numbered = None
        else:
            try:
                await take(
                    ctx,
                    f"chat:{principal.id}",
                    limit=ctx.settings.chat_rate_limit_messages,
                    window_seconds=ctx.settings.chat_rate_limit_window_seconds,
                    message_key="chat.rate_limited",
                )
            except Exception:
                await _withdraw(ctx, new_id)
                raise
            try:
                numbered = await _number(ctx, reservation)
            except Forbidden:  # withdrawn; 404 for a conversation that does not exist
                await _member_doc(ctx, principal, conversation_id, {"memberIds": 1})
                raise
    if numbered is None:
        await _member_doc(ctx, principal, conversation_id, {"memberIds": 1})  # still a member?
        existing = await ctx.db[MESSAGES].find_one({"_id": new_id})
        if existing is None:
            raise Conflict("chat.send_in_progress") from None
        return await _replayed(ctx, existing)
    message, conversation, fresh = numbered
    return await _deliver(ctx, conversation, message) if fresh else message


async def _withdraw(ctx: Context, message_id: str) -> None:
    """Remove a reservation that will not be numbered."""
    await ctx.db[MESSAGES].delete_one({"_id": message_id, "seq": None})


async def _number_and_deliver(ctx: Context, reservation: dict[str, Any]) -> dict[str, Any]:
    """Give a reserved message the conversation's next seq, then publish it."""
    async with durable_at_end(ctx.db):
        message, conversation, fresh = await _number(ctx, reservation)
    return await _deliver(ctx, conversation, message) if fresh else message


async def _number(ctx: Context, reservation: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """Give a reserved message the conversation's next seq and record it as the conversation's
    lastMessage: the message, the conversation's `SENDING_FIELDS` as the counter moved, and
    whether this request numbered it (it is then to be delivered). Forbidden, the reservation
    withdrawn, when the sender is not a member (or the conversation is gone)."""
    conversation_id, sender_id = reservation["conversationId"], reservation["senderId"]
    for _ in range(NUMBERING_ATTEMPTS):
        counter = await ctx.db[CONVERSATIONS].find_one_and_update(
            {"_id": conversation_id, "memberIds": sender_id},
            {"$inc": {"lastSeq": 1}},
            projection=SENDING_FIELDS,
            return_document=ReturnDocument.AFTER,
        )
        if counter is None:
            await _withdraw(ctx, reservation["_id"])
            raise Forbidden()
        seq = counter["lastSeq"]
        try:
            doc = await ctx.db[MESSAGES].find_one_and_update(
                {"_id": reservation["_id"], "seq": None},
                {"$set": {"seq": seq, "numberedAt": ctx.clock.now()}, "$unset": {"reservedAt": ""}},
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # we stalled so long that a reader filled our seq: take another
            log.warning("chat: seq %s of %s was given up as void before its message got it", seq, conversation_id)
            continue
        break
    else:
        raise Conflict("chat.send_in_progress")
    if doc is None:  # only after a stale takeover raced the original request: theirs stands
        log.warning(
            "chat: seq %s of %s left unused (message %s numbered twice)", seq, conversation_id, reservation["_id"]
        )
        message = message_view(await find_or_404(ctx.db[MESSAGES], reservation["_id"], "chat.message_not_found"))
        return message, counter, False
    message = message_view(doc)
    await _record_last_message(ctx, message)
    return message, counter, True


async def _deliver(ctx: Context, conversation: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """`chat:message` to every member (and the conversation's room), then the offline notices."""
    conversation_id = conversation["_id"]
    members = conversation["memberIds"]
    await ctx.realtime.emit("chat:message", message, [*user_rooms(members), room(conversation_id)])
    await _notify_offline_members(ctx, conversation, message)
    return message


async def _replayed(ctx: Context, doc: dict[str, Any]) -> dict[str, Any]:
    """The first message of a resend; waits while the first request is still numbering it, and
    takes over a reservation whose request died before numbering it."""
    deadline = asyncio.get_running_loop().time() + REPLAY_WAIT_SECONDS
    while True:
        if doc.get("seq") is not None:
            return message_view(doc)
        reserved_at = doc.get("reservedAt")
        if reserved_at is not None and as_utc(reserved_at) <= ctx.clock.now() - STALE_RESERVATION:
            claimed = await ctx.db[MESSAGES].find_one_and_update(
                {"_id": doc["_id"], "seq": None, "reservedAt": reserved_at},
                {"$set": {"reservedAt": ctx.clock.now()}},
                return_document=ReturnDocument.AFTER,
            )
            if claimed is not None:
                return await _number_and_deliver(ctx, claimed)
        if asyncio.get_running_loop().time() >= deadline:
            raise Conflict("chat.send_in_progress")
        await asyncio.sleep(REPLAY_POLL_SECONDS)
        again = await ctx.db[MESSAGES].find_one({"_id": doc["_id"]})
        if again is None:
            raise Conflict("chat.send_in_progress")
        doc = again


async def _record_last_message(ctx: Context, message: dict[str, Any]) -> None:
    """Keep the conversation's lastMessage (never replaced by an older one) and raise the sender's
    read pointer to their own message."""
    conversations = ctx.db[CONVERSATIONS]
    seq, sender = message["seq"], message["senderId"]
    raise_pointers = {"$max": {f"reads.{sender}": seq, "lastActivityAt": message["createdAt"]}}
    result = await conversations.update_one(
        {"_id": message["conversationId"], "$or": [{"lastMessage": None}, {"lastMessage.seq": {"$lt": seq}}]},
        {"$set": {"lastMessage": message}, **raise_pointers},
    )
    if result.matched_count == 0:  # a later message got there first
        await conversations.update_one({"_id": message["conversationId"]}, raise_pointers)


async def _notify_offline_members(ctx: Context, conversation: dict[str, Any], message: dict[str, Any]) -> None:
    """One pending "new messages" notification per conversation per offline member: the marker is
    set with the notification and cleared when the member reads the conversation."""
    # A member with a socket on this process is online: only the others are asked about in Redis.
    others = [m for m in conversation["memberIds"] if m != message["senderId"] and not ctx.realtime.connected_here(m)]
    if not others:
        return
    try:
        recipients = await presence.offline_once(
            ctx, others, f"{NOTICE_MARKER}{conversation['_id']}:", ctx.settings.chat_offline_notice_ttl_seconds
        )
        if not recipients:
            return
        sender = (await users_by_ids(ctx, [message["senderId"]])).get(message["senderId"], {})
        name = sender.get("fullName") or ""
        await notify(
            ctx,
            recipients,
            NOTICE_KIND,
            params={
                "sender": name,
                "conversation": conversation.get("title") or name,
                "preview": message["body"][:PREVIEW_CHARS],
            },
            data={"conversationId": conversation["_id"], "messageId": message["id"], "seq": message["seq"]},
            job_id=f"chat:{conversation['_id']}:{message['seq']}",
        )
    except Exception:  # the message is stored and delivered; a missed notice must not fail the send
        log.exception("chat: offline notification for %s failed", message["id"])


async def _void_if_abandoned(ctx: Context, conversation_id: str, seq: int, later: dict[str, Any]) -> bool:
    """Whether `seq` (no message, while `later`, a higher seq, has one) may be passed: it may once
    `later` was numbered more than STALE_RESERVATION ago, since the sender of `seq` took it before
    that; it is then filled with a void marker, unless its message got numbered meanwhile."""
    numbered = later.get("numberedAt") or later["createdAt"]
    if as_utc(numbered) > ctx.clock.now() - STALE_RESERVATION:
        return False  # its sender may still be numbering it
    marker = {"_id": f"void:{conversation_id}:{seq}", "conversationId": conversation_id, "seq": seq, "void": True}
    try:
        await ctx.db[MESSAGES].insert_one({**marker, "createdAt": ctx.clock.now()})
        log.warning("chat: seq %s of %s had no message; filled with a void marker", seq, conversation_id)
        return True
    except DuplicateKeyError:  # filled by another reader (fine), or numbered just now (read it next time)
        existing = await ctx.db[MESSAGES].find_one({"conversationId": conversation_id, "seq": seq}, {"void": 1})
        return bool(existing and existing.get("void"))


async def _messages(
    ctx: Context, conversation_id: str, seq: dict[str, Any], order: int, size: int
) -> list[dict[str, Any]]:
    return await (
        ctx.db[MESSAGES]
        .find({"conversationId": conversation_id, "seq": seq})
        .sort([("seq", order)])
        .limit(size)
        .to_list(None)
    )


async def history(
    ctx: Context, principal: Principal, conversation_id: str, query: HistoryQuery
) -> list[dict[str, Any]]:
    """Messages newest first, `before` a seq (exclusive), at most `limit`.

    A page is a run of consecutive seqs. The newest page (no `before`) starts below the lowest seq
    still being numbered, so its newest message is one a later sync continues from without a
    skip; an older page (`before`) runs down from `before` and stops at a seq without a message."""
    conversation = await _member_doc(ctx, principal, conversation_id, {"memberIds": 1, "lastSeq": 1})
    newest = query.before is None
    top = conversation["lastSeq"] if query.before is None else query.before - 1
    # The window includes the message just above `top`, which judges whether `top` is abandoned.
    size = query.limit + READ_SLACK + 1
    docs = await _messages(ctx, conversation_id, {"$gt": 0, "$lte": top + 1}, -1, size)
    window_full = len(docs) == size  # older messages may follow the window: it ends, not a gap
    run: list[dict[str, Any]] = []
    above = docs.pop(0) if docs and docs[0]["seq"] == top + 1 else None
    expected = top
    for doc in [*docs, None]:
        if doc is None and window_full:
            break
        floor = doc["seq"] if doc is not None else 0
        while expected > floor:  # `expected` has no message
            later = run[-1] if run else above
            if later is not None and await _void_if_abandoned(ctx, conversation_id, expected, later):
                expected -= 1
                continue
            if not newest:
                return [message_view(d) for d in run if not d.get("void")][: query.limit]
            run, above = [], None  # nothing above a seq still being numbered is shown
            expected -= 1
        if doc is None:
            break
        run.append(doc)
        expected -= 1
    return [message_view(d) for d in run if not d.get("void")][: query.limit]


async def sync(ctx: Context, principal: Principal, payload: SyncPayload) -> dict[str, Any]:
    """What a reconnecting client missed: the messages after `afterSeq`, oldest first, at most
    `limit` (500); `hasMore` says to ask again from the last one returned. The messages are a run
    of consecutive seqs: it stops before the first seq that has no message yet."""
    await per_user(ctx, "chat-sync", principal.id, ctx.settings.sync_rate_limit)
    conversation = await _member_doc(ctx, principal, payload.conversationId)
    docs = await _messages(ctx, payload.conversationId, {"$gt": payload.afterSeq}, 1, payload.limit + READ_SLACK + 1)
    run: list[dict[str, Any]] = []
    expected = payload.afterSeq + 1
    complete = True  # the run reached the end of what was read
    for doc in docs:
        while expected < doc["seq"] and await _void_if_abandoned(ctx, payload.conversationId, expected, doc):
            expected += 1
        if expected < doc["seq"]:
            complete = False
            break
        run.append(doc)
        expected += 1
    messages = [d for d in run if not d.get("void")]
    last_read = _last_read(conversation, principal.id)
    return {
        "conversationId": payload.conversationId,
        "messages": [message_view(d) for d in messages[: payload.limit]],
        "hasMore": len(messages) > payload.limit or (complete and len(docs) == payload.limit + READ_SLACK + 1),
        "lastSeq": conversation["lastSeq"],
        "lastReadSeq": last_read,
        "unreadCount": max(0, conversation["lastSeq"] - last_read),
    }


# ------------------------------------------------------------------------------ receipts, typing


async def mark_read(ctx: Context, principal: Principal, conversation_id: str, seq: int) -> dict[str, Any]:
    """Raise the caller's read pointer to `seq` (never lowers it); tells the members when it moved."""
    pointer = f"reads.{principal.id}"
    before = await ctx.db[CONVERSATIONS].find_one_and_update(
        {"_id": conversation_id, "memberIds": principal.id, "lastSeq": {"$gte": seq}},
        {"$max": {pointer: seq}},
        projection={"lastSeq": 1, "memberIds": 1, pointer: 1},
        return_document=ReturnDocument.BEFORE,
    )
    if before is None:
        current = await _member_doc(ctx, principal, conversation_id, {"memberIds": 1, "lastSeq": 1})
        raise RuleViolation("chat.read_beyond_last", lastSeq=current["lastSeq"])
    previous = _last_read(before, principal.id)
    now_read = max(previous, seq)
    await ctx.redis.delete(f"{NOTICE_MARKER}{conversation_id}:{principal.id}")
    if now_read > previous:
        await ctx.realtime.emit(
            "chat:read",
            {"conversationId": conversation_id, "userId": principal.id, "seq": now_read},
            [*user_rooms(before["memberIds"]), room(conversation_id)],
        )
    return {
        "conversationId": conversation_id,
        "userId": principal.id,
        "lastReadSeq": now_read,
        "unreadCount": max(0, before["lastSeq"] - now_read),
    }


async def typing(ctx: Context, principal: Principal, payload: TypingPayload) -> dict[str, Any]:
    """Tell the other members (not the typist, on any of their devices); nothing is stored."""
    await per_user(ctx, "chat-typing", principal.id, ctx.settings.typing_rate_limit)
    conversation = await _member_doc(ctx, principal, payload.conversationId, {"memberIds": 1})
    event = {"conversationId": payload.conversationId, "userId": principal.id, "typing": payload.typing}
    await ctx.realtime.emit("chat:typing", event, user_rooms(m for m in conversation["memberIds"] if m != principal.id))
    return event


# ------------------------------------------------------------------------------------- presence


async def announce_presence(ctx: Context, change: presence.Change) -> None:
    """Tell everyone who shares a conversation with the user that they came online or went offline."""
    contacts = await ctx.db[CONVERSATIONS].distinct("memberIds", {"memberIds": change.user_id})
    rooms = user_rooms(c for c in contacts if c != change.user_id)
    await ctx.realtime.emit(
        "presence",
        {"userId": change.user_id, "online": change.online, "lastSeen": None if change.online else change.last_seen},
        rooms,
    )
