"""Reset the stored state: every table emptied in one transaction, then the built-ins again.

No new process and no migration: a reset costs one DELETE per table, so a test suite can
reset between tests.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Connection, Table

import mlmodel_emulator.admin.models
import mlmodel_emulator.governance.models
import mlmodel_emulator.idempotency.models
import mlmodel_emulator.jobs.models
import mlmodel_emulator.mlmodel_services.models
import mlmodel_emulator.mlmodels.models
import mlmodel_emulator.subscriptions.models  # noqa: F401  (their tables join the metadata)
from mlmodel_emulator.admin.snapshot import stored_ids
from mlmodel_emulator.auth.secrets import SecretCipher, load_cipher
from mlmodel_emulator.clock import RANDOM_IDS, Clock, Ids, real_now_ms
from mlmodel_emulator.config import Settings
from mlmodel_emulator.db.base import Base
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.entities.models import EntityCountRecord
from mlmodel_emulator.entities.permissions import UserCache
from mlmodel_emulator.events.models import CHANGE_EVENT
from mlmodel_emulator.governance.seed import seed
from mlmodel_emulator.mlmodel_services.seed import seed_services


class Scope(StrEnum):
    """What a reset empties."""

    ALL = "all"
    MLMODEL_SERVICES = "mlmodelServices"


def _tables(scope: Scope) -> list[Table]:
    """The tables a scope empties, children before the tables they refer to."""
    # entity_count is kept by triggers: the deletes below bring it to what stays.
    tables = [
        t
        for t in reversed(Base.metadata.sorted_tables)
        if t.name != EntityCountRecord.__tablename__
    ]
    if scope is Scope.ALL:
        return tables
    # ML model services, their models, and the background jobs that act on them.
    return [table for table in tables if table.name.startswith("mlmodel") or table.name == "job"]


def _clear(connection: Connection, scope: Scope) -> None:
    for table in _tables(scope):
        connection.execute(table.delete())
    if scope is Scope.MLMODEL_SERVICES:
        # The events of what went; those of users, teams and the rest stay.
        connection.execute(
            CHANGE_EVENT.delete().where(CHANGE_EVENT.c.entity_type.in_(_SERVICE_TYPES))
        )


_SERVICE_TYPES = ("mlmodelService", "mlmodel")


def reset(
    database: Database,
    settings: Settings,
    users: UserCache | None,
    scope: Scope = Scope.ALL,
    *,
    cipher: SecretCipher | None = None,
    clock: Clock | None = None,
    ids: Ids = RANDOM_IDS,
) -> None:
    """Empty what `scope` names; then what the start creates returns: the built-ins and
    the bootstrap file after a full reset, the seeded services after either. The clock
    goes back to the real time, and seeded ids start over."""
    database.write(_clear, scope)
    if users is not None:
        users.clear()
    if clock is not None:
        clock.restore()
    if ids.seeded:
        ids.restart(database.read(stored_ids))
    now_ms = real_now_ms()
    if scope is Scope.ALL:
        seed(database, settings, now_ms=now_ms, ids=ids)
    seed_services(database, settings, cipher or load_cipher(settings), now_ms=now_ms, ids=ids)
