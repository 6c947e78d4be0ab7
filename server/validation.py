"""Turning pydantic errors into the contract's `validationErrors` with localized messages.

A model may raise `PydanticCustomError("<message key>", "...")` in a validator: the error type is
then a catalog key and its text is used as is (that is how the seed's "Lý do hủy là bắt buộc"
comes back byte for byte). Built-in pydantic errors map to the generic `validation.*` texts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Annotated, Any, TypeVar
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from server.clock import to_millis
from server.errors import ValidationFailed
from server.i18n import catalogs, translate

M = TypeVar("M", bound=BaseModel)

_GENERIC = {
    "missing": "validation.missing",
    "string_too_short": "validation.too_short",
    "string_too_long": "validation.too_long",
    "too_short": "validation.too_short",
    "too_long": "validation.too_long",
    "greater_than_equal": "validation.too_small",
    "greater_than": "validation.too_small",
    "less_than_equal": "validation.too_large",
    "less_than": "validation.too_large",
    "literal_error": "validation.invalid_choice",
    "enum": "validation.invalid_choice",
    "datetime_parsing": "validation.invalid_datetime",
    "datetime_from_date_parsing": "validation.invalid_datetime",
    "datetime_type": "validation.invalid_datetime",
    "string_pattern_mismatch": "validation.invalid_format",
    "extra_forbidden": "validation.unknown_field",
}


# ------------------------------------------------------------------ shared input types
#
# Every time, date and zone that comes in goes through one of these, so no model can be handed a
# value that breaks arithmetic later (an offset that moves 9999-12-31 past the calendar's end, a
# "zone" that names a directory of the tz database).

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)  # far from datetime.max: durations and windows never overflow


def _instant(value: datetime) -> datetime:
    """Aware UTC, millisecond precision (what both stores keep); without an offset it is UTC."""
    try:
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        moment = None
    if moment is None or not EARLIEST <= moment < LATEST:
        raise PydanticCustomError("validation.datetime_out_of_range", "out of range", _RANGE)
    return to_millis(moment)


def _calendar_date(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise PydanticCustomError("validation.datetime_out_of_range", "out of range", _RANGE)
    return value


def _zone(value: str) -> str:
    if value not in _zone_names():
        raise PydanticCustomError("validation.invalid_timezone", "unknown time zone")
    return value


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


_RANGE = {"min": EARLIEST.date().isoformat(), "max": LATEST.date().isoformat()}

UtcDatetime = Annotated[datetime, AfterValidator(_instant)]
"""An ISO 8601 time, stored as aware UTC; refused (400) outside 1900..9000 instead of overflowing."""
CalendarDate = Annotated[date, AfterValidator(_calendar_date)]
"""A calendar date within 1900..9000."""
TimeZoneName = Annotated[str, AfterValidator(_zone)]
"""An IANA zone name of the tz database (ZoneInfo() accepts more: directories, paths)."""


def is_time_zone(name: str) -> bool:
    return name in _zone_names()


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not str(p).startswith("function-")]
    return ".".join(parts) or "body"


def error_items(exc: ValidationError) -> list[dict[str, Any]]:
    items = []
    for err in exc.errors(include_url=False):
        kind = err["type"]
        params = dict(err.get("ctx") or {})
        if kind == "greater_than":
            params.setdefault("ge", params.get("gt"))
        if kind == "less_than":
            params.setdefault("le", params.get("lt"))
        if kind in catalogs()["vi"]:
            key = kind
        elif kind.endswith("_type") or kind.endswith("_parsing"):
            key = _GENERIC.get(kind, "validation.invalid_type")
        else:
            key = _GENERIC.get(kind, "validation.invalid")
        params = {k: (v if isinstance(v, (str, int, float)) else str(v)) for k, v in params.items()}
        items.append({"field": _field(err["loc"]), "key": key, "params": params})
    return items


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(error_items(exc)) from None


def localize_errors(errors: list[dict[str, Any]], locale: str) -> list[dict[str, str]]:
    return [
        {"field": e["field"], "message": e.get("message") or translate(e["key"], locale, **e.get("params", {}))}
        for e in errors
    ]


def required_text(value: str | None, message_key: str) -> str:
    """A text field that must say something: missing, null and blank all fail with `message_key`
    (the seed's @NotBlank reads "Lý do hủy là bắt buộc" for each)."""
    if value is None or not value.strip():
        raise PydanticCustomError(message_key, "a value is required")
    return value.strip()


def _not_blank(value: str) -> str:
    return required_text(value, "validation.blank")


# A required text: present and not only whitespace (`validation.blank`, not "at least 1 character").
NonBlankStr = Annotated[str, AfterValidator(_not_blank)]
