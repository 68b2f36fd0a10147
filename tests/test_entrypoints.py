"""The guide's start commands, on a fresh copy (no .env, no database, no key): each serves /docs.

`uvicorn app.main:app --workers 2` also shows that two workers started together without SECRET_KEY
share one development key: a token from one is accepted by the other.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from tests.support.app import free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# What a developer's shell has: none of the app's settings (the suite itself runs with ENVIRONMENT=test).
APP_SETTINGS = {"ENVIRONMENT", "SECRET_KEY", "DATABASE_URL", "TEST_DATABASE_URL", "PORT", "WEB_CONCURRENCY"}


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    for name in ("app", "alembic"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "alembic.ini", tmp_path / "alembic.ini")
    return tmp_path


@pytest.fixture
def serve(fresh_clone: Path) -> Iterator[Callable[..., str]]:
    """Run a command in the fresh copy (`{port}` filled in); returns the base URL once /health answers."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*command: str) -> str:
        port = free_port()
        process = subprocess.Popen(
            [part.format(port=port) for part in command],
            cwd=fresh_clone,
            env={name: value for name, value in os.environ.items() if name not in APP_SETTINGS},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its workers and reloader stop with it
        )
        processes.append(process)
        base_url = f"http://127.0.0.1:{port}"
        for _ in range(360):
            assert process.poll() is None, f"{command[0]} exited with {process.returncode}"
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    return base_url
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        raise AssertionError(f"{command} never answered")

    yield start
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def assert_docs_served(base_url: str) -> None:
    docs = httpx.get(f"{base_url}/docs", timeout=5)
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert httpx.get(f"{base_url}/openapi.json", timeout=5).json()["paths"]["/api/call"]


@pytest.mark.parametrize(
    "command",
    [
        [str(BIN / "fastapi"), "run", "--port", "{port}"],
        [str(BIN / "fastapi"), "dev", "--port", "{port}"],
    ],
    ids=["fastapi run", "fastapi dev"],
)
def test_fastapi_cli_serves_docs_with_no_flags(serve: Callable[..., str], command: list[str]) -> None:
    assert_docs_served(serve(*command))


def test_two_uvicorn_workers_without_secret_key_share_one_key(
    serve: Callable[..., str], fresh_clone: Path
) -> None:
    base_url = serve(str(BIN / "uvicorn"), "app.main:app", "--port", "{port}", "--workers", "2")
    assert_docs_served(base_url)
    login = httpx.post(
        f"{base_url}/api/auth/token", data={"username": "admin@example.com", "password": "admin"}, timeout=10
    )
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    key = (fresh_clone / ".secret_key").read_text().strip()
    me = httpx.get(f"{base_url}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 200, me.text
    assert jwt.decode(token, key, algorithms=["HS256"])["sub"] == me.json()["id"]
    # Each request on a new connection, so both workers answer some of them.
    statuses = [
        httpx.get(
            f"{base_url}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).status_code
        for _ in range(30)
    ]
    assert statuses == [200] * 30
