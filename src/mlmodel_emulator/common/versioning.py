"""Entity versions and change descriptions, computed from two JSON documents (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import orjson

# entityHistory.json: versions are multiples of 0.1 and the first one is 0.1. They are kept
# as whole tenths so that no float sum ever drifts (0.1 + 0.2 != 0.3).
FIRST_VERSION: Final = 1

# ServiceUpdater.updateConnection records placeholders, never the connection itself.
OLD_CONNECTION: Final = orjson.dumps("old-encrypted-value").decode()
NEW_CONNECTION: Final = orjson.dumps("new-encrypted-value").decode()


_VERSION_TEXT = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9})?", re.ASCII)


def next_version(tenths: int) -> int:
    """EntityUtil.nextVersion: a minor bump of 0.1."""
    return tenths + 1


def to_wire(tenths: int) -> float:
    """The version as OpenMetadata writes it: 0.1, 1.0, 1.1."""
    return tenths / 10


def from_wire(value: float | str) -> int:
    """Read a version given as a number or a string; raise ValueError unless a multiple of 0.1."""
    text = str(value)
    # Plain decimal notation only: no exponents, underscores, signs or non-ASCII digits.
    if not _VERSION_TEXT.fullmatch(text):
        raise ValueError(f"Invalid version {value}")
    tenths = Decimal(text) * 10
    if tenths != tenths.to_integral_value() or tenths < 1:
        raise ValueError(f"Invalid version {value}")
    return int(tenths)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one entity field is compared and how its changes are written down."""

    name: str
    kind: str  # "scalar" | "json" | "list" | "secret"
    # The identity of a list item: one of its keys, or "*" for the whole item (a changed
    # item is then one removed and one added).
    key: str = "id"


def _encode(value: Any) -> str:
    return orjson.dumps(value).decode()


def _whole(item: Any) -> bytes:
    return orjson.dumps(item, option=orjson.OPT_SORT_KEYS)


def _keyed(key: str) -> Callable[[Any], Any]:
    def identity(item: Any) -> Any:
        return item[key]

    return identity


def _present(doc: Mapping[str, Any], name: str) -> bool:
    return doc.get(name) is not None


def diff(
    original: Mapping[str, Any],
    updated: Mapping[str, Any],
    fields: Sequence[FieldSpec],
    *,
    previous_version: float,
) -> dict[str, Any] | None:
    """The ChangeDescription from original to updated, or None when nothing changed.

    Encodings follow EntityUpdater.recordChange: scalars raw, objects and list items as
    JSON text, connections as placeholders.
    """
    added: list[dict[str, Any]] = []
    updated_: list[dict[str, Any]] = []
    deleted: list[dict[str, Any]] = []
    for spec in fields:
        old, new = original.get(spec.name), updated.get(spec.name)
        if spec.kind == "list":
            old_items, new_items = old or [], new or []
            identity = _whole if spec.key == "*" else _keyed(spec.key)
            old_keys = {identity(item) for item in old_items}
            new_keys = {identity(item) for item in new_items}
            gained = [item for item in new_items if identity(item) not in old_keys]
            lost = [item for item in old_items if identity(item) not in new_keys]
            if gained:
                added.append({"name": spec.name, "newValue": _encode(gained)})
            if lost:
                deleted.append({"name": spec.name, "oldValue": _encode(lost)})
            continue
        if old == new:
            continue
        old_value: Any
        new_value: Any
        if spec.kind == "secret":
            old_value, new_value = OLD_CONNECTION, NEW_CONNECTION
        elif spec.kind == "json":
            old_value, new_value = _encode(old), _encode(new)
        else:
            old_value, new_value = old, new
        if spec.kind == "secret":
            # ServiceUpdater.updateConnection records both placeholders, whatever was there.
            updated_.append({"name": spec.name, "oldValue": old_value, "newValue": new_value})
        elif not _present(original, spec.name):
            added.append({"name": spec.name, "newValue": new_value})
        elif not _present(updated, spec.name):
            deleted.append({"name": spec.name, "oldValue": old_value})
        else:
            updated_.append({"name": spec.name, "oldValue": old_value, "newValue": new_value})
    if not (added or updated_ or deleted):
        return None
    return {
        "fieldsAdded": sorted(added, key=lambda change: change["name"]),
        "fieldsUpdated": sorted(updated_, key=lambda change: change["name"]),
        "fieldsDeleted": sorted(deleted, key=lambda change: change["name"]),
        "previousVersion": previous_version,
    }
