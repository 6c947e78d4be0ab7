"""Every server → client Socket.IO event, with its payload and rooms (the contract's "Socket.IO"
section). Emitted by models through `ctx.realtime`; documented in `/api/asyncapi.json`.

A new event emitted anywhere must be declared here (a test reads the code for emitted names).
"""

from __future__ import annotations

from models import views
from server.events_catalog import ServerEvent, ServerEvents

chat = ServerEvents("chat")
chat.declare(
    "chat:message",
    views.Message,
    to=["user:<memberId> (every member)", "conversation:<id>"],
    summary="A new message in one of your conversations (yours included, on your other devices)",
)
chat.declare(
    "chat:read",
    views.ReadReceipt,
    to=["user:<memberId> (every member)", "conversation:<id>"],
    summary="A member's read pointer moved up to seq",
)
chat.declare(
    "chat:typing",
    views.Typing,
    to=["user:<memberId> (every member but the typist)"],
    summary="A member started or stopped typing (never stored)",
)
chat.declare(
    "presence",
    views.PresenceChange,
    to=["user:<contactId> (everyone who shares a conversation with the user)"],
    summary="A user came online or went offline",
)

notifications = ServerEvents("notifications")
notifications.declare(
    "notification",
    views.Notification,
    to=["user:<id>"],
    summary="A notification was stored for you (the same as GET /notifications lists)",
)

tutoring = ServerEvents("tutoring")
tutoring.declare(
    "session:updated",
    views.Session,
    to=["user:<participantId> (tutor and students)", "session:<id>"],
    summary="A tutoring session was created or changed state",
)
tutoring.declare(
    "class:updated",
    views.TutoringClass,
    to=["user:<tutorId>", "user:<studentId> (enrolled students)", "class:<id>"],
    summary="A class changed (enrolment, generated sessions)",
)

assignments = ServerEvents("assignments")
assignments.declare(
    "assignment:updated",
    views.AssignmentItem,
    to=["user:<employeeUserId>", "user:<customerId>", "assignment:<id>", "role:ADMIN (on cancellation)"],
    summary="An assignment was assigned, checked in, checked out or cancelled (the seed's item)",
)

auth = ServerEvents("auth")
auth.declare(
    "auth:expired",
    views.AuthClosed,
    to=["the socket itself"],
    summary="The token the socket connected with expired; the server closes the socket within a second",
)
auth.declare(
    "auth:revoked",
    views.AuthClosed,
    to=["family:<refresh family> (every socket of the login, in every process)"],
    summary="The token was logged out or its refresh family revoked; the socket is closed",
)
auth.declare(
    "realtime:resync",
    {"type": "object", "properties": {}, "description": "no payload"},
    to=["every socket of the server process (sent by the process itself)"],
    summary="The server's link to the other processes was down and is back: events may have been "
    "missed; run chat:sync per open conversation and reload notifications",
)

learning = ServerEvents("learning")
learning.declare(
    "material:created",
    views.Material,
    to=["user:<participantId> (tutor and students)", "session:<id>"],
    summary="The session's tutor posted a material",
)
learning.declare(
    "homework:created",
    views.Homework,
    to=["user:<participantId> (tutor and students)", "session:<id>"],
    summary="The session's tutor set homework",
)
learning.declare(
    "grade:updated",
    views.Submission,
    to=["user:<studentId>", "user:<tutorId>"],
    summary="A submission was graded or regraded (never to the session room: grades are private)",
)
learning.declare(
    "evaluation:created",
    views.Evaluation,
    to=["user:<tutorId>"],
    summary="A student evaluated one of your completed sessions",
)
learning.declare(
    "progress:created",
    views.ProgressEntry,
    to=["user:<studentId>", "user:<tutorId>"],
    summary="A tutor recorded a progress entry for a student",
)

forum = ServerEvents("forum")
forum.declare(
    "forum:comment",
    views.ForumComment,
    to=["user:<postAuthorId>", "post:<postId> (anyone may join)"],
    summary="A comment or reply on a forum post",
)

AREAS = [chat, notifications, tutoring, assignments, auth, learning, forum]


def server_events() -> list[ServerEvent]:
    return [event for area in AREAS for event in area]
