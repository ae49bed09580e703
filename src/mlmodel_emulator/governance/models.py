"""Tables of the governance entities: one JSON document per entity plus the columns queries use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mlmodel_emulator.db.base import Base
from mlmodel_emulator.db.types import JSONDocument, ordered_string


class _EntityColumns:
    """The columns every governance table shares, as mlmodel_service has them."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(ordered_string(256))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # In tenths (0.1 is 1), so that versions never drift the way float sums do.
    version_tenths: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    doc: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class UserRecord(_EntityColumns, Base):
    """A user or a bot. `user` is a reserved word in PostgreSQL, hence app_user."""

    __tablename__ = "app_user"

    fqn: Mapped[str] = mapped_column(ordered_string(512), unique=True)
    # user_entity.email is unique in OpenMetadata too; stored lower-case, as UserMapper does.
    email: Mapped[str] = mapped_column(String(127), unique=True)

    __table_args__ = (Index("ix_app_user_name_id", "name", "id"),)


class TeamRecord(_EntityColumns, Base):
    __tablename__ = "team"

    fqn: Mapped[str] = mapped_column(ordered_string(512), unique=True)

    __table_args__ = (Index("ix_team_name_id", "name", "id"),)


class TeamMemberRecord(Base):
    """A user in a team: both user.teams and team.users are read from here."""

    __tablename__ = "team_member"

    team_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("team.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class DomainRecord(_EntityColumns, Base):
    __tablename__ = "domain"

    fqn: Mapped[str] = mapped_column(ordered_string(512), unique=True)

    __table_args__ = (Index("ix_domain_name_id", "name", "id"),)


class ClassificationRecord(_EntityColumns, Base):
    __tablename__ = "classification"

    fqn: Mapped[str] = mapped_column(ordered_string(512), unique=True)

    __table_args__ = (Index("ix_classification_name_id", "name", "id"),)


class TagRecord(_EntityColumns, Base):
    """A tag of a classification; its FQN is '<classification>.<tag>'."""

    __tablename__ = "tag"

    fqn: Mapped[str] = mapped_column(ordered_string(1024), unique=True)
    classification_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("classification.id", ondelete="CASCADE"), index=True
    )

    __table_args__ = (Index("ix_tag_name_id", "name", "id"),)
