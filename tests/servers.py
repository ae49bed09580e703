"""A live server on a fresh database of either kind, migrated first where serve does not."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.databases import fresh_database
from tests.live_server import RunningServer, run_cli, running_server, server_env


@contextmanager
def server_on_fresh_database(
    kind: str,
    tmp_path: Path,
    *,
    workers: int = 1,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[RunningServer]:
    """`mlmodel-emulator serve` on a new SQLite file or PostgreSQL database ("sqlite" or
    "postgresql"); PostgreSQL is migrated first, as serve migrates only SQLite."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with fresh_database(kind, tmp_path) as database_url:
        if kind == "postgresql":
            run_cli(["migrate"], server_env(data_dir, database_url))
        with running_server(
            data_dir, kind, database_url, workers=workers, extra_env=extra_env
        ) as server:
            yield server
