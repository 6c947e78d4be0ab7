"""Paging and Spring-style sorting (`page` 0-based, `size` ≤ 100, `sort=field,asc|desc`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from server.errors import ValidationFailed

MAX_PAGE_SIZE = 100
# Client integers are bounded: `page * size` must stay a valid skip (a BSON int64) on any engine,
# so that `page=10**20` is a 400 and not a 500.
MAX_PAGE = 10_000_000


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    page: int = Field(0, ge=0, le=MAX_PAGE)
    size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)
    sort: str | None = None

    @property
    def skip(self) -> int:
        return self.page * self.size


def mongo_sort(sort: str | None, allowed: dict[str, str], default: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Translate `field,dir` (public field names) into a Mongo sort; an unknown field is a 400.

    The requested field comes first, then the default order, then `_id`: each field once, and a
    stable tiebreak so pages never overlap."""
    order: list[tuple[str, int]] = []
    if sort:
        name, _, direction = sort.partition(",")
        name, direction = name.strip(), (direction.strip().lower() or "asc")
        if name not in allowed or direction not in ("asc", "desc"):
            raise ValidationFailed([{"field": "sort", "key": "validation.invalid_sort"}])
        order.append((allowed[name], 1 if direction == "asc" else -1))
    seen = {field for field, _ in order}
    for field, direction_value in [*default, ("_id", 1)]:
        if field not in seen:
            seen.add(field)
            order.append((field, direction_value))
    return order


async def fetch_page(
    collection: Any, query: dict[str, Any], page: PageQuery, order: list[tuple[str, int]]
) -> tuple[list[dict[str, Any]], int]:
    total = await collection.count_documents(query)
    items = await collection.find(query).sort(order).skip(page.skip).limit(page.size).to_list(None)
    return items, total
