"""Add mlmodel_service_domain: the domains of each service, for the list's domain filter.

Revision ID: 5b1e0c7d9a21
Revises: 2c68285c4cb7
Create Date: 2026-11-27 11:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1e0c7d9a21"
down_revision: str | None = "2c68285c4cb7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mlmodel_service_domain",
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("domain_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["mlmodel_service.id"],
            name=op.f("fk_mlmodel_service_domain_service_id_mlmodel_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service_id", "domain_id", name=op.f("pk_mlmodel_service_domain")),
    )
    with op.batch_alter_table("mlmodel_service_domain", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mlmodel_service_domain_domain_id"), ["domain_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("mlmodel_service_domain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mlmodel_service_domain_domain_id"))
    op.drop_table("mlmodel_service_domain")
