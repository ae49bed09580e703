"""Create the ML model service tables: current entities and their past versions.

Revision ID: 6dfbfb14fd1f
Revises:
Create Date: 2026-11-27 09:55:25.005351
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "6dfbfb14fd1f"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _ordered_string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:
    op.create_table(
        "mlmodel_service",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", _ordered_string(256), nullable=False),
        sa.Column("fqn", _ordered_string(512), nullable=False),
        sa.Column("service_type", sa.String(length=32), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("version_tenths", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("doc", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mlmodel_service")),
        sa.UniqueConstraint("fqn", name=op.f("uq_mlmodel_service_fqn")),
    )
    with op.batch_alter_table("mlmodel_service", schema=None) as batch_op:
        batch_op.create_index("ix_mlmodel_service_name_id", ["name", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mlmodel_service_service_type"), ["service_type"], unique=False
        )

    op.create_table(
        "mlmodel_service_version",
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("version_tenths", sa.Integer(), nullable=False),
        sa.Column("doc", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["mlmodel_service.id"],
            name=op.f("fk_mlmodel_service_version_service_id_mlmodel_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "service_id", "version_tenths", name=op.f("pk_mlmodel_service_version")
        ),
    )


def downgrade() -> None:
    op.drop_table("mlmodel_service_version")
    with op.batch_alter_table("mlmodel_service", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mlmodel_service_service_type"))
        batch_op.drop_index("ix_mlmodel_service_name_id")
    op.drop_table("mlmodel_service")
