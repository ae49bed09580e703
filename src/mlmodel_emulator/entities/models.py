"""entity_count: how many rows each entity table holds, per deleted flag, kept by triggers.

Database triggers (migration 7c41e2a9d5f3) add and subtract on every insert, delete and
change of `deleted`, so no write path (API, bulk, admin reset or import) can forget them, and
paging.total reads a few rows instead of counting the table. PostgreSQL keeps COUNT_SLOTS
rows per key, each transaction adding to the one its backend picks (pid modulo the slots), so
concurrent writers rarely wait on one another's counter lock; a read sums them.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mlmodel_emulator.db.base import Base

COUNT_SLOTS: Final = 8
COUNTED_TABLES: Final = (
    "mlmodel_service",
    "mlmodel",
    "app_user",
    "team",
    "domain",
    "classification",
    "tag",
    "event_subscription",
)


class EntityCountRecord(Base):
    __tablename__ = "entity_count"

    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    deleted: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
