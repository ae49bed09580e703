"""All SQL of an entity kind's tables: the current documents, their past versions and the
domains they belong to. Works in JSON documents, never in wire models."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Final, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Insert,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy import column as sql_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from mlmodel_emulator.common import versioning
from mlmodel_emulator.common.paging import Cursor
from mlmodel_emulator.db.statements import (
    Direct,
    InsertNew,
    ManyLookup,
    insert_ignoring_conflicts,
    many_lookup,
)
from mlmodel_emulator.entities.models import COUNTED_TABLES, EntityCountRecord
from mlmodel_emulator.errors import EntityAlreadyExists
from mlmodel_emulator.events.models import CHANGE_EVENT

Doc = dict[str, Any]

# Documents carry few distinct versions, and parsing one exactly (through Decimal) costs
# about 1% of a create.
tenths = lru_cache(maxsize=1024, typed=True)(versioning.from_wire)


def _no_extra_columns(_: Doc) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Store:
    """One kind's tables. `table` holds each entity's current document plus the columns
    queries use (id, name, fqn unique, deleted, version in tenths, updated_at, and any
    `extra_columns`); `versions` its past versions; `domains` which domains each entity
    belongs to, mirrored from the documents for the `?domain=` filter.

    The columns are derived from the document in one place (`row`), so the two cannot
    disagree. Rows are written in FQN order, the order every writer follows, so that
    writers cannot deadlock on each other's rows.
    """

    table: Table
    versions: Table | None = None
    domains: Table | None = None
    # The column of `versions` and `domains` that holds the entity's id.
    owner_key: str = "entity_id"
    # Columns beyond the shared ones, derived from the document like the rest.
    extra_columns: Callable[[Doc], dict[str, Any]] = field(default=_no_extra_columns)
    # Skip a new row that collides on any unique column (a user's email), not only its FQN.
    any_conflict: bool = False

    def row(self, doc: Doc) -> dict[str, Any]:
        """The indexed columns, derived from the document so that the two never disagree."""
        return {
            "id": doc["id"],
            "name": doc["name"],
            "fqn": doc["fullyQualifiedName"],
            "deleted": doc["deleted"],
            "version_tenths": tenths(doc["version"]),
            "updated_at": doc["updatedAt"],
            "doc": doc,
            **self.extra_columns(doc),
        }

    # ------------------------------------------------------------------ statements

    @cached_property
    def _lookups(self) -> dict[tuple[str, str | None], Direct]:
        # Built once per table: building a statement costs about as much as running it,
        # and the user lookup runs on every request.
        lookups: dict[tuple[str, str | None], Direct] = {}
        for column in ("id", "fqn"):
            statement = select(self.table.c.doc).where(self.table.c[column] == bindparam("key"))
            lookups[(column, None)] = Direct(statement)
            lookups[(column, "update")] = Direct(statement.with_for_update())
            lookups[(column, "share")] = Direct(statement.with_for_update(read=True))
        return lookups

    @cached_property
    def _many(self) -> dict[tuple[str, str | None], ManyLookup]:
        c = self.table.c
        many: dict[tuple[str, str | None], ManyLookup] = {}
        for column in ("id", "fqn"):
            # Locked in FQN order, the order every writer follows.
            statement = select(c.doc).order_by(c.fqn)
            many[(column, None)] = many_lookup(statement, c[column])
            many[(column, "update")] = many_lookup(statement.with_for_update(), c[column])
            many[(column, "share")] = many_lookup(statement.with_for_update(read=True), c[column])
        return many

    @cached_property
    def _insert_new(self) -> InsertNew:
        # Each new row has a fresh id, which tells afterwards whether it went in.
        c = self.table.c
        return InsertNew(self.table, key=c.fqn, identity=c.id, any_conflict=self.any_conflict)

    @cached_property
    def _replace(self) -> dict[tuple[bool, bool], Direct]:
        """The UPDATE of one row by `b_id`, in four forms: (whole, with history).

        Whole sets every column. Otherwise only the document, its version and time: when
        no other column changes (a PUT or PATCH of the fields the document alone holds),
        SQLite then leaves the indexes of the unchanged columns alone, where naming a
        column in SET rewrites its index entries whatever the value, which made a PUT's
        UPDATE and commit cost about three times as much.

        With history, on PostgreSQL, a data-modifying CTE first copies the row, as it is
        before the UPDATE, to history (the CTE reads the row as it was): a new version is
        one statement, and its old document is copied by the database, not sent again.
        SQLite has no such CTE: `_copy_to_history` runs just before the UPDATE.
        """
        forms: dict[tuple[bool, bool], Any] = {}
        for whole in (True, False):
            statement = self._update_of_one(whole)
            forms[(whole, False)] = Direct(statement)
            if self.versions is not None:
                copy = self._history_copy_pg().cte("to_history")
                forms[(whole, True)] = Direct(statement.add_cte(copy))
        return forms

    def _update_of_one(self, whole: bool) -> Any:
        """The UPDATE of the row `b_id`: every column (whole), or the document's alone."""
        keys = (
            [column.key for column in self.table.columns if column.key != "id"]
            if whole
            else list(_DOCUMENT_COLUMNS)
        )
        return (
            update(self.table)
            .where(self.table.c.id == bindparam("b_id"))
            .values({key: bindparam("b_" + key) for key in keys})
        )

    def _history_copy_pg(self) -> Any:
        """PostgreSQL: the INSERT ... SELECT of the current row of `b_id` into history."""
        assert self.versions is not None
        return (
            postgresql.insert(self.versions)
            .from_select(self._history_columns, self._current_row)
            .on_conflict_do_nothing()
        )

    @property
    def _history_columns(self) -> list[str]:
        return [self.owner_key, "version_tenths", "doc"]

    @property
    def _current_row(self) -> Select[Any]:
        c = self.table.c
        return select(c.id, c.version_tenths, c.doc).where(c.id == bindparam("b_id"))

    @cached_property
    def _copy_to_history(self) -> Direct:
        """SQLite: INSERT ... SELECT of the current row of `b_id` into history."""
        assert self.versions is not None
        copy = sqlite.insert(self.versions).from_select(self._history_columns, self._current_row)
        return Direct(copy.on_conflict_do_nothing())

    @cached_property
    def _add_with_events(self) -> Direct:
        """PostgreSQL: the INSERT of one new row (`rows`, as `_insert_new` takes them) and its
        `events`, in one statement (see events_after)."""
        written = self._insert_new.postgresql.returning(self.table.c.id)
        return Direct(events_after(written))

    @cached_property
    def _replace_with_events(self) -> dict[tuple[bool, bool], Direct]:
        """PostgreSQL: `_replace`'s UPDATE of one row, with its history copy, and its
        `events`, in one statement (see events_after), in the same four forms."""
        forms: dict[tuple[bool, bool], Direct] = {}
        for whole in (True, False):
            statement = self._update_of_one(whole).returning(self.table.c.id)
            forms[(whole, False)] = Direct(events_after(statement))
            if self.versions is not None:
                copy = self._history_copy_pg().returning(self.versions.c.version_tenths)
                forms[(whole, True)] = Direct(events_after(statement, copy))
        return forms

    # ------------------------------------------------------------------ reads

    def get_by_id(
        self, connection: Connection, entity_id: str, *, for_update: bool = False
    ) -> Doc | None:
        statement = self._lookups[("id", "update" if for_update else None)]
        doc: Doc | None = statement.scalar_one_or_none(connection, {"key": entity_id})
        return doc

    def get_by_fqn(
        self,
        connection: Connection,
        fqn: str,
        *,
        for_update: bool = False,
        for_share: bool = False,
    ) -> Doc | None:
        """The current document of an FQN; locked for update, or for share (it may not
        change or go, but others may read it so too: a parent while its child is written)."""
        lock = "update" if for_update else "share" if for_share else None
        statement = self._lookups[("fqn", lock)]
        doc: Doc | None = statement.scalar_one_or_none(connection, {"key": fqn})
        return doc

    def get_many_by_id(
        self, connection: Connection, ids: Collection[str], *, for_update: bool = False
    ) -> dict[str, Doc]:
        """Documents by id, in one statement; ids that match nothing are left out."""
        if not ids:
            return {}
        docs = self._many[("id", "update" if for_update else None)].scalars(
            connection, sorted(set(ids))
        )
        return {doc["id"]: doc for doc in docs}

    def get_many_by_fqn(
        self,
        connection: Connection,
        fqns: Iterable[str],
        *,
        for_update: bool = False,
        for_share: bool = False,
    ) -> dict[str, Doc]:
        """Documents by FQN, in one statement; FQNs that match nothing are left out."""
        wanted = sorted(set(fqns))
        if not wanted:
            return {}
        lock = "update" if for_update else "share" if for_share else None
        docs = self._many[("fqn", lock)].scalars(connection, wanted)
        return {doc["fullyQualifiedName"]: doc for doc in docs}

    def get_by_column(
        self, connection: Connection, column: str, value: str, *, for_update: bool = False
    ) -> list[Doc]:
        """The documents whose `column` holds `value` (the children of a parent), in FQN
        order."""
        c = self.table.c
        statement = select(c.doc).where(c[column] == value).order_by(c.fqn)
        if for_update:
            statement = statement.with_for_update()
        return list(connection.execute(statement).scalars())

    def exists_by_column(self, connection: Connection, column: str, value: str) -> bool:
        c = self.table.c
        statement = select(c.id).where(c[column] == value).limit(1)
        return connection.execute(statement).first() is not None

    # ------------------------------------------------------------------ writes

    def lock_names(self, connection: Connection, fqns: Iterable[str]) -> None:
        """Lock these FQNs of this table for the rest of the transaction, taken or not, in one
        order every writer follows: two requests that write overlapping sets of names
        (a new row for one is an existing row for the other) queue instead of deadlocking.

        PostgreSQL: transaction-scoped advisory locks, taken in key order by one statement.
        SQLite: nothing to do, a write transaction holds the whole database.
        """
        if connection.dialect.name != "postgresql":
            return
        keys = sorted({name_lock_key(self.table.name, fqn) for fqn in fqns})
        if keys:
            connection.execute(_LOCK_KEYS, {"keys": keys})

    def add(self, connection: Connection, doc: Doc, *, events: Sequence[Doc] = ()) -> bool:
        """Insert a new entity; False when its FQN (or another unique column) is taken, by
        anyone, even concurrently.

        With `events` (change_event rows, on PostgreSQL, for a document that
        `adds_alone`), they go in in the same statement, when the entity does
        (events_after).
        """
        if not events:
            return bool(self.add_many(connection, [doc]))
        assert connection.dialect.name == "postgresql"
        assert self.adds_alone(doc)
        params = {"rows": [self.row(doc)], "events": list(events)}
        return bool(self._add_with_events.run(connection, [params]))

    def adds_alone(self, doc: Doc) -> bool:
        """Whether `add` inserts this document in one statement: it has no domain rows to
        mirror."""
        return self.domains is None or not doc.get("domains")

    def add_many(self, connection: Connection, docs: Sequence[Doc]) -> set[str]:
        """Insert new entities (one statement); return the FQNs that were inserted."""
        ordered = sorted(docs, key=lambda doc: doc["fullyQualifiedName"])
        inserted = {
            str(fqn) for fqn in self._insert_new.execute(connection, [self.row(d) for d in ordered])
        }
        self._sync_domains(
            connection,
            [doc for doc in ordered if doc["fullyQualifiedName"] in inserted],
            replace=False,
        )
        return inserted

    def replace_many(
        self,
        connection: Connection,
        docs: Sequence[Doc],
        *,
        previous: Sequence[Doc] | None = None,
        keep_history: bool = False,
        events: Sequence[Doc] = (),
    ) -> None:
        """Overwrite current documents (one executemany). With the `previous` documents
        (the rows as read, locked, in this transaction), only the document columns are set
        when no other column changes, and the domain mirror is rewritten only for those
        whose domains changed. With
        `keep_history`, each row as it is now goes to history first (a version stored
        twice is kept once), copied by the database: one statement with the UPDATE on
        PostgreSQL, one more executemany on SQLite.

        With `events` (change_event rows, on PostgreSQL, for one document and its
        `previous`), they go in in the same statement as the UPDATE (events_after); the
        domain mirror, if it changes, is rewritten first.

        409 when one takes a unique value (a user's email) that another entity holds.
        """
        if not docs:
            return
        if events:
            self._replace_one_with_events(connection, docs, previous, keep_history, events)
            return
        ordered = sorted(docs, key=lambda doc: doc["fullyQualifiedName"])
        rows = [self.row(doc) for doc in ordered]
        # Only the document, its version and time change unless some other column does.
        whole = previous is None or len(previous) != len(docs)
        if not whole:
            assert previous is not None
            as_read = {doc["id"]: _other_columns(self.row(doc)) for doc in previous}
            whole = any(_other_columns(row) != as_read.get(row["id"]) for row in rows)
        keys = None if whole else ("id", *_DOCUMENT_COLUMNS)
        params = [
            {("b_" + key): value for key, value in row.items() if keys is None or key in keys}
            for row in rows
        ]
        history = keep_history and self.versions is not None
        postgres = connection.dialect.name == "postgresql"
        if history and not postgres:
            self._copy_to_history.run(connection, [{"b_id": row["id"]} for row in rows])
        try:
            self._replace[(whole, history and postgres)].run(connection, params)
        except IntegrityError:
            raise EntityAlreadyExists() from None
        if self.domains is None:
            return
        if previous is not None:
            before = {doc["id"]: _domain_ids(doc) for doc in previous}
            ordered = [doc for doc in ordered if before.get(doc["id"]) != _domain_ids(doc)]
        self._sync_domains(connection, ordered, replace=True)

    def _replace_one_with_events(
        self,
        connection: Connection,
        docs: Sequence[Doc],
        previous: Sequence[Doc] | None,
        keep_history: bool,
        events: Sequence[Doc],
    ) -> None:
        assert connection.dialect.name == "postgresql"
        assert previous is not None
        assert len(docs) == len(previous) == 1
        (doc,), (before,) = docs, previous
        row = self.row(doc)
        whole = _other_columns(row) != _other_columns(self.row(before))
        params = {
            ("b_" + key): value
            for key, value in row.items()
            if whole or key == "id" or key in _DOCUMENT_COLUMNS
        }
        if self.domains is not None and _domain_ids(before) != _domain_ids(doc):
            # Before the UPDATE: the event-order lock it takes is held until the commit.
            self._sync_domains(connection, [doc], replace=True)
        history = keep_history and self.versions is not None
        statement = self._replace_with_events[(whole, history)]
        try:
            statement.run(connection, [{**params, "events": list(events)}])
        except IntegrityError:
            raise EntityAlreadyExists() from None

    def _sync_domains(self, connection: Connection, docs: Sequence[Doc], *, replace: bool) -> None:
        """Keep the domain mirror equal to the documents' domains (two statements at most)."""
        if self.domains is None or not docs:
            return
        key = self.domains.c[self.owner_key]
        if replace:
            connection.execute(delete(self.domains).where(key.in_([doc["id"] for doc in docs])))
        rows = [
            {self.owner_key: doc["id"], "domain_id": ref["id"]}
            for doc in docs
            for ref in doc.get("domains", [])
        ]
        if rows:
            connection.execute(insert(self.domains), rows)

    def hard_delete(self, connection: Connection, entity_ids: Sequence[str]) -> None:
        """Remove entities with their history and their domain rows."""
        if not entity_ids:
            return
        ids = list(entity_ids)
        for side in (self.versions, self.domains):
            if side is not None:
                connection.execute(delete(side).where(side.c[self.owner_key].in_(ids)))
        connection.execute(delete(self.table).where(self.table.c.id.in_(ids)))

    # ------------------------------------------------------------------ history

    def add_versions(self, connection: Connection, docs: Sequence[Doc]) -> None:
        """Keep past versions in history (one statement); a version stored twice is kept once."""
        if not docs or self.versions is None:
            return
        rows = [
            {self.owner_key: d["id"], "version_tenths": tenths(d["version"]), "doc": d}
            for d in docs
        ]
        insert_ignoring_conflicts(connection, self.versions, rows)

    def list_versions(self, connection: Connection, entity_id: str) -> list[Doc]:
        """Past versions, newest first."""
        if self.versions is None:
            return []
        v = self.versions.c
        statement = (
            select(v.doc).where(v[self.owner_key] == entity_id).order_by(v.version_tenths.desc())
        )
        return list(connection.execute(statement).scalars())

    def versions_page(
        self,
        connection: Connection,
        entity_id: str,
        *,
        older_than: int | None = None,
        newer_than: int | None = None,
        limit: int | None = None,
    ) -> list[Doc]:
        """Past versions on one side of a version (tenths), nearest first: newest first
        below `older_than`, oldest first above `newer_than`; a keyset range of the primary
        key, at most `limit` rows."""
        if self.versions is None:
            return []
        v = self.versions.c
        statement = select(v.doc).where(v[self.owner_key] == entity_id)
        if newer_than is not None:
            statement = statement.where(v.version_tenths > newer_than).order_by(
                v.version_tenths.asc()
            )
        else:
            if older_than is not None:
                statement = statement.where(v.version_tenths < older_than)
            statement = statement.order_by(v.version_tenths.desc())
        if limit is not None:
            statement = statement.limit(limit)
        return list(connection.execute(statement).scalars())

    def get_version(self, connection: Connection, entity_id: str, version: int) -> Doc | None:
        if self.versions is None:
            return None
        v = self.versions.c
        statement = select(v.doc).where(v[self.owner_key] == entity_id, v.version_tenths == version)
        doc: Doc | None = connection.execute(statement).scalar_one_or_none()
        return doc

    def remove_version(self, connection: Connection, entity_id: str, version: int) -> None:
        """Forget one past version (an editing session undid the change that followed it)."""
        if self.versions is None:
            return
        v = self.versions.c
        connection.execute(
            delete(self.versions).where(v[self.owner_key] == entity_id, v.version_tenths == version)
        )

    # ------------------------------------------------------------------ lists

    def include_filter(self, include: str) -> ColumnElement[bool] | None:
        """include.json: non-deleted, deleted or all."""
        if include == "non-deleted":
            return self.table.c.deleted.is_(False)
        if include == "deleted":
            return self.table.c.deleted.is_(True)
        return None

    def in_domain(self, domain_id: str) -> ColumnElement[bool]:
        """The list filter for the entities of one domain."""
        assert self.domains is not None
        owners = select(self.domains.c[self.owner_key]).where(self.domains.c.domain_id == domain_id)
        return self.table.c.id.in_(owners)

    def column_is(self, column: str, value: str) -> ColumnElement[bool]:
        """The list filter for the entities whose `column` holds `value`."""
        return self.table.c[column] == value

    def _conditions(self, include: str, extra: Sequence[ColumnElement[bool]]) -> list[Any]:
        condition = self.include_filter(include)
        return [*([] if condition is None else [condition]), *extra]

    def count(self, connection: Connection, include: str, *extra: ColumnElement[bool]) -> int:
        """How many rows the list holds: the trigger-kept entity_count when only `include`
        filters, otherwise count(*) over the rows the extra conditions match (indexed)."""
        if not extra and self.table.name in COUNTED_TABLES:
            counts = _ENTITY_COUNT.c
            conditions = [counts.table_name == self.table.name]
            if include in ("non-deleted", "deleted"):
                conditions.append(counts.deleted.is_(include == "deleted"))
            total = select(func.coalesce(func.sum(counts.n), 0)).where(*conditions)
            return int(connection.execute(total).scalar_one())
        statement = (
            select(func.count()).select_from(self.table).where(*self._conditions(include, extra))
        )
        return int(connection.execute(statement).scalar_one())

    def list_page(
        self,
        connection: Connection,
        *extra: ColumnElement[bool],
        include: str,
        limit: int,
        after: Cursor | None,
        before: Cursor | None,
    ) -> list[Doc]:
        """Up to `limit` documents in (name, id) order, after or before a cursor.

        Before a cursor, the rows come back nearest first (descending); the caller reverses them.
        """
        c = self.table.c
        conditions = self._conditions(include, extra)
        order = (c.name.asc(), c.id.asc())
        # Row values, not name > x OR (name = x AND id > y): both databases then seek the
        # (deleted, name, id) index to the cursor instead of walking it from the start.
        if after is not None:
            conditions.append(tuple_(c.name, c.id) > tuple_(after.name, after.id))
        if before is not None:
            conditions.append(tuple_(c.name, c.id) < tuple_(before.name, before.id))
            order = (c.name.desc(), c.id.desc())
        if include != "all" or not self._pages_by_deleted:
            statement = select(c.doc).where(*conditions).order_by(*order).limit(limit)
            return list(connection.execute(statement).scalars())
        # The table's only page index leads with `deleted`: each flag's rows are one ordered
        # range of it, so the page is the first `limit` of the two ranges' first `limit`s,
        # each an index seek, rather than a walk of the whole table.
        branches = [
            select(c.name, c.id, c.doc)
            .where(self.table.c.deleted.is_(flag), *conditions)
            .order_by(*order)
            .limit(limit)
            .subquery()
            for flag in (False, True)
        ]
        both = union_all(*(select(b.c.name, b.c.id, b.c.doc) for b in branches)).subquery()
        descending = before is not None
        merged = (both.c.name.desc(), both.c.id.desc()) if descending else (both.c.name, both.c.id)
        statement = select(both.c.doc).order_by(*merged).limit(limit)
        return list(connection.execute(statement).scalars())

    @cached_property
    def _pages_by_deleted(self) -> bool:
        """Whether the list pages of `include=all` are served by the (deleted, name, id)
        index, the table having none on (name, id) alone."""
        orders = {tuple(column.name for column in index.columns) for index in self.table.indexes}
        return ("deleted", "name", "id") in orders and ("name", "id") not in orders


_ENTITY_COUNT = cast(Table, EntityCountRecord.__table__)

# What every new version of a document changes; the other columns seldom change.
_DOCUMENT_COLUMNS: Final = ("version_tenths", "updated_at", "doc")


def _other_columns(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in _DOCUMENT_COLUMNS}


# Advisory lock keys: name locks use the single-bigint form (pg_advisory_xact_lock(bigint)),
# the event-order lock of events.record the two-int4 form below. PostgreSQL keeps the two
# forms apart (pg_locks objsubid 1 vs 2), so no name hash can ever equal it.
EVENT_ORDER_LOCK_KEY: tuple[int, int] = (0x6D6C6D65, 1)  # "mlme", 1: change_event.seq
BULK_JOBS_LOCK_KEY: tuple[int, int] = (0x6D6C6D65, 2)  # "mlme", 2: counting running bulks


def name_lock_key(table: str, fqn: str) -> int:
    """A signed 64-bit advisory lock key for one name of one table."""
    digest = hashlib.blake2b(f"{table}\x00{fqn}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# unnest keeps the array's order, so the locks are taken in ascending key order.
_LOCK_KEYS = select(func.pg_advisory_xact_lock(sql_column("key"))).select_from(
    func.unnest(bindparam("keys", type_=postgresql.ARRAY(BigInteger))).alias("key")
)


# The events of events_after: change_event rows, as events.service makes them, as one JSON
# array the server unpacks.
_EVENT_COLUMNS: Final = ("id", "event_type", "entity_type", "timestamp", "doc")
_EVENT_RECORDS = (
    func.jsonb_to_recordset(bindparam("events", type_=postgresql.JSONB))
    .table_valued(*(sql_column(name, CHANGE_EVENT.c[name].type) for name in _EVENT_COLUMNS))
    .render_derived(name="e", with_types=True)
)


def events_after(written: Any, *also: Any) -> Insert:
    """PostgreSQL: one statement that runs a write, then inserts the change events
    (`events`) of the transaction, when the write touched a row.

    `written` and `also` are data-modifying statements with RETURNING, run as CTEs; the
    event-order lock (events.service: seq order is commit order) is taken once all of
    them are done, counted, and only when `written` returned a row: no event row, and so
    no seq, exists before the lock is held, and a write that waits on another
    transaction's row does so before the lock is held. The lock is then held until the
    transaction ends, as when the events go in as its last statement: only a
    transaction's last write may carry its events. The inserted count is the number of
    events when the write touched a row, else 0.
    """
    ctes = [written.cte("written"), *(dml.cte(f"also_{n}") for n, dml in enumerate(also))]
    counts = [select(func.count()).select_from(cte).scalar_subquery() for cte in ctes]
    locked = (
        select(func.pg_advisory_xact_lock(*EVENT_ORDER_LOCK_KEY).label("event_order_lock"))
        .where(counts[0] > 0, *(count >= 0 for count in counts[1:]))
        .subquery("event_order_lock")
    )
    rows = select(*(_EVENT_RECORDS.c[name] for name in _EVENT_COLUMNS)).select_from(
        locked.join(_EVENT_RECORDS, true())
    )
    statement: Insert = (
        postgresql.insert(CHANGE_EVENT)
        .from_select(list(_EVENT_COLUMNS), rows)
        .add_cte(*ctes)
        .execution_options(preserve_rowcount=True)
    )
    return statement


def _domain_ids(doc: Doc) -> list[str]:
    return [ref["id"] for ref in doc.get("domains", [])]
