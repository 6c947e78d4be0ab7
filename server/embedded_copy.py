"""Copies of stored documents for mongomock: the same result as the `copy` module, faster.

mongomock copies a document before every update (to roll it back on a duplicate key), on every
projection and on many reads, through `copy.deepcopy` and `copy.copy`, whose generic dispatch and
memo bookkeeping were a quarter of a chat message's store time. Stored documents hold only
dicts, lists and immutable scalars (str, numbers, datetimes, ObjectIds, bytes, None), so a copy
rebuilds the dicts and lists and shares the scalars; anything else goes to the `copy` module as
before. `install()` makes mongomock's collection module use these two functions.
"""

from __future__ import annotations

import copy as _copy
import datetime
import decimal
import sys
import uuid
from typing import Any

import bson
import mongomock.collection

_SHARED = frozenset(
    {
        str,
        int,
        float,
        bool,
        type(None),
        bytes,
        datetime.datetime,
        datetime.date,
        decimal.Decimal,
        uuid.UUID,
        bson.ObjectId,
        bson.Int64,
        bson.Decimal128,
        bson.Timestamp,
    }
)


def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    kind = type(value)
    if kind in _SHARED:
        return value
    if kind is dict:
        return {key: deepcopy(item) for key, item in value.items()}
    if kind is list:
        return [deepcopy(item) for item in value]
    return _copy.deepcopy(value, memo)


def copy(value: Any) -> Any:
    return value if type(value) in _SHARED else _copy.copy(value)


def install() -> None:
    vars(mongomock.collection)["copy"] = sys.modules[__name__]
