"""Statements whose SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Result, Select, Table, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite


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
    dialect = sqlite if connection.dialect.name == "sqlite" else postgresql
    insert = dialect.insert(table)
    if any_conflict:
        statement = insert.on_conflict_do_nothing()
    else:
        statement = insert.on_conflict_do_nothing(index_elements=[key])
    return set(connection.execute(statement.returning(key), list(rows)).scalars())


def insert_ignoring_conflicts(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> None:
    """INSERT rows, skipping any that collide with one already there."""
    if rows:
        dialect = sqlite if connection.dialect.name == "sqlite" else postgresql
        connection.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))


@dataclass(frozen=True)
class ManyLookup:
    """SELECT ... WHERE column IN (values), each form built once.

    PostgreSQL gets one array parameter (`= ANY(:values)`): the statement text stays the
    same whatever the number of values, so the driver's cache and the server's plan cache
    serve it. SQLite, which has no arrays, gets an expanding IN.
    """

    postgresql: Select[Any]
    other: Select[Any]

    def execute(self, connection: Connection, values: Sequence[Any]) -> Result[Any]:
        if connection.dialect.name == "postgresql":
            return connection.execute(self.postgresql, {"values": list(values)})
        return connection.execute(self.other, {"values": list(values)})


def many_lookup(statement: Select[Any], column: Column[Any]) -> ManyLookup:
    """The lookup of `statement`'s rows whose `column` is among the values given."""
    as_array = bindparam("values", type_=postgresql.ARRAY(column.type))
    return ManyLookup(
        postgresql=statement.where(column == any_(as_array)),
        other=statement.where(column.in_(bindparam("values", expanding=True))),
    )
