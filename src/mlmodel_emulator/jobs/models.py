"""The table of asynchronous jobs, so that any worker process can answer for any job."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from mlmodel_emulator.db.base import Base
from mlmodel_emulator.db.types import JSONDocument


class JobRecord(Base):
    """One job: its JSON document plus the columns derived from it."""

    __tablename__ = "job"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger)
    doc: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
