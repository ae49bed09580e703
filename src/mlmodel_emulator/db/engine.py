"""Engine construction: the one place that knows which database it talks to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

# Write transactions on SQLite take the write lock at BEGIN, so two writers queue on
# busy_timeout instead of failing with SQLITE_BUSY when a read lock is upgraded.
SQLITE_WRITE = {"sqlite_begin": "BEGIN IMMEDIATE"}
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _json_serializer(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine for a database URL, with each dialect's settings."""
    parsed = make_url(url)
    common: dict[str, Any] = {
        "json_serializer": _json_serializer,
        "json_deserializer": orjson.loads,
        # Statement parameters hold connection configs: keep them out of errors and logs.
        "hide_parameters": True,
    }
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, **common, **kwargs)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False}, **common, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        # pysqlite's own transaction handling would defeat SAVEPOINT and BEGIN IMMEDIATE;
        # SQLAlchemy's documented fix is to turn it off and emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Straight to the driver: this runs once per request, and a SQLAlchemy execution
        # would cost more than the BEGIN itself.
        statement = connection.get_execution_options().get("sqlite_begin", "BEGIN")
        connection.connection.dbapi_connection.execute(statement)

    return engine


def writer(engine: Engine) -> Engine:
    """The same engine, with transactions that begin as writers."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**SQLITE_WRITE)
    return engine
