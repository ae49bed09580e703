"""The rules every governance entity shares: create, upsert, reads, paging and delete."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection

from mlmodel_emulator.auth.tokens import Principal
from mlmodel_emulator.common import versioning
from mlmodel_emulator.common.api import ApiModel, storable_problem
from mlmodel_emulator.common.names import quote_name
from mlmodel_emulator.common.paging import Page, assemble_page, decode_cursor
from mlmodel_emulator.common.versioning import FieldSpec
from mlmodel_emulator.errors import BadRequest, EntityAlreadyExists, EntityNotFound
from mlmodel_emulator.governance import access
from mlmodel_emulator.governance.repository import EntityStore

Doc = dict[str, Any]
R = TypeVar("R", bound=ApiModel)

CREATED: Final = "entityCreated"
UPDATED: Final = "entityUpdated"
NO_CHANGE: Final = "entityNoChange"
SOFT_DELETED: Final = "entitySoftDeleted"
DELETED: Final = "entityDeleted"

# What EntityUpdater records for every entity; each kind adds its own fields.
COMMON_TRACKED: Final = (
    FieldSpec("description", "scalar"),
    FieldSpec("displayName", "scalar"),
    FieldSpec("deleted", "scalar"),
)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who acts and when, and who else counts as an admin; the router fills it per request."""

    principal: Principal
    now_ms: int
    admin_users: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Prepared:
    """A create request checked against the database.

    `fields` holds what the request sets, None where it sets nothing; `links` the
    references of the kind's relation field (a user's teams, a team's users), None when
    the request leaves them as they are.
    """

    name: str
    fqn: str
    fields: Doc
    links: list[Doc] | None = None


@dataclass(frozen=True, slots=True)
class Upsert:
    """The outcome of a PUT: the entity and what happened to it."""

    doc: Doc
    change: str

    @property
    def created(self) -> bool:
        return self.change == CREATED


class Kind(Generic[R]):
    """One governance entity type: its table, its create request and its own rules.

    The defaults below fit an entity with no relation and no children; subclasses
    override what differs.
    """

    entity_type: ClassVar[str]
    collection: ClassVar[str]
    store: ClassVar[EntityStore]
    tracked: ClassVar[tuple[FieldSpec, ...]] = COMMON_TRACKED
    # Set at creation when the request leaves them out, and kept by a PUT that does.
    defaults: ClassVar[Mapping[str, Any]] = {}
    # Kept by a PUT that leaves them out, as EntityUpdater keeps `style`.
    kept_when_null: ClassVar[frozenset[str]] = frozenset()
    # The field read from another table (team_member), never stored in the document.
    relation: ClassVar[str | None] = None
    # Fields that hold entity references, given an href in answers.
    reference_fields: ClassVar[tuple[str, ...]] = ()
    # Stored but never answered: the official client's model of this entity lacks them,
    # and it refuses a whole answer over one unknown key (client-report §5).
    unanswered_fields: ClassVar[tuple[str, ...]] = ()

    def lookup_fqn(self, name: str) -> str:
        """The FQN a /name/{fqn} path names: a name holding a dot is quoted first."""
        return quote_name(name)

    def prepare(self, connection: Connection, request: R) -> Prepared:
        """Check a create request against the database: its FQN, the entities it names."""
        raise NotImplementedError

    def expand(self, connection: Connection, docs: list[Doc]) -> list[Doc]:
        """The documents as answered: relation fields filled from their tables."""
        return docs

    def save_links(self, connection: Connection, entity_id: str, links: list[Doc]) -> None:
        """Store the relation field of an entity."""

    def remove(self, connection: Connection, doc: Doc) -> None:
        """Hard-delete an entity and whatever hangs off it."""
        self.store.hard_delete(connection, doc["id"])

    def check_deletable(self, doc: Doc) -> None:
        """EntityRepository.checkSystemEntityDeletion: what the system provides stays."""
        if doc.get("provider") == "system":
            raise BadRequest(
                f"System entity [{doc['name']}] of type {self.entity_type} can not be deleted."
            )

    def after_soft_delete(self, connection: Connection, doc: Doc, caller: Caller) -> None:
        """Soft-delete the entity's children."""

    def after_restore(self, connection: Connection, doc: Doc, caller: Caller) -> None:
        """Restore the entity's children."""


def reference(doc: Doc, entity_type: str) -> Doc:
    """entityReference.json for a stored document, without href (answers add it)."""
    ref = {
        "id": doc["id"],
        "type": entity_type,
        "name": doc["name"],
        "fullyQualifiedName": doc["fullyQualifiedName"],
        "displayName": doc.get("displayName"),
        "deleted": doc["deleted"],
    }
    return {key: value for key, value in ref.items() if value is not None}


def by_name(refs: Iterable[Doc]) -> list[Doc]:
    return sorted(refs, key=lambda ref: (ref["name"], ref["id"]))


def references_by_id(
    connection: Connection, store: EntityStore, entity_type: str, ids: Sequence[str]
) -> list[Doc]:
    """References to the entities of these ids, sorted by name, in one statement.

    The first id that names no entity (soft-deleted ones count) is a 404.
    """
    found = store.get_many_by_id(connection, ids)
    for entity_id in ids:
        if entity_id not in found:
            raise EntityNotFound(entity_type, entity_id)
    return by_name(reference(doc, entity_type) for doc in found.values())


# ---------------------------------------------------------------------------- documents


def _checked(request: ApiModel) -> None:
    problem = storable_problem(request.to_json_dict())
    if problem is not None:
        raise BadRequest(f"[{problem}]")


def _stored(kind: Kind[Any], doc: Doc) -> Doc:
    """The document as kept in its row: the relation field lives in its own table."""
    return {key: value for key, value in doc.items() if key != kind.relation}


def new_doc(kind: Kind[Any], prepared: Prepared, caller: Caller) -> Doc:
    doc: Doc = {"id": str(uuid.uuid4()), "name": prepared.name}
    doc["fullyQualifiedName"] = prepared.fqn
    for key, value in prepared.fields.items():
        doc[key] = kind.defaults.get(key) if value is None else value
    if kind.relation is not None:
        doc[kind.relation] = prepared.links or []
    # entityHistory.json: the first version is 0.1.
    doc["version"] = versioning.to_wire(versioning.FIRST_VERSION)
    doc["updatedAt"] = caller.now_ms
    doc["updatedBy"] = caller.principal.name
    doc["deleted"] = False
    return {key: value for key, value in doc.items() if value is not None}


def _merged(kind: Kind[Any], original: Doc, prepared: Prepared) -> Doc:
    """What a PUT makes of an entity, as EntityUpdater decides.

    What the request sets replaces; what it leaves out is kept (fields with a default, and
    kept_when_null ones) or dropped (description, displayName).
    """
    merged = dict(original)
    for key, value in prepared.fields.items():
        if value is not None:
            merged[key] = value
        elif key not in kind.defaults and key not in kind.kept_when_null:
            merged.pop(key, None)
    if kind.relation is not None and prepared.links is not None:
        merged[kind.relation] = prepared.links
    # A PUT on a soft-deleted entity restores it.
    merged["deleted"] = False
    return merged


def apply_change(kind: Kind[Any], original: Doc, changed: Doc, caller: Caller) -> Doc | None:
    """The next version of an entity, or None when nothing changed."""
    change = versioning.diff(original, changed, kind.tracked, previous_version=original["version"])
    if change is None:
        return None
    return {
        **changed,
        "version": versioning.to_wire(
            versioning.next_version(versioning.from_wire(original["version"]))
        ),
        "updatedAt": caller.now_ms,
        "updatedBy": caller.principal.name,
        "changeDescription": change,
    }


# ---------------------------------------------------------------------------- writes


def create(connection: Connection, kind: Kind[R], request: R, *, caller: Caller) -> Doc:
    """POST: a new entity, or 409 when its name (or a user's email) is taken."""
    access.require_admin(connection, caller.principal, caller.admin_users)
    _checked(request)
    prepared = kind.prepare(connection, request)
    doc = new_doc(kind, prepared, caller)
    if not kind.store.add(connection, _stored(kind, doc)):
        raise EntityAlreadyExists()
    if prepared.links:
        kind.save_links(connection, doc["id"], prepared.links)
    return doc


def create_or_update(
    connection: Connection, kind: Kind[R], request: R, *, caller: Caller
) -> Upsert:
    """PUT: create the entity if its name is free, else update it."""
    access.require_admin(connection, caller.principal, caller.admin_users)
    _checked(request)
    prepared = kind.prepare(connection, request)
    stored = kind.store.get_by_fqn(connection, prepared.fqn, for_update=True)
    if stored is None:
        doc = new_doc(kind, prepared, caller)
        if kind.store.add(connection, _stored(kind, doc)):
            if prepared.links:
                kind.save_links(connection, doc["id"], prepared.links)
            return Upsert(doc=doc, change=CREATED)
        # Another request created it between our read and our insert: update that one.
        stored = kind.store.get_by_fqn(connection, prepared.fqn, for_update=True)
        if stored is None:
            # Not the name but another unique column (a user's email) is taken.
            raise EntityAlreadyExists()
    if stored["name"] != prepared.name:
        # Two names that quote to one FQN ('a.b' and '"a.b"') cannot both exist.
        raise EntityAlreadyExists()
    (original,) = kind.expand(connection, [stored])
    updated = apply_change(kind, original, _merged(kind, original, prepared), caller)
    if updated is None:
        return Upsert(doc=original, change=NO_CHANGE)
    kind.store.replace_many(connection, [_stored(kind, updated)])
    if prepared.links is not None:
        kind.save_links(connection, updated["id"], prepared.links)
    if original["deleted"]:
        kind.after_restore(connection, updated, caller)
    return Upsert(doc=updated, change=UPDATED)


@dataclass(frozen=True, slots=True)
class Deleted:
    """The outcome of a DELETE: the entity as answered and what happened to it."""

    doc: Doc
    change: str


def delete(
    connection: Connection, kind: Kind[Any], stored: Doc, *, hard: bool, caller: Caller
) -> Deleted:
    """Soft-delete (deleted=true, a new version) or hard-delete (the row goes) an entity."""
    kind.check_deletable(stored)
    (original,) = kind.expand(connection, [stored])
    if hard:
        kind.remove(connection, stored)
        return Deleted(doc=original, change=DELETED)
    updated = apply_change(kind, original, {**original, "deleted": True}, caller)
    if updated is not None:
        kind.store.replace_many(connection, [_stored(kind, updated)])
        kind.after_soft_delete(connection, updated, caller)
    return Deleted(doc=updated or original, change=SOFT_DELETED)


def delete_by_id(
    connection: Connection, kind: Kind[Any], entity_id: str, *, hard: bool, caller: Caller
) -> Deleted:
    """DELETE /{id}; a soft-deleted entity can be deleted again (hard) or stays as it is."""
    access.require_admin(connection, caller.principal, caller.admin_users)
    stored = kind.store.get_by_id(connection, entity_id, for_update=True)
    if stored is None:
        raise EntityNotFound(kind.entity_type, entity_id)
    return delete(connection, kind, stored, hard=hard, caller=caller)


def delete_by_name(
    connection: Connection, kind: Kind[Any], name: str, *, hard: bool, caller: Caller
) -> Deleted:
    """DELETE /name/{fqn}."""
    access.require_admin(connection, caller.principal, caller.admin_users)
    fqn = kind.lookup_fqn(name)
    stored = kind.store.get_by_fqn(connection, fqn, for_update=True)
    if stored is None:
        raise EntityNotFound(kind.entity_type, fqn)
    return delete(connection, kind, stored, hard=hard, caller=caller)


# ---------------------------------------------------------------------------- reads


def _included(doc: Doc, include: str) -> bool:
    if include == "non-deleted":
        return not doc["deleted"]
    if include == "deleted":
        return bool(doc["deleted"])
    return True


def get_by_id(connection: Connection, kind: Kind[Any], entity_id: str, *, include: str) -> Doc:
    doc = kind.store.get_by_id(connection, entity_id)
    if doc is None or not _included(doc, include):
        raise EntityNotFound(kind.entity_type, entity_id)
    return kind.expand(connection, [doc])[0]


def get_by_name(connection: Connection, kind: Kind[Any], name: str, *, include: str) -> Doc:
    fqn = kind.lookup_fqn(name)
    doc = kind.store.get_by_fqn(connection, fqn)
    if doc is None or not _included(doc, include):
        raise EntityNotFound(kind.entity_type, fqn)
    return kind.expand(connection, [doc])[0]


@dataclass(frozen=True, slots=True)
class ListQuery:
    limit: int
    before: str | None
    after: str | None
    include: str
    filters: Sequence[ColumnElement[bool]] = field(default=())


def list_page(connection: Connection, kind: Kind[Any], query: ListQuery) -> Page:
    """One page in (name, id) order, with OpenMetadata's cursors (om-api §2.9)."""
    if query.before is not None and query.after is not None:
        raise BadRequest("Only one of before or after query parameter allowed")
    before, after = decode_cursor(query.before), decode_cursor(query.after)
    total = kind.store.count(connection, query.include, *query.filters)
    if query.limit == 0:
        return Page(docs=[], paging={"total": total})
    rows = kind.store.list_page(
        connection,
        *query.filters,
        include=query.include,
        limit=query.limit + 1,
        after=after,
        before=before,
    )
    page = assemble_page(rows, limit=query.limit, total=total, after=after, before=before)
    return Page(docs=kind.expand(connection, page.docs), paging=page.paging)


# ---------------------------------------------------------------------------- answers

# Where each entity type lives, for the href of entities and of references to them.
COLLECTIONS: Final[Mapping[str, str]] = {
    "user": "/v1/users",
    "team": "/v1/teams",
    "domain": "/v1/domains",
    "classification": "/v1/classifications",
    "tag": "/v1/tags",
}


def href(base_url: str, entity_type: str, entity_id: str) -> str:
    return f"{base_url}{COLLECTIONS[entity_type]}/{entity_id}"


def to_response(kind: Kind[Any], doc: Doc, *, base_url: str) -> Doc:
    """The entity as answered: an absolute href on it and on each reference it holds."""
    response = {key: value for key, value in doc.items() if key not in kind.unanswered_fields}
    response["href"] = href(base_url, kind.entity_type, doc["id"])
    for name in kind.reference_fields:
        value = doc.get(name)
        if isinstance(value, list):
            response[name] = [_with_href(ref, base_url) for ref in value]
        elif isinstance(value, dict):
            response[name] = _with_href(value, base_url)
    return response


def _with_href(ref: Doc, base_url: str) -> Doc:
    return {**ref, "href": href(base_url, ref["type"], ref["id"])}
