"""A real browser on another origin follows a call with native EventSource (headless system Chromium)."""

import json
import subprocess
from collections.abc import Callable
from urllib.parse import urlencode

from tests.browser.chromium import CHROMIUM, HERE, require_chromium
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD

require_chromium()

OFFLINE = {"retell_mode": None, "retell_api_key": None, "extractor": None, "openai_api_key": None}


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
