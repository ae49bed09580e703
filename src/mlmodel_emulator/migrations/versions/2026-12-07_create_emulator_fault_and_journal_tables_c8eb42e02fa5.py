"""Create the admin API's tables: fault rules and the request journal.

Revision ID: c8eb42e02fa5
Revises: 0f92d63cb843
Create Date: 2026-12-07 02:58:57.646725
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c8eb42e02fa5"
down_revision: str | None = "0f92d63cb843"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
# SQLite numbers rows itself only for a column declared INTEGER PRIMARY KEY.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "emulator_fault",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("doc", JSON_DOCUMENT, nullable=False),
        sa.Column("fired", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emulator_fault")),
    )
    # Written on every request: on PostgreSQL an unlogged table, whose commits wait for no
    # WAL flush (about 3 ms a request here). A crash empties it; a journal of the latest
    # requests can afford that.
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "emulator_journal",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("caller", sa.Text(), nullable=True),
        sa.Column("duration_us", sa.BigInteger(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emulator_journal")),
        prefixes=unlogged,
    )


def downgrade() -> None:
    op.drop_table("emulator_journal")
    op.drop_table("emulator_fault")
