"""The db layer on both databases: inserts that skip taken keys, transactions, idle pings."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from mlmodel_emulator.db import engine as engine_module
from mlmodel_emulator.db.engine import make_engine
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.db.statements import InsertNew
from mlmodel_emulator.mlmodel_services.models import MlModelServiceRecord

_services = MlModelServiceRecord.__table__
_INSERT_NEW = InsertNew(_services, key=_services.c.fqn, identity=_services.c.id)  # type: ignore[attr-defined]


def _row(fqn: str) -> dict[str, object]:
    entity_id = str(uuid.uuid4())
    doc = {"id": entity_id, "name": fqn, "fullyQualifiedName": fqn, "version": 0.1}
    return {
        "id": entity_id,
        "name": fqn,
        "fqn": fqn,
        "service_type": "Mlflow",
        "deleted": False,
        "version_tenths": 1,
        "updated_at": 1,
        "doc": doc,
    }


@pytest.fixture
def clean_engine(engine: Engine) -> Iterator[Engine]:
    yield engine
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM mlmodel_service"))


def test_insert_new_all_free_returns_every_key_and_stores_the_rows(clean_engine):
    rows = [_row("a"), _row("b"), _row("c")]

    with clean_engine.begin() as connection:
        inserted = _INSERT_NEW.execute(connection, rows)

    assert inserted == {"a", "b", "c"}
    with clean_engine.begin() as connection:
        stored = connection.execute(select(_services.c.id, _services.c.doc)).all()  # type: ignore[attr-defined]
    assert sorted(stored) == sorted((row["id"], row["doc"]) for row in rows)


def test_insert_new_taken_keys_are_skipped_and_left_out_of_the_answer(clean_engine):
    first = [_row("a"), _row("c")]
    with clean_engine.begin() as connection:
        _INSERT_NEW.execute(connection, first)
    second = [_row("a"), _row("b"), _row("c"), _row("d")]

    with clean_engine.begin() as connection:
        inserted = _INSERT_NEW.execute(connection, second)

    assert inserted == {"b", "d"}
    with clean_engine.begin() as connection:
        ids = set(connection.execute(select(_services.c.id)).scalars())  # type: ignore[attr-defined]
    assert ids == {first[0]["id"], first[1]["id"], second[1]["id"], second[3]["id"]}


def test_insert_new_one_taken_row_returns_nothing(clean_engine):
    with clean_engine.begin() as connection:
        _INSERT_NEW.execute(connection, [_row("a")])

    with clean_engine.begin() as connection:
        assert _INSERT_NEW.execute(connection, [_row("a")]) == set()


def test_database_write_rolls_back_when_the_function_raises(clean_engine):
    database = Database(clean_engine)

    def fail(connection: object) -> None:
        _INSERT_NEW.execute(connection, [_row("a")])  # type: ignore[arg-type]
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        database.write(fail)

    assert (
        database.read(lambda c: c.execute(text("SELECT count(*) FROM mlmodel_service")).scalar())
        == 0
    )


def test_database_write_commits_what_the_function_wrote(clean_engine):
    database = Database(clean_engine)

    database.write(lambda connection: _INSERT_NEW.execute(connection, [_row("a"), _row("b")]))

    assert (
        database.read(lambda c: c.execute(text("SELECT count(*) FROM mlmodel_service")).scalar())
        == 2
    )


def test_pooled_connection_dropped_while_idle_is_replaced_before_use(database_url, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite connections cannot be dropped by a server")
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.05)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        time.sleep(0.1)

        with engine.connect() as connection:
            assert connection.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        engine.dispose()


def test_database_transaction_begun_inside_another_uses_a_second_connection(clean_engine):
    database = Database(clean_engine)

    def write_then_read(connection: object) -> int:
        _INSERT_NEW.execute(connection, [_row("a")])  # type: ignore[arg-type]
        # Not committed yet: a second connection does not see the row.
        return database.read(
            lambda other: other.execute(text("SELECT count(*) FROM mlmodel_service")).scalar()
        )

    assert database.write(write_then_read) == 0
    assert (
        database.read(lambda c: c.execute(text("SELECT count(*) FROM mlmodel_service")).scalar())
        == 1
    )


def test_database_kept_connection_dropped_while_idle_is_replaced_before_use(
    database_url, monkeypatch
):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite connections cannot be dropped by a server")
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.05)
    database = Database(make_engine(database_url))
    try:
        pid = database.read(lambda c: c.execute(text("SELECT pg_backend_pid()")).scalar())
        conninfo = database.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        time.sleep(0.1)

        assert database.read(lambda c: c.execute(text("SELECT pg_backend_pid()")).scalar()) != pid
    finally:
        database.dispose()


def _terminate(database: Database, pid: int) -> None:
    conninfo = database.engine.url.set(drivername="postgresql").render_as_string(
        hide_password=False
    )
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.1)


@pytest.mark.parametrize("method", ["read", "write"])
def test_database_call_on_a_connection_dropped_before_its_ping_runs_again(
    database_url, monkeypatch, method
):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite connections cannot be dropped by a server")
    # Dropped well within the idle time that triggers a ping: only the call itself finds out.
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 3600.0)
    database = Database(make_engine(database_url))
    calls: list[int] = []

    def backend_pid(connection: object) -> int:
        calls.append(1)
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar())  # type: ignore[attr-defined]

    try:
        pid = database.read(backend_pid)
        _terminate(database, pid)

        again = getattr(database, method)(backend_pid)

        assert again != pid
        assert len(calls) == 3  # the first call, the one on the dead connection, its retry
    finally:
        database.dispose()


def test_database_error_other_than_a_lost_connection_is_not_retried(clean_engine):
    database = Database(clean_engine)
    calls: list[int] = []

    def broken(connection: object) -> None:
        calls.append(1)
        connection.execute(text("SELECT * FROM no_such_table"))  # type: ignore[attr-defined]

    try:
        with pytest.raises(DBAPIError):
            database.read(broken)
    finally:
        database.dispose()
    assert calls == [1]
