"""One fan-out per process: a change published once reaches every local subscriber.

PostgreSQL carries a change between processes with LISTEN/NOTIFY on one dedicated connection per
process; SQLite (one process) hands it over in process after the commit. Either way the payload
(small: ids) goes through one dispatcher that resolves it once and offers the result to each
subscriber's bounded queue. A subscriber that stops reading is dropped, never waited for.
"""

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, Generic, TypeVar

import asyncpg
from loguru import logger
from sqlalchemy.engine import Connection, Engine, make_url

M = TypeVar("M")

# Per subscriber: far more than a quiet dashboard ever has waiting; a stalled one is dropped.
SUBSCRIBER_QUEUE_SIZE = 256
# Payloads waiting for the dispatcher; only a stalled database read could fill this.
INCOMING_QUEUE_SIZE = 10_000
RECONNECT_SECONDS = 1.0


class Subscription(Generic[M]):
    """A subscriber's bounded queue; `None` from `get()` means it was dropped and should reconnect."""

    def __init__(self, wants: Callable[[M], bool], size: int) -> None:
        self.wants = wants
        self.queue: asyncio.Queue[M | None] = asyncio.Queue(size)
        self.dropped = False

    async def get(self) -> M | None:
        return await self.queue.get()

    def offer(self, message: M) -> bool:
        """Queue the message; False (and the subscriber dropped) when its queue is full."""
        try:
            self.queue.put_nowait(message)
            return True
        except asyncio.QueueFull:
            self.drop()
            return False

    def drop(self) -> None:
        # Free what it holds at once and wake it with the end marker.
        self.dropped = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class Broadcaster(Generic[M]):
    """Fans each published payload out to the subscribers that want it, resolving it once."""

    def __init__(
        self, resolve: Callable[[str], Awaitable[M | None]], *, queue_size: int = SUBSCRIBER_QUEUE_SIZE
    ) -> None:
        self._resolve = resolve
        self._queue_size = queue_size
        self._incoming: asyncio.Queue[str] = asyncio.Queue(INCOMING_QUEUE_SIZE)
        self._subscribers: set[Subscription[M]] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def start(self) -> None:
        self._task = asyncio.create_task(self._dispatch(), name="broadcaster")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.drop_all()

    def push(self, payload: str) -> None:
        """Hand over one published payload (called by the listener or after a local commit)."""
        if not self._subscribers:
            return  # nobody listens in this process: no work at all
        try:
            self._incoming.put_nowait(payload)
        except asyncio.QueueFull:
            logger.warning("change feed backed up; every subscriber reconnects to the current state")
            self.drop_all()

    def drop_all(self) -> None:
        """Changes may have been lost (a lost connection): every subscriber starts again from now."""
        for subscription in list(self._subscribers):
            subscription.drop()
        self._subscribers.clear()

    @asynccontextmanager
    async def subscribe(self, wants: Callable[[M], bool] = lambda _m: True) -> AsyncIterator[Subscription[M]]:
        subscription: Subscription[M] = Subscription(wants, self._queue_size)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    async def _dispatch(self) -> None:
        # One task, in publication order: per-call order is the order of the commits.
        while True:
            payload = await self._incoming.get()
            if not self._subscribers:
                continue
            try:
                message = await self._resolve(payload)
            except Exception:  # a failed read must not stop the feed for everyone
                logger.opt(exception=True).warning("could not resolve a published change; subscribers resync")
                self.drop_all()
                continue
            if message is None:
                continue
            for subscription in list(self._subscribers):
                if subscription.wants(message) and not subscription.offer(message):
                    self._subscribers.discard(subscription)
                    logger.info("dropped a subscriber that stopped reading")


class PostgresListener:
    """The process's one LISTEN connection: each notification goes to the broadcaster.

    If the connection is lost, notifications may have been missed, so every subscriber is dropped
    (and reconnects to the current state) before listening resumes.
    """

    def __init__(self, database_url: str, channel: str, broadcaster: Broadcaster[Any]) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._channel = channel
        self._broadcaster = broadcaster
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None

    async def start(self) -> None:
        await self._connect()  # listening before the app serves: no early change is missed
        self._task = asyncio.create_task(self._supervise(), name="postgres-listener")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._connection is not None and not self._connection.is_closed():
            with suppress(Exception):
                await asyncio.wait_for(self._connection.close(), timeout=5)

    async def _connect(self) -> None:
        self._lost.clear()
        connection = await asyncpg.connect(self._dsn)
        connection.add_termination_listener(lambda _c: self._lost.set())
        await connection.add_listener(self._channel, self._on_notify)
        self._connection = connection

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self._broadcaster.push(payload)

    async def _supervise(self) -> None:
        while True:
            await self._lost.wait()
            logger.warning("lost the LISTEN connection; subscribers reconnect to the current state")
            self._broadcaster.drop_all()
            while True:
                await asyncio.sleep(RECONNECT_SECONDS)
                try:
                    await self._connect()
                    break
                except (OSError, asyncpg.PostgresError) as exc:
                    logger.warning("LISTEN connection failed again: {}", type(exc).__name__)


# SQLite: which process-local broadcaster a session's engine publishes to after its commits.
_local: "weakref.WeakKeyDictionary[Engine, Broadcaster[Any]]" = weakref.WeakKeyDictionary()


def register_local(engine: Engine, broadcaster: Broadcaster[Any]) -> None:
    _local[engine] = broadcaster


def local_broadcaster(bind: Engine | Connection) -> Broadcaster[Any] | None:
    return _local.get(bind.engine)
