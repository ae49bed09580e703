"""PATCH of an entity: a JSON Patch (RFC 6902) applied to the entity as its caller sees it,
then checked and versioned as OpenMetadata's EntityRepository.patch does (om-api §2.11).
"""

from __future__ import annotations

from typing import Any, Final

import jsonpatch
import jsonpointer
import orjson
from pydantic import ValidationError
from sqlalchemy import Connection

from mlmodel_emulator.common import versioning
from mlmodel_emulator.entities import core
from mlmodel_emulator.entities.answers import check_if_match, to_response
from mlmodel_emulator.entities.kind import NO_CHANGE, UPDATED, Caller, Doc, Kind, Outcome, Rule
from mlmodel_emulator.entities.permissions import Operation
from mlmodel_emulator.errors import BadRequest, describe_errors
from mlmodel_emulator.events import service as events

CONTENT_TYPE: Final = "application/json-patch+json"

_OPS: Final = frozenset({"add", "remove", "replace", "move", "copy", "test"})
_NEEDS_VALUE: Final = frozenset({"add", "replace", "test"})
_NEEDS_FROM: Final = frozenset({"move", "copy"})

# The field a path starts with names the operation to authorize (JsonPatchUtils and
# ResourceRegistry); a patch touching any other field needs EditAll.
_EDIT_OPERATIONS: Final = {
    "description": Operation.EditDescription,
    "owners": Operation.EditOwners,
    "tags": Operation.EditTags,
}
_OPERATION_ORDER: Final = list(Operation)

# Kept from the stored entity whatever a patch does to them: its identity and what the server
# alone maintains (restorePatchAttributes); each kind adds its own.
KEPT: Final = frozenset(
    {
        "id",
        "name",
        "fullyQualifiedName",
        "href",
        "version",
        "updatedAt",
        "updatedBy",
        "changeDescription",
        "incrementalChangeDescription",
        "followers",
    }
)


# ---------------------------------------------------------------------------- the request


def parse(body: bytes, content_type: str | None) -> jsonpatch.JsonPatch:
    """The patch of a request, or 400 for a wrong content type or a malformed patch."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != CONTENT_TYPE:
        raise BadRequest(f"A PATCH needs Content-Type {CONTENT_TYPE}, not {media_type or 'none'}")
    try:
        operations = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Malformed JSON in the request body: {exc}") from None
    if not isinstance(operations, list):
        raise BadRequest("A JSON Patch must be an array of operations")
    for index, operation in enumerate(operations):
        _check_operation(index, operation)
    try:
        return jsonpatch.JsonPatch(operations)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise BadRequest(f"Invalid JSON Patch: {exc}") from None


def _check_operation(index: int, operation: Any) -> None:
    where = f"Invalid JSON Patch: operation {index}"
    if not isinstance(operation, dict):
        raise BadRequest(f"{where} must be an object")
    name = operation.get("op")
    if not isinstance(name, str) or name not in _OPS:
        raise BadRequest(f"{where} has op {name!r}; expected one of {sorted(_OPS)}")
    pointers = ["path", "from"] if name in _NEEDS_FROM else ["path"]
    for member in pointers:
        pointer = operation.get(member)
        if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
            raise BadRequest(f"{where} needs a JSON pointer string as '{member}'")
    if name in _NEEDS_VALUE and "value" not in operation:
        raise BadRequest(f"{where} ({name}) needs a 'value'")


def required_operations(patch: jsonpatch.JsonPatch) -> list[Operation]:
    """What the caller must be allowed to do for this patch: EditAll, or the narrower edits
    its paths name (a move also changes where it takes from)."""
    found: set[Operation] = set()
    for operation in patch.patch:
        pointers = [operation["path"]]
        if operation["op"] == "move":
            pointers.append(operation["from"])
        for pointer in pointers:
            field = jsonpointer.JsonPointer(pointer).parts[:1]
            edit = _EDIT_OPERATIONS.get(field[0]) if field else None
            if edit is None:
                return [Operation.EditAll]
            found.add(edit)
    return sorted(found, key=_OPERATION_ORDER.index)


# ---------------------------------------------------------------------------- the change


def _view(connection: Connection, kind: Kind[Any], stored: Doc, caller: Caller) -> Doc:
    """The entity as this caller reads it with fields=*: the document the patch was made on."""
    everything = frozenset(kind.relation_fields)
    (expanded,) = kind.expand(connection, [stored], everything)
    return to_response(
        kind,
        expanded,
        fields=everything,
        base_url=caller.base_url,
        cipher=caller.cipher,
        reveal_secrets=caller.principal.is_bot,
    )


def _apply(patch: jsonpatch.JsonPatch, view: Doc) -> Doc:
    try:
        patched = patch.apply(view)
    except (
        jsonpatch.JsonPatchException,
        jsonpointer.JsonPointerException,
        # The library reports some impossible paths (an index into an object, a key into
        # a string) as Python errors.
        TypeError,
        KeyError,
        IndexError,
        ValueError,
    ) as exc:
        raise BadRequest(f"The JSON Patch cannot be applied: {exc}") from None
    if not isinstance(patched, dict):
        raise BadRequest("The JSON Patch cannot be applied: the entity must remain an object")
    return patched


def _resolve(
    connection: Connection, kind: Kind[Any], original: Doc, view: Doc, patched: Doc, caller: Caller
) -> Doc:
    """The entity the patch asks for. Each field the patch changed is checked as a PUT checks
    it; PATCH replaces owners, tags and domains rather than merging them."""
    fixed = ["deleted", *(f.name for f in kind.fields if f.rule is Rule.FIXED)]
    patchable = [f.name for f in kind.fields if f.rule is not Rule.FIXED]
    kept = KEPT | kind.patch_kept
    for key in patched:
        if key not in kept and key not in fixed and key not in patchable:
            raise BadRequest(f"[query param {key} is not a recognized field]")
    for key in fixed:
        if patched.get(key) != view.get(key):
            raise BadRequest(f"{kind.entity_type} attribute {key} can't be modified")
    changed = [key for key in patchable if patched.get(key) != view.get(key)]
    # A null is the field removed.
    values = {key: patched[key] for key in changed if patched.get(key) is not None}
    core.check_storable(values)
    try:
        fields = kind.patch_model.model_validate(values)
    except ValidationError as exc:
        raise BadRequest(describe_errors(exc.errors())) from None
    kind.check_patched(fields)
    merged = dict(original)
    for key in changed:
        merged[key] = kind.patched_value(connection, key, fields, original, caller)
    return {key: value for key, value in merged.items() if value is not None}


def _session_start(
    connection: Connection, kind: Kind[Any], original: Doc, caller: Caller
) -> Doc | None:
    """The version before the caller's current editing session, when this patch belongs to
    that session and is to be merged into its version (EntityUpdater.consolidateChanges).

    A session is the same user changing the entity again within the session window, past its
    first version, without optimistic locking (an If-Match asks for exactly one version).
    """
    if caller.if_match is not None or caller.session_ms <= 0:
        return None
    if versioning.from_wire(original["version"]) <= versioning.FIRST_VERSION:
        return None
    if original.get("updatedBy") != caller.principal.name:
        return None
    if caller.now_ms - int(original["updatedAt"]) > caller.session_ms:
        return None
    previous = (original.get("changeDescription") or {}).get("previousVersion")
    if previous is None:
        return None
    doc = kind.store.get_version(connection, original["id"], versioning.from_wire(previous))
    return kind.open(doc, caller.cipher) if doc is not None else None


def _store(
    connection: Connection,
    kind: Kind[Any],
    stored: Doc,
    original: Doc,
    merged: Doc,
    caller: Caller,
) -> Outcome:
    """Write the patched entity; answer it with the change this patch made."""
    tracked = kind.tracked()
    incremental = versioning.diff(original, merged, tracked, previous_version=original["version"])
    if incremental is None:
        return Outcome(doc=stored, change=NO_CHANGE)
    stamp = {"updatedAt": caller.now_ms, "updatedBy": caller.principal.name}
    start = _session_start(connection, kind, original, caller)
    if start is None:
        version = versioning.next_version(versioning.from_wire(original["version"]))
        updated = {
            **merged,
            **stamp,
            "version": versioning.to_wire(version),
            "changeDescription": incremental,
        }
        kind.store.add_versions(connection, [core.stored_form(kind, stored)])
    else:
        change = versioning.diff(start, merged, tracked, previous_version=start["version"])
        if change is None:
            # The session's changes cancel out: the entity is back at the version before it.
            updated = {**merged, **stamp, "version": start["version"]}
            updated.pop("changeDescription", None)
            if start.get("changeDescription") is not None:
                updated["changeDescription"] = start["changeDescription"]
            kind.store.remove_version(
                connection, original["id"], versioning.from_wire(start["version"])
            )
        else:
            updated = {
                **merged,
                **stamp,
                "version": original["version"],
                "changeDescription": change,
            }
    sealed = kind.seal(updated, caller.cipher)
    kind.store.replace_many(connection, [core.stored_form(kind, sealed)], previous=[stored])
    # One event per PATCH: what it changed (incremental), and the version's whole change
    # when it was merged into an editing session.
    recorded = sealed.get("changeDescription")
    event = core.change_event(
        kind,
        UPDATED,
        sealed,
        caller,
        previous_version=original["version"] if start is None else start["version"],
        change=recorded,
        incremental=incremental,
    )
    events.record(connection, [event])
    return Outcome(doc={**sealed, "changeDescription": incremental}, change=UPDATED)


def apply_patch(
    connection: Connection,
    kind: Kind[Any],
    patch: jsonpatch.JsonPatch,
    *,
    entity_id: str | None = None,
    fqn: str | None = None,
    caller: Caller,
) -> Outcome:
    """PATCH by id or name. The answer's changeDescription is what this patch changed; the
    stored one covers the whole session when the patch was merged into it."""
    actor = caller.actor(connection)
    # find(id, NON_DELETED): a soft-deleted entity cannot be patched.
    stored = core.stored_for_change(connection, kind, entity_id, fqn, include_deleted=False)
    operations = required_operations(patch)
    if operations:
        core.authorize(connection, kind, actor, operations, stored.get("owners", []))
    check_if_match(stored, caller.if_match)
    original = kind.open(stored, caller.cipher)
    view = _view(connection, kind, stored, caller)
    merged = _resolve(connection, kind, original, view, _apply(patch, view), caller)
    return _store(connection, kind, stored, original, merged, caller)
