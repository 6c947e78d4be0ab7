"""Who a user is to the platform. One enum, so a role is never a bare string that can be mistyped."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    STUDENT = "STUDENT"
    TUTOR = "TUTOR"
    MANAGEMENT = "MANAGEMENT"
    CUSTOMER = "CUSTOMER"
    EMPLOYEE = "EMPLOYEE"
    ADMIN = "ADMIN"


# Roles anyone may register with; the others are created by an ADMIN.
SELF_SERVICE_ROLES = (Role.STUDENT, Role.TUTOR, Role.CUSTOMER)
# Roles that read every record of the learning side (sessions, classes, approvals, progress).
OVERSEERS = (Role.MANAGEMENT, Role.ADMIN)
