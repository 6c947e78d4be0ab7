"""JSON encoding for replies and socket payloads: datetimes as ISO 8601 UTC with `Z`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """Make a value JSON-ready (for Socket.IO payloads, which are not encoded by `dumps`)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump(mode="python"))
    return value


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return jsonable(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False)


def loads_checked(raw: bytes) -> Any:
    """Parse a request body; ValueError for anything that is not JSON we can store and send back:
    invalid UTF-8 or JSON, nesting deep enough to exhaust the parser's recursion, and strings with
    a lone surrogate (valid JSON, "\\ud800", but not encodable as UTF-8 nor storable in BSON)."""
    try:
        text = raw.decode("utf-8")  # strict: json.loads(bytes) would let encoded surrogates through
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError("invalid JSON") from None
    if "\\u" in text:  # after a strict decode, a surrogate can only come from an escape
        ensure_encodable(value)
    return value


class UnencodableText(ValueError):
    """A string with a lone surrogate: not UTF-8, not BSON."""


def ensure_encodable(value: Any) -> None:
    """Raise `UnencodableText` when `value` holds a string that UTF-8 cannot encode."""
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        raise UnencodableText("lone surrogate") from None
