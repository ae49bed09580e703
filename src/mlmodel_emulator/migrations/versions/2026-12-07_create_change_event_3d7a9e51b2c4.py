"""Create change_event: the change event feed, one row per real change of an entity.

Revision ID: 3d7a9e51b2c4
Revises: c8eb42e02fa5
Create Date: 2026-12-07 04:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3d7a9e51b2c4"
down_revision: str | None = "c8eb42e02fa5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
# SQLite numbers rows itself only for a column declared INTEGER PRIMARY KEY.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "change_event",
        sa.Column("seq", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("doc", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_change_event")),
    )
    op.create_index("ix_change_event_timestamp", "change_event", ["timestamp"])


def downgrade() -> None:
    op.drop_index("ix_change_event_timestamp", table_name="change_event")
    op.drop_table("change_event")
