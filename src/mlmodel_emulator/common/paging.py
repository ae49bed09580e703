"""List paging: the opaque before/after cursors of OpenMetadata's list endpoints."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson

from mlmodel_emulator.errors import BadRequest


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in the (name, id) order."""

    name: str
    id: str


def encode_cursor(cursor: Cursor) -> str:
    """RestUtil.encodeCursor: URL-safe base64, padded, of {"name", "id"}."""
    raw = orjson.dumps({"name": cursor.name, "id": cursor.id})
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(value: str | None) -> Cursor | None:
    """Read a cursor back; an empty one means none. A cursor we did not issue is a 400."""
    if not value:
        return None
    try:
        padded = value + "=" * (-len(value) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        name, id_ = data["name"], data["id"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeEncodeError):
        raise BadRequest(f"Invalid paging cursor {value}") from None
    if not isinstance(name, str) or not isinstance(id_, str):
        raise BadRequest(f"Invalid paging cursor {value}")
    return Cursor(name=name, id=id_)
