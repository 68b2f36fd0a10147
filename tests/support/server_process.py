"""The app as a real server process (uvicorn in a subprocess), so a test can SIGKILL it mid-work."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.app import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


class ServerProcess:
    """`uvicorn app.main:create_app` with settings from its environment, in a directory with no .env."""

    def __init__(self, *, guarded: bool = False, **settings: Any) -> None:
        """`guarded`: start it as production does, `python -m app.serve` (app/core/server.py's limits)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(tempfile.mkdtemp(prefix="server-process-"))
        env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
        env |= {"PYTHONPATH": str(REPO_ROOT), "PUBLIC_BASE_URL": self.url, "LOG_LEVEL": "INFO"}
        env |= {key.upper(): str(value) for key, value in settings.items()}
        self.log = self.workdir / "server.log"
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--log-level",
            "warning",
        ]
        if guarded:
            command = [sys.executable, "-m", "app.serve"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_until_up(self, timeout: float = 60) -> "ServerProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start within {timeout} s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no cleanup, exactly like a crash or the OOM killer."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]
