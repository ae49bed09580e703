"""Fixtures that provide the official client's interpreter and a running emulator server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import (
    TEST_DATABASE_URL_ENV,
    ClientUnavailableError,
    RunningServer,
    ensure_client_python,
    postgres_database,
    run_cli,
    running_server,
    server_env,
)


@pytest.fixture(scope="session")
def client_python() -> Path:
    """Interpreter of the venv that holds openmetadata-ingestion 2.0.7.0."""
    try:
        return ensure_client_python()
    except ClientUnavailableError as exc:
        pytest.skip(str(exc))


@pytest.fixture(params=["sqlite", "postgres"])
def emulator_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    """The real server in a subprocess, on a fresh SQLite file or a fresh PostgreSQL database."""
    database: str = request.param
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with contextlib.ExitStack() as stack:
        database_url: str | None = None
        if database == "postgres":
            server_url = os.environ.get(TEST_DATABASE_URL_ENV)
            if not server_url:
                pytest.skip(f"{TEST_DATABASE_URL_ENV} is not set; PostgreSQL run disabled")
            database_url = stack.enter_context(postgres_database(server_url))
            run_cli(["migrate"], server_env(data_dir, database_url))
        yield stack.enter_context(running_server(data_dir, database, database_url))
