"""HTTP routes of /api/v1/services/testConnectionDefinitions: read-only, from static data."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import Connection

from mlmodel_emulator.deps import AuthenticatedRoute, ContextDep
from mlmodel_emulator.entities.kind import Caller
from mlmodel_emulator.entities.router import (
    FieldsQuery,
    Include,
    IncludeQuery,
    LimitQuery,
    caller_of,
)
from mlmodel_emulator.mlmodel_services.schemas import ErrorMessage
from mlmodel_emulator.responses import json_response
from mlmodel_emulator.test_connections import catalog
from mlmodel_emulator.test_connections.schemas import (
    TestConnectionDefinition,
    TestConnectionDefinitionList,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorMessage} for status in (400, 401, 404)
}
ONE: dict[int | str, dict[str, Any]] = {200: {"model": TestConnectionDefinition}, **ERRORS}
MANY: dict[int | str, dict[str, Any]] = {200: {"model": TestConnectionDefinitionList}, **ERRORS}

T = TypeVar("T")

router = APIRouter(
    prefix=catalog.COLLECTION, tags=["testConnectionDefinitions"], route_class=AuthenticatedRoute
)


def _as_reader(connection: Connection, caller: Caller, read: Callable[[], T]) -> T:
    """Answer only a caller whose user exists (401 otherwise), as every read does."""
    caller.actor(connection)
    return read()


@router.get("", response_model=None, responses=MANY)
async def list_test_connection_definitions(
    ctx: ContextDep,
    fields: FieldsQuery = None,
    limit: LimitQuery = 10,
    before: str | None = None,
    after: str | None = None,
    include: IncludeQuery = Include.non_deleted,
) -> Response:
    """List the test connection definitions of the ML model service types in name order, a
    page at a time."""
    catalog.check_fields(fields)
    page = await ctx.database.aread(
        _as_reader, caller_of(ctx), lambda: catalog.list_page(limit, before, after, include)
    )
    data = [catalog.render(doc, ctx.base_url) for doc in page.docs]
    return json_response({"data": data, "paging": page.paging})


@router.get("/name/{fqn:path}", response_model=None, responses=ONE)
async def get_test_connection_definition_by_name(
    fqn: str,
    ctx: ContextDep,
    fields: FieldsQuery = None,
    include: IncludeQuery = Include.non_deleted,
) -> Response:
    """Get a test connection definition by its fully qualified name, such as
    `Mlflow.testConnectionDefinition`."""
    catalog.check_fields(fields)
    doc = await ctx.database.aread(
        _as_reader, caller_of(ctx), lambda: catalog.get_by_name(fqn, include)
    )
    return json_response(catalog.render(doc, ctx.base_url))


@router.get("/{id}", response_model=None, responses=ONE)
async def get_test_connection_definition(
    id: uuid.UUID,
    ctx: ContextDep,
    fields: FieldsQuery = None,
    include: IncludeQuery = Include.non_deleted,
) -> Response:
    """Get a test connection definition by its id."""
    catalog.check_fields(fields)
    doc = await ctx.database.aread(
        _as_reader, caller_of(ctx), lambda: catalog.get_by_id(str(id), include)
    )
    return json_response(catalog.render(doc, ctx.base_url))
