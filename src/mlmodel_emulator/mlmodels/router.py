"""HTTP routes of /api/v1/mlmodels: the shared entity routes, plus deleteStale."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import ColumnElement, Connection, false

from mlmodel_emulator.deps import AuthenticatedRoute, ContextDep
from mlmodel_emulator.entities import core
from mlmodel_emulator.entities.kind import SOFT_DELETED, Children
from mlmodel_emulator.entities.router import ListFilter, Routes, build_router, caller_of
from mlmodel_emulator.governance import references
from mlmodel_emulator.mlmodel_services.kind import MLMODEL_SERVICES
from mlmodel_emulator.mlmodel_services.schemas import (
    BulkOperationResult,
    ChangeEvent,
    DeleteEntityResponse,
    ErrorMessage,
    RestoreEntityResponse,
)
from mlmodel_emulator.mlmodels.kind import MLMODELS, STORE
from mlmodel_emulator.mlmodels.schemas import DeleteStale, MlModel, MlModelHistory, MlModelList
from mlmodel_emulator.responses import json_response

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorMessage} for status in (400, 401, 403, 404, 409, 413)
}
# The models of a service, by the column of the model table that holds the service's id.
IN_SERVICE = Children(MLMODELS.entity_type, "service_id")


def in_service(connection: Connection, fqn: str) -> ColumnElement[bool]:
    """`?service=<name or FQN>`: the models of one service (none when there is no such one)."""
    service = MLMODEL_SERVICES.store.get_by_fqn(connection, MLMODEL_SERVICES.lookup_fqn(fqn))
    return STORE.column_is("service_id", service["id"]) if service else false()


def in_domain(connection: Connection, fqn: str) -> ColumnElement[bool]:
    """`?domain=<fqn>`: the models of a domain that exists (404 otherwise)."""
    return STORE.in_domain(references.domain_id_by_fqn(connection, fqn))


ROUTES = Routes(
    kind=MLMODELS,
    tag="mlmodels",
    one="mlmodel",
    many="mlmodels",
    label="ML model",
    entity_model=MlModel,
    list_model=MlModelList,
    errors=ERRORS,
    history_model=MlModelHistory,
    bulk_result_model=BulkOperationResult,
    change_event_model=ChangeEvent,
    delete_response_model=DeleteEntityResponse,
    restore_response_model=RestoreEntityResponse,
    filters=(
        ListFilter("service", "Only the models of this service (its name or FQN).", in_service),
        ListFilter("domain", "Only models of this domain (FQN).", in_domain),
    ),
)

router = APIRouter(prefix=MLMODELS.collection, tags=[ROUTES.tag], route_class=AuthenticatedRoute)


# Before the routes with an {id}, which would take "deleteStale" for one.
@router.delete(
    "/deleteStale",
    response_model=None,
    responses={200: {"model": BulkOperationResult}, **ERRORS},
)
async def delete_stale_mlmodels(request: DeleteStale, ctx: ContextDep) -> Response:
    """Soft-delete the models of a service that its source no longer reports: those whose
    FQN is not among `seenFqns`. An empty `seenFqns` deletes nothing."""
    deleted, refused = await ctx.database.awrite(
        core.delete_stale,
        MLMODELS,
        IN_SERVICE,
        MLMODEL_SERVICES,
        request.scope_fqn,
        request.seen_fqns,
        recursive=request.recursive,
        caller=caller_of(ctx),
    )
    passed = [
        {"request": doc["fullyQualifiedName"], "status": 200, "message": SOFT_DELETED}
        for doc in deleted
    ]
    failed = [
        {"request": doc["fullyQualifiedName"], "status": exc.status_code, "message": exc.message}
        for doc, exc in refused
    ]
    status = "failure" if failed and not passed else "partialSuccess" if failed else "success"
    return json_response(
        {
            "status": status,
            "numberOfRowsProcessed": len(passed) + len(failed),
            "numberOfRowsPassed": len(passed),
            "numberOfRowsFailed": len(failed),
            "successRequest": passed,
            "failedRequest": failed,
        }
    )


build_router(ROUTES, router)
