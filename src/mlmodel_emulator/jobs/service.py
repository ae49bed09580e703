"""The rules of asynchronous jobs: recorded as running, then completed or failed, once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, func, select

from mlmodel_emulator.auth.tokens import Principal
from mlmodel_emulator.entities import permissions
from mlmodel_emulator.entities.store import BULK_JOBS_LOCK_KEY
from mlmodel_emulator.errors import EntityNotFound, TooManyRequests
from mlmodel_emulator.jobs import repository

Doc = dict[str, Any]

JOB_TYPE: Final = "job"
RUNNING: Final = "running"
COMPLETED: Final = "completed"
FAILED: Final = "failed"
BULK: Final = "bulk"

# A job's work takes milliseconds. One still running this long after it started lost its
# process (a restart, a crash) before it could record how it ended.
INTERRUPTED_AFTER_MS: Final = 5 * 60 * 1000
INTERRUPTED: Final = "The job was interrupted before it finished: its server process stopped"
# How long jobs are kept; older ones go when a new one starts.
KEPT_FOR_MS: Final = 7 * 24 * 60 * 60 * 1000

# What finishes a job: called with the write transaction and the time it runs at; what it
# returns, if anything, is the job's `result` (a bulk job's BulkOperationResult).
Work = Callable[[Connection, int], Doc | None]


@dataclass(frozen=True, slots=True)
class Started:
    """A job recorded as running, and the work that will finish it."""

    doc: Doc
    work: Work

    @property
    def job_id(self) -> str:
        return str(self.doc["jobId"])


def start(
    connection: Connection,
    *,
    operation: str,
    job_id: str,
    entity_type: str,
    entity: Doc,
    created_by: str,
    now_ms: int,
    options: Doc | None = None,
) -> Doc:
    """Record a new running job on an entity; its message is the one the 202 answer carries.

    EntityResource.deleteByIdAsync: "Delete operation initiated for <name>".
    """
    name = entity["name"]
    doc: Doc = {
        "jobId": job_id,
        "status": RUNNING,
        "operation": operation,
        "entityType": entity_type,
        "entityId": entity["id"],
        "entityName": name,
        **(options or {}),
        "createdBy": created_by,
        "createdAt": now_ms,
        "message": f"{operation.capitalize()} operation initiated for {name}",
    }
    return _record(connection, doc, now_ms)


def start_bulk(
    connection: Connection,
    *,
    job_id: str,
    entity_type: str,
    items: int,
    override_metadata: bool,
    created_by: str,
    now_ms: int,
    max_running: int,
) -> Doc:
    """Record a new running bulk job of `items` create requests of one entity type:
    "Bulk operation initiated for 3 mlmodelService requests".

    At most `max_running` bulk jobs run at once, every worker process together: one more
    is a 429 and records nothing. A job still running INTERRUPTED_AFTER_MS after it started
    lost its process and does not count. On PostgreSQL the count and the insert run under
    one transaction-level advisory lock, so two workers cannot both take the last place;
    SQLite runs one writer at a time.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(_BULK_JOBS_LOCK)
    running = sum(
        1
        for job in repository.running_since(connection, RUNNING, now_ms - INTERRUPTED_AFTER_MS)
        if job.get("operation") == BULK
    )
    if running >= max_running:
        raise TooManyRequests(
            f"{running} bulk jobs are running; the limit is {max_running}. "
            "Retry once one has finished"
        )
    doc: Doc = {
        "jobId": job_id,
        "status": RUNNING,
        "operation": BULK,
        "entityType": entity_type,
        "items": items,
        "overrideMetadata": override_metadata,
        "createdBy": created_by,
        "createdAt": now_ms,
    }
    doc["message"] = f"Bulk operation initiated for {_subject(doc)}"
    return _record(connection, doc, now_ms)


_BULK_JOBS_LOCK: Final = select(func.pg_advisory_xact_lock(*BULK_JOBS_LOCK_KEY))


def _record(connection: Connection, doc: Doc, now_ms: int) -> Doc:
    repository.remove_older_than(connection, now_ms - KEPT_FOR_MS)
    repository.add(connection, doc)
    return doc


def _subject(doc: Doc) -> str:
    """What a job's messages name: its entity, or a bulk job's requests."""
    if doc["operation"] == BULK:
        return f"{doc['items']} {doc['entityType']} requests"
    return str(doc["entityName"])


def _message(doc: Doc, status: str) -> str:
    return f"{doc['operation'].capitalize()} operation {status} for {_subject(doc)}"


def _finish(connection: Connection, job_id: str, status: str, now_ms: int, **extra: Any) -> None:
    doc = repository.get_by_id(connection, job_id)
    if doc is None or doc["status"] != RUNNING:
        return
    finished = {
        **doc,
        "status": status,
        "finishedAt": now_ms,
        "message": _message(doc, status),
        **extra,
    }
    repository.finish(connection, finished, running=RUNNING)


def complete(
    connection: Connection, job_id: str, *, now_ms: int, result: Doc | None = None
) -> None:
    """Mark a running job completed: "Delete operation completed for <name>", with the
    result its work gave, if any."""
    if result is None:
        _finish(connection, job_id, COMPLETED, now_ms)
    else:
        _finish(connection, job_id, COMPLETED, now_ms, result=result)


def fail(connection: Connection, job_id: str, *, code: int, message: str, now_ms: int) -> None:
    """Mark a running job failed, with the error its work ended on."""
    _finish(connection, job_id, FAILED, now_ms, error={"code": code, "message": message})


def get(
    connection: Connection,
    job_id: str,
    *,
    principal: Principal,
    now_ms: int,
    admin_users: frozenset[str] = frozenset(),
    users: permissions.UserCache | None = None,
) -> Doc:
    """A job as it now stands; 404 for a job id never issued (or gone after KEPT_FOR_MS).

    A job still running INTERRUPTED_AFTER_MS after it started is answered as failed, without
    being stored so: should its work still end, that outcome is what later polls see.
    """
    permissions.actor_for(connection, principal, admin_users, users)
    doc = repository.get_by_id(connection, job_id)
    if doc is None:
        raise EntityNotFound(JOB_TYPE, job_id)
    if doc["status"] == RUNNING and now_ms - int(doc["createdAt"]) > INTERRUPTED_AFTER_MS:
        return {
            **doc,
            "status": FAILED,
            "message": _message(doc, FAILED),
            "error": {"code": 500, "message": INTERRUPTED},
        }
    return doc
