"""Application settings: the only place that reads the environment."""

import contextlib
import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

import limits
import phonenumbers
from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "please-change-me", "your-secret-key"}
MIN_SECRET_LENGTH = 32
MIN_ADMIN_PASSWORD_LENGTH = 12
DEVELOPMENT_ADMIN_PASSWORD = "admin"


class Settings(BaseSettings):
    """Every setting the service reads; documented one by one in the README."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./voice_agent.db"
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_null_pool: bool = False
    # PostgreSQL: the webhook's own asyncpg connections (one statement a delivery); 0 uses the engine's pool.
    db_ingest_pool_size: int = Field(default=10, ge=0)
    # Bounded waits (seconds): a hung or unreachable database is a 503 within a few seconds, never a hang.
    db_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    db_pool_timeout_seconds: float = Field(default=1.0, gt=0)
    db_statement_timeout_seconds: float = Field(default=3.0, gt=0)

    secret_key: str | None = None
    # Without SECRET_KEY outside production: the key generated once and kept here (git-ignored), so
    # every worker, however the server was started, and every reload sign with the same key.
    dev_secret_key_file: Path = Path(".secret_key")
    access_token_expire_minutes: int = Field(default=60, ge=1)
    admin_email: str = "admin@example.com"
    admin_password: str | None = None
    # Failed logins allowed in a moving window ("10 per 15 minutes"); only failures count. Per account
    # from one address; per address over every account; per account over every address (once full,
    # addresses that already failed on it are refused, and a right password from a new one still passes).
    login_limit_per_account: str = "10 per 15 minutes"
    login_limit_per_address: str = "50 per 15 minutes"
    login_limit_per_account_all_addresses: str = "50 per hour"
    # Where the counts live: redis://host:6379/0 shares them across workers; unset counts per process.
    rate_limit_storage_url: str | None = None
    # A store slower than this is skipped (counted in-process) and tried again 5 s later.
    rate_limit_storage_timeout_seconds: float = Field(default=0.15, gt=0, le=5)
    # An invited user's one-time set-password token stops working after this many hours.
    invitation_expire_hours: int = Field(default=72, ge=1, le=24 * 30)
    # Dialing policy: regions (ISO 3166 codes, as phonenumbers names them) phone calls may go to, until
    # an admin sets them at PUT /api/dialing-policy; and how many calls one user may trigger per window.
    dialing_allowed_regions: str = "US,CA"
    trigger_limit_per_user: str = "30 per minute"
    # An open stream re-checks its user this often and closes once they are deactivated, demoted or
    # logged out everywhere (a password change).
    stream_recheck_seconds: float = Field(default=5.0, gt=0)
    # A stream token (read-only, streams only, in EventSource's URL) lasts this long. EventSource reconnects
    # with the same URL after a drop, a database outage or STREAM_MAX_SECONDS, so the token must outlive
    # those; it is revoked like an access token (the user's token version), and open streams re-check it.
    stream_token_seconds: int = Field(default=4 * 3600, ge=10, le=24 * 3600)
    # Tests only: hash passwords with argon2 at its minimum cost (microseconds instead of ~0.1 s).
    # Refused outside ENVIRONMENT=test; a hash carries its own cost, so logins verify it cheaply too.
    fast_password_hashing: bool = False

    cors_origins: str = "http://localhost:5173"
    port: int = Field(default=8000, ge=1, le=65535)
    web_concurrency: int = Field(default=1, ge=1)  # uvicorn worker processes; uvicorn reads it too
    public_base_url: str = ""
    # The path segment that authenticates Retell on the conversation engine's WebSocket (Retell sends no
    # header). Outside production it is derived from SECRET_KEY, so it is stable across restarts and workers;
    # production requires it once a `custom_llm` configuration exists.
    llm_websocket_secret: str | None = None
    # Every request body is capped while it is read (413 beyond); the webhook has its own larger cap.
    max_request_body_bytes: int = Field(default=1_000_000, ge=1_000)
    # Request bodies being read at once, in bytes, per process. A body that does not fit waits up to
    # BODY_BUDGET_WAIT_SECONDS for room, then gets 503 + Retry-After. At least the webhook's 20 MB cap.
    max_body_bytes_in_flight: int = Field(default=24_000_000, ge=20_000_000)
    body_budget_wait_seconds: float = Field(default=2.0, ge=0)
    # Enforced by `python -m app.serve` (app/core/server.py), per process: open connections (a new one
    # beyond is closed at once), request line + headers (431 beyond), and the time a request may take
    # to arrive whole from its first byte (the connection is closed after it).
    max_connections: int = Field(default=2048, ge=1)
    max_request_header_bytes: int = Field(default=32_768, ge=4_096)
    request_read_timeout_seconds: float = Field(default=30.0, gt=0)
    # Swagger UI at /docs and the schema at /openapi.json; switch off in production if they must not show.
    docs_enabled: bool = True

    retell_mode: Literal["live", "simulated"] | None = None
    retell_api_key: str | None = None
    retell_base_url: str | None = None
    retell_from_number: str | None = None
    retell_timeout_seconds: float = Field(default=20.0, gt=0)
    retell_max_retries: int = Field(default=2, ge=0, le=5)  # agent sync; placing a call is never retried
    simulated_call_seconds: float = Field(default=4.0, ge=0)

    extractor: Literal["openai", "rules"] | None = None
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    extraction_max_attempts: int = Field(default=3, ge=1, le=10)
    extraction_backoff_seconds: float = Field(default=1.0, ge=0)
    openai_timeout_seconds: float = Field(default=60.0, gt=0)
    # The conversation engine's LLM reader (same key, server and model): a turn waits at most this long
    # for it, then answers on rules alone.
    engine_llm_budget_ms: int = Field(default=800, ge=50, le=10_000)
    # An extraction holds a lease it renews while it works; every process sweeps for lapsed leases and
    # unclaimed ended calls, so a call whose process died is finished within lease + sweep seconds.
    extraction_lease_seconds: float = Field(default=30.0, gt=0)
    extraction_sweep_seconds: float = Field(default=15.0, gt=0)
    # Background work in its own lane: this many extractions at once per process, on a pool of their
    # own (workers + 1 connections), behind a queue this long; a burst beyond it waits in the database
    # (`ended`) and the sweep submits it later.
    extraction_workers: int = Field(default=4, ge=1, le=64)
    extraction_queue_size: int = Field(default=200, ge=1)
    # A live stream ends after this long; EventSource reconnects with Last-Event-ID and resumes.
    stream_max_seconds: float = Field(default=1800.0, gt=0)
    extraction_save_retry_seconds: float = Field(default=60.0, ge=0)

    log_level: str = "INFO"
    log_json: bool = False

    _secret_key_from_file: bool = PrivateAttr(default=False)

    @field_validator(
        "secret_key",
        "llm_websocket_secret",
        "admin_password",
        "rate_limit_storage_url",
        "retell_mode",
        "retell_api_key",
        "retell_base_url",
        "retell_from_number",
        "extractor",
        "openai_api_key",
        "openai_base_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # An empty line in .env ("OPENAI_API_KEY=") means "not configured", not an empty value.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("dialing_allowed_regions")
    @classmethod
    def _regions(cls, value: str) -> str:
        regions = [region.strip().upper() for region in value.split(",") if region.strip()]
        unknown = [region for region in regions if region not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"not region codes phonenumbers knows: {', '.join(unknown)}")
        return ",".join(regions)

    @field_validator(
        "login_limit_per_account",
        "login_limit_per_address",
        "login_limit_per_account_all_addresses",
        "trigger_limit_per_user",
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate limit like '10 per 15 minutes'") from None
        return value

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _default_public_url(self) -> "Settings":
        # Unset means "this machine, on the port `make run` serves": the simulator then reaches us.
        if not self.public_base_url:
            self.public_base_url = f"http://localhost:{self.port}"
        return self

    @model_validator(mode="after")
    def _one_process_on_sqlite(self) -> "Settings":
        # Live updates travel between processes through PostgreSQL's LISTEN/NOTIFY; SQLite has none, so a
        # second worker would silently miss half of them. Refused rather than half-working.
        if self.is_sqlite and self.web_concurrency > 1:
            raise ValueError(
                f"WEB_CONCURRENCY={self.web_concurrency} needs PostgreSQL: with SQLite the workers cannot"
                " share live updates (each would see only its own). Use WEB_CONCURRENCY=1, or a"
                " postgresql+asyncpg DATABASE_URL"
            )
        return self

    @model_validator(mode="after")
    def _fast_hashing_only_in_tests(self) -> "Settings":
        if self.fast_password_hashing and self.environment != "test":
            raise ValueError("FAST_PASSWORD_HASHING is for the test suite only (ENVIRONMENT=test)")
        return self

    @model_validator(mode="after")
    def _secrets_fit_environment(self) -> "Settings":
        if self.environment == "production":
            problems = []
            if self.secret_key is None or self._weak(self.secret_key):
                problems.append(
                    f"SECRET_KEY must be a random string of at least {MIN_SECRET_LENGTH} characters"
                )
            if self.admin_password is not None and (
                self.admin_password.lower() in PLACEHOLDER_SECRETS | {"admin", "password"}
                or len(self.admin_password) < MIN_ADMIN_PASSWORD_LENGTH
            ):
                problems.append(
                    f"ADMIN_PASSWORD needs {MIN_ADMIN_PASSWORD_LENGTH}+ characters and no placeholder"
                )
            if self.llm_websocket_secret is not None and self._weak(self.llm_websocket_secret):
                problems.append(
                    f"LLM_WEBSOCKET_SECRET must be a random string of at least {MIN_SECRET_LENGTH} characters"
                )
            if problems:
                raise ValueError("refusing to start in production: " + "; ".join(problems))
        elif self.secret_key is None:
            # Never a per-process random key: `uvicorn --workers 2` sets no WEB_CONCURRENCY to warn
            # about, and workers with keys of their own refuse each other's tokens and webhooks.
            self.secret_key = load_or_create_key(self.dev_secret_key_file)
            self._secret_key_from_file = True
        if self.environment != "production" and self.llm_websocket_secret is None:
            assert self.secret_key is not None
            # Derived, not random: every worker and every restart agrees, and it reveals nothing of the key.
            digest = hmac.new(self.secret_key.encode(), b"llm-websocket", hashlib.sha256).hexdigest()
            self.llm_websocket_secret = digest[:40]
        return self

    @staticmethod
    def _weak(value: str) -> bool:
        return value.lower() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_LENGTH

    @property
    def secret_key_from_file(self) -> bool:
        """True when SECRET_KEY was unset and the key kept in `dev_secret_key_file` is used."""
        return self._secret_key_from_file

    @property
    def dialing_region_list(self) -> list[str]:
        return self.dialing_allowed_regions.split(",") if self.dialing_allowed_regions else []

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def effective_retell_mode(self) -> Literal["live", "simulated"]:
        """`live` when a Retell key is configured, unless RETELL_MODE says otherwise."""
        if self.retell_mode is not None:
            return self.retell_mode
        return "live" if self.retell_api_key else "simulated"

    @property
    def effective_extractor(self) -> Literal["openai", "rules"]:
        """`openai` when an OpenAI key is configured, unless EXTRACTOR says otherwise."""
        if self.extractor is not None:
            return self.extractor
        return "openai" if self.openai_api_key else "rules"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def webhook_url(self) -> str:
        return f"{self.public_base_url}/webhook/retell"

    @property
    def llm_websocket_url(self) -> str | None:
        """What Retell connects to for a custom_llm agent (it appends `/{call_id}`); None without a secret."""
        if not self.llm_websocket_secret:
            return None
        base = self.public_base_url
        scheme, rest = base.split("://", 1) if "://" in base else ("http", base)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/llm-websocket/{self.llm_websocket_secret}"


def load_or_create_key(path: Path) -> str:
    """The key kept in `path`, created on first use; processes starting together all get the same one.

    The key is written whole to a private temporary file and then hard-linked into place: linking
    never replaces an existing file, so exactly one process's key wins and nobody reads a half-written one.
    """
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        if path.exists():
            return _read_key(path)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
        with contextlib.suppress(FileExistsError):  # another process got there first: its key wins
            os.link(temporary, path)
        return _read_key(path)
    except OSError as exc:
        raise ValueError(f"cannot keep the development key in {path} ({exc}); set SECRET_KEY") from None
    finally:
        temporary.unlink(missing_ok=True)


def _read_key(path: Path) -> str:
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_LENGTH:
        raise ValueError(f"{path} does not hold a usable key: delete it, or set SECRET_KEY")
    return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
