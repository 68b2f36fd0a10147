"""Development without SECRET_KEY: one key, made once, kept in a git-ignored file, shared by every worker."""

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def development(key_file: Path, **values: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, environment="development", secret_key=None, dev_secret_key_file=key_file, **values
    )


def test_the_key_is_made_once_and_kept(tmp_path: Path) -> None:
    key_file = tmp_path / ".secret_key"
    first = development(key_file)
    assert key_file.read_text().strip() == first.secret_key
    assert first.secret_key_from_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # A reload (a new process reading the same settings) keeps every token valid.
    assert development(key_file).secret_key == first.secret_key
    assert first.secret_key is not None and len(first.secret_key) >= 32


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / ".secret_key"
    start = time.time() + 1.5  # every process is ready and waiting by then
    script = (
        "import sys, time; from pathlib import Path; from app.config import load_or_create_key;"
        f"time.sleep(max(0, {start} - time.time())); print(load_or_create_key(Path(sys.argv[1])))"
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(key_file)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    keys = {worker.communicate(timeout=30)[0].strip() for worker in workers}
    assert keys == {key_file.read_text().strip()}


def test_several_workers_are_fine_in_development(tmp_path: Path) -> None:
    postgres = "postgresql+asyncpg://postgres@127.0.0.1:5432/app"  # several workers need PostgreSQL
    assert development(
        tmp_path / ".secret_key", web_concurrency=2, database_url=postgres
    ).secret_key_from_file


def test_a_set_secret_key_wins_and_no_file_is_made(tmp_path: Path) -> None:
    key_file = tmp_path / ".secret_key"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, environment="development", secret_key="k" * 40, dev_secret_key_file=key_file
    )
    assert settings.secret_key == "k" * 40 and not key_file.exists()


def test_production_still_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    key_file = tmp_path / ".secret_key"
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, environment="production", secret_key=None, dev_secret_key_file=key_file)  # type: ignore[call-arg]
    assert not key_file.exists()


def test_a_damaged_key_file_is_reported(tmp_path: Path) -> None:
    key_file = tmp_path / ".secret_key"
    key_file.write_text("short\n")
    with pytest.raises(ValidationError, match="does not hold a usable key"):
        development(key_file)


def test_the_key_file_is_git_ignored() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", ".secret_key"], cwd=ROOT, check=False)
    assert ignored.returncode == 0
    assert os.environ.get("ENVIRONMENT") == "test"  # the suite never writes the key file itself
