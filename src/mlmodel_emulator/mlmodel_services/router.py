"""HTTP routes of /api/v1/services/mlmodelServices: the shared entity routes, plus the
connection test results only services have."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import ColumnElement, Connection

from mlmodel_emulator.deps import ContextDep
from mlmodel_emulator.entities.answers import etag
from mlmodel_emulator.entities.router import ListFilter, Routes, build_router, caller_of, render
from mlmodel_emulator.governance import references
from mlmodel_emulator.mlmodel_services.kind import (
    MLMODEL_SERVICES,
    STORE,
    set_test_connection_result,
)
from mlmodel_emulator.mlmodel_services.schemas import (
    BulkOperationResult,
    ChangeEvent,
    DeleteEntityResponse,
    EntityHistory,
    ErrorMessage,
    MlModelService,
    MlModelServiceList,
    RestoreEntityResponse,
    TestConnectionResult,
)
from mlmodel_emulator.responses import json_response

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorMessage} for status in (400, 401, 403, 404, 409, 413)
}


def in_domain(connection: Connection, fqn: str) -> ColumnElement[bool]:
    """`?domain=<fqn>`: the entities of a domain that exists (404 otherwise)."""
    return STORE.in_domain(references.domain_id_by_fqn(connection, fqn))


ROUTES = Routes(
    kind=MLMODEL_SERVICES,
    tag="mlmodelServices",
    one="service",
    many="services",
    label="ML model service",
    entity_model=MlModelService,
    list_model=MlModelServiceList,
    errors=ERRORS,
    history_model=EntityHistory,
    bulk_result_model=BulkOperationResult,
    change_event_model=ChangeEvent,
    delete_response_model=DeleteEntityResponse,
    restore_response_model=RestoreEntityResponse,
    filters=(ListFilter("domain", "Only services of this domain (FQN).", in_domain),),
)

router: APIRouter = build_router(ROUTES)


@router.put(
    "/{id}/testConnectionResult",
    name="set_test_connection_result",
    response_model=None,
    responses={200: {"model": MlModelService}, **ERRORS},
)
async def set_test_connection_result_route(
    id: uuid.UUID, result: TestConnectionResult, ctx: ContextDep
) -> Response:
    """Record the outcome of a connection test; the service's version does not change."""
    doc = await ctx.database.awrite(
        set_test_connection_result, str(id), result.to_json_dict(), caller=caller_of(ctx)
    )
    return json_response(render(MLMODEL_SERVICES, ctx, doc), headers={"ETag": etag(doc)})
