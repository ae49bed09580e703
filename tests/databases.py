"""Throwaway test databases: an SQLite file, or a uniquely named PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL


def _conninfo(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_unavailable_reason() -> str | None:
    """None when the test PostgreSQL answers, else why not (CI requires it to answer)."""
    try:
        with psycopg.connect(_conninfo(postgres_server_url()), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        reason = f"PostgreSQL not reachable at {postgres_server_url()}: {exc}".strip()
    if os.environ.get("MLMODEL_EMULATOR_REQUIRE_POSTGRES") == "1":
        pytest.fail(reason)
    return reason


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create a uniquely named database on the shared server; drop it afterwards."""
    server = postgres_server_url()
    name = f"mlmodel_emulator_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_conninfo(server), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_conninfo(server), autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    """A new, empty database of the kind asked for ("sqlite" or "postgresql")."""
    if kind == "sqlite":
        yield f"sqlite:///{(directory / f'test-{uuid.uuid4().hex[:8]}.db').as_posix()}"
        return
    reason = postgres_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with fresh_postgres_database() as url:
        yield url
