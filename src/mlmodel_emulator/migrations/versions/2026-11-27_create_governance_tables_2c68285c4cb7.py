"""Create the governance tables: users, teams and their members, domains, classifications, tags.

Revision ID: 2c68285c4cb7
Revises: 6dfbfb14fd1f
Create Date: 2026-11-27 10:21:13.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import SchemaItem

revision: str = "2c68285c4cb7"
down_revision: str | None = "6dfbfb14fd1f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

# Tables with one JSON document per entity, and the length of their FQN column.
ENTITY_TABLES = {"app_user": 512, "team": 512, "domain": 512, "classification": 512, "tag": 1024}


def _ordered_string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def _entity_columns(table: str) -> list[sa.Column[Any]]:
    """The columns every governance table shares, as in mlmodel_service."""
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", _ordered_string(256), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("version_tenths", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("doc", JSON_DOCUMENT, nullable=False),
        sa.Column("fqn", _ordered_string(ENTITY_TABLES[table]), nullable=False),
    ]


def _create_entity_table(table: str, *extra: SchemaItem) -> None:
    op.create_table(
        table,
        *_entity_columns(table),
        *extra,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("fqn", name=op.f(f"uq_{table}_fqn")),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(f"ix_{table}_name_id", ["name", "id"], unique=False)


def upgrade() -> None:
    _create_entity_table(
        "app_user",
        sa.Column("email", sa.String(length=127), nullable=False),
        sa.UniqueConstraint("email", name=op.f("uq_app_user_email")),
    )
    _create_entity_table("team")
    op.create_table(
        "team_member",
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_team_member_team_id_team"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_team_member_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_member")),
    )
    with op.batch_alter_table("team_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_member_user_id"), ["user_id"], unique=False)

    _create_entity_table("domain")
    _create_entity_table("classification")
    _create_entity_table(
        "tag",
        sa.Column("classification_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["classification_id"],
            ["classification.id"],
            name=op.f("fk_tag_classification_id_classification"),
            ondelete="CASCADE",
        ),
    )
    with op.batch_alter_table("tag", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tag_classification_id"), ["classification_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tag_classification_id"))
    with op.batch_alter_table("team_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_member_user_id"))
    op.drop_table("team_member")
    for table in ("tag", "classification", "domain", "team", "app_user"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_name_id")
        op.drop_table(table)
