"""The rules of the ML model service resource: create, upsert, bulk, reads and versions."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy import Connection

from mlmodel_emulator.auth.secrets import SecretCipher
from mlmodel_emulator.auth.tokens import Principal
from mlmodel_emulator.common import versioning
from mlmodel_emulator.common.api import storable_problem
from mlmodel_emulator.common.names import quote_name
from mlmodel_emulator.common.paging import Page, assemble_page, decode_cursor
from mlmodel_emulator.common.versioning import FieldSpec
from mlmodel_emulator.errors import (
    ApiError,
    BadRequest,
    EntityAlreadyExists,
    EntityNotFound,
    PreconditionFailed,
    ServerMisconfigured,
    describe_errors,
)
from mlmodel_emulator.governance import references
from mlmodel_emulator.jobs import service as jobs
from mlmodel_emulator.mlmodel_services import connections, permissions, repository
from mlmodel_emulator.mlmodel_services.schemas import CreateMlModelService, MlModelService

Doc = dict[str, Any]

ENTITY_TYPE: Final = "mlmodelService"
COLLECTION_PATH: Final = "/v1/services/mlmodelServices"

# Relationship fields: answered only when `fields` asks for them (as [] when empty).
RELATION_FIELDS: Final = ("owners", "tags", "domains", "followers", "dataProducts", "pipelines")
# What POST and PUT answers carry even without `fields`, as Collate's documented answer does.
WRITE_RESPONSE_FIELDS: Final = frozenset({"owners", "tags", "domains"})
# `fields` is checked against the entity's properties (EntityRepository.getFields).
ENTITY_FIELDS: Final = frozenset(MlModelService.model_fields) | {"testConnectionResult"}

# The fields a PUT may change and how their changes are recorded (EntityUpdater).
TRACKED_FIELDS: Final = (
    FieldSpec("description", "scalar"),
    FieldSpec("displayName", "scalar"),
    FieldSpec("owners", "list"),
    FieldSpec("tags", "list", key="tagFQN"),
    FieldSpec("domains", "list"),
    FieldSpec("dataProducts", "list"),
    FieldSpec("style", "json"),
    FieldSpec("connection", "secret"),
    FieldSpec("ingestionRunner", "json"),
    FieldSpec("deleted", "scalar"),
)

CREATED: Final = "entityCreated"
UPDATED: Final = "entityUpdated"
NO_CHANGE: Final = "entityNoChange"
SOFT_DELETED: Final = "entitySoftDeleted"
DELETED: Final = "entityDeleted"
RESTORED: Final = "entityRestored"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who acts, when, and under which validation mode; the router fills it per request."""

    principal: Principal
    now_ms: int
    cipher: SecretCipher
    strict: bool = False
    admin_users: frozenset[str] = frozenset()
    users: permissions.UserCache | None = None
    # The request's If-Match header: writes go ahead only on the version it names.
    if_match: str | None = None
    # Where /api is served, for the hrefs of the entity a PATCH is applied to.
    base_url: str = ""
    # PATCHes by the same user within this window are merged into one version.
    session_ms: int = 0

    def actor(self, connection: Connection) -> permissions.Actor:
        return permissions.actor_for(connection, self.principal, self.admin_users, self.users)


@dataclass(frozen=True, slots=True)
class Upsert:
    """The outcome of a PUT: the entity and what happened to it."""

    doc: Doc
    change: str

    @property
    def created(self) -> bool:
        return self.change == CREATED


@dataclass(frozen=True, slots=True)
class Prepared:
    """A create request that passed validation, with its connection config normalised."""

    request: CreateMlModelService
    fqn: str
    connection: Doc | None
    # Resolved references; None where the request gave none.
    owners: list[Doc] | None
    domains: list[Doc] | None
    tags: list[Doc] | None


# ---------------------------------------------------------------------------- validation


def parse_fields(fields: str | None) -> frozenset[str]:
    """The relationship fields a `fields` parameter asks for; '*' asks for all of them."""
    if not fields:
        return frozenset()
    names = {name.strip() for name in fields.split(",") if name.strip()}
    if "*" in names:
        return frozenset(RELATION_FIELDS)
    for name in sorted(names):
        if name not in ENTITY_FIELDS:
            raise BadRequest(f"Invalid field name {name}")
    return frozenset(names & set(RELATION_FIELDS))


def _check_unsupported_references(request: CreateMlModelService) -> None:
    """Data products and ingestion runners cannot be registered here: any given is unknown."""
    for product in request.data_products or []:
        raise EntityNotFound("dataProduct", product)
    if request.ingestion_runner is not None:
        raise EntityNotFound(request.ingestion_runner.type, request.ingestion_runner.id)


def prepare(connection: Connection, request: CreateMlModelService, *, strict: bool) -> Prepared:
    """Validate what the request model cannot: the config against its service type, and the
    owners, domains and tags against the catalog (om-api §2.6)."""
    problem = storable_problem(request.to_json_dict())
    if problem is not None:
        raise BadRequest(f"[{problem}]")
    config = request.connection.config if request.connection is not None else None
    connection_doc = None
    if config is not None:
        service_type = connections.MlModelServiceType(request.service_type)
        connection_doc = {"config": connections.parse_config(service_type, config, strict=strict)}
    owners = (
        references.resolve_owners(connection, [o.to_json_dict() for o in request.owners])
        if request.owners
        else None
    )
    domains = references.resolve_domains(connection, request.domains) if request.domains else None
    tags = (
        references.resolve_tags(connection, [t.to_json_dict() for t in request.tags])
        if request.tags
        else None
    )
    _check_unsupported_references(request)
    return Prepared(
        request=request,
        fqn=quote_name(request.name),
        connection=connection_doc,
        owners=owners,
        domains=domains,
        tags=tags,
    )


def _validate_item(connection: Connection, item: Any, *, strict: bool) -> Prepared:
    try:
        request = CreateMlModelService.model_validate(item)
    except ValidationError as exc:
        raise BadRequest(describe_errors(exc.errors())) from None
    return prepare(connection, request, strict=strict)


# ---------------------------------------------------------------------------- documents


def _with_config(doc: Doc, transform: Callable[[str], str]) -> Doc:
    connection = doc.get("connection")
    if not connection or connection.get("config") is None:
        return doc
    config = connections.transform_secrets(doc["serviceType"], connection["config"], transform)
    return {**doc, "connection": {**connection, "config": config}}


def seal(doc: Doc, cipher: SecretCipher) -> Doc:
    """The document as stored: connection secrets encrypted."""
    return _with_config(doc, cipher.encrypt)


def open_doc(doc: Doc, cipher: SecretCipher) -> Doc:
    """The document in clear, as the rules compare it."""
    try:
        return _with_config(doc, cipher.decrypt)
    except ValueError as exc:
        raise ServerMisconfigured(str(exc)) from None


def _connection(prepared: Prepared, original: Doc | None) -> Doc | None:
    """The request's connection, with masked secrets replaced by the stored ones."""
    if prepared.connection is None:
        return None
    stored = (original or {}).get("connection") or {}
    config = connections.restore_masked_secrets(
        prepared.request.service_type, prepared.connection["config"], stored.get("config")
    )
    return {"config": config}


def _new_doc(prepared: Prepared, caller: Caller) -> Doc:
    request = prepared.request
    doc: Doc = {
        "id": str(uuid.uuid4()),
        "name": request.name,
        "fullyQualifiedName": prepared.fqn,
        "serviceType": request.service_type,
        "displayName": request.display_name,
        "description": request.description,
        "connection": _connection(prepared, None),
        "style": request.style.to_json_dict() if request.style else None,
        "owners": prepared.owners or [],
        "tags": prepared.tags or [],
        "domains": prepared.domains or [],
        "dataProducts": [],
        "followers": [],
        # entityHistory.json: the first version is 0.1.
        "version": versioning.to_wire(versioning.FIRST_VERSION),
        "updatedAt": caller.now_ms,
        "updatedBy": caller.principal.name,
        "deleted": False,
    }
    return {key: value for key, value in doc.items() if value is not None}


def _merged(
    connection: Connection,
    original: Doc,
    prepared: Prepared,
    actor: permissions.Actor,
    *,
    override: bool,
) -> Doc:
    """What a PUT makes of an entity, field by field, as EntityUpdater decides (om-api §2.3)."""
    request = prepared.request
    bot_keeps = actor.is_bot and not override
    merged = dict(original)
    if request.service_type != original["serviceType"]:
        raise BadRequest(f"{ENTITY_TYPE} attribute serviceType can't be modified")

    merged["displayName"] = request.display_name
    # A bot may not overwrite a description someone wrote; anyone else sets it (or drops it).
    if not (bot_keeps and original.get("description")):
        merged["description"] = request.description
    if request.style is not None:
        merged["style"] = request.style.to_json_dict()
    if prepared.connection is not None:
        merged["connection"] = _connection(prepared, original)
    # PUT cannot remove ownership: owners are replaced only by a non-empty list.
    if prepared.owners:
        merged["owners"] = prepared.owners
    # PUT merges tags (EntityUtil.mergeTags); exclusivity is checked on the merged set.
    if prepared.tags:
        known = {tag["tagFQN"] for tag in original.get("tags", [])}
        added = [tag for tag in prepared.tags if tag["tagFQN"] not in known]
        if added:
            merged["tags"] = references.resolve_tags(
                connection, [*original.get("tags", []), *added]
            )
    # Domains are replaced only by a non-empty list, and a bot keeps the ones set.
    if prepared.domains and not (bot_keeps and original.get("domains")):
        merged["domains"] = prepared.domains
    # A PUT on a soft-deleted entity restores it.
    merged["deleted"] = False
    return {key: value for key, value in merged.items() if value is not None}


def _apply_change(original: Doc, merged: Doc, caller: Caller) -> Doc | None:
    """The next version of an entity, or None when the PUT changes nothing."""
    change = versioning.diff(original, merged, TRACKED_FIELDS, previous_version=original["version"])
    if change is None:
        return None
    return {
        **merged,
        "version": versioning.to_wire(
            versioning.next_version(versioning.from_wire(original["version"]))
        ),
        "updatedAt": caller.now_ms,
        "updatedBy": caller.principal.name,
        "changeDescription": change,
    }


# ---------------------------------------------------------------------------- writes


def create(connection: Connection, request: CreateMlModelService, *, caller: Caller) -> Doc:
    """POST: a new entity, or 409 when the name is taken (a soft-deleted one included)."""
    actor = caller.actor(connection)
    permissions.authorize(connection, actor, [permissions.Operation.Create], None)
    doc = seal(_new_doc(prepare(connection, request, strict=caller.strict), caller), caller.cipher)
    if not repository.add(connection, doc):
        raise EntityAlreadyExists()
    return doc


def _check_update(
    connection: Connection, actor: permissions.Actor, original: Doc, prepared: Prepared
) -> None:
    if original["name"] != prepared.request.name:
        # Two names that quote to one FQN ('a.b' and '"a.b"') cannot both exist.
        raise EntityAlreadyExists()
    permissions.authorize(
        connection, actor, [permissions.Operation.EditAll], original.get("owners", [])
    )


def _update(
    connection: Connection,
    stored: Doc,
    prepared: Prepared,
    caller: Caller,
    actor: permissions.Actor,
    *,
    override: bool,
) -> Upsert:
    """Apply a PUT to a stored (sealed) entity; answer with the stored form of the result."""
    original = open_doc(stored, caller.cipher)
    _check_update(connection, actor, original, prepared)
    merged = _merged(connection, original, prepared, actor, override=override)
    updated = _apply_change(original, merged, caller)
    if updated is None:
        return Upsert(doc=stored, change=NO_CHANGE)
    sealed = seal(updated, caller.cipher)
    repository.add_versions(connection, [stored])
    repository.replace_many(connection, [sealed])
    return Upsert(doc=sealed, change=UPDATED)


def _upsert(
    connection: Connection,
    prepared: Prepared,
    caller: Caller,
    actor: permissions.Actor,
    *,
    override: bool,
) -> Upsert:
    stored = repository.get_by_fqn(connection, prepared.fqn, for_update=True)
    check_if_match(stored, caller.if_match)
    if stored is None:
        permissions.authorize(connection, actor, [permissions.Operation.Create], None)
        doc = seal(_new_doc(prepared, caller), caller.cipher)
        if repository.add(connection, doc):
            return Upsert(doc=doc, change=CREATED)
        # Another request created it between our read and our insert: update that one.
        stored = repository.get_by_fqn(connection, prepared.fqn, for_update=True)
        assert stored is not None
    return _update(connection, stored, prepared, caller, actor, override=override)


def create_or_update(
    connection: Connection, request: CreateMlModelService, *, caller: Caller, override: bool = False
) -> Upsert:
    """PUT: create the entity if its name is free, else update it with PUT's merge rules."""
    actor = caller.actor(connection)
    prepared = prepare(connection, request, strict=caller.strict)
    return _upsert(connection, prepared, caller, actor, override=override)


@dataclass(slots=True)
class BulkResult:
    """bulkOperationResult.json, built item by item."""

    processed: int
    passed: list[dict[str, Any]]
    failed: list[dict[str, Any]]

    def fail(self, item: Any, error: ApiError) -> None:
        # The item is echoed as sent, but never its secrets.
        self.failed.append(
            {
                "request": connections.mask_secrets_anywhere(item),
                "status": error.status_code,
                "message": error.message,
            }
        )

    def to_json(self) -> dict[str, Any]:
        if not self.failed:
            status = "success"
        elif self.passed:
            status = "partialSuccess"
        else:
            status = "failure"
        return {
            "status": status,
            "numberOfRowsProcessed": self.processed,
            "numberOfRowsPassed": len(self.passed),
            "numberOfRowsFailed": len(self.failed),
            "successRequest": self.passed,
            "failedRequest": self.failed,
        }


def bulk_create_or_update(
    connection: Connection, items: Sequence[Any], *, caller: Caller, override: bool = False
) -> BulkResult:
    """PUT /bulk: each item validated and applied on its own, in a bounded number of statements.

    An item that fails never fails the others. A name given twice is created once, then
    updated by its later occurrence.
    """
    actor = caller.actor(connection)
    result = BulkResult(processed=len(items), passed=[], failed=[])
    valid: list[tuple[Any, Prepared]] = []
    for item in items:
        try:
            valid.append((item, _validate_item(connection, item, strict=caller.strict)))
        except ApiError as exc:
            result.fail(item, exc)

    current = {
        fqn: open_doc(doc, caller.cipher)
        for fqn, doc in repository.get_many_by_fqn(
            connection, (prepared.fqn for _, prepared in valid)
        ).items()
    }
    stored = set(current)
    history: list[Doc] = []
    outcomes: list[tuple[Any, Prepared, str]] = []
    for item, prepared in valid:
        original = current.get(prepared.fqn)
        try:
            if original is None:
                permissions.authorize(connection, actor, [permissions.Operation.Create], None)
                current[prepared.fqn] = _new_doc(prepared, caller)
                outcomes.append((item, prepared, CREATED))
                continue
            _check_update(connection, actor, original, prepared)
            merged = _merged(connection, original, prepared, actor, override=override)
        except ApiError as exc:
            result.fail(item, exc)
            continue
        updated = _apply_change(original, merged, caller)
        if updated is None:
            outcomes.append((item, prepared, NO_CHANGE))
            continue
        history.append(original)
        current[prepared.fqn] = updated
        outcomes.append((item, prepared, UPDATED))

    new_fqns = {prepared.fqn for _, prepared, change in outcomes if change == CREATED}
    # New entities go in with their final state of this batch.
    cipher = caller.cipher
    # Rows are written in FQN order, so concurrent bulk requests take their locks in one
    # order and cannot deadlock.
    lost = new_fqns - repository.add_many(
        connection, [seal(current[fqn], cipher) for fqn in sorted(new_fqns)]
    )
    repository.add_versions(
        connection,
        [seal(doc, cipher) for doc in history if doc["fullyQualifiedName"] not in lost],
    )
    changed = {p.fqn for _, p, change in outcomes if change == UPDATED and p.fqn in stored}
    repository.replace_many(connection, [seal(current[fqn], cipher) for fqn in sorted(changed)])
    for item, prepared, change in outcomes:
        if prepared.fqn in lost:
            # Created by another request meanwhile: apply this item as a single PUT would.
            try:
                change = _upsert(connection, prepared, caller, actor, override=override).change
            except ApiError as exc:
                result.fail(item, exc)
                continue
        result.passed.append(
            {
                "request": prepared.fqn,
                "status": 201 if change == CREATED else 200,
                "message": change,
            }
        )
    return result


def set_test_connection_result(
    connection: Connection, entity_id: str, result: Doc, *, caller: Caller
) -> Doc:
    """PUT /{id}/testConnectionResult: stored as is; version, updatedAt, updatedBy and
    changeDescription stay untouched (addTestConnectionResult)."""
    actor = caller.actor(connection)
    stored = repository.get_by_id(connection, entity_id, for_update=True)
    if stored is None or stored["deleted"]:
        raise EntityNotFound(ENTITY_TYPE, entity_id)
    # Authorized as a Create, as OpenMetadata's resource does.
    permissions.authorize(
        connection, actor, [permissions.Operation.Create], stored.get("owners", [])
    )
    problem = storable_problem(result)
    if problem is not None:
        raise BadRequest(f"[{problem}]")
    updated = {**stored, "testConnectionResult": result}
    repository.replace_many(connection, [updated])
    return updated


# EntityRepository's text for a stale If-Match (PreconditionFailedException).
STALE_ENTITY: Final = "The entity has been modified by another user. Please refresh and retry."


def etag(doc: Doc) -> str:
    """A strong ETag of the entity's state: its version and when it was last changed.

    The version alone cannot tell apart two PATCHes merged into one version; the time can.
    """
    return f'"{doc["version"]}-{doc["updatedAt"]}"'


def weak_etag(doc: Doc) -> str:
    """OpenMetadata's weak ETag, W/"<version>", as the official client's callers build it."""
    return f'W/"{doc["version"]}"'


def check_if_match(stored: Doc | None, if_match: str | None) -> None:
    """412 unless If-Match is absent, or names the stored entity's ETag, its weak
    W/"<version>", or * for any."""
    if if_match is None:
        return
    if stored is not None:
        tags = {tag.strip() for tag in if_match.split(",")}
        if tags & {"*", etag(stored), weak_etag(stored)}:
            return
    raise PreconditionFailed(STALE_ENTITY)


def stored_for_change(
    connection: Connection,
    entity_id: str | None,
    fqn: str | None,
    *,
    include_deleted: bool = True,
) -> Doc:
    """The entity a write is about, by id or name, locked; 404 when there is none (or only a
    soft-deleted one, unless include_deleted)."""
    if entity_id is not None:
        stored = repository.get_by_id(connection, entity_id, for_update=True)
        key: str = entity_id
    else:
        assert fqn is not None
        key = quote_name(fqn)
        stored = repository.get_by_fqn(connection, key, for_update=True)
    if stored is None or (stored["deleted"] and not include_deleted):
        raise EntityNotFound(ENTITY_TYPE, key)
    return stored


def _set_deleted(connection: Connection, stored: Doc, caller: Caller, *, deleted: bool) -> Doc:
    """Record deleted false->true (soft delete) or true->false (restore): +0.1, history kept."""
    original = open_doc(stored, caller.cipher)
    updated = _apply_change(original, {**original, "deleted": deleted}, caller)
    assert updated is not None
    sealed = seal(updated, caller.cipher)
    repository.add_versions(connection, [stored])
    repository.replace_many(connection, [sealed])
    return sealed


def delete(
    connection: Connection,
    *,
    entity_id: str | None = None,
    fqn: str | None = None,
    hard: bool,
    caller: Caller,
) -> Upsert:
    """DELETE by id or name: soft (deleted=true, a new version) or hard (the entity, its
    history and its relations are gone). The answer is the entity, as it now is or as it
    was just before it went (om-api §2.8)."""
    actor = caller.actor(connection)
    stored = stored_for_change(connection, entity_id, fqn)
    permissions.authorize(
        connection, actor, [permissions.Operation.Delete], stored.get("owners", [])
    )
    check_if_match(stored, caller.if_match)
    if hard:
        repository.hard_delete(connection, stored["id"])
        return Upsert(doc=stored, change=DELETED)
    if stored["deleted"]:
        return Upsert(doc=stored, change=NO_CHANGE)
    return Upsert(doc=_set_deleted(connection, stored, caller, deleted=True), change=SOFT_DELETED)


def _restorable(connection: Connection, entity_id: str, caller: Caller) -> Doc:
    """The soft-deleted entity a restore is about, locked, once the caller may restore it."""
    actor = caller.actor(connection)
    stored = repository.get_by_id(connection, entity_id, for_update=True)
    # find(id, DELETED): an entity that is not deleted is not found.
    if stored is None or not stored["deleted"]:
        raise EntityNotFound(ENTITY_TYPE, entity_id)
    permissions.authorize(
        connection, actor, [permissions.Operation.EditAll], stored.get("owners", [])
    )
    return stored


def restore(connection: Connection, entity_id: str, *, caller: Caller) -> Upsert:
    """PUT /restore: a soft-deleted entity back, with deleted true->false recorded (+0.1)."""
    stored = _restorable(connection, entity_id, caller)
    return Upsert(doc=_set_deleted(connection, stored, caller, deleted=False), change=RESTORED)


# ---------------------------------------------------------------------------- reads


def get_by_id(
    connection: Connection,
    entity_id: str,
    *,
    include: str,
    fields: frozenset[str] = frozenset(),
    caller: Caller,
) -> Doc:
    caller.actor(connection)
    doc = repository.get_by_id(connection, entity_id)
    if doc is None or not _included(doc, include):
        raise EntityNotFound(ENTITY_TYPE, entity_id)
    return hydrate(connection, [doc], fields)[0]


def get_by_name(
    connection: Connection,
    name: str,
    *,
    include: str,
    fields: frozenset[str] = frozenset(),
    caller: Caller,
) -> Doc:
    """By name or FQN: a name holding a dot is quoted first, as services quote FQNs."""
    caller.actor(connection)
    fqn = quote_name(name)
    doc = repository.get_by_fqn(connection, fqn)
    if doc is None or not _included(doc, include):
        raise EntityNotFound(ENTITY_TYPE, fqn)
    return hydrate(connection, [doc], fields)[0]


def hydrate(connection: Connection, docs: list[Doc], fields: frozenset[str]) -> list[Doc]:
    """Refresh the references asked for: names, display names and deleted flags change.

    One statement per entity type for the whole page, whatever the number of documents.
    """
    ref_fields = [name for name in ("owners", "domains", "followers") if name in fields]
    refs = [ref for doc in docs for name in ref_fields for ref in doc.get(name, [])]
    labels = [label for doc in docs for label in doc.get("tags", [])] if "tags" in fields else []
    if not refs and not labels:
        return docs
    fresh = {
        (ref["type"], ref["id"]): ref for ref in references.refresh_references(connection, refs)
    }
    fresh_tags = {label["tagFQN"]: label for label in references.refresh_tags(connection, labels)}
    hydrated = []
    for doc in docs:
        doc = dict(doc)
        for name in ref_fields:
            doc[name] = [
                fresh[key]
                for ref in doc.get(name, [])
                if (key := (ref["type"], ref["id"])) in fresh
            ]
        if labels:
            doc["tags"] = [
                fresh_tags[label["tagFQN"]]
                for label in doc.get("tags", [])
                if label["tagFQN"] in fresh_tags
            ]
        hydrated.append(doc)
    return hydrated


def _included(doc: Doc, include: str) -> bool:
    if include == "non-deleted":
        return not doc["deleted"]
    if include == "deleted":
        return bool(doc["deleted"])
    return True


def list_page(
    connection: Connection,
    *,
    limit: int,
    before: str | None,
    after: str | None,
    include: str,
    fields: frozenset[str] = frozenset(),
    domain: str | None = None,
    caller: Caller,
) -> Page:
    """One page in (name, id) order, with OpenMetadata's cursors (om-api §2.9)."""
    caller.actor(connection)
    domain_id = references.domain_id_by_fqn(connection, domain) if domain else None
    if before is not None and after is not None:
        raise BadRequest("Only one of before or after query parameter allowed")
    before_cursor, after_cursor = decode_cursor(before), decode_cursor(after)
    total = repository.count(connection, include, domain_id)
    if limit == 0:
        return Page(docs=[], paging={"total": total})
    rows = repository.list_page(
        connection,
        include=include,
        limit=limit + 1,
        after=after_cursor,
        before=before_cursor,
        domain_id=domain_id,
    )
    page = assemble_page(rows, limit=limit, total=total, after=after_cursor, before=before_cursor)
    return Page(docs=hydrate(connection, page.docs, fields), paging=page.paging)


def list_versions(connection: Connection, entity_id: str, *, caller: Caller) -> list[Doc]:
    """Every version, newest (the current entity) first."""
    caller.actor(connection)
    current = repository.get_by_id(connection, entity_id)
    if current is None:
        raise EntityNotFound(ENTITY_TYPE, entity_id)
    return [current, *repository.list_versions(connection, entity_id)]


def get_version(connection: Connection, entity_id: str, version: str, *, caller: Caller) -> Doc:
    """One version; 404 names the version as OpenMetadata prints a Double (0.3)."""
    caller.actor(connection)
    try:
        tenths = versioning.from_wire(version)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    current = repository.get_by_id(connection, entity_id)
    if current is None:
        raise EntityNotFound(ENTITY_TYPE, entity_id)
    if versioning.from_wire(current["version"]) == tenths:
        return current
    doc = repository.get_version(connection, entity_id, tenths)
    if doc is None:
        raise EntityNotFound(ENTITY_TYPE, f"{entity_id} and version {versioning.to_wire(tenths)}")
    return doc


# ---------------------------------------------------------------------------- answers


def to_response(
    doc: Doc, *, fields: frozenset[str], base_url: str, cipher: SecretCipher, reveal_secrets: bool
) -> Doc:
    """The entity as answered: relationship fields only when asked for, an absolute href.

    Secrets are decrypted, then masked unless the caller may see them (bots:
    shouldMaskPasswords).
    """
    response = {
        key: value for key, value in doc.items() if key not in RELATION_FIELDS or key in fields
    }
    for name in fields:
        response.setdefault(name, [])
    for name in ("owners", "domains", "followers"):
        if name in response:
            response[name] = [
                {**ref, "href": references.href(base_url, ref["type"], ref["id"])}
                for ref in response[name]
            ]
    response["href"] = f"{base_url}{COLLECTION_PATH}/{doc['id']}"
    connection = doc.get("connection")
    if connection and connection.get("config") is not None:
        config = open_doc(doc, cipher)["connection"]["config"]
        if not reveal_secrets:
            config = connections.mask_secrets(doc["serviceType"], config)
        response["connection"] = {**connection, "config": config}
    return response


# ---------------------------------------------------------------------------- followers

FIELDS_CHANGED: Final = "entityFieldsChanged"


@dataclass(frozen=True, slots=True)
class FollowerChange:
    """A follower added or removed: the ChangeEvent to answer, and the entity it carries."""

    event: Doc
    entity: Doc


def parse_follower_id(value: object) -> str:
    """The user id of a PUT /followers body: a JSON string holding a UUID (400 otherwise)."""
    if value is None:
        raise BadRequest("[query param userId must not be null]")
    if isinstance(value, str):
        try:
            parsed = str(uuid.UUID(value))
        except ValueError:
            parsed = None
        if parsed == value.lower():
            return parsed
    raise BadRequest("[query param userId must be a UUID]")


def _follower_target(
    connection: Connection, entity_id: str, user_id: str, caller: Caller
) -> tuple[Doc, Doc]:
    """The service (locked) and the user of a follower change, once the caller may make it."""
    actor = caller.actor(connection)
    permissions.authorize_follower(actor, user_id)
    stored = repository.get_by_id(connection, entity_id, for_update=True)
    # find(entityId, NON_DELETED): a soft-deleted service keeps its followers, but none
    # can be added or removed.
    if stored is None or stored["deleted"]:
        raise EntityNotFound(ENTITY_TYPE, entity_id)
    return stored, references.resolve_follower(connection, user_id)


def _follower_event(stored: Doc, change: Doc, caller: Caller) -> FollowerChange:
    """The ChangeEvent EntityRepository.addFollower and deleteFollower answer with.

    The version does not move, so previousVersion is currentVersion. `entity` is the
    service as stored, without its relationship fields, carrying the change as its
    changeDescription (the repository sets it on the same object after building the event).
    """
    event = {
        "id": str(uuid.uuid4()),
        "eventType": UPDATED,
        "entityType": ENTITY_TYPE,
        "entityId": stored["id"],
        "entityFullyQualifiedName": stored["fullyQualifiedName"],
        "previousVersion": stored["version"],
        "currentVersion": stored["version"],
        "userName": caller.principal.name,
        "timestamp": caller.now_ms,
        "changeDescription": change,
        "incrementalChangeDescription": change,
    }
    entity = {**stored, "changeDescription": change, "incrementalChangeDescription": change}
    return FollowerChange(event=event, entity=entity)


def _followers_change(stored: Doc, *, added: Doc | None = None, deleted: Doc | None = None) -> Doc:
    return {
        "fieldsAdded": [{"name": "followers", "newValue": [added]}] if added else [],
        "fieldsUpdated": [],
        "fieldsDeleted": [{"name": "followers", "oldValue": [deleted]}] if deleted else [],
        "previousVersion": stored["version"],
    }


def add_follower(
    connection: Connection, entity_id: str, user_id: str, *, caller: Caller
) -> FollowerChange:
    """PUT /{id}/followers: the user follows the service. Version, updatedAt, updatedBy and
    changeDescription stay as they are, and no history is written; following twice is
    answered like the first time (EntityRepository.addFollower)."""
    stored, user = _follower_target(connection, entity_id, user_id, caller)
    followers = stored.get("followers", [])
    if all(ref["id"] != user["id"] for ref in followers):
        ordered = sorted([*followers, user], key=lambda ref: (ref["name"], ref["id"]))
        repository.replace_many(connection, [{**stored, "followers": ordered}])
    return _follower_event(stored, _followers_change(stored, added=user), caller)


def remove_follower(
    connection: Connection, entity_id: str, user_id: str, *, caller: Caller
) -> FollowerChange:
    """DELETE /{id}/followers/{userId}: the user no longer follows the service; removing
    one who does not follow it is no error (EntityRepository.deleteFollower)."""
    stored, user = _follower_target(connection, entity_id, user_id, caller)
    followers = stored.get("followers", [])
    kept = [ref for ref in followers if ref["id"] != user["id"]]
    if len(kept) != len(followers):
        repository.replace_many(connection, [{**stored, "followers": kept}])
    return _follower_event(stored, _followers_change(stored, deleted=user), caller)


# ---------------------------------------------------------------------------- async jobs


def delete_later(
    connection: Connection, entity_id: str, *, hard: bool, recursive: bool, caller: Caller
) -> jobs.Started:
    """DELETE /async/{id}: what a delete checks (404, 403, 412) is checked now; the delete
    itself is the returned work, run after the answer in a transaction of its own
    (EntityResource.deleteByIdAsync)."""
    actor = caller.actor(connection)
    stored = stored_for_change(connection, entity_id, None)
    permissions.authorize(
        connection, actor, [permissions.Operation.Delete], stored.get("owners", [])
    )
    check_if_match(stored, caller.if_match)
    doc = jobs.start(
        connection,
        operation="delete",
        entity_type=ENTITY_TYPE,
        entity=stored,
        created_by=caller.principal.name,
        now_ms=caller.now_ms,
        options={"hardDelete": hard, "recursive": recursive},
    )

    def work(later: Connection, now_ms: int) -> None:
        delete(later, entity_id=stored["id"], hard=hard, caller=replace(caller, now_ms=now_ms))

    return jobs.Started(doc=doc, work=work)


def restore_later(connection: Connection, entity_id: str, *, caller: Caller) -> jobs.Started:
    """PUT /restore?async=true: what a restore checks (404, 403) is checked now; the
    restore itself is the returned work, run after the answer in a transaction of its own."""
    stored = _restorable(connection, entity_id, caller)
    doc = jobs.start(
        connection,
        operation="restore",
        entity_type=ENTITY_TYPE,
        entity=stored,
        created_by=caller.principal.name,
        now_ms=caller.now_ms,
    )

    def work(later: Connection, now_ms: int) -> None:
        restore(later, stored["id"], caller=replace(caller, now_ms=now_ms))

    return jobs.Started(doc=doc, work=work)
