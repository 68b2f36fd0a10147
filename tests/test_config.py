"""Settings: defaults, mode selection, and what production refuses."""

import pytest
from pydantic import ValidationError

from app.config import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_defaults_need_no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATABASE_URL",
        "RETELL_API_KEY",
        "OPENAI_API_KEY",
        "SECRET_KEY",
        "RETELL_MODE",
        "EXTRACTOR",
    ):
        monkeypatch.delenv(name, raising=False)
    s = settings()
    assert s.secret_key_generated
    assert s.database_url == "sqlite+aiosqlite:///./voice_agent.db"
    assert s.access_token_expire_minutes == 60
    assert s.cors_origin_list == ["http://localhost:5173"]
    assert s.openai_model == "gpt-4o-mini"
    assert s.public_base_url == "http://localhost:8000"
    assert settings(secret_key="k" * 40, port=8123).webhook_url == "http://localhost:8123/webhook/retell"
    assert s.effective_retell_mode == "simulated"
    assert s.effective_extractor == "rules"
    assert s.secret_key and len(s.secret_key) >= 32
    assert not settings(secret_key="k" * 40).secret_key_generated


def test_random_development_secret_differs_per_process_settings() -> None:
    first, second = settings(), settings()
    assert first.secret_key != second.secret_key


def test_keys_select_live_modes_and_explicit_modes_win() -> None:
    s = settings(secret_key="k" * 40, retell_api_key="key_abc", openai_api_key="sk-abc")
    assert (s.effective_retell_mode, s.effective_extractor) == ("live", "openai")
    s = settings(secret_key="k" * 40, retell_api_key="key_abc", retell_mode="simulated", extractor="rules")
    assert (s.effective_retell_mode, s.effective_extractor) == ("simulated", "rules")


def test_blank_keys_in_env_file_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "")
    monkeypatch.setenv("RETELL_API_KEY", "")
    s = settings(secret_key="k" * 40)
    assert s.openai_api_key is None and s.retell_api_key is None


def test_cors_origins_are_a_comma_separated_list() -> None:
    s = settings(secret_key="k" * 40, cors_origins="http://a.test, https://b.test,")
    assert s.cors_origin_list == ["http://a.test", "https://b.test"]


def test_webhook_url_is_built_from_public_base_url() -> None:
    s = settings(secret_key="k" * 40, public_base_url="https://api.example.com/")
    assert s.webhook_url == "https://api.example.com/webhook/retell"


@pytest.mark.parametrize("secret", [None, "changeme", "short-secret"])
def test_production_refuses_missing_placeholder_or_short_secret_key(secret: str | None) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        settings(environment="production", secret_key=secret)


@pytest.mark.parametrize("password", ["admin", "changeme", "short"])
def test_production_refuses_weak_admin_password(password: str) -> None:
    with pytest.raises(ValidationError, match="ADMIN_PASSWORD"):
        settings(environment="production", secret_key="s" * 48, admin_password=password)


def test_production_accepts_strong_secrets() -> None:
    s = settings(environment="production", secret_key="s" * 48, admin_password="a-long-admin-password")
    assert s.environment == "production"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("access_token_expire_minutes", 0),
        ("db_pool_size", 0),
        ("retell_mode", "sandbox"),
        ("extractor", "regex"),
    ],
)
def test_out_of_range_settings_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        settings(secret_key="k" * 40, **{field: value})


def test_a_copied_env_example_with_blank_values_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SECRET_KEY", "RETELL_MODE", "EXTRACTOR", "RETELL_FROM_NUMBER", "ADMIN_PASSWORD"):
        monkeypatch.setenv(name, "")
    s = settings()
    assert s.secret_key_generated and s.secret_key
    assert (s.retell_mode, s.extractor, s.retell_from_number, s.admin_password) == (None, None, None, None)


def test_several_workers_need_a_shared_secret_key() -> None:
    with pytest.raises(ValidationError, match="WEB_CONCURRENCY"):
        settings(web_concurrency=2)
    assert settings(web_concurrency=2, secret_key="k" * 40).web_concurrency == 2


@pytest.mark.parametrize("environment", ["development", "production"])
def test_fast_password_hashing_is_refused_outside_the_test_suite(environment: str) -> None:
    with pytest.raises(ValidationError, match="FAST_PASSWORD_HASHING"):
        settings(environment=environment, secret_key="s" * 48, fast_password_hashing=True)
    assert settings(environment=environment, secret_key="s" * 48).fast_password_hashing is False
