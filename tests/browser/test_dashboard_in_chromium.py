"""A real browser on another origin follows a call with native EventSource (headless system Chromium)."""

import functools
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.app import free_port

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
PLAYWRIGHT = HERE / "node_modules" / "playwright-core"
OFFLINE = {"retell_mode": None, "retell_api_key": None, "extractor": None, "openai_api_key": None}


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return "no system Chromium at /usr/bin/chromium (apt-get install chromium)"
    if shutil.which("node") is None or not PLAYWRIGHT.exists():
        return "playwright-core is not installed (make browser-deps)"
    return None


if (missing := _missing()) is not None:
    # .ci/run installs both, so there a missing piece is a failure, not a reason to skip.
    if os.environ.get("BROWSER_TEST_REQUIRED"):
        raise RuntimeError(f"browser test required but {missing}")
    pytest.skip(f"browser test skipped: {missing}", allow_module_level=True)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def page_origin() -> Iterator[str]:
    """This folder served on another origin than the API (another host name and port)."""
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(_QuietHandler, directory=str(HERE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{port}"
    server.shutdown()
    thread.join(timeout=5)


def test_a_dashboard_page_follows_a_call_with_eventsource(
    live_server: Callable[..., str], page_origin: str
) -> None:
    api = live_server(**OFFLINE, simulated_call_seconds=0.9, cors_origins=page_origin)
    query = urlencode({"api": api, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    done = subprocess.run(
        ["node", str(HERE / "drive.mjs"), f"{page_origin}/dashboard.html?{query}", str(CHROMIUM)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in result, result
    assert result["origin"] == page_origin and not api.startswith(page_origin)
    # Each status once, in order, from where the call stood when the page subscribed.
    life = ["queued", "registered", "ongoing", "ended", "processing", "completed"]
    assert result["statuses"] == life[life.index(result["statuses"][0]) :]
    assert all(result["ids"])  # every event carries an id, for Last-Event-ID
    final = result["final"]
    assert final["status"] == "completed"
    assert final["call_outcome"] == "In-Transit Update"
    assert final["result"]["delay_reason"] == "Heavy Traffic"
    assert final["result"]["eta"]
    assert "completed" in result["listed"]
    assert result["console_errors"] == []
