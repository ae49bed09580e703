"""Add subscription_delivery.parked_version: a disabled destination set aside until its
subscription has another version.

Revision ID: 4f2d8b6c1e97
Revises: e4b8c1d6a9f2
Create Date: 2026-12-07 12:25:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4f2d8b6c1e97"
down_revision: str | None = "e4b8c1d6a9f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscription_delivery") as batch:
        batch.add_column(sa.Column("parked_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscription_delivery") as batch:
        batch.drop_column("parked_version")
