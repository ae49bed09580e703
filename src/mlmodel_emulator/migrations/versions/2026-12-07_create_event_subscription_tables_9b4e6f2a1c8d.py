"""Create the event subscription tables: the entities and their versions, each destination's
delivery state, and the events that used up their retries; event_subscription is counted in
entity_count by the same triggers as the other entity tables.

Revision ID: 9b4e6f2a1c8d
Revises: 7c41e2a9d5f3
Create Date: 2026-12-07 11:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9b4e6f2a1c8d"
down_revision: str | None = "7c41e2a9d5f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
# SQLite numbers rows itself only for a column declared INTEGER PRIMARY KEY.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE = "event_subscription"
# Frozen copies of migration 7c41e2a9d5f3's.
COUNT_SLOTS = 8
PG_REFERENCING = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def _ordered_string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


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
        TABLE,
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", _ordered_string(256), nullable=False),
        sa.Column("fqn", _ordered_string(512), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("version_tenths", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("doc", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_subscription")),
        sa.UniqueConstraint("fqn", name=op.f("uq_event_subscription_fqn")),
    )
    op.create_index("ix_event_subscription_name_id", TABLE, ["name", "id"], unique=False)
    op.create_table(
        "event_subscription_version",
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("version_tenths", sa.Integer(), nullable=False),
        sa.Column("doc", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["event_subscription.id"],
            name=op.f("fk_event_subscription_version_entity_id_event_subscription"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "entity_id", "version_tenths", name=op.f("pk_event_subscription_version")
        ),
    )
    op.create_table(
        "subscription_delivery",
        sa.Column("destination_id", sa.String(length=36), nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("cursor_seq", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", sa.BigInteger(), nullable=False),
        sa.Column("status", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["event_subscription.id"],
            name=op.f("fk_subscription_delivery_subscription_id_event_subscription"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("destination_id", name=op.f("pk_subscription_delivery")),
    )
    op.create_index(
        op.f("ix_subscription_delivery_subscription_id"),
        "subscription_delivery",
        ["subscription_id"],
        unique=False,
    )
    op.create_table(
        "subscription_failed_event",
        sa.Column("seq", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("destination_id", sa.String(length=36), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=1024), nullable=False),
        sa.Column("event", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["event_subscription.id"],
            name=op.f("fk_subscription_failed_event_subscription_id_event_subscription"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_subscription_failed_event")),
    )
    op.create_index(
        "ix_subscription_failed_event_subscription",
        "subscription_failed_event",
        ["subscription_id", "seq"],
        unique=False,
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for deleted in ("false", "true"):
        for slot in range(COUNT_SLOTS if postgres else 1):
            op.execute(
                "INSERT INTO entity_count (table_name, deleted, slot, n)"
                f" VALUES ('{TABLE}', {deleted}, {slot}, 0)"
            )
    if postgres:
        for operation, referencing in PG_REFERENCING.items():
            op.execute(
                f"CREATE TRIGGER {TABLE}_count_{operation} AFTER {operation.upper()} ON {TABLE}"
                f" {referencing} FOR EACH STATEMENT EXECUTE FUNCTION entity_count_{operation}()"
            )
    else:
        for statement in _sqlite_triggers(TABLE):
            op.execute(statement)


def downgrade() -> None:
    op.execute(f"DELETE FROM entity_count WHERE table_name = '{TABLE}'")
    op.drop_index("ix_subscription_failed_event_subscription", "subscription_failed_event")
    op.drop_table("subscription_failed_event")
    op.drop_index(op.f("ix_subscription_delivery_subscription_id"), "subscription_delivery")
    op.drop_table("subscription_delivery")
    op.drop_table("event_subscription_version")
    op.drop_index("ix_event_subscription_name_id", TABLE)
    # Its triggers go with the table.
    op.drop_table(TABLE)
