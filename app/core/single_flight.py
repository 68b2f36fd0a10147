"""Single flight: callers that ask for the same read together share one run of it.

A burst of a thousand stream opens then costs one query (and one pooled connection) instead of a
thousand. A caller never shares a run that began before it asked, which could have missed a change
committed just before: while one run is in flight, newcomers gather for the next, which starts as
soon as it ends. So each key has at most one run in flight, and every answer is fresh.
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedReadFailed(Exception):
    """The shared run failed; its error is the `__cause__` (each caller gets an exception of its own,
    so a thousand callers do not all grow one exception's traceback)."""


class SingleFlight(Generic[K, V]):
    def __init__(self, load: Callable[[K], Awaitable[V]]) -> None:
        self._load = load
        self._gathering: dict[K, asyncio.Future[V]] = {}  # not started yet: newcomers join these
        self._in_flight: set[K] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.runs = 0  # how many reads actually ran (for tests and logs)

    async def get(self, key: K) -> V:
        """The read's result for `key`, from a run that started after this call (raises SharedReadFailed)."""
        future = self._gathering.get(key)
        if future is None:
            future = self._gathering[key] = asyncio.get_running_loop().create_future()
            future.add_done_callback(_retrieve)
            if key not in self._in_flight:
                self._start(key)
        try:
            # Shielded: a caller that leaves (a client disconnecting) does not cancel the others' read.
            return await asyncio.shield(future)
        except Exception as exc:
            raise SharedReadFailed(str(exc)) from exc

    def _start(self, key: K) -> None:
        task = asyncio.create_task(self._run(key), name=f"single-flight:{key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._in_flight.add(key)

    async def _run(self, key: K) -> None:
        # Started on the loop's next turn: everyone who asked in this turn is already gathered.
        future = self._gathering.pop(key)
        try:
            self.runs += 1
            result = await self._load(key)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
        except BaseException:  # cancelled (shutting down): wake every waiter before leaving
            future.cancel()
            raise
        else:
            if not future.done():
                future.set_result(result)
        finally:
            self._in_flight.discard(key)
            if key in self._gathering and not self._closed:  # asked for while this run was in flight
                self._start(key)

    async def aclose(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for future in self._gathering.values():
            future.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _retrieve(future: "asyncio.Future[Any]") -> None:
    # A read nobody waits for any more (every caller left) must not log "exception never retrieved".
    if not future.cancelled():
        future.exception()
