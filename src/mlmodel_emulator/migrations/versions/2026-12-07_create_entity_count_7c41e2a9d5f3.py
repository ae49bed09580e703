"""Create entity_count, kept by triggers, so paging.total needs no count(*); and the
(deleted, name, id) indexes the list pages of services and models walk.

Revision ID: 7c41e2a9d5f3
Revises: 3d9a7f1b6e20
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c41e2a9d5f3"
down_revision: str | None = "3d9a7f1b6e20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies: a later change to the models must not change what this revision did.
COUNT_SLOTS = 8
COUNTED_TABLES = (
    "mlmodel_service",
    "mlmodel",
    "app_user",
    "team",
    "domain",
    "classification",
    "tag",
)
PAGE_INDEXES = {
    "mlmodel_service": "ix_mlmodel_service_deleted_name_id",
    "mlmodel": "ix_mlmodel_deleted_name_id",
}

# PostgreSQL: statement-level triggers over transition tables, so a bulk of 100 rows is one
# counter update; each backend adds to its own slot, so concurrent writers seldom queue.
PG_FUNCTIONS = {
    "insert": "SELECT deleted, count(*) AS k FROM new_rows GROUP BY deleted",
    "delete": "SELECT deleted, -count(*) AS k FROM old_rows GROUP BY deleted",
    "update": (
        "SELECT deleted, sum(k) AS k FROM (SELECT deleted, 1 AS k FROM new_rows"
        " UNION ALL SELECT deleted, -1 FROM old_rows) AS moved GROUP BY deleted"
        " HAVING sum(k) <> 0"
    ),
}
PG_REFERENCING = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def _pg_function(operation: str) -> str:
    return f"""
CREATE FUNCTION entity_count_{operation}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE entity_count AS c SET n = c.n + d.k
    FROM ({PG_FUNCTIONS[operation]}) AS d
    WHERE c.table_name = TG_TABLE_NAME AND c.deleted = d.deleted
      AND c.slot = pg_backend_pid() % {COUNT_SLOTS};
    RETURN NULL;
END $$"""


def _sqlite_triggers(table: str) -> list[str]:
    def add(row: str, delta: str) -> str:
        return (
            f"UPDATE entity_count SET n = n {delta} WHERE table_name = '{table}'"
            f" AND deleted = {row}.deleted AND slot = 0;"
        )

    return [
        f"CREATE TRIGGER {table}_count_insert AFTER INSERT ON {table}"
        f" BEGIN {add('NEW', '+ 1')} END",
        f"CREATE TRIGGER {table}_count_delete AFTER DELETE ON {table}"
        f" BEGIN {add('OLD', '- 1')} END",
        f"CREATE TRIGGER {table}_count_update AFTER UPDATE OF deleted ON {table}"
        f" WHEN OLD.deleted IS NOT NEW.deleted BEGIN {add('OLD', '- 1')} {add('NEW', '+ 1')} END",
    ]


def upgrade() -> None:
    op.create_table(
        "entity_count",
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("table_name", "deleted", "slot"),
    )
    for table, index in PAGE_INDEXES.items():
        op.create_index(index, table, ["deleted", "name", "id"], unique=False)
    postgres = op.get_bind().dialect.name == "postgresql"
    slots = COUNT_SLOTS if postgres else 1
    if postgres:
        for operation in PG_FUNCTIONS:
            op.execute(_pg_function(operation))
    for table in COUNTED_TABLES:
        # Backfill: slot 0 holds what is there now, the other slots start at 0.
        for deleted in ("false", "true"):
            op.execute(
                f"INSERT INTO entity_count (table_name, deleted, slot, n) SELECT '{table}',"
                f" {deleted}, 0, count(*) FROM {table} WHERE deleted = {deleted}"
            )
            for slot in range(1, slots):
                op.execute(
                    "INSERT INTO entity_count (table_name, deleted, slot, n)"
                    f" VALUES ('{table}', {deleted}, {slot}, 0)"
                )
        if postgres:
            for operation, referencing in PG_REFERENCING.items():
                op.execute(
                    f"CREATE TRIGGER {table}_count_{operation} AFTER {operation.upper()} ON {table}"
                    f" {referencing} FOR EACH STATEMENT EXECUTE FUNCTION entity_count_{operation}()"
                )
        else:
            for statement in _sqlite_triggers(table):
                op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in COUNTED_TABLES:
        for operation in PG_FUNCTIONS:
            if postgres:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_count_{operation} ON {table}")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_count_{operation}")
    if postgres:
        for operation in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS entity_count_{operation}()")
    for table, index in PAGE_INDEXES.items():
        op.drop_index(index, table_name=table)
    op.drop_table("entity_count")
