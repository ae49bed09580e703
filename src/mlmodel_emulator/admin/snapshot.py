"""The whole stored state as one versioned JSON document: its export, and its import in one
transaction that replaces everything or nothing.

The document holds the rows of every table, as stored: connection secrets stay encrypted
with the exporting server's secrets key, and the schema revision the rows fit is recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from alembic.migration import MigrationContext
from sqlalchemy import JSON, Boolean, Connection, Integer, String, Table, select
from sqlalchemy.exc import IntegrityError

import mlmodel_emulator.governance.models
import mlmodel_emulator.jobs.models
import mlmodel_emulator.mlmodel_services.models
import mlmodel_emulator.mlmodels.models
import mlmodel_emulator.subscriptions.models  # noqa: F401  (their tables join the metadata)
from mlmodel_emulator import __version__
from mlmodel_emulator.auth.secrets import PREFIX, SecretCipher
from mlmodel_emulator.clock import RANDOM_IDS, Ids
from mlmodel_emulator.common.api import storable_problem
from mlmodel_emulator.db.base import Base
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.db.statements import lock_for_replacing
from mlmodel_emulator.entities.models import EntityCountRecord
from mlmodel_emulator.entities.permissions import UserCache
from mlmodel_emulator.errors import BadRequest
from mlmodel_emulator.events.models import CHANGE_EVENT
from mlmodel_emulator.governance.classifications import CLASSIFICATIONS, TAGS
from mlmodel_emulator.governance.domains import DOMAINS
from mlmodel_emulator.governance.users import TEAMS, USERS
from mlmodel_emulator.idempotency.models import IdempotencyRecord
from mlmodel_emulator.mlmodel_services.kind import MLMODEL_SERVICES
from mlmodel_emulator.mlmodels.kind import MLMODELS
from mlmodel_emulator.subscriptions import delivery
from mlmodel_emulator.subscriptions.kind import EVENT_SUBSCRIPTIONS
from mlmodel_emulator.subscriptions.models import DELIVERY, FAILED_EVENTS

Doc = dict[str, Any]

FORMAT: Final = "mlmodel-emulator-state"
# Raised when the document's own shape changes; the tables' shape is the schema revision.
FORMAT_VERSION: Final = 1

_INT32: Final = 2**31
_INT64: Final = 2**63

# The columns each entity table derives from its document (Store.row): an imported row
# must agree with its document, as every row written by the service does.
_DERIVED: Final[Mapping[str, Callable[[Doc], Doc]]] = {
    kind.store.table.name: kind.store.row
    for kind in (
        MLMODEL_SERVICES,
        MLMODELS,
        USERS,
        TEAMS,
        DOMAINS,
        CLASSIFICATIONS,
        TAGS,
        EVENT_SUBSCRIPTIONS,
    )
}


# The admin API's own tables (fault rules, the request journal): test scaffolding about
# this process's traffic, not catalog state, so neither exported nor replaced by an import.
ADMIN_TABLE_PREFIX: Final = "emulator_"
# Idempotency keys and the answers they replay: about requests already answered, not
# catalog state either, so kept out of exports and left alone by an import.
# entity_count is derived: its triggers count the imported rows as they go in.
NOT_STATE: Final = frozenset({IdempotencyRecord.__tablename__, EntityCountRecord.__tablename__})


# The change event feed: the history of this server's writes, not state. An import
# replaces the state the events speak of, so it empties the feed, and exports leave it out.
FEED_TABLE: Final = CHANGE_EVENT.name
# Where each subscription's delivery is in that feed, and what it gave up on: they go
# with the feed. Subscriptions imported without them start after the newest event.
DELIVERY_TABLES: Final = (FAILED_EVENTS, DELIVERY)


def tables() -> list[Table]:
    """Every table of the state, each after the tables it refers to."""
    return [
        table
        for table in Base.metadata.sorted_tables
        if not table.name.startswith(ADMIN_TABLE_PREFIX)
        and table.name not in NOT_STATE
        and table.name != FEED_TABLE
        and table.name not in {t.name for t in DELIVERY_TABLES}
    ]


def schema_revision(connection: Connection) -> str | None:
    """The Alembic revision the database is at; None when it was never migrated."""
    heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads)) or None


# ---------------------------------------------------------------------------- export


def export_state(connection: Connection, *, now_ms: int) -> Doc:
    """The document of everything stored, each table's rows in primary key order.

    Run it in one snapshot (`Database.snapshot`), so that the tables agree.
    """
    return {
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "schemaRevision": schema_revision(connection),
        "emulatorVersion": __version__,
        "exportedAt": now_ms,
        # str(): a table's name is a str subclass, which orjson refuses as a key.
        "tables": {
            str(table.name): [
                dict(row._mapping)
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in tables()
        },
    }


# ---------------------------------------------------------------------------- import


def _refuse(message: str) -> BadRequest:
    return BadRequest(f"The state document cannot be imported: {message}")


def check_header(document: Any, revision: str | None) -> Mapping[str, Any]:
    """The document's tables, once its format, format version and schema revision are the
    ones this server and database read; 400 otherwise."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _refuse(f'it is not a JSON object with "format": "{FORMAT}"')
    version = document.get("formatVersion")
    if version != FORMAT_VERSION:
        raise _refuse(
            f"its format version is {version!r}; this server reads version {FORMAT_VERSION}"
        )
    given = document.get("schemaRevision")
    if revision is None:
        raise _refuse("the database was never migrated (run: mlmodel-emulator migrate)")
    if given != revision:
        raise _refuse(
            f"its rows fit schema revision {given!r}, and this database is at {revision!r}; "
            "export and import with the same version of mlmodel-emulator"
        )
    known = {table.name for table in tables()}
    rows = document.get("tables")
    if not isinstance(rows, dict) or set(rows) != known:
        raise _refuse(f'"tables" must be an object of exactly the tables {sorted(known)}')
    return rows


def _value_problem(column: Any, value: Any) -> str | None:
    """Why a value cannot go into a column, or None when it can."""
    kind = column.type
    if value is None:
        return None if column.nullable else "must not be null"
    if isinstance(kind, Boolean):
        return None if isinstance(value, bool) else "must be a boolean"
    if isinstance(kind, Integer):
        bound = _INT64 if kind.__class__.__name__ == "BigInteger" else _INT32
        if isinstance(value, bool) or not isinstance(value, int) or not -bound <= value < bound:
            return f"must be an integer within {bound.bit_length()} bits"
        return None
    if isinstance(kind, String):
        if not isinstance(value, str):
            return "must be a string"
        if kind.length is not None and len(value) > kind.length:
            return f"must be at most {kind.length} characters"
        return None
    if isinstance(kind, JSON):
        return None if isinstance(value, dict) else "must be a JSON object"
    return None


def _secrets(value: Any) -> Iterator[str]:
    """The encrypted secrets anywhere in a JSON value."""
    if isinstance(value, str):
        if value.startswith(PREFIX):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets(item)
    elif isinstance(value, list):
        for item in value:
            yield from _secrets(item)


def check_rows(table: Table, rows: Any, cipher: SecretCipher) -> list[Doc]:
    """The rows of one table, each checked against the table's columns, its document and
    the secrets key; 400 naming the first row that does not fit."""
    if not isinstance(rows, list):
        raise _refuse(f"tables.{table.name} must be a list of rows")
    columns = {column.name: column for column in table.columns}
    derive = _DERIVED.get(table.name)
    for index, row in enumerate(rows):
        where = f"tables.{table.name}[{index}]"
        if not isinstance(row, dict):
            raise _refuse(f"{where} must be an object")
        if set(row) != set(columns):
            raise _refuse(f"{where} must have exactly the columns {sorted(columns)}")
        for name, column in columns.items():
            problem = _value_problem(column, row[name])
            if problem is not None:
                raise _refuse(f"{where}.{name} {problem}")
        problem = storable_problem(row)
        if problem is not None:
            raise _refuse(f"{where}: {problem.removeprefix('query param ')}")
        if derive is not None:
            try:
                derived = derive(row["doc"])
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                raise _refuse(f"{where}.doc is not a {table.name} document ({exc!r})") from None
            wrong = sorted(name for name in derived if name != "doc" and derived[name] != row[name])
            if wrong:
                raise _refuse(f"{where}: columns {wrong} disagree with its document")
        for secret in _secrets(row):
            try:
                cipher.decrypt(secret)
            except ValueError:
                raise _refuse(
                    f"{where} holds a secret that does not decrypt with this server's secrets "
                    "key; import with the exporting server's MLMODEL_EMULATOR_SECRETS_KEY "
                    "(or give it as MLMODEL_EMULATOR_SECRETS_PREVIOUS_KEY)"
                ) from None
    return rows


def import_state(connection: Connection, document: Any, *, cipher: SecretCipher) -> dict[str, int]:
    """Replace everything stored with the document's rows; answer how many rows each table
    now holds.

    The whole document is checked before anything is written, and what the database itself
    refuses (a duplicate key, a row naming a missing parent) is a 400 too: the caller's
    transaction then rolls back, and the state is as it was.
    """
    ordered = tables()
    given = check_header(document, schema_revision(connection))
    checked = {table.name: check_rows(table, given[table.name], cipher) for table in ordered}
    lock_for_replacing(connection, ordered)
    for table in DELIVERY_TABLES:
        connection.execute(table.delete())
    for table in reversed(ordered):
        connection.execute(table.delete())
    connection.execute(CHANGE_EVENT.delete())
    for table in ordered:
        rows = checked[table.name]
        if not rows:
            continue
        try:
            connection.execute(table.insert(), rows)
        except IntegrityError as exc:
            detail = "; ".join(line.strip() for line in str(exc.orig).splitlines() if line.strip())
            raise _refuse(f"tables.{table.name}: {detail}") from None
    # The imported subscriptions' destinations start after the newest event (none: the
    # feed was emptied above).
    delivery.add_missing(connection)
    return {table.name: len(checked[table.name]) for table in ordered}


def export(database: Database, *, now_ms: int) -> Doc:
    """The state document, read in one snapshot of the database."""
    return database.snapshot(export_state, now_ms=now_ms)


def replace(
    database: Database,
    document: Any,
    *,
    cipher: SecretCipher,
    users: UserCache | None,
    ids: Ids = RANDOM_IDS,
) -> dict[str, int]:
    """Import a state document in one write transaction (all of it, or nothing); seeded ids
    start over, skipping the imported ones."""
    counts = database.write(import_state, document, cipher=cipher)
    if users is not None:
        users.clear()
    if ids.seeded:
        ids.restart(database.read(stored_ids))
    return counts


def stored_ids(connection: Connection) -> set[str]:
    """Every id the tables hold (entities, jobs and events, and the destinations inside
    subscriptions), which a seeded sequence must skip."""
    found = {
        str(value)
        for table in [*tables(), CHANGE_EVENT]
        if "id" in table.c
        for value in connection.execute(select(table.c.id)).scalars()
    }
    subscriptions = EVENT_SUBSCRIPTIONS.store.table
    for doc in connection.execute(select(subscriptions.c.doc)).scalars():
        found.update(destination["id"] for destination in doc.get("destinations", []))
    return found
