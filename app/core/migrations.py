"""Development convenience: bring the database to the newest migration at start-up."""

import asyncio
import fcntl
import hashlib
import tempfile
from pathlib import Path

from alembic.config import Config

from alembic import command

ROOT = Path(__file__).resolve().parents[2]


def _upgrade(database_url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    # Several workers start together: one migrates, the others wait and then find nothing to do.
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    with (Path(tempfile.gettempdir()) / f"voice-agent-migrate-{digest}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        command.upgrade(config, "head")


async def upgrade_to_head(database_url: str) -> None:
    """`alembic upgrade head`, off the event loop (Alembic's env.py runs a loop of its own)."""
    await asyncio.to_thread(_upgrade, database_url)
