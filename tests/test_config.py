"""Settings: defaults, mode selection, and what production refuses."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings


@pytest.fixture(autouse=True)
def _key_file_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings without SECRET_KEY keep a development key in a file: here, never in the checkout.
    monkeypatch.setenv("DEV_SECRET_KEY_FILE", str(tmp_path / ".secret_key"))


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
    assert s.secret_key_from_file
    assert s.database_url == "sqlite+aiosqlite:///./voice_agent.db"
    assert s.access_token_expire_minutes == 60
    assert s.cors_origin_list == ["http://localhost:5173"]
    assert s.openai_model == "gpt-4o-mini"
    assert s.public_base_url == "http://localhost:8000"
    assert settings(secret_key="k" * 40, port=8123).webhook_url == "http://localhost:8123/webhook/retell"
    assert s.effective_retell_mode == "simulated"
    assert s.effective_extractor == "rules"
    assert s.secret_key and len(s.secret_key) >= 32
    assert not settings(secret_key="k" * 40).secret_key_from_file


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
    assert s.secret_key_from_file and s.secret_key
    assert (s.retell_mode, s.extractor, s.retell_from_number, s.admin_password) == (None, None, None, None)


@pytest.mark.parametrize("environment", ["development", "test"])
def test_without_secret_key_every_process_uses_the_same_kept_key(environment: str, tmp_path: Path) -> None:
    # Not a random key per process: two workers (two Settings) must sign alike, in any environment.
    key_file = tmp_path / "keys" / ".secret_key"
    key_file.parent.mkdir()
    postgres = "postgresql+asyncpg://postgres@127.0.0.1:5432/app"  # several workers need PostgreSQL
    first = settings(
        environment=environment, dev_secret_key_file=key_file, web_concurrency=2, database_url=postgres
    )
    second = settings(environment=environment, dev_secret_key_file=key_file)
    assert first.secret_key == second.secret_key == key_file.read_text().strip()
    assert len(first.secret_key or "") >= 32
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [path.name for path in key_file.parent.iterdir()] == [".secret_key"]  # no temporary left


def test_an_explicit_secret_key_wins_and_writes_no_file(tmp_path: Path) -> None:
    s = settings(secret_key="k" * 40, dev_secret_key_file=tmp_path / "unused")
    assert s.secret_key == "k" * 40
    assert not (tmp_path / "unused").exists()


def test_an_unusable_key_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "short").write_text("abc\n")
    with pytest.raises(ValidationError, match="usable key"):
        settings(dev_secret_key_file=tmp_path / "short")
    with pytest.raises(ValidationError, match="set SECRET_KEY"):
        settings(dev_secret_key_file=tmp_path / "missing-dir" / ".secret_key")


def test_production_never_falls_back_to_a_key_file(tmp_path: Path) -> None:
    (tmp_path / ".secret_key").write_text("s" * 48 + "\n")
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        settings(environment="production", dev_secret_key_file=tmp_path / ".secret_key")


@pytest.mark.parametrize("environment", ["development", "production"])
def test_fast_password_hashing_is_refused_outside_the_test_suite(environment: str) -> None:
    with pytest.raises(ValidationError, match="FAST_PASSWORD_HASHING"):
        settings(environment=environment, secret_key="s" * 48, fast_password_hashing=True)
    assert settings(environment=environment, secret_key="s" * 48).fast_password_hashing is False


def test_the_llm_websocket_secret_is_derived_from_the_secret_key_outside_production() -> None:
    key = "k" * 40
    first, again = settings(secret_key=key), settings(secret_key=key)
    assert first.llm_websocket_secret == again.llm_websocket_secret  # every worker and restart agrees
    assert first.llm_websocket_secret and len(first.llm_websocket_secret) >= 32
    assert key not in first.llm_websocket_secret
    assert settings(secret_key="j" * 40).llm_websocket_secret != first.llm_websocket_secret
    assert settings(secret_key=key, llm_websocket_secret="s" * 40).llm_websocket_secret == "s" * 40


def test_the_llm_websocket_url_is_the_public_url_as_ws_or_wss_with_the_secret() -> None:
    secure = settings(
        secret_key="k" * 40, public_base_url="https://api.example.com/", llm_websocket_secret="s" * 40
    )
    assert secure.llm_websocket_url == f"wss://api.example.com/llm-websocket/{'s' * 40}"
    plain = settings(
        secret_key="k" * 40, public_base_url="http://localhost:8000", llm_websocket_secret="t" * 40
    )
    assert plain.llm_websocket_url == f"ws://localhost:8000/llm-websocket/{'t' * 40}"


def test_production_has_no_llm_websocket_secret_unless_set_and_refuses_a_weak_one() -> None:
    production = {"environment": "production", "secret_key": "k" * 40}
    assert settings(**production).llm_websocket_url is None
    with pytest.raises(ValidationError, match="LLM_WEBSOCKET_SECRET"):
        settings(**production, llm_websocket_secret="short")
    assert settings(**production, llm_websocket_secret="s" * 40).llm_websocket_secret == "s" * 40


def test_several_workers_on_sqlite_are_refused_with_the_reason() -> None:
    # Live updates cross processes through PostgreSQL only: a second SQLite worker would miss half.
    with pytest.raises(ValueError, match="WEB_CONCURRENCY=2 needs PostgreSQL"):
        settings(web_concurrency=2, database_url="sqlite+aiosqlite:///./x.db")
    assert settings(web_concurrency=1, database_url="sqlite+aiosqlite:///./x.db").web_concurrency == 1
    postgres = settings(web_concurrency=4, database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/app")
    assert postgres.web_concurrency == 4
