"""A browser's EventSource opened while the database is down comes back by itself once it is up again.

The stream answers 200 with `retry:` and closes (any other status makes EventSource give up for
good), so the same EventSource, never reopened by the page, reconnects and gets the current state.
Headless system Chromium; the database is a private PostgreSQL cluster the test stops and restarts.
"""

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from app.config import Settings
from tests.browser.chromium import CHROMIUM, HERE, require_chromium
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.app import servers_in_threads
from tests.support.private_postgres import PrivateCluster, can_run_private_postgres, migrated_cluster

require_chromium()
if not can_run_private_postgres():
    pytest.skip("needs the PostgreSQL server binaries (initdb, pg_ctl)", allow_module_level=True)

# The server's `retry:` while the database is away is 5-10 s; a reconnect may find it still starting.
CAME_BACK_WITHIN_SECONDS = 45.0
ANSWERED_WITHIN_SECONDS = 30.0


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    with migrated_cluster() as cluster:
        yield cluster


@pytest.fixture
def api(cluster: PrivateCluster, page_origin: str) -> Iterator[str]:
    """The app on the private cluster, simulated Retell and rules extraction, open to the page's origin."""
    settings = {
        "environment": "test",
        "database_url": cluster.url,
        "secret_key": "browser-test-secret-key-that-is-long-enough-0123",
        "admin_email": ADMIN_EMAIL,
        "admin_password": ADMIN_PASSWORD,
        "fast_password_hashing": True,
        "retell_mode": "simulated",
        "extractor": "rules",
        "simulated_call_seconds": 0.2,
        "cors_origins": page_origin,
    }
    with servers_in_threads() as start:
        yield start(lambda url: Settings(_env_file=None, public_base_url=url, **settings))  # type: ignore[call-arg]


class Browser:
    """The driver's JSON lines, read as they come; every wait is bounded and says what did not arrive."""

    def __init__(self, page_url: str) -> None:
        self.process = subprocess.Popen(
            ["node", str(HERE / "follow.mjs"), page_url, str(CHROMIUM)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self._unclaimed: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def expect(self, wanted: Callable[[dict[str, Any]], bool], within: float, what: str) -> dict[str, Any]:
        """The first line not yet expected that `wanted` accepts, in the order the browser printed them."""
        for line in self._unclaimed:
            if wanted(line):
                self._unclaimed.remove(line)
                return line
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if wanted(line):
                return line
            self._unclaimed.append(line)
        stderr = "" if self.process.poll() is None else self.process.stderr.read()  # type: ignore[union-attr]
        raise AssertionError(f"{what}: not within {within:.0f} s; the browser saw {self.seen} {stderr}")

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _completed_call_and_stream_token(api: str) -> tuple[str, str]:
    with httpx.Client(base_url=api, timeout=10) as client:
        form = {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        auth = {"Authorization": f"Bearer {client.post('/api/auth/token', data=form).json()['access_token']}"}
        call = client.post(
            "/api/call/trigger",
            headers=auth,
            json={"driver_name": "Mike Johnson", "phone_number": "(312) 555-0102", "load_number": "7891-B"},
        ).json()
        deadline = time.monotonic() + 30
        while client.get(f"/api/call/{call['id']}", headers=auth).json()["status"] != "completed":
            assert time.monotonic() < deadline, "the simulated call did not complete within 30 s"
            time.sleep(0.1)
        token = client.post("/api/auth/stream-token", headers=auth).json()["token"]
    return call["id"], token


def test_an_eventsource_opened_during_an_outage_reconnects_by_itself_when_the_database_is_back(
    cluster: PrivateCluster, api: str, page_origin: str
) -> None:
    # The reconnect reuses the URL and its stream token (STREAM_TOKEN_SECONDS, 4 h by default).
    call_id, token = _completed_call_and_stream_token(api)
    cluster.stop()
    browser = Browser(f"{page_origin}/outage.html?{urlencode({'api': api, 'token': token})}")
    try:
        status = browser.expect(lambda line: line["kind"] == "response", ANSWERED_WITHIN_SECONDS, "an answer")
        assert status["status"] == 200, f"the stream answered {status['status']}: EventSource gives up on it"
        answer = browser.expect(lambda line: line["kind"] == "finished", ANSWERED_WITHIN_SECONDS, "its close")
        assert "\nretry: " in "\n" + answer["body"], f"no `retry:` in {answer['body']!r}"
        closed = browser.expect(lambda line: line["kind"] == "error", ANSWERED_WITHIN_SECONDS, "the close")
        assert closed["readyState"] == 0, (
            f"EventSource gave up (readyState {closed['readyState']}, 2 = CLOSED)"
        )

        cluster.start()
        event = browser.expect(
            lambda line: line["kind"] == "call",
            CAME_BACK_WITHIN_SECONDS,
            "the current state after reconnecting",
        )
        assert event["id"] == call_id
        assert event["readyState"] == 1  # OPEN: the same EventSource, reconnected by itself
        statuses = [line["status"] for line in browser.seen if line["kind"] == "response"]
        assert len(statuses) >= 2 and statuses[-1] == 200, statuses
        assert not [line for line in browser.seen if line["kind"] == "console"], browser.seen
        back_in = (event["at"] - closed["at"]) / 1000
        print(f"stream answers while down and after: {statuses}; back {back_in:.1f} s after the close")
    finally:
        browser.close()
