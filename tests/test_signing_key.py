"""One signing key for every worker, however the server is started, with SECRET_KEY unset."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx
import pytest

from alembic import command
from app.config import load_or_create_key
from tests.support.app import free_port
from tests.support.database import ROOT, alembic_config, run_in_thread


def test_processes_creating_the_key_at_once_all_get_the_same_one(tmp_path: Path) -> None:
    path = tmp_path / ".secret_key"
    with ProcessPoolExecutor(max_workers=6) as pool:
        keys = set(pool.map(load_or_create_key, [path] * 24))
    assert keys == {path.read_text().strip()}


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[str]:
    """`uvicorn --workers 2` in development with no SECRET_KEY (and no WEB_CONCURRENCY to hint at it)."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'workers.db'}"
    run_in_thread(lambda: command.upgrade(alembic_config(database_url), "head"))
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "WEB_CONCURRENCY", "DEV_SECRET_KEY_FILE", "ENVIRONMENT"}
    }
    env.update(
        DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
        PUBLIC_BASE_URL="http://127.0.0.1",
    )
    command_line = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--workers", "2"]
    server = subprocess.Popen(
        [*command_line, "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,  # the key file lands beside the working directory, as `.secret_key`
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("uvicorn --workers 2 did not start")
        time.sleep(1)  # let the second worker finish its start-up too
        yield base_url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_two_workers_without_secret_key_accept_each_others_tokens(two_workers: str, tmp_path: Path) -> None:
    failures = 0
    for _ in range(4):
        # A fresh connection per request, so the kernel spreads them over both workers.
        token = httpx.post(
            f"{two_workers}/api/auth/token", data={"username": "admin@example.com", "password": "admin"}
        ).json()["access_token"]
        for _ in range(15):
            response = httpx.get(f"{two_workers}/api/auth/me", headers={"Authorization": f"Bearer {token}"})
            failures += response.status_code != 200
    # Before: each worker had its own random key and about 4 in 10 of these were a 401.
    assert failures == 0
    assert (tmp_path / ".secret_key").stat().st_mode & 0o777 == 0o600
