"""Drop the indexes no query needs, which every insert still wrote: (name, id) of services and
models, whose include=all pages the (deleted, name, id) index now serves, and the services'
service_type, which nothing filters on.

Revision ID: a6c3e9d2f104
Revises: 4f2d8b6c1e97
Create Date: 2026-12-07 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "a6c3e9d2f104"
down_revision: str | None = "4f2d8b6c1e97"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies: (table, index, columns), as the earlier revisions created them.
DROPPED = (
    ("mlmodel_service", "ix_mlmodel_service_name_id", ["name", "id"]),
    ("mlmodel_service", "ix_mlmodel_service_service_type", ["service_type"]),
    ("mlmodel", "ix_mlmodel_name_id", ["name", "id"]),
)


def upgrade() -> None:
    for table, index, _ in DROPPED:
        op.drop_index(index, table_name=table)


def downgrade() -> None:
    for table, index, columns in DROPPED:
        op.create_index(index, table, columns, unique=False)
