"""Typed errors, one root (`DomainError`). Models raise them with a message key; `server/envelope.py`
turns any of them into the error envelope, for HTTP replies and Socket.IO acks alike."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class RuleViolation(DomainError):
    """A business rule refuses the request (400)."""


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """A state conflict: double booking, already enrolled, duplicate (409)."""

    status = 409


class BadCredentials(DomainError):
    """Login refused (401), in the error envelope, never saying which part was wrong."""

    status = 401

    def __init__(self) -> None:
        super().__init__("auth.invalid_credentials")


class RateLimited(DomainError):
    """Too many calls (429); `retryAfter` (whole seconds) says when to try again."""

    status = 429

    def __init__(self, key: str = "common.rate_limited", *, retryAfter: int = 1, **params: Any) -> None:
        super().__init__(key, retryAfter=retryAfter, **params)
        self.retry_after = max(1, int(retryAfter))


class ServiceUnavailable(DomainError):
    status = 503


class ValidationFailed(DomainError):
    """Input that fails validation. `errors` are `{"field", "key" | "message", "params"}` items."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("common.validation_failed")
        self.errors = errors


class AuthError(DomainError):
    """401/403 with the seed's fixed bodies (not localized: the seed gives them in English)."""

    MISSING = "Access token is missing or invalid"
    INVALID = "Invalid or expired token"

    def __init__(self, status: int, message: str, reason: str = "invalid") -> None:
        super().__init__("auth.refused")
        self.status = status
        self.message = message
        self.reason = reason  # "expired" / "revoked" tell a socket which notice it gets

    @property
    def body(self) -> dict[str, str]:
        return {"error": "Unauthorized" if self.status == 401 else "Forbidden", "message": self.message}

    @classmethod
    def missing(cls) -> AuthError:
        return cls(401, cls.MISSING)

    @classmethod
    def invalid(cls, reason: str = "invalid") -> AuthError:
        return cls(401, cls.INVALID, reason)

    @classmethod
    def role_required(cls, roles: tuple[str, ...]) -> AuthError:
        return cls(403, "Access denied. Required role: " + " or ".join(roles))


class Forbidden(AuthError):
    """Acting on something that is not yours: 403 `{"error": "Forbidden", "message": "Access denied"}`."""

    def __init__(self) -> None:
        super().__init__(403, "Access denied")
