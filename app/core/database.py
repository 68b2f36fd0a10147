"""Async engine and sessions, and the one rule for transactions.

Services flush (when they need an id) and never commit. Whoever opened the session owns the commit:
a request's session dependency commits after the handler and before the response is sent, and
`session_scope` commits a unit of work outside a request (background tasks, start-up, each step of
a multi-step use case) or rolls it back when it raises.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.core import dialect

SessionMaker = async_sessionmaker[AsyncSession]
INGEST_POOL_CLOSE_SECONDS = 5.0
INGEST_APPLICATION_NAME = "voice-agent-ingest"


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the engine for the configured database, pooled, with every wait bounded.

    Connecting, waiting for a pooled connection and each statement all have a timeout (settings), so
    a database that is down or hung turns into an error within seconds, which callers answer as a 503.
    """
    url = settings.database_url
    if dialect.is_sqlite(url):
        # SQLite serialises writers; a busy timeout makes concurrent webhooks wait briefly instead of failing.
        busy_seconds = settings.db_statement_timeout_seconds
        # An in-memory database lives in one shared connection (no pool, so no pool timeout).
        pooled = ":memory:" not in url and "mode=memory" not in url
        engine = create_async_engine(
            url,
            connect_args={"timeout": busy_seconds},
            hide_parameters=True,
            **({"pool_timeout": settings.db_pool_timeout_seconds} if pooled else {}),
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(busy_seconds))
        return engine
    timeouts: dict[str, Any] = {
        "timeout": settings.db_connect_timeout_seconds,  # connecting, including authentication
        "command_timeout": settings.db_statement_timeout_seconds,  # client side: holds when the server hangs
    }
    if settings.db_null_pool:
        # Supabase's transaction pooler (port 6543) hands each transaction to any backend:
        # no client-side pool and no prepared-statement cache, or statements collide.
        engine = create_async_engine(
            url,
            poolclass=NullPool,
            hide_parameters=True,
            connect_args={
                **timeouts,
                "statement_cache_size": 0,
                "prepared_statement_cache_size": 0,
                # Unique names, so two clients' statements never collide on one pooled backend.
                "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4()}__",
            },
        )
    else:
        statement_ms = int(settings.db_statement_timeout_seconds * 1000)
        engine = create_async_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            pool_pre_ping=True,
            hide_parameters=True,  # parameters hold transcripts and password hashes: keep them out of logs
            # The server cancels a slow statement too, so it stops holding locks and a backend.
            connect_args={**timeouts, "server_settings": {"statement_timeout": str(statement_ms)}},
        )
    event.listen(engine.sync_engine, "handle_error", _timeout_is_a_disconnect)
    event.listen(engine.sync_engine.pool, "invalidate", _drop_timed_out_connection)
    return engine


def create_background_engine(settings: Settings, engine: AsyncEngine) -> AsyncEngine:
    """The background workers' own small pool, so a burst of extractions never takes the routes' connections.

    Each worker holds at most two connections at once (its work and its lease renewal). An in-memory
    SQLite database lives in one connection, and behind a transaction pooler (DB_NULL_POOL) every
    session opens its own: there the workers share the engine. So they do on any SQLite file: it has one
    writer at a time whatever the pools, and a second pool only adds a second queue for its lock (a burst
    of deliveries then timed out behind the workers' writes).
    """
    if settings.is_sqlite or settings.db_null_pool:
        return engine
    workers = settings.extraction_workers
    return create_engine(
        settings.model_copy(
            update={
                "db_pool_size": workers + 1,
                "db_max_overflow": workers,
                # Nobody is waiting on an answer: a worker may wait longer for a connection than a route.
                "db_pool_timeout_seconds": settings.db_pool_timeout_seconds * 10,
            }
        )
    )


class IngestPool:
    """On PostgreSQL, the webhook's own small pool of asyncpg connections, handed out in order of asking.

    A delivery is one statement (`services/webhooks.py`), so the pool skips what SQLAlchemy's pool does
    around each checkout for the general case: no pre-ping (a round trip) and no reset on release (the
    statement leaves no session state behind; an open transaction is still rolled back). A connection that
    died while idle fails its statement, is discarded, and the delivery is tried once more on a fresh one.

    Waiting is fair: asyncpg's pool can give a connection just released to a newcomer ahead of those
    already waiting, which under a burst left a few deliveries waiting past their timeout (the bench's 503s,
    p99 550 ms against 160 ms in line). A semaphore in front of it (asyncio's is first come, first served)
    means no more callers than connections ever reach the pool, so it never has anyone waiting.
    Every wait is bounded: connect, acquire (DB_POOL_TIMEOUT_SECONDS) and statement.
    """

    def __init__(self, pool: asyncpg.Pool, size: int, acquire_timeout: float) -> None:
        self._pool = pool
        self._turns = asyncio.Semaphore(size)
        self.acquire_timeout = acquire_timeout

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        if self._turns.locked():  # every connection is taken: wait in line, for a bounded time
            async with asyncio.timeout(self.acquire_timeout):
                await self._turns.acquire()
        else:
            await self._turns.acquire()  # returns at once
        try:
            # Past the semaphore a connection is free or being opened (bounded by the connect timeout):
            # no timeout here, which would cost asyncpg a task per acquire.
            async with self._pool.acquire() as connection:
                yield connection
        finally:
            self._turns.release()

    async def close(self) -> None:
        """Close gracefully, waiting a bounded time for deliveries in flight; then cut what is left."""
        try:
            async with asyncio.timeout(INGEST_POOL_CLOSE_SECONDS):
                await self._pool.close()
        except TimeoutError:
            self._pool.terminate()


async def create_ingest_pool(settings: Settings) -> IngestPool | None:
    """The ingest pool on PostgreSQL; None on SQLite or behind a transaction pooler (DB_NULL_POOL)."""
    url = make_url(settings.database_url)
    if not dialect.is_postgresql(url) or settings.db_null_pool or settings.db_ingest_pool_size == 0:
        return None
    statement_ms = int(settings.db_statement_timeout_seconds * 1000)
    pool = await asyncpg.create_pool(
        url.set(drivername="postgresql").render_as_string(hide_password=False),
        min_size=0,  # connects on first use: start-up does not depend on it
        max_size=settings.db_ingest_pool_size,
        timeout=settings.db_connect_timeout_seconds,
        command_timeout=settings.db_statement_timeout_seconds,
        # A handful of prepared statements run again and again: plan each once, not at every execution.
        server_settings={
            "statement_timeout": str(statement_ms),
            "plan_cache_mode": "force_generic_plan",
            "application_name": INGEST_APPLICATION_NAME,  # tells these apart in pg_stat_activity
        },
        reset=_keep_session,
    )
    return IngestPool(pool, settings.db_ingest_pool_size, settings.db_pool_timeout_seconds)


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query: the ingest statements set no session state."""


def _sqlite_pragmas(busy_seconds: float) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cursor.close()

    return on_connect


def _timeout_is_a_disconnect(context: ExceptionContext) -> None:
    # A statement that timed out leaves its connection mid-protocol with a server that may never answer:
    # discard it (and the pool's older connections) instead of handing it to the next request.
    if isinstance(context.original_exception, TimeoutError):
        context.is_disconnect = True


def _drop_timed_out_connection(dbapi_connection: Any, _record: ConnectionPoolEntry, exc: Any) -> None:
    # SQLAlchemy closes an invalidated connection politely and waits up to 2 s for a hung server to
    # acknowledge; after a timeout or a cancellation, cut it at once so the error reaches the client now.
    if isinstance(exc, TimeoutError | asyncio.CancelledError):
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None and hasattr(driver, "terminate"):
            driver.terminate()


def is_database_unavailable(exc: BaseException) -> bool:
    """True for errors that mean "the database is down, hung or overloaded": worth a retry, a 503."""
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
        # 08 connection exception, 53 insufficient resources, 57 operator intervention (statement timeout,
        # shutdown), 40001/40P01 serialization failure and deadlock: all pass if tried again.
        if sqlstate[:2] in {"08", "53", "57"} or sqlstate in {"40001", "40P01"}:
            return True
        return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
    # A pool checkout that timed out; a refused or dropped socket; a driver-side timeout.
    return isinstance(exc, sa_exc.TimeoutError | OSError | TimeoutError)


def create_session_maker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope(session_maker: SessionMaker) -> AsyncIterator[AsyncSession]:
    """A unit of work outside a request (background tasks, start-up): commit on success, else roll back."""
    async with session_maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
