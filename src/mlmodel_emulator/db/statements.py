"""Statements whose SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import orjson
from sqlalchemy import (
    Column,
    Connection,
    Insert,
    Select,
    String,
    Table,
    any_,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy import column as sql_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, MultipleResultsFound


def _insert_ignoring(
    dialect_name: str,
    table: Table,
    conflict: Column[Any] | None = None,
    returning: Column[Any] | None = None,
) -> Insert:
    """INSERT ... ON CONFLICT [(conflict)] DO NOTHING [RETURNING returning], built once per
    form: building a statement costs about as much as running it."""
    return _built_insert_ignoring(
        dialect_name,
        table,
        None if conflict is None else conflict.key,
        None if returning is None else returning.key,
    )


# Keyed by column names: columns compare into SQL expressions, not booleans.
@lru_cache(maxsize=64)
def _built_insert_ignoring(
    dialect_name: str, table: Table, conflict: str | None, returning: str | None
) -> Insert:
    dialect = sqlite if dialect_name == "sqlite" else postgresql
    insert: Any = dialect.insert(table)
    statement: Insert
    if conflict is None:
        statement = insert.on_conflict_do_nothing()
    else:
        statement = insert.on_conflict_do_nothing(index_elements=[table.c[conflict]])
    return statement if returning is None else statement.returning(table.c[returning])


def insert_missing(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    key: Column[Any],
    *,
    any_conflict: bool = False,
) -> set[Any]:
    """INSERT the rows whose `key` is not taken yet; return the keys inserted.

    A row whose key another transaction took meanwhile is skipped, not an error, so the
    caller can treat it as an update (INSERT ... ON CONFLICT DO NOTHING RETURNING). With
    `any_conflict`, a row that collides on any unique column is skipped the same way.
    The rows go as parameters of one statement compiled once (SQLAlchemy's
    "insertmanyvalues" batches them into multi-row INSERTs), not as a statement built
    for each row count.
    """
    if not rows:
        return set()
    conflict = None if any_conflict else key
    statement = _insert_ignoring(connection.dialect.name, table, conflict, key)
    return set(connection.execute(statement, list(rows)).scalars())


def insert_ignoring_conflicts(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> None:
    """INSERT rows, skipping any that collide with one already there."""
    if rows:
        connection.execute(_insert_ignoring(connection.dialect.name, table), list(rows))


# On PostgreSQL an INSERT's row count is kept only when SQLAlchemy is asked to keep it.
_ROWCOUNT: Final = {"preserve_rowcount": True}


def insert_if_absent(connection: Connection, table: Table, row: dict[str, Any]) -> bool:
    """INSERT one row unless its key is taken; whether it went in.

    On PostgreSQL a row another transaction inserted and has not committed yet makes this
    wait for that transaction: it went in if the other rolled back.
    """
    statement = _insert_ignoring(connection.dialect.name, table)
    result = connection.execute(statement, row, execution_options=_ROWCOUNT)
    return result.rowcount == 1


@dataclass(frozen=True)
class ManyLookup:
    """SELECT ... WHERE column IN (values), each form built once.

    The statement text stays the same whatever the number of values, so the driver's
    cache and the server's plan cache serve it. PostgreSQL gets one array parameter
    (`= ANY(:values)`). SQLite, which has no arrays, gets the values as one JSON array
    unpacked by `json_each`, a statement `Direct` can run: an expanding IN, compiled anew
    for each execution, went through `Connection.execute`.
    """

    postgresql: Select[Any]
    sqlite: Direct

    def scalars(self, connection: Connection, values: Sequence[Any]) -> list[Any]:
        """The first column of every row."""
        if connection.dialect.name == "postgresql":
            return list(connection.execute(self.postgresql, {"values": list(values)}).scalars())
        rows = self.sqlite.rows(connection, {"values": orjson.dumps(list(values)).decode()})
        return [row[0] for row in rows]


def many_lookup(statement: Select[Any], column: Column[Any]) -> ManyLookup:
    """The lookup of `statement`'s rows whose `column` is among the values given."""
    as_array = bindparam("values", type_=postgresql.ARRAY(column.type))
    as_json = func.json_each(bindparam("values", type_=String())).table_valued("value")
    return ManyLookup(
        postgresql=statement.where(column == any_(as_array)),
        sqlite=Direct(statement.where(column.in_(select(as_json.c.value).scalar_subquery()))),
    )


class InsertNew:
    """INSERT rows that carry fresh identities, skipping those whose `key` is taken.

    One short statement whatever the number of rows, built once, without RETURNING. On
    PostgreSQL the rows travel as one JSON array that the server unpacks
    (`jsonb_to_recordset`): the driver then converts one parameter instead of one per
    value, and its query cache and the server's prepared statements serve the statement,
    where a multi-row VALUES list defeats both. On SQLite, an executemany (a loop in C).
    The inserted count tells whether every row went in; only when some row lost a race for
    its key are the rows that did go in looked up, by their `identity` (made fresh by the
    caller, so a row holding it is one of these). With `any_conflict`, a row that collides
    on any unique column (a user's email) is skipped the same way.
    """

    def __init__(
        self, table: Table, key: Column[Any], identity: Column[Any], *, any_conflict: bool = False
    ) -> None:
        self._key = key.key
        self._identity = identity.key
        names = [column.key for column in table.columns]
        records = (
            func.jsonb_to_recordset(bindparam("rows", type_=postgresql.JSONB))
            .table_valued(*(sql_column(column.key, column.type) for column in table.columns))
            .render_derived(name="r", with_types=True)
        )
        self.postgresql = (
            postgresql.insert(table)
            .from_select(names, select(*(records.c[name] for name in names)))
            .on_conflict_do_nothing(index_elements=None if any_conflict else [key])
            .execution_options(preserve_rowcount=True)
        )
        self._sqlite = Direct(
            _insert_ignoring("sqlite", table, None if any_conflict else key).execution_options(
                preserve_rowcount=True
            )
        )
        self._inserted = many_lookup(select(key), identity)

    def execute(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> set[Any]:
        """Insert what is free; return the keys of the rows inserted."""
        if not rows:
            return set()
        if connection.dialect.name == "postgresql":
            inserted = connection.execute(self.postgresql, {"rows": list(rows)}).rowcount
        else:
            inserted = self._sqlite.run(connection, rows)
        if inserted == len(rows):
            return {row[self._key] for row in rows}
        identities = [row[self._identity] for row in rows]
        return set(self._inserted.scalars(connection, identities))


def lock_for_replacing(connection: Connection, tables: Sequence[Table]) -> None:
    """Keep other writers out of these tables until the transaction ends; readers go on
    seeing what was committed before it. PostgreSQL: LOCK TABLE ... IN EXCLUSIVE MODE, in
    the order given (parents first, the order writers take them). SQLite: a write
    transaction (BEGIN IMMEDIATE) already holds the one write lock."""
    if connection.dialect.name == "postgresql" and tables:
        preparer = connection.dialect.identifier_preparer
        names = ", ".join(preparer.format_table(table) for table in tables)
        connection.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))


# The pg_advisory_lock key of schema migrations: a fixed 63-bit number.
MIGRATION_LOCK_KEY = int.from_bytes(b"mlmigrat", "big") & (2**63 - 1)


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """One schema migration at a time: replicas that start together (``docker compose up
    --scale``) run ``migrate`` together, and all but the first would fail on tables the first
    is creating. PostgreSQL: a session advisory lock, committed around so that the migration
    gets transactions of its own. SQLite: nothing, a file has one writer at a time."""
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.execute(select(func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
    connection.commit()
    try:
        yield
    finally:
        connection.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
        connection.commit()


class Direct:
    """A hot statement run on the driver's connection, compiled once.

    SQLAlchemy's work around one execution (about 13 µs on SQLite, 37 µs on PostgreSQL: the
    execution context, parameter and result handling) costs three times what SQLite takes
    to run a short statement, and a PUT runs four. Inside a transaction begun by SQLAlchemy,
    the statement's SQL goes straight to the driver with its parameters converted as
    SQLAlchemy would convert them (JSON documents through the engine's serializer), its rows
    converted back the same way, and a driver error raised as the DBAPIError SQLAlchemy
    would raise. On PostgreSQL that is SQLAlchemy's own error handling
    (`Connection._handle_dbapi_exception`), so a lost connection is invalidated and flagged
    as it is for any statement; its cursor events are sent to any listener (the check costs
    nothing without one); and only one parameter set at a time goes direct, since
    SQLAlchemy runs a list of them as one multi-row statement (insertmanyvalues). Elsewhere
    (outside a transaction) it is an ordinary `connection.execute`. Only statements without
    expanding parameters qualify.
    """

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        # By the parameter names given: an INSERT sets the columns its parameters name.
        self._compiled: dict[tuple[str, ...], _DirectSql] = {}
        self._compiled_pg: dict[tuple[str, ...], _DirectPg] = {}

    def _sql(self, connection: Connection, names: Iterable[str]) -> _DirectSql | None:
        if connection.dialect.name != "sqlite" or not connection.in_transaction():
            return None
        key = tuple(names)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _DirectSql.of(self.statement, connection.dialect, key)
        return compiled

    def _pg(self, connection: Connection, names: Iterable[str]) -> _DirectPg | None:
        if connection.dialect.name != "postgresql" or not connection.in_transaction():
            return None
        key = tuple(names)
        compiled = self._compiled_pg.get(key)
        if compiled is None:
            compiled = self._compiled_pg[key] = _DirectPg.of(
                self.statement, connection.dialect, key
            )
        return compiled

    def rows(self, connection: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Every row of a SELECT, converted as SQLAlchemy converts them."""
        compiled = self._sql(connection, params)
        if compiled is None:
            on_pg = self._pg(connection, params)
            if on_pg is not None:
                rows: list[tuple[Any, ...]] = on_pg.run(connection, params, fetch=True)
                return rows
            return [tuple(row) for row in connection.execute(self.statement, params)]
        cursor = compiled.run(connection, [params])
        return compiled.convert(cursor.fetchall())

    def scalar_one_or_none(self, connection: Connection, params: dict[str, Any]) -> Any:
        rows = self.rows(connection, params)
        if len(rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was required")
        return rows[0][0] if rows else None

    def run(self, connection: Connection, params: Sequence[dict[str, Any]]) -> int:
        """Run a write once per parameter set (an executemany); the rows it touched."""
        compiled = self._sql(connection, params[0]) if params else None
        if compiled is None:
            on_pg = self._pg(connection, params[0]) if len(params) == 1 else None
            if on_pg is not None:
                return int(on_pg.run(connection, params[0], fetch=False))
            return int(connection.execute(self.statement, list(params)).rowcount)
        return int(compiled.run(connection, params).rowcount)


@dataclass(frozen=True)
class _DirectSql:
    sql: str
    # Each positional parameter's name and converter (None: given as is).
    binds: tuple[tuple[str, Any], ...]
    results: tuple[Any, ...]

    @classmethod
    def of(cls, statement: Any, dialect: Any, names: Sequence[str]) -> _DirectSql:
        compiled: Any = statement.compile(dialect=dialect, column_keys=list(names))
        assert compiled.positional
        assert not compiled.literal_execute_params
        binds = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            assert not bind.expanding
            binds.append((name, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        selected = statement.selected_columns if isinstance(statement, Select) else ()
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected
        )
        return cls(compiled.string, tuple(binds), results)

    def run(self, connection: Connection, params: Sequence[dict[str, Any]]) -> Any:
        """Execute on the driver's connection; a driver error becomes SQLAlchemy's."""
        values = [
            tuple(
                given[name] if convert is None else convert(given[name])
                for name, convert in self.binds
            )
            for given in params
        ]
        driver: Any = connection.connection.driver_connection
        try:
            if len(values) == 1:
                return driver.execute(self.sql, values[0])
            return driver.executemany(self.sql, values)
        except connection.dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(
                self.sql,
                values,
                error,
                connection.dialect.loaded_dbapi.Error,
                hide_parameters=True,
                dialect=connection.dialect,
                ismulti=len(values) != 1,
            ) from error

    def convert(self, rows: list[Any]) -> list[tuple[Any, ...]]:
        return _converted(rows, self.results)


def _converted(rows: list[Any], results: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Rows as SQLAlchemy gives them: each value through its column's result processor."""
    if not any(results):
        return [tuple(row) for row in rows]
    return [
        tuple(
            value if convert is None else convert(value)
            for value, convert in zip(row, results, strict=True)
        )
        for row in rows
    ]


@dataclass(frozen=True)
class _DirectPg:
    """A statement compiled for psycopg, its parameters by name (SQLAlchemy's pyformat)."""

    sql: str
    # Each placeholder's key in the SQL, the parameter it takes (None: the statement's own
    # value), the statement's own value, and the converter (None: given as is).
    binds: tuple[tuple[str, str | None, Any, Any], ...]
    results: tuple[Any, ...]

    @classmethod
    def of(cls, statement: Any, dialect: Any, names: Sequence[str]) -> _DirectPg:
        compiled: Any = statement.compile(dialect=dialect, column_keys=list(names))
        assert not compiled.positional
        assert not compiled.literal_execute_params
        given = set(names)
        binds = []
        for name, bind in compiled.binds.items():
            assert not bind.expanding
            key = compiled.escaped_bind_names.get(name, name)
            taken = name if name in given else None
            if taken is None:
                assert bind.callable is None, name
                assert not bind.required, name
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            binds.append((key, taken, bind.value, convert))
        # A SELECT's columns, or what a DML statement returns (RETURNING).
        returned = list(getattr(statement, "exported_columns", ()))
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in returned
        )
        return cls(compiled.string, tuple(binds), results)

    def run(self, connection: Connection, given: dict[str, Any], *, fetch: bool) -> Any:
        """Execute once on psycopg; the converted rows (fetch) or the rows touched."""
        values = {}
        for key, taken, own, convert in self.binds:
            value = own if taken is None else given[taken]
            values[key] = value if convert is None else convert(value)
        driver: Any = connection.connection.driver_connection
        cursor = driver.cursor()
        # Listeners of SQLAlchemy's cursor events (tracing, statement counts) see it as they
        # see any statement; checked as SQLAlchemy checks, so none costs nothing.
        observed = connection._has_events or connection.engine._has_events
        try:
            try:
                if observed:
                    connection.dispatch.before_cursor_execute(
                        connection, cursor, self.sql, values, None, False
                    )
                cursor.execute(self.sql, values)
                if observed:
                    connection.dispatch.after_cursor_execute(
                        connection, cursor, self.sql, values, None, False
                    )
                if not fetch:
                    return int(cursor.rowcount)
                rows = cursor.fetchall()
            except connection.dialect.loaded_dbapi.Error as error:
                # SQLAlchemy's own handling: a lost connection is invalidated and flagged
                # (connection_invalidated), other errors wrapped as for any statement.
                connection._handle_dbapi_exception(error, self.sql, values, cursor, None)
        finally:
            cursor.close()
        return _converted(rows, self.results)
