"""Password hashing with argon2id, run in a thread so a login never stalls the event loop."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from config.settings import Settings


@lru_cache(maxsize=4)
def _hasher(memory_kib: int, time_cost: int) -> PasswordHasher:
    return PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=1)


def hasher_for(settings: Settings) -> PasswordHasher:
    return _hasher(settings.password_hash_memory_kib, settings.password_hash_time_cost)


async def hash_password(settings: Settings, password: str) -> str:
    return await asyncio.to_thread(hasher_for(settings).hash, password)


async def verify_password(settings: Settings, password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists (a dummy hash stands in), against enumeration."""
    hasher = hasher_for(settings)
    target = password_hash or _dummy_hash(settings.password_hash_memory_kib, settings.password_hash_time_cost)

    def check() -> bool:
        try:
            return hasher.verify(target, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


@lru_cache(maxsize=4)
def _dummy_hash(memory_kib: int, time_cost: int) -> str:
    return _hasher(memory_kib, time_cost).hash("not-a-real-password")
