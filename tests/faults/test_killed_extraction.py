"""A server process killed mid-extraction strands nothing: another live process finishes the call."""

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.config import Settings
from tests.faults.conftest import (
    LEASE_SECONDS,
    SWEEP_SECONDS,
    call_state,
    deliver_call_ended,
    server_settings,
)
from tests.support.server_process import ServerProcess
from tests.support.slow_llm import SlowLLM


@pytest.fixture
def victim() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for process in started:
        process.stop()


async def test_a_call_whose_process_is_killed_mid_llm_call_is_completed_by_another_process(
    clean_database: str,
    slow_llm: tuple[SlowLLM, str],
    victim: list[ServerProcess],
    in_thread_server: Callable[[dict[str, Any]], str],
) -> None:
    llm, llm_root = slow_llm
    llm.hold_first = True  # the first LLM request never answers: its process dies waiting
    doomed = ServerProcess(**server_settings(clean_database, f"{llm_root}/doomed/v1"))
    victim.append(doomed)
    await asyncio.to_thread(doomed.wait_until_up)
    retell_call_id = await deliver_call_ended(doomed.url)
    assert await asyncio.to_thread(llm.first_arrived.wait, 15), "no extraction started"
    assert llm.callers() == ["doomed"]
    # A second server process on the same database, running by the time of the crash.
    await asyncio.to_thread(in_thread_server, server_settings(clean_database, f"{llm_root}/survivor/v1"))
    await asyncio.sleep(SWEEP_SECONDS * 2)
    state = await call_state(clean_database, retell_call_id)
    assert state["status"] == "processing"  # the doomed process renews its lease: nobody takes over
    assert llm.callers() == ["doomed"]

    doomed.kill()  # SIGKILL while its LLM request is in flight: no cleanup, no hand-back
    killed_at = time.monotonic()
    while time.monotonic() - killed_at < 60:
        state = await call_state(clean_database, retell_call_id)
        if state["status"] == "completed":
            break
        await asyncio.sleep(0.1)
    finished_in = time.monotonic() - killed_at

    assert state["status"] == "completed"
    assert state["results"] == 1
    assert state["extraction_attempts"] == 2  # the dead claim, then the takeover
    assert llm.callers() == ["doomed", "survivor"]
    # The survivor takes over once the lease lapses, at its next sweep: seconds, with no restart.
    assert finished_in < LEASE_SECONDS + SWEEP_SECONDS + 3.0, finished_in
    print(f"killed mid-extraction: completed by the other process {finished_in:.1f} s later")


def test_the_default_windows_keep_the_promises_in_the_readme() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    # A stranded call is taken over within a minute of its lease's last renewal.
    assert settings.extraction_lease_seconds + settings.extraction_sweep_seconds < 60
    # A hung database holds a request for at most a pool wait plus one connect or statement timeout.
    worst = settings.db_pool_timeout_seconds + max(
        settings.db_connect_timeout_seconds, settings.db_statement_timeout_seconds
    )
    assert worst < 5
