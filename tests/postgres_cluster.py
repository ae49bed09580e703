"""A PostgreSQL cluster a test owns: its own data dir in a temp dir, its own free port.

Tests that stop and start a database cannot use the shared server; this one is made with
the PostgreSQL 15 binaries on the machine (`initdb`, `pg_ctl`) and removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.live_server import free_port

POSTGRES_BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
COMMAND_TIMEOUT_S = 60.0
# initdb and postgres refuse to run as root: as root, the cluster belongs to this user.
CLUSTER_USER = "postgres"


def postgres_binaries_missing() -> str | None:
    """None when initdb and pg_ctl are there, else why the test cannot run."""
    for name in ("initdb", "pg_ctl"):
        if not (POSTGRES_BIN / name).exists():
            reason = f"no {name} under {POSTGRES_BIN} (set POSTGRES_BIN)"
            if os.environ.get("MLMODEL_EMULATOR_REQUIRE_POSTGRES") == "1":
                pytest.fail(reason)
            return reason
    return None


class PostgresCluster:
    """One cluster: started, stopped and started again at will."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.log_file = root / "postgres.log"
        self.port = port

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        command = [str(POSTGRES_BIN / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", CLUSTER_USER, "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n{self.log_tail()}"
            )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "-A", "trust", "-N")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=100"
        )
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options, "-w",
            "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; `fast` ends every session, as a restart does."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def log_tail(self, limit: int = 4000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-limit:]
        except OSError:
            return ""


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A started cluster of our own; stopped and deleted on exit, whatever happens."""
    reason = postgres_binaries_missing()
    if reason is not None:
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="mlmodel-emulator-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(CLUSTER_USER)
        os.chown(root, user.pw_uid, user.pw_gid)
    cluster = PostgresCluster(root, free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
