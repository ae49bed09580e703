"""The request journal: the latest requests every worker process answered, to query in tests.

Each request outside /api/__emulator/ adds one row, before its answer is sent, so a client
that has its answer finds it in the journal. Every TRIM_EVERY-th row deletes the rows older
than the latest `journal_capacity`; reads see only those, so the cap holds between trims.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
)

from mlmodel_emulator.admin.access import AdminDep
from mlmodel_emulator.admin.models import JournalRecord
from mlmodel_emulator.admin.router import PREFIX
from mlmodel_emulator.common.api import ResponseModel
from mlmodel_emulator.deps import AuthenticatedRoute
from mlmodel_emulator.mlmodel_services.schemas import ErrorMessage
from mlmodel_emulator.responses import json_response

TRIM_EVERY = 100
MAX_LIMIT = 1_000_000

Doc = dict[str, Any]


class JournalEntry(ResponseModel):
    """One request and its answer."""

    method: str
    path: str
    query: str = Field(description="The query string as sent, without the ?.")
    status: int
    caller: str | None = Field(
        default=None, description="The user named by a valid bearer token; absent without one."
    )
    timestamp: int = Field(description="When it arrived, in epoch milliseconds.")
    durationMs: float = Field(description="From its arrival to its answer.")
    pid: int = Field(description="The worker process that answered it.")


class JournalEntries(ResponseModel):
    data: list[JournalEntry]


class JournalCount(ResponseModel):
    count: int


# ------------------------------------------------------------------------------------ SQL

_journal = cast(Table, JournalRecord.__table__)
_c = _journal.c

_INSERT = insert(_journal)
# The id of the oldest row still within the capacity (`skip` is the capacity less one).
_OLDEST_KEPT = func.coalesce(
    select(_c.id).order_by(_c.id.desc()).limit(1).offset(bindparam("skip")).scalar_subquery(),
    0,
)
_TRIM = delete(_journal).where(_c.id < _OLDEST_KEPT)
_CLEAR = delete(_journal)
_COLUMNS = (_c.method, _c.path, _c.query, _c.status, _c.caller, _c.at_ms, _c.duration_us, _c.pid)


def record(connection: Connection, row: dict[str, Any], *, capacity: int) -> None:
    """Add one request; every TRIM_EVERY-th drops what the capacity no longer keeps."""
    inserted = connection.execute(_INSERT, row).inserted_primary_key
    if inserted is not None and inserted[0] % TRIM_EVERY == 0:
        connection.execute(_TRIM, {"skip": capacity - 1})


def clear(connection: Connection) -> None:
    connection.execute(_CLEAR)


@dataclass(frozen=True, slots=True)
class JournalQuery:
    """Which entries a query asks for; None matches anything."""

    method: str | None = None
    path: str | None = None
    status: int | None = None
    caller: str | None = None

    def where(self) -> list[ColumnElement[bool]]:
        """The conditions SQL applies (the path glob is applied in Python, the same on both
        databases: LIKE's case rules differ)."""
        conditions = [_c.id >= _OLDEST_KEPT]
        if self.method is not None:
            conditions.append(_c.method == self.method.upper())
        if self.status is not None:
            conditions.append(_c.status == self.status)
        if self.caller is not None:
            conditions.append(_c.caller == self.caller)
        return conditions

    def path_pattern(self) -> re.Pattern[str] | None:
        return None if self.path is None else re.compile(fnmatch.translate(self.path))


def _entry(row: Any) -> Doc:
    method, path, query, status, caller, at_ms, duration_us, pid = row
    entry: Doc = {"method": method, "path": path, "query": query, "status": status}
    if caller is not None:
        entry["caller"] = caller
    entry.update(timestamp=at_ms, durationMs=duration_us / 1000, pid=pid)
    return entry


def find(connection: Connection, query: JournalQuery, *, capacity: int, limit: int) -> list[Doc]:
    """The newest entries that match, newest first, at most `limit`."""
    statement: Select[Any] = select(*_COLUMNS).where(*query.where()).order_by(_c.id.desc())
    pattern = query.path_pattern()
    if pattern is None:
        rows = connection.execute(statement.limit(limit), {"skip": capacity - 1})
        return [_entry(row) for row in rows]
    entries: list[Doc] = []
    for row in connection.execute(statement, {"skip": capacity - 1}):
        if pattern.match(row.path) is not None:
            entries.append(_entry(row))
            if len(entries) == limit:
                break
    return entries


def count(connection: Connection, query: JournalQuery, *, capacity: int) -> int:
    """How many entries match."""
    pattern = query.path_pattern()
    if pattern is None:
        statement = select(func.count()).select_from(_journal).where(*query.where())
        found: int = connection.execute(statement, {"skip": capacity - 1}).scalar_one()
        return found
    paths = connection.execute(select(_c.path).where(*query.where()), {"skip": capacity - 1})
    return sum(1 for path in paths.scalars() if pattern.match(path) is not None)


# --------------------------------------------------------------------------------- routes

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorMessage} for status in (400, 401, 403)
}

router = APIRouter(prefix=PREFIX + "/journal", tags=["emulator"], route_class=AuthenticatedRoute)


def journal_query(
    method: Annotated[str | None, Query(max_length=32, description="Any case.")] = None,
    path: Annotated[
        str | None,
        Query(
            max_length=2048,
            description="A glob on the path, as fault rules have: * matches any run, / included.",
        ),
    ] = None,
    status: Annotated[int | None, Query(ge=100, le=599)] = None,
    caller: Annotated[str | None, Query(description="The caller's user name.")] = None,
) -> JournalQuery:
    return JournalQuery(method=method, path=path, status=status, caller=caller)


QueryDep = Annotated[JournalQuery, Depends(journal_query)]


@router.get("", response_model=JournalEntries, responses=ERRORS)
async def find_requests(
    ctx: AdminDep,
    query: QueryDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Response:
    """The latest requests that match every filter given, newest first. Requests to
    /api/__emulator/ are not recorded."""
    capacity = ctx.settings.journal_capacity
    entries = (
        await ctx.database.aread(find, query, capacity=capacity, limit=limit) if capacity else []
    )
    return json_response({"data": entries})


@router.get("/count", response_model=JournalCount, responses=ERRORS)
async def count_requests(ctx: AdminDep, query: QueryDep) -> Response:
    """How many of the latest requests match every filter given."""
    capacity = ctx.settings.journal_capacity
    found = await ctx.database.aread(count, query, capacity=capacity) if capacity else 0
    return json_response({"count": found})


@router.delete("", status_code=204, response_class=Response, responses=ERRORS)
async def clear_journal(ctx: AdminDep) -> Response:
    """Forget every recorded request."""
    await ctx.database.awrite(clear)
    return Response(status_code=204)
