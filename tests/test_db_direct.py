"""db.statements.Direct: hot statements straight to the driver, as SQLAlchemy would run them."""

from __future__ import annotations

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError, IntegrityError

from mlmodel_emulator.db.engine import make_engine
from mlmodel_emulator.db.statements import Direct, many_lookup
from tests.databases import fresh_database

METADATA = MetaData()
THING = Table(
    "thing",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True),
    Column("flag", Boolean),
    Column("doc", JSON),
)
BY_NAME = Direct(select(THING.c.doc, THING.c.flag).where(THING.c.name == bindparam("name")))
ADD = Direct(THING.insert())
BY_NAMES = many_lookup(select(THING.c.doc).order_by(THING.c.name), THING.c.name)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'direct.sqlite'}")
    METADATA.create_all(engine)
    yield engine
    engine.dispose()


def test_direct_converts_parameters_and_rows_as_sqlalchemy_does(engine):
    doc = {"a": [1, "two", None], "b": {"c": True}}
    with engine.begin() as connection:
        added = ADD.run(connection, [{"name": "x", "flag": True, "doc": doc}])
        rows = BY_NAME.rows(connection, {"name": "x"})
        stored = connection.execute(select(THING.c.doc, THING.c.flag)).one()

    assert added == 1
    assert rows == [(doc, True)] == [tuple(stored)]


def test_direct_driver_error_is_raised_as_sqlalchemys(engine):
    with engine.begin() as connection:
        ADD.run(connection, [{"name": "x", "flag": False, "doc": {}}])

        with pytest.raises(IntegrityError):
            ADD.run(connection, [{"name": "x", "flag": False, "doc": {}}])


def test_direct_executemany_writes_every_row(engine):
    with engine.begin() as connection:
        added = ADD.run(
            connection, [{"name": f"n{i}", "flag": False, "doc": [i]} for i in range(3)]
        )
        found = [BY_NAME.scalar_one_or_none(connection, {"name": f"n{i}"}) for i in range(4)]

    assert (added, found) == (3, [[0], [1], [2], None])


def test_direct_outside_a_transaction_runs_through_sqlalchemy(engine):
    with engine.connect() as connection:
        ADD.run(connection, [{"name": "x", "flag": True, "doc": {"k": 1}}])
        connection.commit()

    with engine.connect() as connection:
        assert BY_NAME.scalar_one_or_none(connection, {"name": "x"}) == {"k": 1}


NAMES = ["b\"q'uote", "a.dot", "é", "c"]


def test_many_lookup_on_sqlite_skips_sqlalchemy_inside_a_transaction(engine, monkeypatch):
    with engine.begin() as connection:
        ADD.run(connection, [{"name": n, "flag": False, "doc": [n]} for n in NAMES])

        def refuse(*args, **kwargs):
            raise AssertionError("went through Connection.execute")

        monkeypatch.setattr(Connection, "execute", refuse)
        found = BY_NAMES.scalars(connection, [*NAMES[1:], "missing"])

    assert found == [[n] for n in sorted(NAMES[1:])]


def test_many_lookup_outside_a_transaction_runs_through_sqlalchemy(engine):
    with engine.begin() as connection:
        ADD.run(connection, [{"name": n, "flag": False, "doc": [n]} for n in NAMES])

    with engine.connect() as connection:
        assert BY_NAMES.scalars(connection, NAMES) == [[n] for n in sorted(NAMES)]


# ------------------------------------------------------------------------------ PostgreSQL

PG_THING = Table(
    "direct_thing",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True),
    Column("flag", Boolean),
    Column("doc", JSONB),
)
PG_BY_NAME = Direct(
    select(PG_THING.c.doc, PG_THING.c.flag).where(PG_THING.c.name == bindparam("name"))
)
PG_ADD = Direct(PG_THING.insert())
# A statement with a value of its own (the 7), besides the one given.
PG_RENAME = Direct(
    update(PG_THING)
    .where(PG_THING.c.name == bindparam("old"))
    .values(name=bindparam("new"), id=literal(7, Integer))
    .returning(PG_THING.c.doc)
)


@pytest.fixture
def pg_engine(tmp_path):
    with fresh_database("postgresql", tmp_path) as url:
        engine = make_engine(url)
        PG_THING.metadata.create_all(engine)
        yield engine
        engine.dispose()


def _refuse_sqlalchemy_execution(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("went through SQLAlchemy's execution")

    monkeypatch.setattr(Connection, "_execute_context", refuse)


def test_direct_on_postgresql_skips_sqlalchemy_and_converts_as_it_does(pg_engine, monkeypatch):
    doc = {"a": [1, "two", None], "b": {"c": True}, "é": "\u2028"}
    with pg_engine.begin() as connection:
        _refuse_sqlalchemy_execution(monkeypatch)
        added = PG_ADD.run(connection, [{"name": "x", "flag": True, "doc": doc}])
        rows = PG_BY_NAME.rows(connection, {"name": "x"})
        missing = PG_BY_NAME.scalar_one_or_none(connection, {"name": "y"})
        renamed = PG_RENAME.run(connection, [{"old": "x", "new": "z"}])
        monkeypatch.undo()
        stored = connection.execute(select(PG_THING.c.id, PG_THING.c.name, PG_THING.c.doc)).one()

    assert added == 1
    assert rows == [(doc, True)]
    assert missing is None
    assert renamed == 1
    assert tuple(stored) == (7, "z", doc)


def test_direct_on_postgresql_raises_sqlalchemys_errors(pg_engine):
    with pg_engine.begin() as connection:
        PG_ADD.run(connection, [{"name": "x", "flag": False, "doc": {}}])
        with pytest.raises(IntegrityError):
            PG_ADD.run(connection, [{"name": "x", "flag": False, "doc": {}}])


def test_direct_on_postgresql_flags_a_lost_connection_as_sqlalchemy_does(pg_engine):
    with pg_engine.connect() as killer:
        killer.execution_options(isolation_level="AUTOCOMMIT")
        with pg_engine.connect() as connection:
            transaction = connection.begin()
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            killer.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")

            with pytest.raises(DBAPIError) as raised:
                PG_BY_NAME.rows(connection, {"name": "x"})

            assert raised.value.connection_invalidated
            assert connection.invalidated
            transaction.rollback()


def test_direct_on_postgresql_is_seen_by_cursor_event_listeners(pg_engine):
    seen: list[tuple[str, str]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(("before", statement))

    def after(conn, cursor, statement, parameters, context, executemany):
        seen.append(("after", statement))

    event.listen(pg_engine, "before_cursor_execute", before)
    event.listen(pg_engine, "after_cursor_execute", after)
    try:
        with pg_engine.begin() as connection:
            PG_BY_NAME.rows(connection, {"name": "x"})
    finally:
        event.remove(pg_engine, "before_cursor_execute", before)
        event.remove(pg_engine, "after_cursor_execute", after)

    assert [when for when, _ in seen] == ["before", "after"]
    assert all("FROM direct_thing" in statement for _, statement in seen)


def test_direct_on_postgresql_runs_many_rows_through_sqlalchemy(pg_engine, monkeypatch):
    executed: list[str] = []
    original = Connection._execute_context

    def counted(self, *args, **kwargs):
        executed.append("sqlalchemy")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "_execute_context", counted)
    with pg_engine.begin() as connection:
        PG_ADD.run(connection, [{"name": f"n{i}", "flag": False, "doc": [i]} for i in range(3)])
        monkeypatch.undo()
        stored = connection.execute(select(PG_THING.c.doc).order_by(PG_THING.c.name)).scalars()

    # One multi-row INSERT (SQLAlchemy's insertmanyvalues), not one statement a row.
    assert executed == ["sqlalchemy"]
    assert list(stored) == [[0], [1], [2]]
