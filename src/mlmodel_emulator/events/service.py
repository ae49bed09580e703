"""Change events: built where an entity changes, recorded in the same transaction as the
change (one INSERT for all the events of a write), and read back as OpenMetadata's
`GET /v1/events` answers them.

Pure of wire models: events are JSON documents in changeEvent.json's shape.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    func,
    or_,
    select,
    true,
)
from sqlalchemy import column as sql_column
from sqlalchemy.dialects import postgresql

from mlmodel_emulator.db.session import before_commit
from mlmodel_emulator.db.statements import Direct
from mlmodel_emulator.entities.store import EVENT_ORDER_LOCK_KEY
from mlmodel_emulator.errors import BadRequest
from mlmodel_emulator.events.models import CHANGE_EVENT

Doc = dict[str, Any]

# The largest value a BIGINT column holds, plus one.
MAX_INT64: Final = 2**63

# changeEventType.json, as the filters of GET /v1/events name them.
CREATED: Final = "entityCreated"
UPDATED: Final = "entityUpdated"
SOFT_DELETED: Final = "entitySoftDeleted"
DELETED: Final = "entityDeleted"
RESTORED: Final = "entityRestored"

# Each filter parameter and the event types it selects: `entityDeleted` covers soft and
# hard deletes (ChangeEventRepository.list).
FILTERS: Final[dict[str, tuple[str, ...]]] = {
    CREATED: (CREATED,),
    UPDATED: (UPDATED,),
    DELETED: (SOFT_DELETED, DELETED),
    RESTORED: (RESTORED,),
}


def event(
    *,
    event_id: str,
    event_type: str,
    entity_type: str,
    doc: Doc,
    previous_version: Any,
    user_name: str,
    timestamp: int,
    change: Doc | None = None,
    incremental: Doc | None = None,
) -> Doc:
    """One ChangeEvent of an entity (changeEvent.json). Without a change (a create, a hard
    delete) changeDescription is left out, as OpenMetadata leaves it null."""
    built: Doc = {
        "id": event_id,
        "eventType": event_type,
        "entityType": entity_type,
        "entityId": doc["id"],
        "entityFullyQualifiedName": doc["fullyQualifiedName"],
        "previousVersion": previous_version,
        "currentVersion": doc["version"],
        "userName": user_name,
        "timestamp": timestamp,
    }
    if change is not None:
        built["changeDescription"] = change
    if incremental is not None:
        built["incrementalChangeDescription"] = incremental
    return built


# ---------------------------------------------------------------------------- writes

# PostgreSQL: the rows travel as one JSON array unpacked by the server, one short statement
# whatever their number (see statements.InsertNew). SQLite: an executemany, a loop in C.
_COLUMNS: Final = ("id", "event_type", "entity_type", "timestamp", "doc")
_RECORDS = (
    func.jsonb_to_recordset(bindparam("rows", type_=postgresql.JSONB))
    .table_valued(*(sql_column(name, CHANGE_EVENT.c[name].type) for name in _COLUMNS))
    .render_derived(name="r", with_types=True)
)
# The event-order lock (see _insert_pg) is taken by the INSERT itself, from a one-row
# derived table joined to the rows: no row, and so no seq, exists before the lock is held,
# and the lock costs no round trip of its own.
_LOCKED = select(
    func.pg_advisory_xact_lock(*EVENT_ORDER_LOCK_KEY).label("event_order_lock")
).subquery("event_order_lock")
_INSERT_PG: Final = postgresql.insert(CHANGE_EVENT).from_select(
    list(_COLUMNS),
    select(*(_RECORDS.c[name] for name in _COLUMNS)).select_from(_LOCKED.join(_RECORDS, true())),
)
_INSERT: Final = Direct(CHANGE_EVENT.insert())


def record(connection: Connection, events: Sequence[Doc]) -> None:
    """Store events in the caller's transaction, in the order given.

    In a transaction that Database runs on PostgreSQL, the events of the whole transaction
    are inserted together as its last statements, right before the commit (see _Deferred);
    elsewhere at once.
    """
    if not events:
        return
    if connection.dialect.name != "postgresql":
        _INSERT.run(connection, [_row(doc) for doc in events])
        return
    hooks = before_commit(connection)
    if hooks is None:
        _insert_pg(connection, [_row(doc) for doc in events])
        return
    # The events wait in the transaction's own hook list, which goes with the transaction:
    # a rolled-back transaction's events cannot reach the next one on this connection.
    deferred = next((hook for hook in hooks if isinstance(hook, _Deferred)), None)
    if deferred is None:
        deferred = _Deferred()
        hooks.append(deferred)
    deferred.events.extend(events)


def attachable(connection: Connection) -> bool:
    """Whether the events of a transaction's last write may go in with that write, in its
    own statement (store.events_after) rather than as a statement of their own before the
    commit: on PostgreSQL, in a transaction that Database runs, with no event recorded yet
    (they would be inserted after this write's)."""
    if connection.dialect.name != "postgresql":
        return False
    hooks = before_commit(connection)
    return hooks is not None and not any(
        isinstance(hook, _Deferred) and hook.events for hook in hooks
    )


def rows(events: Sequence[Doc]) -> list[Doc]:
    """The change_event rows of events, as store.events_after takes them."""
    return [_row(doc) for doc in events]


class _Deferred:
    """The events one transaction recorded, inserted as its last statements."""

    def __init__(self) -> None:
        self.events: list[Doc] = []

    def __call__(self, connection: Connection) -> None:
        _insert_pg(connection, [_row(doc) for doc in self.events])


def _row(doc: Doc) -> Doc:
    return {
        "id": doc["id"],
        "event_type": doc["eventType"],
        "entity_type": doc["entityType"],
        "timestamp": doc["timestamp"],
        "doc": doc,
    }


def _insert_pg(connection: Connection, rows: list[Doc]) -> None:
    # Seq order must be commit order, or a poller paging by `after` can pass a seq whose
    # transaction has not committed yet and never see it. Every writer takes the same
    # transaction-level advisory lock right before drawing its seqs, and holds it until
    # commit or rollback: a transaction cannot draw a seq until every one that drew a
    # smaller seq has finished, so once a seq is visible all smaller seqs are visible or
    # gone for good. It cannot deadlock: in a transaction run by Database the events go
    # in last, right before the commit (record defers them), so a holder of this lock
    # waits on no row lock; and no transaction takes it twice.
    # SQLite needs none of this: writers run one at a time (BEGIN IMMEDIATE in
    # db/engine.py begin_writing), so seq order is already commit order there.
    connection.execute(_INSERT_PG, {"rows": rows})


# ---------------------------------------------------------------------------- reads


@dataclass(frozen=True, slots=True)
class EventQuery:
    """What GET /v1/events asks for: for each filter parameter, the entity types it names
    (None when it is absent, ('*',) for every type), events at or after `timestamp`."""

    filters: dict[str, tuple[str, ...]]
    timestamp: int = 0
    limit: int = 10
    after: str | None = None
    before: str | None = None


def parse_types(value: str | None) -> tuple[str, ...] | None:
    """EntityList.getEntityList: a comma-separated list of entity types, or `*`."""
    if value is None:
        return None
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    return ("*",) if "*" in names else names


def _encode(seq: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"seq": seq})).decode("ascii")


def _decode(value: str | None) -> int | None:
    if not value:
        return None
    try:
        padded = value + "=" * (-len(value) % 4)
        seq = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))["seq"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeEncodeError):
        raise BadRequest(f"Invalid paging cursor {value}") from None
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < MAX_INT64:
        raise BadRequest(f"Invalid paging cursor {value}")
    return seq


def _conditions(query: EventQuery) -> list[Any] | None:
    """The WHERE of a query; None when no filter selects anything."""
    c = CHANGE_EVENT.c
    wanted = []
    for name, types in query.filters.items():
        if not types:
            continue
        condition: Any = c.event_type.in_(FILTERS[name])
        if types != ("*",):
            condition = and_(condition, c.entity_type.in_(types))
        wanted.append(condition)
    if not wanted:
        return None
    return [or_(*wanted), c.timestamp >= query.timestamp]


def list_events(connection: Connection, query: EventQuery) -> Doc:
    """One page of events in the order recorded, oldest first, with its paging (total,
    before and after cursors, as entity lists page). No filter given selects nothing, as
    OpenMetadata answers."""
    if query.before is not None and query.after is not None:
        raise BadRequest("Only one of before or after query parameter allowed")
    after, before = _decode(query.after), _decode(query.before)
    conditions = _conditions(query)
    if conditions is None:
        return {"data": [], "paging": {"total": 0}}
    c = CHANGE_EVENT.c
    total = int(
        connection.execute(
            select(func.count()).select_from(CHANGE_EVENT).where(*conditions)
        ).scalar_one()
    )
    paging: Doc = {"total": total}
    if query.limit == 0:
        return {"data": [], "paging": paging}
    statement = select(c.seq, c.doc).where(*conditions)
    if before is not None:
        statement = statement.where(c.seq < before).order_by(c.seq.desc())
    else:
        if after is not None:
            statement = statement.where(c.seq > after)
        statement = statement.order_by(c.seq.asc())
    rows = list(connection.execute(statement.limit(query.limit + 1)))
    if before is not None:
        rows.reverse()
        if len(rows) > query.limit:
            rows = rows[1:]
            paging["before"] = _encode(rows[0].seq)
        if rows:
            paging["after"] = _encode(rows[-1].seq)
    else:
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            paging["after"] = _encode(rows[-1].seq)
        if after is not None and rows:
            paging["before"] = _encode(rows[0].seq)
    return {"data": [row.doc for row in rows], "paging": paging}
