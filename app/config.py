"""Application settings: the only place that reads the environment."""

import secrets
from functools import lru_cache
from typing import Literal

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

    secret_key: str | None = None
    access_token_expire_minutes: int = Field(default=60, ge=1)
    admin_email: str = "admin@example.com"
    admin_password: str | None = None
    # Tests only: hash passwords with argon2 at its minimum cost (microseconds instead of ~0.1 s).
    # Refused outside ENVIRONMENT=test; a hash carries its own cost, so logins verify it cheaply too.
    fast_password_hashing: bool = False

    cors_origins: str = "http://localhost:5173"
    port: int = Field(default=8000, ge=1, le=65535)
    web_concurrency: int = Field(default=1, ge=1)  # uvicorn worker processes; uvicorn reads it too
    public_base_url: str = ""

    retell_mode: Literal["live", "simulated"] | None = None
    retell_api_key: str | None = None
    retell_base_url: str | None = None
    retell_from_number: str | None = None
    retell_max_retries: int = Field(default=2, ge=0, le=5)  # agent sync; placing a call is never retried
    simulated_call_seconds: float = Field(default=4.0, ge=0)

    extractor: Literal["openai", "rules"] | None = None
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    extraction_max_attempts: int = Field(default=3, ge=1, le=10)
    extraction_backoff_seconds: float = Field(default=1.0, ge=0)

    # How often the live status stream (`/api/call/{id}/events`) reads the call again.
    call_events_poll_seconds: float = Field(default=0.5, gt=0)

    log_level: str = "INFO"
    log_json: bool = False

    _secret_key_generated: bool = PrivateAttr(default=False)

    @field_validator(
        "secret_key",
        "admin_password",
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
            if problems:
                raise ValueError("refusing to start in production: " + "; ".join(problems))
        elif self.secret_key is None:
            if self.web_concurrency > 1:
                # Each worker would invent its own key and refuse the others' tokens and webhooks.
                raise ValueError("SECRET_KEY must be set when WEB_CONCURRENCY > 1")
            # Logged at start-up (logging is not configured yet): tokens die with the process.
            self.secret_key = secrets.token_urlsafe(48)
            self._secret_key_generated = True
        return self

    @staticmethod
    def _weak(value: str) -> bool:
        return value.lower() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_LENGTH

    @property
    def secret_key_generated(self) -> bool:
        """True when SECRET_KEY was unset and a random per-process key is in use."""
        return self._secret_key_generated

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
    def webhook_url(self) -> str:
        return f"{self.public_base_url}/webhook/retell"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
