"""Column types that differ between SQLite and PostgreSQL; the rest of the code sees one type."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

# A JSON document: JSONB on PostgreSQL, JSON text on SQLite.
JSONDocument: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


def ordered_string(length: int) -> TypeEngine[str]:
    """A string column that sorts by code point on both databases.

    SQLite compares strings bytewise (BINARY); PostgreSQL's default collation follows the
    locale. The "C" collation makes list order and paging cursors agree across the two.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")
