"""What a database failure becomes: retried, a 503 with Retry-After, or left as an error."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Connection, RootTransaction, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from mlmodel_emulator.db import failures
from mlmodel_emulator.db import session as session_module
from mlmodel_emulator.db.engine import make_engine
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.errors import ServiceUnavailable
from tests.databases import fresh_database


class _DriverError(Exception):
    """A driver error carrying a SQLSTATE, as psycopg's do."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def _operational(orig: Exception) -> OperationalError:
    return OperationalError("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    ("orig", "unavailable", "conflict"),
    [
        (psycopg.OperationalError("connection refused"), True, False),
        (_DriverError("57P01"), True, False),  # admin_shutdown: the server is stopping
        (_DriverError("57P03"), True, False),  # cannot_connect_now: it is starting up
        (_DriverError("08006"), True, False),  # connection_failure
        (_DriverError("53300"), True, False),  # too_many_connections
        (_DriverError("40P01"), False, True),  # deadlock_detected
        (_DriverError("40001"), False, True),  # serialization_failure
        (_DriverError("42P01"), False, False),  # undefined_table: a real fault
        (sqlite3.OperationalError("database is locked"), True, False),
        (sqlite3.OperationalError("no such table: mlmodel"), False, False),
    ],
)
def test_errors_are_classified_by_what_a_retry_could_do(orig, unavailable, conflict):
    error = _operational(orig)

    assert failures.is_unavailable(error) is unavailable
    assert failures.is_conflict(error) is conflict


def test_an_integrity_error_is_neither():
    error = IntegrityError("INSERT", {}, _DriverError("23505"))

    assert not failures.is_unavailable(error)
    assert not failures.is_conflict(error)


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'failures.db'}"))
    yield database
    database.dispose()


def test_a_deadlock_victim_runs_again_until_it_commits(sqlite_database, monkeypatch):
    monkeypatch.setattr(session_module, "CONFLICT_PAUSE_S", 0.0)
    calls = []

    def fn(connection: Connection) -> str:
        calls.append(1)
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
        if len(calls) < 3:
            raise _operational(_DriverError("40P01"))
        return "done"

    assert sqlite_database.write(fn) == "done"
    assert len(calls) == 3
    # The two failed runs were rolled back: one row, from the run that committed.
    assert sqlite_database.read(lambda c: c.execute(text("SELECT count(*) FROM t")).scalar()) == 1


def test_conflicts_that_go_on_are_a_503_with_retry_after(sqlite_database, monkeypatch):
    monkeypatch.setattr(session_module, "CONFLICT_PAUSE_S", 0.0)
    calls = []

    def fn(connection: Connection) -> None:
        calls.append(1)
        raise _operational(_DriverError("40001"))

    with pytest.raises(ServiceUnavailable) as caught:
        sqlite_database.write(fn)

    assert len(calls) == session_module.CONFLICT_ATTEMPTS
    assert caught.value.status_code == 503
    assert caught.value.headers == {"Retry-After": "1"}


def test_other_database_errors_are_not_retried(sqlite_database):
    calls = []

    def fn(connection: Connection) -> None:
        calls.append(1)
        raise _operational(_DriverError("42P01"))

    with pytest.raises(OperationalError):
        sqlite_database.write(fn)
    assert len(calls) == 1


def test_a_real_deadlock_on_postgresql_is_retried_and_both_writes_commit(tmp_path):
    with fresh_database("postgresql", tmp_path) as url:
        database = Database(make_engine(url))
        try:
            database.write(lambda c: c.execute(text("CREATE TABLE t (id INT PRIMARY KEY, n INT)")))
            database.write(lambda c: c.execute(text("INSERT INTO t VALUES (1, 0), (2, 0)")))
            both_hold_their_first_row = threading.Barrier(2, timeout=10)
            attempts = {1: 0, 2: 0}
            errors: list[BaseException] = []

            def lock_both(connection: Connection, first: int, second: int) -> None:
                attempts[first] += 1
                connection.execute(text("UPDATE t SET n = n + 1 WHERE id = :id"), {"id": first})
                if attempts[first] == 1:
                    both_hold_their_first_row.wait()
                connection.execute(text("UPDATE t SET n = n + 1 WHERE id = :id"), {"id": second})

            def writer(first: int, second: int) -> None:
                try:
                    database.write(lock_both, first, second)
                except BaseException as error:
                    errors.append(error)

            threads = [
                threading.Thread(target=writer, args=(1, 2)),
                threading.Thread(target=writer, args=(2, 1)),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)

            assert errors == []
            # One of the two was the deadlock's victim and ran again.
            assert sorted(attempts.values()) == [1, 2]
            rows = database.read(lambda c: c.execute(text("SELECT n FROM t ORDER BY id")).all())
            assert [n for (n,) in rows] == [2, 2]
        finally:
            database.dispose()


def test_a_commit_lost_with_its_connection_is_a_503_and_never_run_again(
    sqlite_database, monkeypatch
):
    calls = []

    def lost(self: object) -> None:
        raise OperationalError("COMMIT", {}, _DriverError("08006"), connection_invalidated=True)

    monkeypatch.setattr(RootTransaction, "commit", lost)

    with pytest.raises(ServiceUnavailable):
        sqlite_database.write(lambda connection: calls.append(1))

    # It may have committed before the connection went: running it again could apply it twice.
    assert calls == [1]


def _terminate(url: str, pid: int) -> None:
    """End a server session from outside it, as a restart does, and wait until it is gone."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as other:
        ended = other.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,)).fetchone()
    assert ended == (True,)


@pytest.mark.parametrize("writing", [True, False], ids=["write", "read"])
def test_a_commit_whose_connection_the_server_ended_is_a_503_and_the_next_one_commits(
    tmp_path, writing
):
    # The server ends the session after the transaction's last statement, before its
    # COMMIT: the commit fails with the connection gone. That must be the 503, not an
    # error about the transaction that SQLAlchemy still holds for the lost connection.
    with fresh_database("postgresql", tmp_path) as url:
        database = Database(make_engine(url))
        run = database.write if writing else database.read
        try:
            database.write(lambda c: c.execute(text("CREATE TABLE t (n INT)")))
            calls = []

            def fn(connection: Connection) -> None:
                calls.append(1)
                if writing:
                    connection.execute(text("INSERT INTO t VALUES (1)"))
                pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
                _terminate(url, pid)

            with pytest.raises(ServiceUnavailable) as caught:
                run(fn)

            assert caught.value.headers == {"Retry-After": "1"}
            # It may have committed before the connection went: it is not run again.
            assert calls == [1]
            assert run(lambda c: c.execute(text("SELECT count(*) FROM t")).scalar_one()) == 0
        finally:
            database.dispose()


def test_a_commit_refused_on_sqlite_leaves_the_connection_to_the_next_transaction(
    sqlite_database, monkeypatch
):
    # SQLite keeps the transaction open when its COMMIT fails (a lock held beyond
    # busy_timeout): the connection kept between transactions must not start the next
    # one inside it.
    sqlite_database.write(lambda c: c.execute(text("CREATE TABLE t (n INTEGER)")))
    dialect = sqlite_database.engine.dialect
    real_commit = dialect.do_commit
    refusals = [sqlite3.OperationalError("database is locked")]

    def commit_once_refused(dbapi_connection: object) -> None:
        if refusals:
            raise refusals.pop()
        real_commit(dbapi_connection)

    monkeypatch.setattr(dialect, "do_commit", commit_once_refused)

    with pytest.raises(ServiceUnavailable):
        sqlite_database.write(lambda c: c.execute(text("INSERT INTO t VALUES (1)")))
    sqlite_database.write(lambda c: c.execute(text("INSERT INTO t VALUES (2)")))

    rows = sqlite_database.read(lambda c: c.execute(text("SELECT n FROM t")).all())
    assert [n for (n,) in rows] == [2]
