"""A private PostgreSQL cluster a fault test may stop, restart and freeze: never the shared server.

initdb/pg_ctl come from /usr/lib/postgresql/*/bin (or PATH). PostgreSQL refuses to run as root, so
under root every command runs as the `postgres` user through `runuser`.
"""

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.app import free_port


def postgres_bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for directory in candidates:
        if Path(directory, "initdb").exists() and Path(directory, "pg_ctl").exists():
            return Path(directory)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def can_run_private_postgres() -> bool:
    if postgres_bin_dir() is None:
        return False
    return os.geteuid() != 0 or shutil.which("runuser") is not None


class PrivateCluster:
    """One throw-away cluster on a free port, in a temp dir, listening on 127.0.0.1 only."""

    def __init__(self) -> None:
        bin_dir = postgres_bin_dir()
        assert bin_dir is not None, "no PostgreSQL binaries"
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="private-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._frozen: list[int] = []

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout, cwd=self.root)

    def init(self) -> "PrivateCluster":
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        settings = (
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.root}'\nfsync = off\nmax_connections = 50\n"
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(settings)
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "30", "start")

    def stop(self) -> None:
        """Down hard, as a crash or a failover would take it: clients see their connections drop."""
        self.resume()
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def _pids(self) -> list[int]:
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return []
        postmaster = int(pid_file.read_text().split()[0])
        pids = [postmaster]
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == postmaster:  # ppid
                pids.append(int(Path(stat).parent.name))
        return pids

    def freeze(self) -> None:
        """Hung, not down: every server process stopped, sockets open, nothing answers."""
        pids = self._pids()
        if not pids:
            return
        os.kill(pids[0], signal.SIGSTOP)  # the postmaster first, so no new backend starts meanwhile
        self._frozen = self._pids()
        for pid in self._frozen[1:]:
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self._frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self._frozen = []

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def migrated_cluster() -> Iterator[PrivateCluster]:
    """A private cluster, started and migrated to head; destroyed afterwards (stopped or not)."""
    from alembic import command
    from tests.support.database import alembic_config, run_in_thread

    cluster = PrivateCluster().init()
    try:
        cluster.start()
        run_in_thread(lambda: command.upgrade(alembic_config(cluster.url), "head"))
        yield cluster
    finally:
        cluster.destroy()
