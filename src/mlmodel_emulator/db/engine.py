"""Engine construction: the one place that knows which database it talks to."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled PostgreSQL connection unused for this long is pinged before it is handed out.
PING_AFTER_IDLE_S = 1.0
# Where a pooled connection's record notes since when it has been unused.
_IDLE_SINCE = "mlmodel_emulator_idle_since"


def _json_serializer(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, *, background_checkpoints: bool = False, **kwargs: Any) -> Engine:
    """Create the engine for a database URL, with each dialect's settings.

    background_checkpoints: on SQLite, no commit checkpoints the write-ahead log; the
    caller runs a checkpoints.WalCheckpointer instead.
    """
    parsed = make_url(url)
    common: dict[str, Any] = {
        "json_serializer": _json_serializer,
        "json_deserializer": orjson.loads,
        # Statement parameters hold connection configs: keep them out of errors and logs.
        "hide_parameters": True,
    }
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_size=10, max_overflow=30, **common, **kwargs)
        _ping_when_idle(engine)
        return engine

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
        if background_checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    def _do_begin(dbapi_connection: Any) -> None:
        # The dialect's own hook rather than a "begin" event: any connection event makes
        # SQLAlchemy dispatch events around every statement, about 4% of a request. A write
        # transaction has already begun (begin_writing) and is kept.
        if not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN")

    engine.dialect.do_begin = _do_begin  # type: ignore[method-assign]

    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use when it sat unused for PING_AFTER_IDLE_S.

    What pool_pre_ping does, minus its round trip on every checkout (a tenth of a
    PostgreSQL write here): connections in steady use are handed out unchecked, and one
    left idle long enough to have been dropped (a server restart, an idle timeout) is
    pinged, and replaced with the whole pool when the server is gone, as pre-ping does.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _: Any) -> None:
        if _idle_too_long(record.info) and not _answers(engine.dialect, dbapi_connection):
            raise exc.InvalidatePoolError()


def _idle_too_long(info: dict[Any, Any]) -> bool:
    idle_since = info.get(_IDLE_SINCE)
    return idle_since is not None and time.monotonic() - idle_since >= PING_AFTER_IDLE_S


def _answers(dialect: Any, dbapi_connection: Any) -> bool:
    """Ping the server; False when it is gone (any other error is raised)."""
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as error:
        if dialect.is_disconnect(error, dbapi_connection, None):
            return False
        raise
    return True


def still_answers(connection: Connection) -> bool:
    """Whether a connection kept out of the pool still reaches its server (SQLite has none
    to lose); worth asking of one that sat unused for PING_AFTER_IDLE_S."""
    if connection.dialect.name == "sqlite":
        return True
    return _answers(connection.dialect, connection.connection.dbapi_connection)


def begin_writing(connection: Connection) -> None:
    """Begin a write transaction on a connection that has none yet; then `begin()` it.

    On SQLite it takes the write lock at once (BEGIN IMMEDIATE), so two writers queue on
    busy_timeout instead of failing with SQLITE_BUSY when a read lock is upgraded. Straight
    to the driver: a SQLAlchemy execution would cost more than the BEGIN itself.
    """
    if connection.dialect.name == "sqlite":
        connection.connection.dbapi_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]


def snapshot_reads(connection: Connection) -> Connection:
    """The connection, set so that its next transaction sees the database as of one moment.

    PostgreSQL's default, READ COMMITTED, gives each statement its own snapshot; REPEATABLE
    READ keeps the first one (the pool resets the level when the connection returns). An
    SQLite read transaction already sees one snapshot.
    """
    if connection.dialect.name == "sqlite":
        return connection
    return connection.execution_options(isolation_level="REPEATABLE READ")
