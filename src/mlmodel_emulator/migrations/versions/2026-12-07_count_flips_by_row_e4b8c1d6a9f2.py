"""PostgreSQL: entity_count follows an UPDATE by a row trigger that fires only when `deleted`
flips, in place of a statement trigger that ran on every UPDATE.

The statement trigger kept both transition tables and ran its function for every UPDATE of a
counted table, a PUT's included, though only a soft delete or a restore moves a count: about
40 µs of the server's time a row. A row trigger `AFTER UPDATE OF deleted ... WHEN (OLD.deleted
IS DISTINCT FROM NEW.deleted)` is not even looked at by an UPDATE that leaves `deleted` out of
its SET list (Store.replace_many sets only the document columns then). Inserts and deletes keep
their statement triggers: a bulk of new rows is still one counter update. SQLite already counts
flips by a row trigger of this kind.

Revision ID: e4b8c1d6a9f2
Revises: 9b4e6f2a1c8d
Create Date: 2026-12-07 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "e4b8c1d6a9f2"
down_revision: str | None = "9b4e6f2a1c8d"
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
    "event_subscription",
)

# One row moved from one side of the count to the other: +1 where it is now, -1 where it was.
FLIP_FUNCTION = f"""
CREATE FUNCTION entity_count_flip() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE entity_count AS c
    SET n = c.n + CASE WHEN c.deleted = NEW.deleted THEN 1 ELSE -1 END
    WHERE c.table_name = TG_TABLE_NAME AND c.slot = pg_backend_pid() % {COUNT_SLOTS};
    RETURN NULL;
END $$"""

# 7c41e2a9d5f3's update function, for the downgrade.
STATEMENT_FUNCTION = f"""
CREATE FUNCTION entity_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE entity_count AS c SET n = c.n + d.k
    FROM (SELECT deleted, sum(k) AS k FROM (SELECT deleted, 1 AS k FROM new_rows
     UNION ALL SELECT deleted, -1 FROM old_rows) AS moved GROUP BY deleted
     HAVING sum(k) <> 0) AS d
    WHERE c.table_name = TG_TABLE_NAME AND c.deleted = d.deleted
      AND c.slot = pg_backend_pid() % {COUNT_SLOTS};
    RETURN NULL;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FLIP_FUNCTION)
    for table in COUNTED_TABLES:
        op.execute(f"DROP TRIGGER {table}_count_update ON {table}")
        op.execute(
            f"CREATE TRIGGER {table}_count_update AFTER UPDATE OF deleted ON {table}"
            " FOR EACH ROW WHEN (OLD.deleted IS DISTINCT FROM NEW.deleted)"
            " EXECUTE FUNCTION entity_count_flip()"
        )
    op.execute("DROP FUNCTION entity_count_update()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(STATEMENT_FUNCTION)
    for table in COUNTED_TABLES:
        op.execute(f"DROP TRIGGER {table}_count_update ON {table}")
        op.execute(
            f"CREATE TRIGGER {table}_count_update AFTER UPDATE ON {table}"
            " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
            " FOR EACH STATEMENT EXECUTE FUNCTION entity_count_update()"
        )
    op.execute("DROP FUNCTION entity_count_flip()")
