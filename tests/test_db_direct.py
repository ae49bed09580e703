"""db.statements.Direct: hot statements straight to sqlite3, as SQLAlchemy would run them."""

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
    select,
)
from sqlalchemy.exc import IntegrityError

from mlmodel_emulator.db.engine import make_engine
from mlmodel_emulator.db.statements import Direct, many_lookup

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
