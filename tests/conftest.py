"""Fixtures: every database test runs on SQLite and, when reachable, on PostgreSQL.

Migrations run once per database with `alembic upgrade head`; each test starts from empty tables.
"""

import asyncio
import atexit
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import respx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from alembic import command
from app.config import Settings
from app.core.database import SessionMaker, create_engine, create_session_maker
from app.ingest import deliveries
from tests.support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    OPENAI_BASE_URL,
    RETELL_API_KEY,
    RETELL_BASE_URL,
    openai_tool_response,
)
from tests.support.app import login, running_app, servers_in_threads
from tests.support.database import alembic_config, run_in_thread
from tests.support.webhooks import FIXTURE

# Every test is bounded, whatever it waits on: past this, it fails with the traceback of the wait that
# never returned (not a suite hung for minutes). Waits inside tests have their own, shorter bounds.
TEST_TIME_LIMIT_SECONDS = float(os.environ.get("TEST_TIME_LIMIT_SECONDS", "300"))


class TestTimeLimitExceeded(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread() or TEST_TIME_LIMIT_SECONDS <= 0:
        yield
        return

    def expired(_signum: int, _frame: object) -> None:
        raise TestTimeLimitExceeded(
            f"{item.nodeid} ran past {TEST_TIME_LIMIT_SECONDS:.0f} s: something it waits for never arrived"
        )

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, TEST_TIME_LIMIT_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TABLES = [
    "webhook_events",
    "call_results",
    "calls",
    "agent_configurations",
    "dialing_policy",
    "audit_log",
    "users",
]
# The audit log refuses deletes (append-only); on SQLite the test clean-up lifts that for a moment.
SQLITE_AUDIT_NO_DELETE = """
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END
"""


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return DEFAULT_PG_URL
    except OSError:
        return None


POSTGRES_URL = _postgres_url()
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
# A mutation run starts one pytest session per mutant in processes forked from the first; each would
# migrate a fresh SQLite file. The first session's migrated, still empty file is kept here and copied.
_SQLITE_TEMPLATE_DIR = tempfile.mkdtemp(prefix="voice-agent-sqlite-")
_SQLITE_TEMPLATE = Path(_SQLITE_TEMPLATE_DIR) / "migrated.db"
_TEMPLATE_OWNER = os.getpid()
atexit.register(lambda: os.getpid() == _TEMPLATE_OWNER and shutil.rmtree(_SQLITE_TEMPLATE_DIR, True))


async def _admin_execute(admin_url: str, *statements: str) -> None:
    parts = urlsplit(admin_url.replace("postgresql+asyncpg", "postgresql"))
    connection = await asyncpg.connect(parts.geturl())
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.db"
        url = f"sqlite+aiosqlite:///{path}"
        if _SQLITE_TEMPLATE.exists():
            shutil.copyfile(_SQLITE_TEMPLATE, path)
            return url
        run_in_thread(lambda: command.upgrade(alembic_config(url), "head"))
        shutil.copyfile(path, _SQLITE_TEMPLATE)
        return url
    else:
        # A dedicated, empty database next to the one configured, so tests never touch real data.
        admin_url = POSTGRES_URL
        assert admin_url is not None
        # One database per pytest session (named by its process), so two runs on one machine, or a
        # mutation run's sessions side by side, never drop each other's tables.
        name = f"voice_agent_test_{os.getpid()}"
        drop = f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        run_in_thread(lambda: asyncio.run(_admin_execute(admin_url, drop, f"CREATE DATABASE {name}")))
        request.addfinalizer(lambda: run_in_thread(lambda: asyncio.run(_admin_execute(admin_url, drop))))
        url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    run_in_thread(lambda: command.upgrade(alembic_config(url), "head"))
    return url


@pytest.fixture(autouse=True)
def _webhook_statements_built_in_the_test() -> None:
    """The webhook's SQL is built on a process's first delivery; here, in every test that records one."""
    deliveries._postgres_for.cache_clear()
    deliveries._sqlite_for.cache_clear()


@pytest.fixture
async def clean_database(database_url: str) -> AsyncIterator[str]:
    """The migrated database with every table emptied after the test."""
    yield database_url
    engine = create_async_engine(database_url, poolclass=NullPool)
    async with engine.begin() as connection:
        if database_url.startswith("postgresql"):
            await connection.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
        else:
            for table in TABLES:
                if table == "audit_log":
                    await connection.execute(text("DROP TRIGGER audit_log_no_delete"))
                await connection.execute(text(f"DELETE FROM {table}"))
                if table == "audit_log":
                    await connection.execute(text(SQLITE_AUDIT_NO_DELETE))
    await engine.dispose()


@pytest.fixture
def make_settings(clean_database: str) -> Callable[..., Settings]:
    """Settings for a test: live Retell and OpenAI pointed at hosts respx mocks, unless overridden."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": clean_database,
            "secret_key": "test-secret-key-that-is-long-enough-0123456789",
            "admin_email": ADMIN_EMAIL,
            "admin_password": ADMIN_PASSWORD,
            "fast_password_hashing": True,  # argon2 at full cost is most of an app start and a login
            "retell_mode": "live",
            "retell_api_key": RETELL_API_KEY,
            "retell_base_url": RETELL_BASE_URL,
            "retell_from_number": "+14155550100",
            "extractor": "openai",
            "openai_api_key": "sk-test",
            "openai_base_url": OPENAI_BASE_URL,
            "extraction_backoff_seconds": 0,
            "public_base_url": "https://dispatch.example.com",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return build


@pytest.fixture
async def client(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(make_settings()) as client:
        yield client


@pytest.fixture
async def auth(client: httpx.AsyncClient) -> dict[str, str]:
    return await login(client)


@pytest.fixture
def live_server(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., str]]:
    """Start the real app under uvicorn on a free port (real HTTP); returns its base URL."""
    with servers_in_threads() as start:
        yield lambda **overrides: start(lambda url: make_settings(public_base_url=url, **overrides))


@pytest.fixture
def llm() -> Any:
    """OpenAI answering every chat completion with the traffic-delay fixture's labels."""
    with respx.mock(assert_all_called=False) as router:
        yield router.post(f"{OPENAI_BASE_URL}/chat/completions").respond(
            200, json=openai_tool_response({"result": FIXTURE["expected"]})
        )


@pytest.fixture
def host_clock_not_on_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone five hours behind UTC, as on a server not set to UTC."""
    monkeypatch.setenv("TZ", "EST5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """The settings of one test."""
    return make_settings()


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[SessionMaker]:
    """One server process's sessions."""
    engine = create_engine(settings)
    yield create_session_maker(engine)
    await engine.dispose()
