"""All SQL of asynchronous jobs; works in JSON documents."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update

from mlmodel_emulator.jobs.models import JobRecord

Doc = dict[str, Any]

_jobs = cast(Table, JobRecord.__table__)
_c = _jobs.c


def _row(doc: Doc) -> dict[str, Any]:
    """The columns, derived from the document so that the two never disagree."""
    return {"id": doc["jobId"], "status": doc["status"], "created_at": doc["createdAt"], "doc": doc}


_BY_ID = select(_c.doc).where(_c.id == bindparam("key"))
_INSERT = insert(_jobs)
# Only a running job is finished: a job ends once, however many times it is told to.
_FINISH = (
    update(_jobs)
    .where(_c.id == bindparam("key"), _c.status == bindparam("running"))
    .values(status=bindparam("status"), doc=bindparam("doc"))
)


_REMOVE_OLDER = delete(_jobs).where(_c.created_at < bindparam("cutoff"))


def remove_older_than(connection: Connection, cutoff_ms: int) -> None:
    """Forget the jobs started before cutoff_ms (epoch milliseconds)."""
    connection.execute(_REMOVE_OLDER, {"cutoff": cutoff_ms})


_RUNNING_SINCE = select(_c.doc).where(
    _c.status == bindparam("running"), _c.created_at >= bindparam("since")
)


def running_since(connection: Connection, running: str, since_ms: int) -> list[Doc]:
    """The documents of the jobs in state `running` started at or after since_ms."""
    return list(
        connection.execute(_RUNNING_SINCE, {"running": running, "since": since_ms}).scalars()
    )


def add(connection: Connection, doc: Doc) -> None:
    connection.execute(_INSERT, _row(doc))


def get_by_id(connection: Connection, job_id: str) -> Doc | None:
    doc: Doc | None = connection.execute(_BY_ID, {"key": job_id}).scalar_one_or_none()
    return doc


def finish(connection: Connection, doc: Doc, *, running: str) -> bool:
    """Store a job's final document if it is still `running`; False when it was not."""
    result = connection.execute(
        _FINISH, {"key": doc["jobId"], "running": running, "status": doc["status"], "doc": doc}
    )
    return result.rowcount == 1
