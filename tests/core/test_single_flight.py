"""Single flight: reads asked for together run once; nobody gets a read that began before they asked."""

import asyncio

import pytest

from app.core.single_flight import SharedReadFailed, SingleFlight


async def test_a_thousand_callers_asking_together_share_one_read() -> None:
    async def load(key: str) -> str:
        await asyncio.sleep(0.01)
        return f"value of {key}"

    flight: SingleFlight[str, str] = SingleFlight(load)
    answers = await asyncio.wait_for(asyncio.gather(*(flight.get("recent") for _ in range(1000))), 5)
    assert set(answers) == {"value of recent"}
    assert flight.runs == 1


async def test_a_caller_arriving_during_a_read_gets_the_next_one_not_that_one() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    version = 0

    async def load(_key: str) -> int:
        nonlocal version
        version += 1
        seen = version
        started.set()
        await release.wait()
        return seen

    flight: SingleFlight[str, int] = SingleFlight(load)
    early = asyncio.create_task(flight.get("k"))
    await asyncio.wait_for(started.wait(), 5)
    late = [asyncio.create_task(flight.get("k")) for _ in range(50)]  # the read is already running
    await asyncio.sleep(0.01)
    assert flight.runs == 1  # they wait for the running read to end, not beside it
    release.set()
    assert await asyncio.wait_for(early, 5) == 1
    assert set(await asyncio.wait_for(asyncio.gather(*late), 5)) == {2}
    assert flight.runs == 2


async def test_a_failed_read_fails_every_caller_with_its_cause() -> None:
    async def load(_key: str) -> int:
        raise OSError("connection refused")

    flight: SingleFlight[str, int] = SingleFlight(load)
    outcomes = await asyncio.gather(*(flight.get("k") for _ in range(3)), return_exceptions=True)
    assert all(isinstance(o, SharedReadFailed) and isinstance(o.__cause__, OSError) for o in outcomes)
    assert len({id(o) for o in outcomes}) == 3  # an exception each: tracebacks do not pile up on one


async def test_a_caller_that_leaves_does_not_cancel_the_others_read() -> None:
    release = asyncio.Event()

    async def load(_key: str) -> str:
        await release.wait()
        return "done"

    flight: SingleFlight[str, str] = SingleFlight(load)
    leaving = asyncio.create_task(flight.get("k"))
    staying = asyncio.create_task(flight.get("k"))
    await asyncio.sleep(0.01)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    release.set()
    assert await asyncio.wait_for(staying, 5) == "done"
