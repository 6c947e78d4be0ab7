"""How a tutor's profile reads: shared by the account views (`users`) and tutor search (`tutors`)."""

from __future__ import annotations

from typing import Any


def profile(doc: dict[str, Any]) -> dict[str, Any]:
    """The tutor as GET /tutors/{id} shows it: raw average (2 decimals) and count."""
    count = int(doc.get("ratingCount") or 0)
    return {
        "id": doc["_id"],
        "fullName": doc["fullName"],
        "subjects": list(doc.get("subjects") or []),
        "bio": doc.get("bio") or "",
        "hourlyRate": doc.get("hourlyRate"),
        "rating": round(doc["ratingSum"] / count, 2) if count else 0.0,
        "ratingCount": count,
        "totalSessions": int(doc.get("totalSessions") or 0),
    }


def profile_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The profile fields a TUTOR user carries (for the account views)."""
    fields = profile(doc)
    del fields["id"], fields["fullName"]
    return fields
