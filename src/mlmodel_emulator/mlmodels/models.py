"""Tables of the ML model resource: the current models, their past versions, their domains."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mlmodel_emulator.db.base import Base
from mlmodel_emulator.db.types import JSONDocument, ordered_string


class MlModelRecord(Base):
    """The current version of each model: its JSON document plus the columns queries use."""

    __tablename__ = "mlmodel"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(ordered_string(256))
    # '<service>.<model>', each part quoted when it holds a dot.
    fqn: Mapped[str] = mapped_column(ordered_string(1024), unique=True)
    # The service it belongs to: deleted with it (the core removes models first).
    service_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("mlmodel_service.id", ondelete="CASCADE"), index=True
    )
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # In tenths (0.1 is 1), so that versions never drift the way float sums do.
    version_tenths: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    doc: Mapped[dict[str, Any]] = mapped_column(JSONDocument)

    # One page index: include=all pages merge its two `deleted` ranges (Store.list_page).
    __table_args__ = (Index("ix_mlmodel_deleted_name_id", "deleted", "name", "id"),)


class MlModelDomainRecord(Base):
    """Which domains a model belongs to, kept from its document for the ?domain= filter."""

    __tablename__ = "mlmodel_domain"

    mlmodel_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("mlmodel.id", ondelete="CASCADE"), primary_key=True
    )
    domain_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class MlModelVersionRecord(Base):
    """A past version of a model, as it was before the change that replaced it."""

    __tablename__ = "mlmodel_version"

    mlmodel_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("mlmodel.id", ondelete="CASCADE"), primary_key=True
    )
    version_tenths: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
