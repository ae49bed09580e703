"""The tables of fault rules and of the request journal, shared by every worker process."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mlmodel_emulator.db.base import Base
from mlmodel_emulator.db.types import JSONDocument

# SQLite numbers rows itself only for a column declared INTEGER PRIMARY KEY.
_ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


class FaultRecord(Base):
    """One fault rule: what was asked for (the document) and how often it fired."""

    __tablename__ = "emulator_fault"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Microseconds since the epoch: the rules are tried oldest first.
    created_at: Mapped[int] = mapped_column(BigInteger)
    doc: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    fired: Mapped[int] = mapped_column(Integer)
    # How many more times it may fire; None for a rule without `times`.
    remaining: Mapped[int | None] = mapped_column(Integer)


class JournalRecord(Base):
    """One request as it was answered (an UNLOGGED table on PostgreSQL: see its migration)."""

    __tablename__ = "emulator_journal"

    id: Mapped[int] = mapped_column(_ROW_ID, primary_key=True, autoincrement=True)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)
    query: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    caller: Mapped[str | None] = mapped_column(Text)
    duration_us: Mapped[int] = mapped_column(BigInteger)
    pid: Mapped[int] = mapped_column(Integer)
