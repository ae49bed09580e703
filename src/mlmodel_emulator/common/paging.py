"""List paging: the opaque before/after cursors of OpenMetadata's list endpoints."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Page:
    """One page of documents and its `paging` object."""

    docs: list[dict[str, Any]]
    paging: dict[str, Any]


def _cursor_of(doc: dict[str, Any]) -> str:
    return encode_cursor(Cursor(name=doc["name"], id=doc["id"]))


def assemble_page(
    rows: list[dict[str, Any]],
    *,
    limit: int,
    total: int,
    after: Cursor | None,
    before: Cursor | None,
) -> Page:
    """Cut `limit + 1` fetched rows to a page and set its cursors (om-api §2.9).

    Forward, `after` points past the last row when more follow, and `before` at the first
    row when the page was asked for with an `after` cursor. Backward (rows fetched nearest
    first), `before` points at the first row when more precede, and `after` always at the
    last.
    """
    paging: dict[str, Any] = {"total": total}
    if before is not None:
        rows = rows[::-1]
        if len(rows) > limit:
            rows = rows[1:]
            paging["before"] = _cursor_of(rows[0])
        if rows:
            paging["after"] = _cursor_of(rows[-1])
    else:
        if len(rows) > limit:
            rows = rows[:limit]
            paging["after"] = _cursor_of(rows[-1])
        if after is not None and rows:
            paging["before"] = _cursor_of(rows[0])
    return Page(docs=rows, paging=paging)


# ---------------------------------------------------------------------------- versions


def encode_version_cursor(tenths: int) -> str:
    """A position in an entity's versions: URL-safe base64, padded, of {"version": tenths}."""
    return base64.urlsafe_b64encode(orjson.dumps({"version": tenths})).decode("ascii")


def decode_version_cursor(value: str | None) -> int | None:
    """Read a version cursor back; an empty one means none. One we did not issue is a 400."""
    if not value:
        return None
    try:
        padded = value + "=" * (-len(value) % 4)
        tenths = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))["version"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeEncodeError):
        raise BadRequest(f"Invalid paging cursor {value}") from None
    if type(tenths) is not int or tenths < 0:
        raise BadRequest(f"Invalid paging cursor {value}")
    return tenths


@dataclass(frozen=True, slots=True)
class VersionPage:
    """Versions newest first, and the cursors of the pages on either side (None: no page)."""

    docs: list[dict[str, Any]]
    before: str | None
    after: str | None
