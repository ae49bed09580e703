"""The change event table: one row per real change of an entity, in the order recorded."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import BigInteger, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from mlmodel_emulator.db.base import Base
from mlmodel_emulator.db.types import JSONDocument

# SQLite numbers rows itself only for a column declared INTEGER PRIMARY KEY.
_ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


class ChangeEventRecord(Base):
    """One ChangeEvent: its JSON document plus the columns the feed filters and pages on.
    `seq` is the order of recording (several events share a millisecond)."""

    __tablename__ = "change_event"
    __table_args__ = (Index("ix_change_event_timestamp", "timestamp"),)

    seq: Mapped[int] = mapped_column(_ROW_ID, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(32))
    entity_type: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    doc: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


CHANGE_EVENT = cast(Table, ChangeEventRecord.__table__)
