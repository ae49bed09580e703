"""Create the ML model tables: current models, their past versions and their domains.

Revision ID: 0f92d63cb843
Revises: af6ff2fac2f6
Create Date: 2026-12-06 19:42:59.324236
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0f92d63cb843"
down_revision: str | None = "af6ff2fac2f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _ordered_string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:
    op.create_table(
        "mlmodel",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", _ordered_string(256), nullable=False),
        sa.Column("fqn", _ordered_string(1024), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("version_tenths", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("doc", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["mlmodel_service.id"],
            name=op.f("fk_mlmodel_service_id_mlmodel_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mlmodel")),
        sa.UniqueConstraint("fqn", name=op.f("uq_mlmodel_fqn")),
    )
    with op.batch_alter_table("mlmodel", schema=None) as batch_op:
        batch_op.create_index("ix_mlmodel_name_id", ["name", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mlmodel_service_id"), ["service_id"], unique=False)

    op.create_table(
        "mlmodel_domain",
        sa.Column("mlmodel_id", sa.String(length=36), nullable=False),
        sa.Column("domain_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["mlmodel_id"],
            ["mlmodel.id"],
            name=op.f("fk_mlmodel_domain_mlmodel_id_mlmodel"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mlmodel_id", "domain_id", name=op.f("pk_mlmodel_domain")),
    )
    with op.batch_alter_table("mlmodel_domain", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mlmodel_domain_domain_id"), ["domain_id"], unique=False
        )

    op.create_table(
        "mlmodel_version",
        sa.Column("mlmodel_id", sa.String(length=36), nullable=False),
        sa.Column("version_tenths", sa.Integer(), nullable=False),
        sa.Column("doc", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["mlmodel_id"],
            ["mlmodel.id"],
            name=op.f("fk_mlmodel_version_mlmodel_id_mlmodel"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mlmodel_id", "version_tenths", name=op.f("pk_mlmodel_version")),
    )


def downgrade() -> None:
    op.drop_table("mlmodel_version")
    with op.batch_alter_table("mlmodel_domain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mlmodel_domain_domain_id"))
    op.drop_table("mlmodel_domain")
    with op.batch_alter_table("mlmodel", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mlmodel_service_id"))
        batch_op.drop_index("ix_mlmodel_name_id")
    op.drop_table("mlmodel")
