"""Tables of the ML model service resource: the current entities and their past versions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mlmodel_emulator.db.base import Base
from mlmodel_emulator.db.types import JSONDocument, ordered_string


class MlModelServiceRecord(Base):
    """The current version of each service: its JSON document plus the columns queries use."""

    __tablename__ = "mlmodel_service"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(ordered_string(256))
    fqn: Mapped[str] = mapped_column(ordered_string(512), unique=True)
    service_type: Mapped[str] = mapped_column(String(32))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # In tenths (0.1 is 1), so that versions never drift the way float sums do.
    version_tenths: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    doc: Mapped[dict[str, Any]] = mapped_column(JSONDocument)

    # One page index: include=all pages merge its two `deleted` ranges (Store.list_page).
    __table_args__ = (Index("ix_mlmodel_service_deleted_name_id", "deleted", "name", "id"),)


class MlModelServiceDomainRecord(Base):
    """Which domains a service belongs to, kept from its document for the ?domain= filter."""

    __tablename__ = "mlmodel_service_domain"

    service_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("mlmodel_service.id", ondelete="CASCADE"), primary_key=True
    )
    domain_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class MlModelServiceVersionRecord(Base):
    """A past version of a service, as it was before the change that replaced it."""

    __tablename__ = "mlmodel_service_version"

    service_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("mlmodel_service.id", ondelete="CASCADE"), primary_key=True
    )
    version_tenths: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
