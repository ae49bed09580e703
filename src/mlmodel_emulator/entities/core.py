"""The rules every entity kind shares: create, upsert, reads, paging, versions, delete and
restore (with the children that belong to an entity), followers and background jobs.

Every function runs inside the caller's transaction (`Database.read` or `Database.write`)
and never commits. Time and the acting user come in as a `Caller`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection

from mlmodel_emulator.common import versioning
from mlmodel_emulator.common.api import storable_problem
from mlmodel_emulator.common.paging import (
    Page,
    VersionPage,
    assemble_page,
    decode_cursor,
    decode_version_cursor,
    encode_version_cursor,
)
from mlmodel_emulator.entities import permissions
from mlmodel_emulator.entities.answers import check_if_match
from mlmodel_emulator.entities.kind import (
    CREATED,
    DELETED,
    NO_CHANGE,
    RESTORED,
    SOFT_DELETED,
    UPDATED,
    Caller,
    Children,
    Doc,
    Kind,
    ListQuery,
    Outcome,
    Prepared,
    Rule,
)
from mlmodel_emulator.entities.permissions import Actor, Operation
from mlmodel_emulator.entities.store import tenths
from mlmodel_emulator.errors import (
    ApiError,
    BadRequest,
    EntityAlreadyExists,
    EntityNotFound,
)
from mlmodel_emulator.events import service as events
from mlmodel_emulator.governance import references
from mlmodel_emulator.jobs import service as jobs

# ---------------------------------------------------------------------------- who may act


def authorize(
    connection: Connection,
    kind: Kind[Any],
    actor: Actor,
    operations: Sequence[Operation],
    owners: Sequence[Doc] | None,
) -> None:
    """403 unless the actor may do these operations to an entity with these owners (None
    for one that does not exist yet). Only admins write the kinds that are admin_only, as
    DefaultAuthorizer.authorizeAdmin answers."""
    if kind.admin_only:
        permissions.authorize_admin(actor)
        return
    permissions.authorize(connection, actor, operations, owners)


def _owners(doc: Doc) -> list[Doc]:
    owners: list[Doc] = doc.get("owners", [])
    return owners


# ---------------------------------------------------------------------------- documents


def check_storable(request: BaseModel | Doc) -> None:
    """400 for what neither database can store (NUL characters, integers beyond 64 bits)."""
    value = (
        request
        if isinstance(request, dict)
        else request.model_dump(mode="json", by_alias=True, exclude_none=True)
    )
    problem = storable_problem(value)
    if problem is not None:
        raise BadRequest(f"[{problem}]")


def stored_form(kind: Kind[Any], doc: Doc) -> Doc:
    """The document as kept in its row: a linked field lives in its own table."""
    if kind.linked_field is None:
        return doc
    return {key: value for key, value in doc.items() if key != kind.linked_field}


def new_doc(kind: Kind[Any], prepared: Prepared, caller: Caller) -> Doc:
    """A new entity at version 0.1, in clear: what the request sets, the kind's defaults."""
    doc: Doc = {
        "id": caller.ids.new(),
        "name": prepared.name,
        "fullyQualifiedName": prepared.fqn,
    }
    for field in kind.fields:
        value = prepared.fields.get(field.name)
        doc[field.name] = (
            field.initial() if value is None else kind.resolve(field.name, value, None, prepared)
        )
    for name in kind.initial_lists:
        doc.setdefault(name, [])
    if kind.linked_field is not None:
        doc[kind.linked_field] = prepared.links or []
    # entityHistory.json: the first version is 0.1.
    doc["version"] = versioning.to_wire(versioning.FIRST_VERSION)
    doc["updatedAt"] = caller.now_ms
    doc["updatedBy"] = caller.principal.name
    doc["deleted"] = False
    return {key: value for key, value in doc.items() if value is not None}


def merged(
    connection: Connection,
    kind: Kind[Any],
    original: Doc,
    prepared: Prepared,
    actor: Actor,
    *,
    override: bool,
) -> Doc:
    """What a PUT makes of an entity, field by field, as EntityUpdater decides (om-api §2.3)."""
    bot_keeps = actor.is_bot and not override
    result = dict(original)
    for field in kind.fields:
        name, value = field.name, prepared.fields.get(field.name)
        if field.rule is Rule.FIXED:
            if value is not None and value != original.get(name):
                raise BadRequest(f"{kind.entity_type} attribute {name} can't be modified")
        elif field.rule is Rule.SET or (
            field.rule is Rule.DESCRIPTION and not (bot_keeps and original.get(name))
        ):
            result[name] = None if value is None else kind.resolve(name, value, original, prepared)
        elif field.rule is Rule.KEEP and value is not None:
            result[name] = kind.resolve(name, value, original, prepared)
        elif field.rule is Rule.OWNERS and value:
            # PUT cannot remove ownership: owners are replaced only by a non-empty list.
            result[name] = value
        elif field.rule is Rule.TAGS and value:
            # PUT merges tags (EntityUtil.mergeTags); exclusivity is checked on the merged set.
            known = {tag["tagFQN"] for tag in original.get(name, [])}
            added = [tag for tag in value if tag["tagFQN"] not in known]
            if added:
                result[name] = references.resolve_tags(
                    connection, [*original.get(name, []), *added]
                )
        elif field.rule is Rule.DOMAINS and value and not (bot_keeps and original.get(name)):
            # Domains are replaced only by a non-empty list, and a bot keeps the ones set.
            result[name] = value
    if kind.linked_field is not None and prepared.links is not None:
        result[kind.linked_field] = prepared.links
    # A PUT on a soft-deleted entity restores it.
    result["deleted"] = False
    return {key: value for key, value in result.items() if value is not None}


def unchanged_at_source(kind: Kind[Any], original: Doc, prepared: Prepared) -> bool:
    """Whether the request carries the source fingerprint the entity already has: then the
    source did not change it, and a PUT changes nothing (EntityRepository's sourceHash
    fast path)."""
    name = kind.unchanged_when_same
    if name is None:
        return False
    given = prepared.fields.get(name)
    return given is not None and given == original.get(name) and not original["deleted"]


def next_version(kind: Kind[Any], original: Doc, changed: Doc, caller: Caller) -> Doc | None:
    """The next version of an entity (+0.1, with its changeDescription), or None when
    nothing it records changed."""
    change = versioning.diff(
        original, changed, kind.tracked(), previous_version=original["version"]
    )
    if change is None:
        return None
    return {
        **changed,
        "version": versioning.to_wire(versioning.next_version(tenths(original["version"]))),
        "updatedAt": caller.now_ms,
        "updatedBy": caller.principal.name,
        "changeDescription": change,
    }


def change_event(
    kind: Kind[Any],
    event_type: str,
    doc: Doc,
    caller: Caller,
    *,
    previous_version: Any = None,
    change: Doc | None = None,
    incremental: Doc | None = None,
) -> Doc:
    """The ChangeEvent of one change to an entity, by the caller, now. Without a previous
    version (a create, a hard delete), the version did not move."""
    return events.event(
        event_id=caller.ids.new(),
        event_type=event_type,
        entity_type=kind.entity_type,
        doc=doc,
        previous_version=doc["version"] if previous_version is None else previous_version,
        user_name=caller.principal.name,
        timestamp=caller.now_ms,
        change=change,
        incremental=incremental,
    )


def versioned_event(kind: Kind[Any], event_type: str, doc: Doc, caller: Caller) -> Doc:
    """The event of a new version: its changeDescription says what changed and from which
    version."""
    change = doc["changeDescription"]
    return change_event(
        kind, event_type, doc, caller, previous_version=change["previousVersion"], change=change
    )


def _expanded(connection: Connection, kind: Kind[Any], stored: Doc) -> Doc:
    (doc,) = kind.expand(connection, [stored], frozenset())
    return doc


# ---------------------------------------------------------------------------- writes


def _prepare(
    connection: Connection, kind: Kind[Any], request: BaseModel, caller: Caller
) -> Prepared:
    check_storable(request)
    return kind.prepare(connection, request, caller)


def _events_with_write(connection: Connection, caller: Caller, *, final: bool) -> bool:
    """Whether a write's events go in with the write, in one statement (events.attachable):
    only for the last write of a transaction (`final`: the request's one entity), so that
    the event-order lock it takes is held by a transaction that waits on no row lock
    after it. Not with seeded ids: the event's id is then drawn before the write is known
    to go in, and a seeded sequence must not lose one to a write refused."""
    return final and not caller.ids.seeded and events.attachable(connection)


def _insert(
    connection: Connection,
    kind: Kind[Any],
    doc: Doc,
    prepared: Prepared,
    caller: Caller,
    *,
    final: bool,
) -> bool:
    """Insert a new entity (sealed) and record its creation; False when its FQN is taken."""
    stored = stored_form(kind, doc)
    if (
        not prepared.links
        and kind.store.adds_alone(stored)
        and _events_with_write(connection, caller, final=final)
    ):
        created = change_event(kind, CREATED, doc, caller)
        return kind.store.add(connection, stored, events=events.rows([created]))
    if not kind.store.add(connection, stored):
        return False
    if prepared.links:
        kind.save_links(connection, doc["id"], prepared.links)
    events.record(connection, [change_event(kind, CREATED, doc, caller)])
    return True


def create(connection: Connection, kind: Kind[Any], request: BaseModel, *, caller: Caller) -> Doc:
    """POST: a new entity, or 409 when the name is taken (a soft-deleted one included)."""
    actor = caller.actor(connection)
    authorize(connection, kind, actor, [Operation.Create], None)
    doc = _create_if_missing(connection, kind, request, caller, final=True)
    if doc is None:
        raise EntityAlreadyExists()
    return doc


def create_if_missing(
    connection: Connection, kind: Kind[Any], request: BaseModel, *, caller: Caller
) -> Doc | None:
    """A new entity as POST makes it, or None when its name is taken; who may is not asked
    (the caller's, as for the operator's seed files read at start)."""
    return _create_if_missing(connection, kind, request, caller, final=False)


def _create_if_missing(
    connection: Connection, kind: Kind[Any], request: BaseModel, caller: Caller, *, final: bool
) -> Doc | None:
    prepared = _prepare(connection, kind, request, caller)
    doc = kind.seal(new_doc(kind, prepared, caller), caller.cipher)
    if not _insert(connection, kind, doc, prepared, caller, final=final):
        return None
    return doc


def create_or_update(
    connection: Connection,
    kind: Kind[Any],
    request: BaseModel,
    *,
    caller: Caller,
    override: bool = False,
) -> Outcome:
    """PUT: create the entity if its name is free, else update it with PUT's merge rules."""
    actor = caller.actor(connection)
    if kind.admin_only:
        authorize(connection, kind, actor, [Operation.Create], None)
    prepared = _prepare(connection, kind, request, caller)
    return upsert(connection, kind, prepared, caller, actor, override=override, final=True)


def upsert(
    connection: Connection,
    kind: Kind[Any],
    prepared: Prepared,
    caller: Caller,
    actor: Actor,
    *,
    override: bool,
    final: bool = False,
) -> Outcome:
    """Create the prepared entity, or apply it to the stored one of its FQN; `final` when
    the transaction writes nothing after it."""
    stored = kind.store.get_by_fqn(connection, prepared.fqn, for_update=True)
    check_if_match(stored, caller.if_match)
    if stored is None:
        authorize(connection, kind, actor, [Operation.Create], None)
        doc = kind.seal(new_doc(kind, prepared, caller), caller.cipher)
        if _insert(connection, kind, doc, prepared, caller, final=final):
            return Outcome(doc=doc, change=CREATED)
        # Another request created it between our read and our insert: update that one.
        stored = kind.store.get_by_fqn(connection, prepared.fqn, for_update=True)
        if stored is None:
            # Not the name but another unique column (a user's email) is taken.
            raise EntityAlreadyExists()
    return update(connection, kind, stored, prepared, caller, actor, override=override, final=final)


def check_update(
    connection: Connection, kind: Kind[Any], actor: Actor, original: Doc, prepared: Prepared
) -> None:
    if original["name"] != prepared.name:
        # Two names that quote to one FQN ('a.b' and '"a.b"') cannot both exist.
        raise EntityAlreadyExists()
    authorize(connection, kind, actor, [Operation.EditAll], _owners(original))


def update(
    connection: Connection,
    kind: Kind[Any],
    stored: Doc,
    prepared: Prepared,
    caller: Caller,
    actor: Actor,
    *,
    override: bool,
    final: bool = False,
) -> Outcome:
    """Apply a PUT to a stored (sealed) entity; answer with the stored form of the result.
    `final` when the transaction writes nothing after it."""
    expanded = _expanded(connection, kind, stored)
    original = kind.open(expanded, caller.cipher)
    check_update(connection, kind, actor, original, prepared)
    if unchanged_at_source(kind, original, prepared):
        return Outcome(doc=expanded, change=NO_CHANGE)
    result = merged(connection, kind, original, prepared, actor, override=override)
    updated = next_version(kind, original, result, caller)
    if updated is None:
        if result == original:
            return Outcome(doc=expanded, change=NO_CHANGE)
        # Only what no version records changed (a source fingerprint): kept as it is.
        sealed = kind.seal(result, caller.cipher)
        kind.store.replace_many(connection, [stored_form(kind, sealed)], previous=[stored])
        return Outcome(doc=sealed, change=NO_CHANGE)
    sealed = kind.seal(updated, caller.cipher)
    if (
        prepared.links is None
        and not original["deleted"]
        and _events_with_write(connection, caller, final=final)
    ):
        # Nothing is written after the new version: its event goes in with it.
        kind.store.replace_many(
            connection,
            [stored_form(kind, sealed)],
            previous=[stored],
            keep_history=kind.keeps_history,
            events=events.rows([versioned_event(kind, UPDATED, sealed, caller)]),
        )
        return Outcome(doc=sealed, change=UPDATED)
    replace_versioned(connection, kind, [(stored, sealed)])
    events.record(connection, [versioned_event(kind, UPDATED, sealed, caller)])
    if prepared.links is not None:
        kind.save_links(connection, sealed["id"], prepared.links)
    if original["deleted"]:
        _set_children_deleted(connection, kind, sealed, caller, deleted=False)
    return Outcome(doc=sealed, change=UPDATED)


def replace_versioned(
    connection: Connection, kind: Kind[Any], pairs: Sequence[tuple[Doc, Doc]]
) -> None:
    """Write new versions of stored entities: each one it replaces goes to history.

    Each `before` is its entity's row as read in this transaction, so the database copies
    it to history from the row itself."""
    if not pairs:
        return
    kind.store.replace_many(
        connection,
        [stored_form(kind, after) for _, after in pairs],
        previous=[before for before, _ in pairs],
        keep_history=kind.keeps_history,
    )


def stored_for_change(
    connection: Connection,
    kind: Kind[Any],
    entity_id: str | None,
    fqn: str | None,
    *,
    include_deleted: bool = True,
) -> Doc:
    """The entity a write is about, by id or name, locked; 404 when there is none (or only a
    soft-deleted one, unless include_deleted)."""
    if entity_id is not None:
        stored = kind.store.get_by_id(connection, entity_id, for_update=True)
        key: str = entity_id
    else:
        assert fqn is not None
        key = kind.lookup_fqn(fqn)
        stored = kind.store.get_by_fqn(connection, key, for_update=True)
    if stored is None or (stored["deleted"] and not include_deleted):
        raise EntityNotFound(kind.entity_type, key)
    return stored


def _set_deleted(
    connection: Connection, kind: Kind[Any], stored: Sequence[Doc], caller: Caller, *, deleted: bool
) -> list[Doc]:
    """Record deleted false->true (soft delete) or true->false (restore) on each entity
    that is not so already: +0.1, history kept, an event each, in a fixed number of
    statements."""
    pairs = []
    for doc in stored:
        if doc["deleted"] == deleted:
            continue
        original = kind.open(_expanded(connection, kind, doc), caller.cipher)
        updated = next_version(kind, original, {**original, "deleted": deleted}, caller)
        assert updated is not None
        pairs.append((doc, kind.seal(updated, caller.cipher)))
    replace_versioned(connection, kind, pairs)
    event_type = SOFT_DELETED if deleted else RESTORED
    events.record(
        connection, [versioned_event(kind, event_type, after, caller) for _, after in pairs]
    )
    return [after for _, after in pairs]


def _set_children_deleted(
    connection: Connection, kind: Kind[Any], parent: Doc, caller: Caller, *, deleted: bool
) -> None:
    """Soft-delete or restore what belongs to an entity, and what belongs to that."""
    for children in kind.children:
        docs = children.kind.store.get_by_column(
            connection, children.column, parent["id"], for_update=True
        )
        changed = _set_deleted(connection, children.kind, docs, caller, deleted=deleted)
        for child in changed:
            _set_children_deleted(connection, children.kind, child, caller, deleted=deleted)


def _remove(connection: Connection, kind: Kind[Any], docs: Sequence[Doc], caller: Caller) -> None:
    """Hard-delete entities with everything that belongs to them, children first; an
    entityDeleted event each, the entity's before its children's."""
    entity_ids = [doc["id"] for doc in docs]
    events.record(connection, [change_event(kind, DELETED, doc, caller) for doc in docs])
    for children in kind.children:
        child_docs = [
            doc
            for entity_id in entity_ids
            for doc in children.kind.store.get_by_column(connection, children.column, entity_id)
        ]
        _remove(connection, children.kind, child_docs, caller)
    kind.remove_links(connection, entity_ids)
    kind.store.hard_delete(connection, entity_ids)


def _check_children(
    connection: Connection, kind: Kind[Any], stored: Doc, *, recursive: bool
) -> None:
    """EntityRepository.deleteChildren: an entity that holds others goes only with them."""
    if recursive or kind.deletes_children:
        return
    for children in kind.children:
        if children.kind.store.exists_by_column(connection, children.column, stored["id"]):
            raise BadRequest(f"{kind.entity_type} is not empty")


def delete(
    connection: Connection,
    kind: Kind[Any],
    *,
    entity_id: str | None = None,
    fqn: str | None = None,
    hard: bool,
    recursive: bool = False,
    caller: Caller,
) -> Outcome:
    """DELETE by id or name: soft (deleted=true, a new version) or hard (the entity, its
    history and its relations are gone). The answer is the entity, as it now is or as it
    was just before it went (om-api §2.8)."""
    actor = caller.actor(connection)
    stored = stored_for_change(connection, kind, entity_id, fqn)
    authorize(connection, kind, actor, [Operation.Delete], _owners(stored))
    check_if_match(stored, caller.if_match)
    kind.check_deletable(stored)
    _check_children(connection, kind, stored, recursive=recursive)
    if hard or kind.hard_delete_only:
        doc = _expanded(connection, kind, stored)
        _remove(connection, kind, [stored], caller)
        return Outcome(doc=doc, change=DELETED)
    if stored["deleted"]:
        return Outcome(doc=_expanded(connection, kind, stored), change=NO_CHANGE)
    (deleted,) = _set_deleted(connection, kind, [stored], caller, deleted=True)
    _set_children_deleted(connection, kind, deleted, caller, deleted=True)
    return Outcome(doc=deleted, change=SOFT_DELETED)


def _restorable(connection: Connection, kind: Kind[Any], entity_id: str, caller: Caller) -> Doc:
    """The soft-deleted entity a restore is about, locked, once the caller may restore it."""
    actor = caller.actor(connection)
    stored = kind.store.get_by_id(connection, entity_id, for_update=True)
    # find(id, DELETED): an entity that is not deleted is not found.
    if stored is None or not stored["deleted"]:
        raise EntityNotFound(kind.entity_type, entity_id)
    authorize(connection, kind, actor, [Operation.EditAll], _owners(stored))
    return stored


def restore(connection: Connection, kind: Kind[Any], entity_id: str, *, caller: Caller) -> Outcome:
    """PUT /restore: a soft-deleted entity back (+0.1, deleted true->false), with what
    belongs to it."""
    stored = _restorable(connection, kind, entity_id, caller)
    (restored,) = _set_deleted(connection, kind, [stored], caller, deleted=False)
    _set_children_deleted(connection, kind, restored, caller, deleted=False)
    return Outcome(doc=restored, change=RESTORED)


def delete_stale(
    connection: Connection,
    kind: Kind[Any],
    scope: Children,
    scope_kind: Kind[Any],
    scope_fqn: str,
    seen: Sequence[str],
    *,
    recursive: bool,
    caller: Caller,
) -> tuple[list[Doc], list[tuple[Doc, ApiError]]]:
    """Soft-delete the entities of a scope (a service's models) that the source no longer
    reports: those not among the FQNs seen. Answers the entities deleted, and those the
    caller may not delete with why.

    An empty list of FQNs seen deletes nothing: a source that lists nothing more likely
    failed to list than lost everything (bulkDeleteStaleEntities).
    """
    actor = caller.actor(connection)
    parent = scope_kind.store.get_by_fqn(
        connection, scope_kind.lookup_fqn(scope_fqn), for_share=True
    )
    if parent is None or parent["deleted"]:
        raise EntityNotFound(scope_kind.entity_type, scope_fqn)
    if not seen:
        return [], []
    wanted = set(seen)
    stale = [
        doc
        for doc in kind.store.get_by_column(connection, scope.column, parent["id"], for_update=True)
        if not doc["deleted"] and doc["fullyQualifiedName"] not in wanted
    ]
    allowed, refused = [], []
    for doc in stale:
        try:
            authorize(connection, kind, actor, [Operation.Delete], _owners(doc))
        except ApiError as exc:
            refused.append((doc, exc))
            continue
        allowed.append(doc)
    deleted = _set_deleted(connection, kind, allowed, caller, deleted=True)
    if recursive:
        for doc in deleted:
            _set_children_deleted(connection, kind, doc, caller, deleted=True)
    return deleted, refused


# ---------------------------------------------------------------------------- reads


def included(doc: Doc, include: str) -> bool:
    if include == "non-deleted":
        return not doc["deleted"]
    if include == "deleted":
        return bool(doc["deleted"])
    return True


def get_by_id(
    connection: Connection,
    kind: Kind[Any],
    entity_id: str,
    *,
    include: str,
    fields: frozenset[str] = frozenset(),
    caller: Caller,
) -> Doc:
    caller.actor(connection)
    doc = kind.store.get_by_id(connection, entity_id)
    if doc is None or not included(doc, include):
        raise EntityNotFound(kind.entity_type, entity_id)
    return kind.expand(connection, [doc], fields)[0]


def get_by_name(
    connection: Connection,
    kind: Kind[Any],
    name: str,
    *,
    include: str,
    fields: frozenset[str] = frozenset(),
    caller: Caller,
) -> Doc:
    """By name or FQN, looked up as the kind quotes FQNs."""
    caller.actor(connection)
    fqn = kind.lookup_fqn(name)
    doc = kind.store.get_by_fqn(connection, fqn)
    if doc is None or not included(doc, include):
        raise EntityNotFound(kind.entity_type, fqn)
    return kind.expand(connection, [doc], fields)[0]


def list_page(connection: Connection, kind: Kind[Any], query: ListQuery, *, caller: Caller) -> Page:
    """One page in (name, id) order, with OpenMetadata's cursors (om-api §2.9)."""
    caller.actor(connection)
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
    return Page(docs=kind.expand(connection, page.docs, query.fields), paging=page.paging)


def list_versions(
    connection: Connection, kind: Kind[Any], entity_id: str, *, caller: Caller
) -> list[Doc]:
    """Every version, newest (the current entity) first."""
    caller.actor(connection)
    current = kind.store.get_by_id(connection, entity_id)
    if current is None:
        raise EntityNotFound(kind.entity_type, entity_id)
    return [current, *kind.store.list_versions(connection, entity_id)]


def versions_page(
    connection: Connection,
    kind: Kind[Any],
    entity_id: str,
    *,
    limit: int | None,
    before: str | None,
    after: str | None,
    caller: Caller,
) -> VersionPage:
    """A page of versions, newest first, read by keyset on the version table: `after` goes
    to older versions, `before` to newer ones, as a list's cursors do (om-api §2.9).

    Forward, `after` points past the last version when older ones follow, and `before` at
    the first when the page was asked for with `after`; backward, `before` points at the
    first when newer ones precede, and `after` at the last.
    """
    caller.actor(connection)
    if before is not None and after is not None:
        raise BadRequest("Only one of before or after query parameter allowed")
    older_than, newer_than = decode_version_cursor(after), decode_version_cursor(before)
    current = kind.store.get_by_id(connection, entity_id)
    if current is None:
        raise EntityNotFound(kind.entity_type, entity_id)
    now = versioning.from_wire(current["version"])
    fetch = None if limit is None else limit + 1
    docs: list[Doc]
    if newer_than is not None:
        # Nearest first, that is oldest first; the current version is the newest of all.
        docs = kind.store.versions_page(connection, entity_id, newer_than=newer_than, limit=fetch)
        if now > newer_than:
            docs.append(current)
        docs = docs[:fetch][::-1]
        more_before = limit is not None and len(docs) > limit
        if more_before:
            docs = docs[1:]
        first = encode_version_cursor(_tenths(docs[0])) if more_before else None
        last = encode_version_cursor(_tenths(docs[-1])) if docs else None
        return VersionPage(docs=docs, before=first, after=last)
    head = [current] if older_than is None or now < older_than else []
    rest = None if fetch is None else fetch - len(head)
    docs = head + kind.store.versions_page(connection, entity_id, older_than=older_than, limit=rest)
    more_after = limit is not None and len(docs) > limit
    if more_after:
        docs = docs[:limit]
    last = encode_version_cursor(_tenths(docs[-1])) if more_after else None
    first = encode_version_cursor(_tenths(docs[0])) if older_than is not None and docs else None
    return VersionPage(docs=docs, before=first, after=last)


def _tenths(doc: Doc) -> int:
    return versioning.from_wire(doc["version"])


def get_version(
    connection: Connection, kind: Kind[Any], entity_id: str, version: str, *, caller: Caller
) -> Doc:
    """One version; 404 names the version as OpenMetadata prints a Double (0.3)."""
    caller.actor(connection)
    try:
        tenths = versioning.from_wire(version)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    current = kind.store.get_by_id(connection, entity_id)
    if current is None:
        raise EntityNotFound(kind.entity_type, entity_id)
    if versioning.from_wire(current["version"]) == tenths:
        return current
    doc = kind.store.get_version(connection, entity_id, tenths)
    if doc is None:
        raise EntityNotFound(
            kind.entity_type, f"{entity_id} and version {versioning.to_wire(tenths)}"
        )
    return doc


# ---------------------------------------------------------------------------- followers


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
    connection: Connection, kind: Kind[Any], entity_id: str, user_id: str, caller: Caller
) -> tuple[Doc, Doc]:
    """The entity (locked) and the user of a follower change, once the caller may make it."""
    actor = caller.actor(connection)
    permissions.authorize_follower(actor, user_id)
    stored = kind.store.get_by_id(connection, entity_id, for_update=True)
    # find(entityId, NON_DELETED): a soft-deleted entity keeps its followers, but none
    # can be added or removed.
    if stored is None or stored["deleted"]:
        raise EntityNotFound(kind.entity_type, entity_id)
    return stored, references.resolve_follower(connection, user_id)


def _follower_event(kind: Kind[Any], stored: Doc, change: Doc, caller: Caller) -> FollowerChange:
    """The ChangeEvent EntityRepository.addFollower and deleteFollower answer with.

    The version does not move, so previousVersion is currentVersion. `entity` is the
    entity as stored, without its relationship fields, carrying the change as its
    changeDescription (the repository sets it on the same object after building the event).
    """
    event = change_event(kind, UPDATED, stored, caller, change=change, incremental=change)
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
    connection: Connection, kind: Kind[Any], entity_id: str, user_id: str, *, caller: Caller
) -> FollowerChange:
    """PUT /{id}/followers: the user follows the entity. Version, updatedAt, updatedBy and
    changeDescription stay as they are, and no history is written; following twice is
    answered like the first time (EntityRepository.addFollower)."""
    stored, user = _follower_target(connection, kind, entity_id, user_id, caller)
    followers = stored.get("followers", [])
    answer = _follower_event(kind, stored, _followers_change(stored, added=user), caller)
    if all(ref["id"] != user["id"] for ref in followers):
        ordered = sorted([*followers, user], key=lambda ref: (ref["name"], ref["id"]))
        kind.store.replace_many(connection, [{**stored, "followers": ordered}], previous=[stored])
        events.record(connection, [answer.event])
    return answer


def remove_follower(
    connection: Connection, kind: Kind[Any], entity_id: str, user_id: str, *, caller: Caller
) -> FollowerChange:
    """DELETE /{id}/followers/{userId}: the user no longer follows the entity; removing
    one who does not follow it is no error (EntityRepository.deleteFollower)."""
    stored, user = _follower_target(connection, kind, entity_id, user_id, caller)
    followers = stored.get("followers", [])
    kept = [ref for ref in followers if ref["id"] != user["id"]]
    if len(kept) != len(followers):
        kind.store.replace_many(connection, [{**stored, "followers": kept}], previous=[stored])
    answer = _follower_event(kind, stored, _followers_change(stored, deleted=user), caller)
    if len(kept) != len(followers):
        events.record(connection, [answer.event])
    return answer


# ---------------------------------------------------------------------------- async jobs


def delete_later(
    connection: Connection,
    kind: Kind[Any],
    entity_id: str,
    *,
    hard: bool,
    recursive: bool,
    caller: Caller,
) -> jobs.Started:
    """DELETE /async/{id}: what a delete checks (404, 403, 412) is checked now; the delete
    itself is the returned work, run after the answer in a transaction of its own
    (EntityResource.deleteByIdAsync)."""
    actor = caller.actor(connection)
    stored = stored_for_change(connection, kind, entity_id, None)
    authorize(connection, kind, actor, [Operation.Delete], _owners(stored))
    check_if_match(stored, caller.if_match)
    doc = jobs.start(
        connection,
        operation="delete",
        job_id=caller.ids.new(),
        entity_type=kind.entity_type,
        entity=stored,
        created_by=caller.principal.name,
        now_ms=caller.now_ms,
        options={"hardDelete": hard, "recursive": recursive},
    )

    def work(later: Connection, now_ms: int) -> None:
        delete(
            later,
            kind,
            entity_id=stored["id"],
            hard=hard,
            recursive=recursive,
            caller=replace(caller, now_ms=now_ms),
        )

    return jobs.Started(doc=doc, work=work)


def restore_later(
    connection: Connection, kind: Kind[Any], entity_id: str, *, caller: Caller
) -> jobs.Started:
    """PUT /restore?async=true: what a restore checks (404, 403) is checked now; the
    restore itself is the returned work, run after the answer in a transaction of its own."""
    stored = _restorable(connection, kind, entity_id, caller)
    doc = jobs.start(
        connection,
        operation="restore",
        job_id=caller.ids.new(),
        entity_type=kind.entity_type,
        entity=stored,
        created_by=caller.principal.name,
        now_ms=caller.now_ms,
    )

    def work(later: Connection, now_ms: int) -> None:
        restore(later, kind, stored["id"], caller=replace(caller, now_ms=now_ms))

    return jobs.Started(doc=doc, work=work)
