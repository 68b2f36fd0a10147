"""The system Chromium and playwright-core the browser tests drive; a module without them is skipped."""

import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
PLAYWRIGHT = HERE / "node_modules" / "playwright-core"


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return "no system Chromium at /usr/bin/chromium (apt-get install chromium)"
    if shutil.which("node") is None or not PLAYWRIGHT.exists():
        return "playwright-core is not installed (make browser-deps)"
    return None


def require_chromium() -> None:
    """Skip the calling module without Chromium or playwright-core (fail instead where CI requires them)."""
    if (missing := _missing()) is not None:
        # .ci/run installs both, so there a missing piece is a failure, not a reason to skip.
        if os.environ.get("BROWSER_TEST_REQUIRED"):
            raise RuntimeError(f"browser test required but {missing}")
        pytest.skip(f"browser test skipped: {missing}", allow_module_level=True)
