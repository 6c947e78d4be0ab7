"""The error envelope: one function turns any exception into the reply body, for HTTP and Socket.IO.

HTTP sends `(status, body)` as is; a Socket.IO ack carries `{success: false, message,
validationErrors?, retryAfter?}` taken from the same body, so both transports say the same thing.
"""

from __future__ import annotations

import logging
from typing import Any

import pymongo.errors
import redis.exceptions

from server.errors import AuthError, DomainError, RateLimited, ValidationFailed
from server.i18n import translate
from server.validation import localize_errors

log = logging.getLogger(__name__)

BACKEND_DOWN = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    pymongo.errors.ConnectionFailure,
    pymongo.errors.ServerSelectionTimeoutError,
)


def error_body(locale: str, key: str, **params: Any) -> dict[str, Any]:
    return {"success": False, "message": translate(key, locale, **params)}


def error_envelope(exc: BaseException, locale: str, request_id: str) -> tuple[int, dict[str, Any]]:
    """The status and body for `exc`. Unexpected errors are logged with the request id and answered
    without internals."""
    if isinstance(exc, AuthError):
        return exc.status, exc.body
    if isinstance(exc, ValidationFailed):
        errors = localize_errors(exc.errors, locale)
        message = errors[0]["message"] if errors else translate(exc.key, locale)
        return 400, {"success": False, "message": message, "validationErrors": errors}
    if isinstance(exc, RateLimited):
        # The wait rides in the body: HTTP turns it into `Retry-After`, a socket ack keeps `retryAfter`.
        return exc.status, {**error_body(locale, exc.key, **exc.params), "retryAfter": exc.retry_after}
    if isinstance(exc, DomainError):
        return exc.status, error_body(locale, exc.key, **exc.params)
    if isinstance(exc, BACKEND_DOWN):
        log.error("request %s: a backing service is unreachable", request_id, exc_info=exc)
        return 503, error_body(locale, "common.service_unavailable")
    log.error("request %s failed", request_id, exc_info=exc)
    return 500, error_body(locale, "common.internal_error", requestId=request_id)


def ack_failure(exc: BaseException, locale: str, request_id: str) -> dict[str, Any]:
    """A refused Socket.IO ack: the envelope's message (and validation errors) with success false."""
    _, body = error_envelope(exc, locale, request_id)
    ack: dict[str, Any] = {"success": False, "message": body["message"]}
    for extra in ("validationErrors", "retryAfter"):
        if extra in body:
            ack[extra] = body[extra]
    return ack


def http_headers(body: dict[str, Any]) -> dict[str, str]:
    """Headers that go with an error body: `Retry-After` (seconds) on every 429."""
    return {"Retry-After": str(body["retryAfter"])} if "retryAfter" in body else {}
