"""The shapes clients see, as pydantic models: what the envelope's `data` holds and what the server's
Socket.IO events carry.

The model functions build plain dicts (`public_user`, `message_view`, ...); these classes describe
those dicts for the generated documents only: route declarations name them with `response=`
(`/api/openapi.json`) and the server-event catalog with `payload=` (`/api/asyncapi.json`). Keep
each one next to the function it describes in mind: a field added there belongs here too. Tests
validate real responses and real socket events against them, so a drift fails the suite.

Every route declares one (`NoData` for an envelope without `data`, e.g. logout). A field always
sent but possibly null is declared `X | None` without a default (required, nullable); a field sent
only to some callers has a default. Moments go out as ISO 8601 UTC strings: `Instant` (the
first views say `datetime`, documented as the same string).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from models.approvals import ApprovalStatus, HistoryAction
from models.assignments import AssignmentStatus, BookingStatus
from models.cancel_request_records import CancelRequestStatus
from models.sessions import SessionStatus
from models.submissions import SubmissionStatus
from server.http import NoData as NoData  # `response=views.NoData`: the envelope carries no `data`
from server.roles import Role

# A moment as it goes out: ISO 8601 in UTC with milliseconds and `Z` (server.jsonutil).
Instant = Annotated[
    str,
    Field(
        description="ISO 8601, UTC",
        examples=["2025-09-06T07:39:22.000Z"],
        json_schema_extra={"format": "date-time"},
    ),
]


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


class UpdatedCount(View):
    """`POST /notifications/read-all`: how many notifications were marked read."""

    updated: int


class QueuedJob(View):
    """An announcement queued (`POST /admin/announcements`, 202)."""

    jobId: str


class DelayedJob(View):
    jobId: str
    type: str
    attempt: int
    processAt: Instant


class QueueStats(View):
    """The job queue's state (`server.queue.JobQueue.stats`)."""

    ready: int = Field(description="waiting to be read")
    delayed: int = Field(description="scheduled for later")
    pending: int = Field(description="read by a worker, not yet acknowledged")
    dead: int = Field(description="given up after the last attempt")
    outbox: int = Field(description="written with their records, not yet on the queue")
    nextDelayed: list[DelayedJob] = Field(description="the next delayed jobs, soonest first (up to 10)")


class PresenceMap(RootModel[dict[str, PresenceEntry]]):
    """`GET /presence`: `{userId: {online, lastSeen}}` for every id asked about (lastSeen null while
    online, or for a user never seen)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "0b6f3c1e-user-a": {"online": True, "lastSeen": None},
                    "7d2e9a40-user-b": {"online": False, "lastSeen": "2025-09-06T07:39:22.000Z"},
                }
            ]
        }
    )


# ------------------------------------------------------------------------------------- tutoring


class Session(View):
    """A tutoring session (`models.sessions.render`)."""

    id: str
    type: Literal["ONE_ON_ONE", "GROUP"]
    tutorId: str
    studentIds: list[str] | None = Field(
        None, description="its participants, MANAGEMENT and ADMIN only (GET /sessions?open=true: enrolledCount)"
    )
    enrolledCount: int | None = Field(None, description="instead of studentIds, for those who may not see them")
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


class Enrollment(TutoringClass):
    """`POST /classes/{id}/enroll`: the class, and how many of its upcoming sessions you joined."""

    joinedSessions: int


class SlotConflict(View):
    """A slot of the schedule whose session was not made: the tutor is busy then."""

    slotKey: str
    startTime: Instant
    endTime: Instant
    reason: Literal["TUTOR_BUSY"]
    sessionIds: list[str] = Field(description="the tutor's sessions in the way")


class SessionGeneration(View):
    """`POST /classes/{id}/sessions`: what generating the class's sessions did (201 when any was made)."""

    classId: str
    created: list[Session]
    createdCount: int
    existingCount: int = Field(description="upcoming slots whose session existed already")
    skippedPastCount: int = Field(description="slots of the schedule already past")
    conflicts: list[SlotConflict]


class TutorProfile(View):
    """A tutor's profile (`models.tutor_profiles.profile`): raw average rating (2 decimals) and count."""

    id: str
    fullName: str
    subjects: list[str]
    bio: str
    hourlyRate: float | None = Field(description="null until the tutor sets a profile")
    rating: float = Field(ge=0, le=5, description="0.0 without reviews")
    ratingCount: int
    totalSessions: int = Field(description="COMPLETED sessions")


class TutorSearchHit(TutorProfile):
    """A tutor found by `GET /tutors`, with the Bayesian-adjusted rating the default order uses."""

    score: float


class CancellationRequest(View):
    """A cancellation request (`models.cancel_requests.render`)."""

    id: str
    sessionId: str
    requesterId: str
    requesterSide: Literal[Role.STUDENT, Role.TUTOR]
    deciderIds: list[str]
    deciderRole: Literal[Role.MANAGEMENT] | None = Field(description="MANAGEMENT decides a tutor's group request")
    reason: str
    status: CancelRequestStatus
    outcome: Literal["SESSION_CANCELLED", "LEFT_SESSION", "SESSION_NOT_ACTIVE"] | None = Field(
        description="once APPROVED: what happened to the session"
    )
    decidedBy: str | None
    decisionReason: str | None
    decidedAt: Instant | None
    createdAt: Instant
    updatedAt: Instant


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


class BookingAssignment(View):
    """An assignment within a booking as its customer sees it: ISO UTC times, the employee's contact."""

    assignmentId: str
    employeeId: str
    employeeName: str | None
    employeePhone: str | None
    status: AssignmentStatus
    assignedAt: Instant
    checkInTime: Instant | None
    checkOutTime: Instant | None
    cancelledAt: Instant | None
    cancelReason: str | None
    cancelNote: str | None


class ServiceBooking(View):
    """A booking with its assignments (`models.assignments.booking_view`); times in ISO UTC."""

    id: str
    bookingCode: str = Field(examples=["BK62589569"])
    customerId: str
    serviceName: str
    serviceAddress: str
    bookingTime: Instant
    estimatedDurationHours: float
    pricePerUnit: float
    quantity: int
    totalAmount: float
    note: str | None
    status: BookingStatus
    createdAt: Instant
    assignments: list[BookingAssignment]


class DemoAccount(View):
    username: str
    role: Role
    id: str
    employeeId: str | None = Field(None, description="EMPLOYEE only")


class DemoAssignment(View):
    assignmentId: str
    status: AssignmentStatus
    bookingTime: str = Field(examples=["2025-09-12 10:00:00"], description="yyyy-MM-dd HH:mm:ss in TIMEZONE")


class DemoData(View):
    """What `POST /admin/demo-data` loaded (`models.demo.load_into`)."""

    accounts: list[DemoAccount]
    password: str = Field(description="every demo account's password")
    bookings: list[str] = Field(description="booking codes")
    assignments: list[DemoAssignment]


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
    createdAt: Instant


class Homework(View):
    id: str
    sessionId: str
    tutorId: str
    title: str
    description: str
    dueAt: Instant
    maxScore: float
    createdAt: Instant


class Submission(View):
    """A submission (`models.submissions.render`); score, feedback and gradedAt once GRADED."""

    id: str
    homeworkId: str
    sessionId: str
    studentId: str
    content: str
    status: SubmissionStatus
    late: bool
    revision: int = Field(description="1, then +1 each time an ungraded submission is replaced")
    submittedAt: Instant
    maxScore: float
    score: float | None
    feedback: str | None
    gradedAt: Instant | None


class Evaluation(View):
    """A student's evaluation of a completed session's tutor (`models.evaluations.render`)."""

    id: str
    sessionId: str
    tutorId: str
    studentId: str
    studentName: str
    subject: str
    rating: int = Field(ge=1, le=5)
    comment: str | None
    createdAt: Instant


class SubjectProgress(View):
    subject: str
    entries: int
    averageScore: float


class ProgressStats(View):
    """A student's progress statistics (`models.progress.statistics`): averages to 2 decimals, 0.0
    without entries; subjects by name."""

    entries: int
    completedSessions: int
    averageScore: float
    bySubject: list[SubjectProgress]


class ProgressEntry(View):
    id: str
    studentId: str
    sessionId: str
    tutorId: str
    subject: str
    score: float
    notes: str | None = None
    skills: list[str] = Field(default_factory=list)
    createdAt: Instant


class ForumComment(View):
    """A comment (`models.forum.render_comment`); `parentCommentId` for a reply."""

    id: str
    postId: str
    authorId: str
    authorName: str | None = Field(description="null if the account is gone")
    body: str
    parentCommentId: str | None
    createdAt: Instant


class ForumPost(View):
    """A forum post (`models.forum.render_post`)."""

    id: str
    authorId: str
    authorName: str | None = Field(description="null if the account is gone")
    title: str
    body: str
    tags: list[str]
    commentCount: int
    createdAt: Instant
    updatedAt: Instant


class ForumThread(ForumComment):
    """A top-level comment with its replies, oldest first."""

    replies: list[ForumComment]


class ForumPostDetail(ForumPost):
    """`GET /forum/posts/{id}`: the post with its comments threaded, oldest first."""

    comments: list[ForumThread]


# ------------------------------------------------------------------------------------ approvals


class ApprovalHistoryEntry(View):
    """One step of an approval request; the step's own detail comes with it."""

    action: HistoryAction
    by: str
    role: Role
    at: Instant
    question: str | None = Field(None, description="CLARIFICATION_REQUESTED")
    answer: str | None = Field(None, description="CLARIFIED")
    allocatedResources: dict[str, str] | None = Field(None, description="APPROVED")
    reason: str | None = Field(None, description="REJECTED")


class Approval(View):
    """An approval request as listed (`models.approvals.render`, without its history)."""

    id: str
    type: str = Field(examples=["ROOM_BOOKING"])
    title: str
    details: str
    requestedResources: list[str]
    startTime: Instant | None
    endTime: Instant | None
    status: ApprovalStatus
    requesterId: str
    requesterRole: Role
    allocatedResources: dict[str, str] = Field(description="`{<kind>: <resourceId>}` once APPROVED")
    decidedBy: str | None
    decidedAt: Instant | None
    decisionReason: str | None
    createdAt: Instant
    updatedAt: Instant


class ApprovalDetail(Approval):
    """An approval request with its whole history, oldest first."""

    history: list[ApprovalHistoryEntry]


# ---------------------------------------------------------------------------------- maintenance


class RepairedKind(View):
    count: int
    ids: list[str] = Field(description="the first 20")


class ReconcileReport(View):
    """What one reconcile pass did (`models.reconcile_report.Report.as_dict`), by kind of record."""

    startedAt: Instant
    finishedAt: Instant
    complete: bool = Field(description="false when a kind reached its cap this pass (the next goes on)")
    repairedTotal: int
    repaired: dict[str, RepairedKind]
    unresolved: dict[str, RepairedKind] = Field(description="found, but not repairable")
