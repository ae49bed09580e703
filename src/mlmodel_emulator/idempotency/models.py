"""The table of idempotency keys and the answers they replay, shared by every worker process."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mlmodel_emulator.db.base import Base
from mlmodel_emulator.db.types import JSONDocument


class IdempotencyRecord(Base):
    """One caller's key: which request it was first sent with, and the answer it got.

    Written in the transaction of the request's own write, so a key is never stored
    without its effect, nor an effect without its key.
    """

    __tablename__ = "idempotency_key"

    principal: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # SHA-256 (hex) of the method, path, query string and body of the first request.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # Milliseconds since the epoch, on the service's clock.
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    # The answer: status, headers and body as sent. Status 0 while the request runs, in
    # its own transaction: no other transaction ever sees it so.
    status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    body: Mapped[bytes] = mapped_column(LargeBinary)
