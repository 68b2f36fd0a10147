"""Helpers for test databases: migrations run off pytest-asyncio's event loop."""

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]


def run_in_thread(fn: Callable[[], Any]) -> None:
    """Alembic's env.py runs its own event loop; keep it off pytest-asyncio's."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logging"] = False
    return config
