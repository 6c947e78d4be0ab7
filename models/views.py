"""The shapes clients see, as pydantic models: what the envelope's `data` holds and what the server's
Socket.IO events carry.

The model functions build plain dicts (`public_user`, `message_view`, ...); these classes describe
those dicts for the generated documents only: route declarations name them with `response=`
(`/api/openapi.json`) and the server-event catalog with `payload=` (`/api/asyncapi.json`). Keep
each one next to the function it describes in mind: a field added there belongs here too. Tests
validate real responses and real socket events against them, so a drift fails the suite.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.assignments import AssignmentStatus
from models.sessions import SessionStatus
from server.roles import Role


class View(BaseModel):
    """A response shape: documents the fields a client may rely on; more may come later."""

    model_config = ConfigDict(extra="allow")


# ------------------------------------------------------------------------------------- accounts


class UserView(View):
    """A user (`models.users.public_user`); an EMPLOYEE also has `employeeId`, a TUTOR the tutor
    profile fields."""

    id: str
    username: str
    email: str
    fullName: str
    phone: str | None = None
    role: Role
    createdAt: datetime
    employeeId: str | None = Field(None, description="EMPLOYEE only")


class TokenPair(View):
    """What login and refresh return (`models.tokens.issue_pair`)."""

    accessToken: str
    refreshToken: str
    tokenType: Literal["Bearer"] = "Bearer"
    expiresIn: int = Field(description="seconds the access token lives")
    user: UserView


# ----------------------------------------------------------------------------------------- chat


class Message(View):
    """A stored chat message (`models.chat.message_view`)."""

    id: str
    conversationId: str
    senderId: str
    body: str
    seq: int = Field(ge=1, description="per conversation: 1, 2, 3... without gaps")
    createdAt: datetime
    clientMessageId: str | None = None


class Participant(View):
    id: str
    fullName: str | None = None
    role: Role | None = None


class Conversation(View):
    """A conversation as one member sees it (`models.chat.conversation_view`)."""

    id: str
    type: Literal["DIRECT", "GROUP"]
    title: str | None = None
    participantIds: list[str]
    participants: list[Participant]
    createdBy: str
    createdAt: datetime
    updatedAt: datetime
    lastSeq: int
    lastReadSeq: int
    unreadCount: int
    lastMessage: Message | None = None


class ReadState(View):
    """Your read pointer after `POST .../read` or `chat:read`."""

    conversationId: str
    userId: str
    lastReadSeq: int
    unreadCount: int


class SyncResult(View):
    """The `chat:sync` ack: the messages after `afterSeq`, oldest first."""

    conversationId: str
    messages: list[Message]
    hasMore: bool = Field(description="ask again from the last message returned")
    lastSeq: int
    lastReadSeq: int
    unreadCount: int


class ReadReceipt(View):
    """`chat:read` (server → client): a member read up to `seq`."""

    conversationId: str
    userId: str
    seq: int


class Typing(View):
    """`chat:typing`, both ways (the ack echoes what the others receive)."""

    conversationId: str
    userId: str
    typing: bool


class PresenceChange(View):
    """`presence`: `lastSeen` is null while online."""

    userId: str
    online: bool
    lastSeen: datetime | None = None


class PresenceEntry(View):
    online: bool
    lastSeen: datetime | None = None


class Room(View):
    """`room:join` / `room:leave` ack."""

    room: str


# -------------------------------------------------------------------------------- notifications


class Notification(View):
    """A stored notification (`models.notifications.render`), texts in the recipient's locale."""

    id: str
    type: str = Field(description="e.g. assignment.cancelled, chat.new_messages, session.reminder")
    title: str
    body: str
    data: dict[str, Any] = Field(default_factory=dict)
    read: bool
    createdAt: datetime


class UnreadCount(View):
    count: int


# ------------------------------------------------------------------------------------- tutoring


class Session(View):
    """A tutoring session (`models.sessions.render`)."""

    id: str
    type: Literal["ONE_ON_ONE", "GROUP"]
    tutorId: str
    studentIds: list[str]
    subject: str
    title: str | None = None
    note: str | None = None
    startTime: datetime
    endTime: datetime
    durationMinutes: int
    status: SessionStatus
    classId: str | None = None
    capacity: int
    rejectReason: str | None = None
    cancelReason: str | None = None
    createdAt: datetime
    updatedAt: datetime


class Slot(View):
    dayOfWeek: int = Field(ge=1, le=7, description="Monday = 1")
    startTime: str = Field(description="HH:MM in the class's timezone")
    durationMinutes: int


class TutoringClass(View):
    """A class (`models.classes.render`); `studentIds` only for its tutor, MANAGEMENT and ADMIN."""

    id: str
    tutorId: str
    title: str
    subject: str
    description: str | None = None
    capacity: int
    enrolledCount: int
    startDate: str
    endDate: str
    schedule: list[Slot]
    timezone: str
    createdAt: datetime
    updatedAt: datetime
    enrolled: bool | None = None
    studentIds: list[str] | None = None


# -------------------------------------------------------------------------------- home services


class AssignmentItem(View):
    """An assignment exactly as the seed shows it (`models.assignments.assignment_item`); times are
    `yyyy-MM-dd HH:mm:ss` in TIMEZONE."""

    assignmentId: str
    bookingCode: str
    serviceName: str
    customerName: str | None = None
    customerPhone: str | None = None
    serviceAddress: str
    bookingTime: str = Field(examples=["2025-09-12 10:00:00"])
    estimatedDurationHours: float
    pricePerUnit: float
    quantity: int
    totalAmount: float
    status: AssignmentStatus
    assignedAt: str | None = None
    checkInTime: str | None = None
    checkOutTime: str | None = None
    note: str | None = None


# ------------------------------------------------------------------------------------ socket.io


class AuthClosed(View):
    """`auth:expired` / `auth:revoked`: the socket's token stopped working; it is closed."""

    message: str


# -------------------------------------------------------------------------- learning and forum


class Material(View):
    id: str
    sessionId: str
    tutorId: str
    title: str
    body: str | None = None
    url: str | None = None
    createdAt: str


class Homework(View):
    id: str
    sessionId: str
    tutorId: str
    title: str
    description: str
    dueAt: str
    maxScore: float
    createdAt: str


class Submission(View):
    id: str
    homeworkId: str
    sessionId: str
    studentId: str
    content: str
    status: str
    late: bool
    maxScore: float
    score: float | None = None
    feedback: str | None = None
    gradedAt: str | None = None


class Evaluation(View):
    id: str
    sessionId: str
    tutorId: str
    studentId: str
    rating: int
    comment: str | None = None
    createdAt: str


class ProgressEntry(View):
    id: str
    studentId: str
    sessionId: str
    tutorId: str
    subject: str
    score: float
    notes: str | None = None
    skills: list[str] = Field(default_factory=list)
    createdAt: str


class ForumComment(View):
    id: str
    postId: str
    authorId: str
    authorName: str
    body: str
    parentCommentId: str | None = None
    createdAt: str
