"""Fixtures that provide the official client's interpreter and a running emulator server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat.harness import ClientUnavailableError, ensure_client_python
from tests.databases import fresh_database
from tests.live_server import RunningServer, run_cli, running_server, server_env


@pytest.fixture(scope="session")
def client_python() -> Path:
    """Interpreter of the venv that holds openmetadata-ingestion 2.0.7.0."""
    try:
        return ensure_client_python()
    except ClientUnavailableError as exc:
        pytest.skip(str(exc))


@pytest.fixture(params=["sqlite", "postgresql"])
def emulator_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    """The real server in a subprocess, on a fresh SQLite file or a fresh PostgreSQL database."""
    database: str = request.param
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with fresh_database(database, tmp_path) as database_url:
        if database == "postgresql":
            run_cli(["migrate"], server_env(data_dir, database_url))
        with running_server(data_dir, database, database_url) as server:
            yield server
