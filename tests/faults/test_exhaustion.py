"""Attacks without credentials on the server as production starts it (`python -m app.serve`, one process).

Each one measured from outside: the server's resident memory (/proc), what it answers, and when it
cuts a connection. Loopback only; every loop is bounded in count and every wait in time.
"""

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.retell.webhook import SIGNATURE_HEADER
from tests.support import RETELL_API_KEY
from tests.support.server_process import ServerProcess

BODY_BYTES = 19_000_000
FLOOD_CONNECTIONS = 20
CHUNK = 256 * 1024
MAX_RSS_GROWTH = 60_000_000
READ_TIMEOUT = 3.0  # room for the budget holder below, which sends its last bytes about 1 s in
HOLD_SECONDS = 0.9  # how long the budget's holder keeps it: past the 0.5 s wait, well inside the read timeout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    database = tmp_path_factory.mktemp("exhaustion") / "app.db"
    process = ServerProcess(
        guarded=True,
        environment="development",  # migrates its fresh database at start
        database_url=f"sqlite+aiosqlite:///{database}",
        secret_key="exhaustion-test-secret-key-that-is-long-enough",
        retell_mode="live",
        retell_api_key=RETELL_API_KEY,
        retell_base_url="http://127.0.0.1:9",
        request_read_timeout_seconds=READ_TIMEOUT,
        body_budget_wait_seconds=0.5,  # shorter than the read timeout, as the defaults are (2 s, 30 s)
        max_connections=200,
    )
    try:
        process.wait_until_up()
        yield process
    finally:
        process.stop()


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class PeakRss:
    """The highest resident memory of a process, sampled every 20 ms while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss(self.pid))

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


async def post_without_waiting(port: int, headers: list[str], body_bytes: int) -> tuple[str, int]:
    """Send a request's head, then its body chunk by chunk until the server answers or cuts us off.

    Returns the status line (or what ended the exchange) and how many body bytes were sent.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = ["POST /webhook/retell HTTP/1.1", "host: 127.0.0.1", f"content-length: {body_bytes}", *headers]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    answer = asyncio.create_task(reader.readline())
    sent = 0
    try:
        for _ in range(body_bytes // CHUNK + 1):  # bounded: the whole body at most
            if answer.done():
                break
            piece = min(CHUNK, body_bytes - sent)
            writer.write(b"x" * piece)
            await asyncio.wait_for(writer.drain(), timeout=10)
            sent += piece
        line = await asyncio.wait_for(answer, timeout=15)
        return line.decode(errors="replace").strip() or "closed", sent
    except (ConnectionResetError, BrokenPipeError):
        if answer.done() and not answer.cancelled() and answer.exception() is None:
            return answer.result().decode(errors="replace").strip() or "closed", sent
        return "reset", sent
    finally:
        answer.cancel()
        writer.close()


def answered(server: ServerProcess, statuses: tuple[int, ...]) -> list[int]:
    """The webhook statuses in the server's access log: what it answered, even to a client it then reset."""
    found = re.findall(r'"POST /webhook/retell HTTP/1.1" (\d{3})', server.log.read_text(errors="replace"))
    return [int(status) for status in found if int(status) in statuses]


async def flood(port: int, headers: list[str], size: int = FLOOD_CONNECTIONS) -> list[tuple[str, int]]:
    return await asyncio.gather(*(post_without_waiting(port, headers, BODY_BYTES) for _ in range(size)))


def test_a_flood_of_unsigned_19_mb_webhooks_is_refused_from_the_headers_alone(server: ServerProcess) -> None:
    pid = server.process.pid
    before = len(answered(server, (401, 413)))
    baseline = rss(pid)
    with PeakRss(pid) as memory:
        answers = asyncio.run(flood(server.port, []))
    growth = memory.peak - baseline
    print(
        f"unsigned flood: RSS {megabytes(baseline)} -> peak {megabytes(memory.peak)} (+{megabytes(growth)})"
    )
    assert len(answered(server, (401, 413))) - before == FLOOD_CONNECTIONS, server.output()
    # Answered before the body was there: far less than the body was ever sent.
    assert max(sent for _, sent in answers) < BODY_BYTES // 2, [sent for _, sent in answers]
    assert growth <= MAX_RSS_GROWTH, f"the server grew {growth / 1e6:.0f} MB"


async def hold_the_budget_while(
    port: int, headers: list[str], flood_size: int
) -> tuple[str, list[tuple[str, int]]]:
    """One forged 19 MB delivery reserves the budget and sends its body slowly; the flood comes meanwhile.

    The holder sends its first chunk, waits HOLD_SECONDS (inside the read timeout), then the rest. A
    flood that starts while it holds finds no room, so what the budget does is seen whatever the
    machine's speed: without a holder, a fast machine reads twenty bodies in turn within the wait.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = ["POST /webhook/retell HTTP/1.1", "host: 127.0.0.1", f"content-length: {BODY_BYTES}", *headers]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + b"x" * CHUNK)
    await asyncio.wait_for(writer.drain(), timeout=10)
    await asyncio.sleep(0.1)  # the app reads the body at once: its reservation is made by now
    flood_task = asyncio.create_task(flood(port, headers, flood_size))
    await asyncio.sleep(HOLD_SECONDS)
    try:
        writer.write(b"x" * (BODY_BYTES - CHUNK))
        await asyncio.wait_for(writer.drain(), timeout=10)
        holder = (await asyncio.wait_for(reader.readline(), timeout=15)).decode(errors="replace").strip()
    except (ConnectionResetError, BrokenPipeError):
        holder = "reset"
    finally:
        writer.close()
    return holder, await flood_task


def test_a_flood_with_plausible_but_forged_signatures_is_bounded_by_the_body_budget(
    server: ServerProcess,
) -> None:
    # Well-formed and current, so the header alone cannot refuse them: their bodies must be read to
    # check the HMAC. The budget (24 MB by default) holds one 19 MB body at a time; while one is being
    # read the rest wait BODY_BUDGET_WAIT_SECONDS, then get 503 + Retry-After.
    forged = f"{SIGNATURE_HEADER}: v={int(time.time() * 1000)},d={'0' * 64}"
    pid = server.process.pid
    before = answered(server, (401, 503))
    baseline = rss(pid)
    with PeakRss(pid) as memory:
        holder, answers = asyncio.run(hold_the_budget_while(server.port, [forged], FLOOD_CONNECTIONS))
    growth = memory.peak - baseline
    print(f"forged flood: RSS {megabytes(baseline)} -> peak {megabytes(memory.peak)} (+{megabytes(growth)})")
    assert holder.startswith("HTTP/1.1 401"), holder  # read whole, checked, refused
    # Every one answered (the server's access log: a client still sending may see a reset instead).
    statuses = answered(server, (401, 503))[len(before) :]
    lines = [line for line, _ in answers]
    assert len(statuses) == FLOOD_CONNECTIONS + 1, (statuses, lines)
    # Those that came while the holder held its reservation waited, then were told to come back.
    assert 503 in statuses, (statuses, lines)
    # Reading one body, decoding and checking it costs a few times its size, once, never twenty times.
    assert growth <= 4 * BODY_BYTES, f"the server grew {growth / 1e6:.0f} MB"


async def send_big_header(port: int, size: int) -> tuple[str, int, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: ")
    answer = asyncio.create_task(reader.readline())
    started, sent = time.monotonic(), 0
    try:
        for _ in range(size // CHUNK):  # bounded
            if answer.done():
                break
            writer.write(b"a" * CHUNK)
            await asyncio.wait_for(writer.drain(), timeout=10)
            sent += CHUNK
        line = await asyncio.wait_for(answer, timeout=10)
        return line.decode(errors="replace").strip() or "closed", sent, time.monotonic() - started
    except (ConnectionResetError, BrokenPipeError):
        return "reset", sent, time.monotonic() - started
    finally:
        answer.cancel()
        writer.close()


def test_a_32_mb_header_is_refused_with_431_long_before_it_is_read(server: ServerProcess) -> None:
    pid = server.process.pid
    baseline = rss(pid)
    with PeakRss(pid) as memory:
        line, sent, seconds = asyncio.run(send_big_header(server.port, 32_000_000))
    growth = memory.peak - baseline
    print(
        f"32 MB header: {line!r} after {sent / 1e6:.1f} MB sent, {seconds:.2f} s, RSS +{growth / 1e6:.1f} MB"
    )
    assert line.startswith("HTTP/1.1 431") or line in ("reset", "closed"), line
    assert sent < 8_000_000
    assert growth <= 20_000_000


async def drip(port: int, first: bytes, every: float) -> float:
    """Send `first`, then one byte every `every` seconds until the server closes; seconds it lasted."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(first)
    closed = asyncio.create_task(reader.read())  # EOF (or a 4xx then EOF) when the server cuts us
    try:
        for _ in range(int(4 * READ_TIMEOUT / every) + 1):  # bounded: well past the read timeout
            if closed.done():
                break
            writer.write(b"a")
            await asyncio.sleep(every)
        await asyncio.wait_for(closed, timeout=2 * READ_TIMEOUT)
    except (ConnectionResetError, BrokenPipeError, TimeoutError):
        pass
    finally:
        closed.cancel()
        writer.close()
    return time.monotonic() - started


async def drips(port: int) -> list[float]:
    heads = [b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: "] * 20
    # A body that the route reads (a plausible signature), dripped.
    signature = f"{SIGNATURE_HEADER}: v={int(time.time() * 1000)},d={'0' * 64}"
    body = (
        f"POST /webhook/retell HTTP/1.1\r\nhost: 127.0.0.1\r\n{signature}\r\ncontent-length: 100000\r\n\r\n"
    )
    bodies = [body.encode()] * 20
    return await asyncio.gather(*(drip(port, first, 0.2) for first in heads + bodies))


def test_slow_drip_connections_are_cut_at_the_read_timeout(server: ServerProcess) -> None:
    lasted = asyncio.run(drips(server.port))
    print(f"slow drips cut after {min(lasted):.2f}..{max(lasted):.2f} s (timeout {READ_TIMEOUT} s)")
    assert all(READ_TIMEOUT - 0.5 <= seconds <= READ_TIMEOUT + 1.5 for seconds in lasted), lasted


async def idle_connections(port: int, count: int) -> list[bool]:
    """Open `count` connections that send nothing; True for each the server closed within a second."""
    pairs = [await asyncio.open_connection("127.0.0.1", port) for _ in range(count)]
    results = []
    for reader, _ in pairs:
        try:
            results.append(await asyncio.wait_for(reader.read(), timeout=0.05) == b"")
        except TimeoutError:
            results.append(False)
        except ConnectionResetError:
            results.append(True)
    for _, writer in pairs:
        writer.close()
    return results


def test_connections_beyond_the_cap_are_closed_at_once(tmp_path: Path) -> None:
    server = ServerProcess(
        guarded=True,
        environment="development",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        secret_key="exhaustion-test-secret-key-that-is-long-enough",
        max_connections=10,
    )
    try:
        server.wait_until_up()
        time.sleep(0.5)  # the health probes' connections are gone
        closed = asyncio.run(idle_connections(server.port, 15))
        assert closed.count(False) == 10 and closed[10:] == [True] * 5, closed
    finally:
        server.stop()
