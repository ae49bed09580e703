"""PATCH of an ML model service: a JSON Patch (RFC 6902) applied to the entity as its caller
sees it, then checked and versioned as OpenMetadata's EntityRepository.patch does (om-api §2.11).
"""

from __future__ import annotations

from typing import Any, Final

import jsonpatch
import jsonpointer
import orjson
from pydantic import Field, ValidationError
from sqlalchemy import Connection

from mlmodel_emulator.common import versioning
from mlmodel_emulator.common.api import ApiModel, EntityReference, Style, TagLabel, storable_problem
from mlmodel_emulator.errors import BadRequest, EntityNotFound, describe_errors
from mlmodel_emulator.governance import references
from mlmodel_emulator.mlmodel_services import connections, permissions, repository, service
from mlmodel_emulator.mlmodel_services.schemas import MlModelConnectionRequest

Doc = dict[str, Any]
Operation = permissions.Operation

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

# What a patch may change; each is checked as in a create request.
_PATCHABLE: Final = (
    "displayName",
    "description",
    "connection",
    "style",
    "owners",
    "tags",
    "domains",
    "dataProducts",
    "ingestionRunner",
)
# Kept from the stored entity whatever a patch does to them: its identity and what the server
# alone maintains (restorePatchAttributes).
_KEPT: Final = frozenset(
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
        "pipelines",
        "testConnectionResult",
    }
)
# Refused when a patch changes them.
_FIXED: Final = ("deleted", "serviceType")


class PatchedFields(ApiModel):
    """The changeable fields of a patched entity, validated as a create request's."""

    display_name: str | None = Field(default=None, alias="displayName")
    description: str | None = None
    connection: MlModelConnectionRequest | None = None
    style: Style | None = None
    owners: list[EntityReference] | None = None
    tags: list[TagLabel] | None = None
    domains: list[EntityReference] | None = None
    data_products: list[EntityReference] | None = Field(default=None, alias="dataProducts")
    ingestion_runner: EntityReference | None = Field(default=None, alias="ingestionRunner")


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
    if name not in _OPS:
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


def _view(connection: Connection, stored: Doc, caller: service.Caller) -> Doc:
    """The entity as this caller reads it with fields=*: the document the patch was made on."""
    (hydrated,) = service.hydrate(connection, [stored], frozenset(service.RELATION_FIELDS))
    return service.to_response(
        hydrated,
        fields=frozenset(service.RELATION_FIELDS),
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


def _resolve(connection: Connection, original: Doc, view: Doc, patched: Doc, strict: bool) -> Doc:
    """The entity the patch asks for. Each field the patch changed is checked as a PUT checks
    it; PATCH replaces owners, tags and domains rather than merging them."""
    for key in patched:
        if key not in _KEPT and key not in _FIXED and key not in _PATCHABLE:
            raise BadRequest(f"[query param {key} is not a recognized field]")
    for key in _FIXED:
        if patched.get(key) != view.get(key):
            raise BadRequest(f"{service.ENTITY_TYPE} attribute {key} can't be modified")
    changed = [key for key in _PATCHABLE if patched.get(key) != view.get(key)]
    # A null is the field removed.
    values = {key: patched[key] for key in changed if patched.get(key) is not None}
    problem = storable_problem(values)
    if problem is not None:
        raise BadRequest(f"[{problem}]")
    try:
        fields = PatchedFields.model_validate(values)
    except ValidationError as exc:
        raise BadRequest(describe_errors(exc.errors())) from None
    for product in fields.data_products or []:
        raise EntityNotFound("dataProduct", product.id)
    if fields.ingestion_runner is not None:
        raise EntityNotFound(fields.ingestion_runner.type, fields.ingestion_runner.id)

    merged = dict(original)
    for key in changed:
        merged[key] = _resolved(connection, key, fields, original, strict)
    return {key: value for key, value in merged.items() if value is not None}


def _resolved(
    connection: Connection, key: str, fields: PatchedFields, original: Doc, strict: bool
) -> Any:
    """The stored form of one changed field."""
    if key == "connection":
        return _connection(original, fields.connection, strict)
    if key == "owners":
        owners = [owner.to_json_dict() for owner in fields.owners or []]
        return references.resolve_owners(connection, owners) if owners else []
    if key == "tags":
        labels = [label.to_json_dict() for label in fields.tags or []]
        return references.resolve_tags(connection, labels) if labels else []
    if key == "domains":
        domains = [domain.to_json_dict() for domain in fields.domains or []]
        return references.resolve_domain_references(connection, domains) if domains else []
    if key == "dataProducts":
        return []
    if key == "style":
        return fields.style.to_json_dict() if fields.style is not None else None
    return fields.to_json_dict().get(key)


def _connection(
    original: Doc, requested: MlModelConnectionRequest | None, strict: bool
) -> Doc | None:
    """The patched connection: its config checked against the service type, and any masked
    secret replaced by the stored one."""
    if requested is None or requested.config is None:
        return None
    service_type = connections.MlModelServiceType(original["serviceType"])
    config = connections.parse_config(service_type, requested.config, strict=strict)
    stored = (original.get("connection") or {}).get("config")
    return {"config": connections.restore_masked_secrets(service_type, config, stored)}


def _session_start(connection: Connection, original: Doc, caller: service.Caller) -> Doc | None:
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
    doc = repository.get_version(connection, original["id"], versioning.from_wire(previous))
    return service.open_doc(doc, caller.cipher) if doc is not None else None


def _store(
    connection: Connection, stored: Doc, original: Doc, merged: Doc, caller: service.Caller
) -> service.Upsert:
    """Write the patched entity; answer it with the change this patch made."""
    incremental = versioning.diff(
        original, merged, service.TRACKED_FIELDS, previous_version=original["version"]
    )
    if incremental is None:
        return service.Upsert(doc=stored, change=service.NO_CHANGE)
    stamp = {"updatedAt": caller.now_ms, "updatedBy": caller.principal.name}
    start = _session_start(connection, original, caller)
    if start is None:
        version = versioning.next_version(versioning.from_wire(original["version"]))
        updated = {
            **merged,
            **stamp,
            "version": versioning.to_wire(version),
            "changeDescription": incremental,
        }
        repository.add_versions(connection, [stored])
    else:
        change = versioning.diff(
            start, merged, service.TRACKED_FIELDS, previous_version=start["version"]
        )
        if change is None:
            # The session's changes cancel out: the entity is back at the version before it.
            updated = {**merged, **stamp, "version": start["version"]}
            updated.pop("changeDescription", None)
            if start.get("changeDescription") is not None:
                updated["changeDescription"] = start["changeDescription"]
            repository.remove_version(
                connection, original["id"], versioning.from_wire(start["version"])
            )
        else:
            updated = {
                **merged,
                **stamp,
                "version": original["version"],
                "changeDescription": change,
            }
    sealed = service.seal(updated, caller.cipher)
    repository.replace_many(connection, [sealed])
    return service.Upsert(doc={**sealed, "changeDescription": incremental}, change=service.UPDATED)


def apply_patch(
    connection: Connection,
    patch: jsonpatch.JsonPatch,
    *,
    entity_id: str | None = None,
    fqn: str | None = None,
    caller: service.Caller,
) -> service.Upsert:
    """PATCH by id or name. The answer's changeDescription is what this patch changed; the
    stored one covers the whole session when the patch was merged into it."""
    actor = caller.actor(connection)
    # find(id, NON_DELETED): a soft-deleted entity cannot be patched.
    stored = service.stored_for_change(connection, entity_id, fqn, include_deleted=False)
    operations = required_operations(patch)
    if operations:
        permissions.authorize(connection, actor, operations, stored.get("owners", []))
    service.check_if_match(stored, caller.if_match)
    original = service.open_doc(stored, caller.cipher)
    view = _view(connection, stored, caller)
    merged = _resolve(connection, original, view, _apply(patch, view), caller.strict)
    return _store(connection, stored, original, merged, caller)
