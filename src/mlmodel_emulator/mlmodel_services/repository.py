"""All SQL of the ML model service resource; works in JSON documents, never in wire models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from mlmodel_emulator.common import versioning
from mlmodel_emulator.common.paging import Cursor
from mlmodel_emulator.db.statements import InsertNew, insert_ignoring_conflicts, many_lookup
from mlmodel_emulator.mlmodel_services.models import (
    MlModelServiceDomainRecord,
    MlModelServiceRecord,
    MlModelServiceVersionRecord,
)

Doc = dict[str, Any]

_services = cast(Table, MlModelServiceRecord.__table__)
_versions = cast(Table, MlModelServiceVersionRecord.__table__)
_domains = cast(Table, MlModelServiceDomainRecord.__table__)
_c = _services.c


# Documents carry few distinct versions, and parsing one exactly (through Decimal) costs
# about 1% of a create.
_tenths = lru_cache(maxsize=1024, typed=True)(versioning.from_wire)


def _row(doc: Doc) -> dict[str, Any]:
    """The indexed columns, derived from the document so that the two never disagree."""
    return {
        "id": doc["id"],
        "name": doc["name"],
        "fqn": doc["fullyQualifiedName"],
        "service_type": doc["serviceType"],
        "deleted": doc["deleted"],
        "version_tenths": _tenths(doc["version"]),
        "updated_at": doc["updatedAt"],
        "doc": doc,
    }


def filters(include: str, domain_id: str | None = None) -> list[ColumnElement[bool]]:
    """include.json (non-deleted, deleted or all), and a domain the services belong to."""
    conditions: list[ColumnElement[bool]] = []
    if include == "non-deleted":
        conditions.append(_c.deleted.is_(False))
    elif include == "deleted":
        conditions.append(_c.deleted.is_(True))
    if domain_id is not None:
        in_domain = select(_domains.c.service_id).where(_domains.c.domain_id == domain_id)
        conditions.append(_c.id.in_(in_domain))
    return conditions


def _sync_domains(connection: Connection, docs: Sequence[Doc], *, replace: bool) -> None:
    """Keep mlmodel_service_domain equal to the documents' domains (two statements at most)."""
    if replace:
        ids = [doc["id"] for doc in docs]
        connection.execute(delete(_domains).where(_domains.c.service_id.in_(ids)))
    rows = [
        {"service_id": doc["id"], "domain_id": ref["id"]}
        for doc in docs
        for ref in doc.get("domains", [])
    ]
    if rows:
        connection.execute(insert(_domains), rows)


# Built once: building a statement costs about as much as running it.
_BY_ID = select(_c.doc).where(_c.id == bindparam("key"))
_BY_FQN = select(_c.doc).where(_c.fqn == bindparam("key"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
_BY_FQN_LOCKED = _BY_FQN.with_for_update()
# Locked in FQN order, the order every writer follows, so that writers cannot deadlock.
_MANY_BY_FQN_LOCKED = many_lookup(select(_c.doc).order_by(_c.fqn).with_for_update(), _c.fqn)
# Each new row has a fresh id, which tells afterwards whether it went in.
_INSERT_NEW = InsertNew(_services, key=_c.fqn, identity=_c.id)


def get_by_id(connection: Connection, entity_id: str, *, for_update: bool = False) -> Doc | None:
    statement = _BY_ID_LOCKED if for_update else _BY_ID
    doc: Doc | None = connection.execute(statement, {"key": entity_id}).scalar_one_or_none()
    return doc


def get_by_fqn(connection: Connection, fqn: str, *, for_update: bool = False) -> Doc | None:
    statement = _BY_FQN_LOCKED if for_update else _BY_FQN
    doc: Doc | None = connection.execute(statement, {"key": fqn}).scalar_one_or_none()
    return doc


def get_many_by_fqn(connection: Connection, fqns: Iterable[str]) -> dict[str, Doc]:
    """Current documents by FQN, locked for update, in one statement."""
    rows = _MANY_BY_FQN_LOCKED.execute(connection, sorted(set(fqns))).scalars()
    return {doc["fullyQualifiedName"]: doc for doc in rows}


def add(connection: Connection, doc: Doc) -> bool:
    """Insert a new entity; False when its FQN is taken (by anyone, even concurrently)."""
    return bool(add_many(connection, [doc]))


def add_many(connection: Connection, docs: Sequence[Doc]) -> set[str]:
    """Insert new entities (one statement); return the FQNs that were inserted."""
    inserted = {str(fqn) for fqn in _INSERT_NEW.execute(connection, [_row(d) for d in docs])}
    _sync_domains(
        connection, [doc for doc in docs if doc["fullyQualifiedName"] in inserted], replace=False
    )
    return inserted


def replace_many(connection: Connection, docs: Sequence[Doc]) -> None:
    """Overwrite current documents (one executemany)."""
    if not docs:
        return
    rows = [{("b_" + key): value for key, value in _row(doc).items()} for doc in docs]
    statement = (
        update(_services)
        .where(_c.id == bindparam("b_id"))
        .values({key: bindparam("b_" + key) for key in _row(docs[0]) if key != "id"})
    )
    connection.execute(statement, rows)
    _sync_domains(connection, docs, replace=True)


def add_versions(connection: Connection, docs: Sequence[Doc]) -> None:
    """Keep past versions in history (one statement); a version stored twice is kept once."""
    if not docs:
        return
    rows = [
        {"service_id": d["id"], "version_tenths": _tenths(d["version"]), "doc": d} for d in docs
    ]
    insert_ignoring_conflicts(connection, _versions, rows)


def list_versions(connection: Connection, entity_id: str) -> list[Doc]:
    """Past versions, newest first."""
    statement = (
        select(_versions.c.doc)
        .where(_versions.c.service_id == entity_id)
        .order_by(_versions.c.version_tenths.desc())
    )
    return list(connection.execute(statement).scalars())


def get_version(connection: Connection, entity_id: str, tenths: int) -> Doc | None:
    statement = select(_versions.c.doc).where(
        _versions.c.service_id == entity_id, _versions.c.version_tenths == tenths
    )
    doc: Doc | None = connection.execute(statement).scalar_one_or_none()
    return doc


def remove_version(connection: Connection, entity_id: str, tenths: int) -> None:
    """Forget one past version (an editing session undid the change that followed it)."""
    connection.execute(
        delete(_versions).where(
            _versions.c.service_id == entity_id, _versions.c.version_tenths == tenths
        )
    )


def count(connection: Connection, include: str, domain_id: str | None = None) -> int:
    statement = select(func.count()).select_from(_services).where(*filters(include, domain_id))
    return int(connection.execute(statement).scalar_one())


def list_page(
    connection: Connection,
    *,
    include: str,
    limit: int,
    after: Cursor | None,
    before: Cursor | None,
    domain_id: str | None = None,
) -> list[Doc]:
    """Up to `limit` documents in (name, id) order, after or before a cursor.

    Before a cursor, the rows come back nearest first (descending); the caller reverses them.
    """
    conditions = filters(include, domain_id)
    order = (_c.name, _c.id)
    if after is not None:
        conditions.append(or_(_c.name > after.name, and_(_c.name == after.name, _c.id > after.id)))
    if before is not None:
        conditions.append(
            or_(_c.name < before.name, and_(_c.name == before.name, _c.id < before.id))
        )
        order = (_c.name.desc(), _c.id.desc())  # type: ignore[assignment]
    statement = select(_c.doc).where(*conditions).order_by(*order).limit(limit)
    return list(connection.execute(statement).scalars())


def hard_delete(connection: Connection, entity_id: str) -> None:
    """Remove an entity with its history and its relations."""
    connection.execute(delete(_versions).where(_versions.c.service_id == entity_id))
    connection.execute(delete(_domains).where(_domains.c.service_id == entity_id))
    connection.execute(delete(_services).where(_c.id == entity_id))
