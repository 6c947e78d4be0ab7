"""Conversations and messages over REST, and the `chat:*` socket events (the same model operations)."""

from __future__ import annotations

from typing import Any

from models import chat, views
from server.area import Area
from server.http import Call, Reply, Routes
from server.paging import PageQuery
from server.sockets import SocketCall, SocketEvents

routes = Routes(tag="chat")
events = SocketEvents()


@routes.post(
    "/conversations",
    body=chat.NewConversation,
    status=201,
    response=views.Conversation,
    summary="Start a conversation (you and participantIds); a direct one per pair is reused (200)",
)
async def create_conversation(call: Call) -> Reply:
    conversation, created = await chat.create_conversation(call.ctx, call.user, call.body)
    if created:
        return Reply(conversation, "chat.conversation_created", status=201)
    return Reply(conversation, "chat.conversation_reused", status=200)


@routes.get(
    "/conversations",
    query=PageQuery,
    response=views.Conversation,
    response_list=True,
    summary="Your conversations, most recent first, with unreadCount and lastMessage",
)
async def list_conversations(call: Call) -> Reply:
    items, total = await chat.list_conversations(call.ctx, call.user, call.query)
    return Reply(items, "chat.conversations_listed", total=total)


@routes.get("/conversations/{conversationId}", response=views.Conversation, summary="One of your conversations")
async def get_conversation(call: Call) -> Reply:
    return Reply(
        await chat.get_conversation(call.ctx, call.user, call.path("conversationId")), "chat.conversation_retrieved"
    )


@routes.get(
    "/conversations/{conversationId}/messages",
    query=chat.HistoryQuery,
    response=views.Message,
    response_list=True,
    summary="Message history, newest first: before=<seq> (exclusive), limit (default 50, max 100)",
)
async def history(call: Call) -> Reply:
    return Reply(
        await chat.history(call.ctx, call.user, call.path("conversationId"), call.query), "chat.messages_listed"
    )


@routes.post(
    "/conversations/{conversationId}/messages",
    body=chat.NewMessage,
    status=201,
    response=views.Message,
    summary="Send a message; resending the same clientMessageId returns the first message",
)
async def send_message(call: Call) -> Reply:
    message = await chat.send_message(call.ctx, call.user, call.path("conversationId"), call.body)
    return Reply(message, "chat.message_sent", status=201)


@routes.post(
    "/conversations/{conversationId}/read",
    body=chat.ReadRequest,
    response=views.ReadState,
    summary="Mark the conversation read up to seq; your unread count drops",
)
async def mark_read(call: Call) -> Reply:
    return Reply(
        await chat.mark_read(call.ctx, call.user, call.path("conversationId"), call.body.seq), "chat.read_marked"
    )


@events.on("chat:send", payload=chat.SendPayload, ack=views.Message, summary="Send a message; the ack carries it")
async def on_send(call: SocketCall) -> Any:
    return await chat.send_message(call.ctx, call.user, call.payload.conversationId, call.payload)


@events.on("chat:read", payload=chat.ReadPayload, ack=views.ReadState, summary="Mark read up to seq")
async def on_read(call: SocketCall) -> Any:
    return await chat.mark_read(call.ctx, call.user, call.payload.conversationId, call.payload.seq)


@events.on("chat:typing", payload=chat.TypingPayload, ack=views.Typing, summary="Tell the other members you are typing")
async def on_typing(call: SocketCall) -> Any:
    return await chat.typing(call.ctx, call.user, call.payload)


@events.on(
    "chat:sync", payload=chat.SyncPayload, ack=views.SyncResult, summary="The messages after afterSeq (reconnect)"
)
async def on_sync(call: SocketCall) -> Any:
    return await chat.sync(call.ctx, call.user, call.payload)


area = Area("chat", routes=routes, events=events, room_checks={"conversation": chat.is_member}, indexes=chat.INDEXES)
