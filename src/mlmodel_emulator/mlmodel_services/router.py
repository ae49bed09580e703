"""HTTP routes of /api/v1/services/mlmodelServices: parse, call one service function, answer."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Query
from fastapi.responses import Response

from mlmodel_emulator.common.api import ApiModel
from mlmodel_emulator.deps import ContextDep, RequestContext, now_ms
from mlmodel_emulator.errors import BadRequest, PayloadTooLarge
from mlmodel_emulator.mlmodel_services import service
from mlmodel_emulator.mlmodel_services.schemas import (
    BulkOperationResult,
    CreateMlModelService,
    EntityHistory,
    ErrorMessage,
    MlModelService,
    MlModelServiceList,
    TestConnectionResult,
)
from mlmodel_emulator.responses import CHANGE_HEADER, json_response


class Include(StrEnum):
    """include.json."""

    non_deleted = "non-deleted"
    deleted = "deleted"
    all = "all"


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorMessage} for status in (400, 401, 403, 404, 409, 413)
}

router = APIRouter(prefix="/v1/services/mlmodelServices", tags=["mlmodelServices"])

FieldsQuery = Annotated[
    str | None,
    Query(description="Comma-separated relationship fields to include, or '*' for all."),
]
IncludeQuery = Annotated[Include, Query(description="non-deleted, deleted or all.")]


def _render(
    ctx: RequestContext,
    doc: service.Doc,
    fields: frozenset[str] = service.WRITE_RESPONSE_FIELDS,
) -> service.Doc:
    """The stored document as this caller sees it: href base, secrets shown or masked."""
    return service.to_response(
        doc,
        fields=fields,
        base_url=ctx.base_url,
        cipher=ctx.cipher,
        reveal_secrets=ctx.principal.is_bot,
    )


def _etag(doc: service.Doc) -> dict[str, str]:
    return {"ETag": service.etag(doc)}


def _caller(ctx: RequestContext) -> service.Caller:
    return service.Caller(
        principal=ctx.principal,
        now_ms=now_ms(),
        cipher=ctx.cipher,
        strict=ctx.settings.strict_connection_validation,
        admin_users=frozenset(ctx.settings.admin_users),
        users=ctx.users,
        if_match=ctx.if_match,
    )


@router.get("", response_model=None, responses={200: {"model": MlModelServiceList}, **ERRORS})
async def list_services(
    ctx: ContextDep,
    fields: FieldsQuery = None,
    limit: Annotated[int, Query(ge=0, le=1_000_000)] = 10,
    before: str | None = None,
    after: str | None = None,
    include: IncludeQuery = Include.non_deleted,
    domain: Annotated[str | None, Query(description="Only services of this domain (FQN).")] = None,
) -> Response:
    """List ML model services in name order, a page at a time (before/after cursors)."""
    wanted = service.parse_fields(fields)
    page = ctx.database.read(
        service.list_page,
        limit=limit,
        before=before,
        after=after,
        include=include,
        fields=wanted,
        domain=domain,
        caller=_caller(ctx),
    )
    data = [_render(ctx, doc, wanted) for doc in page.docs]
    return json_response({"data": data, "paging": page.paging})


@router.get(
    "/name/{fqn:path}", response_model=None, responses={200: {"model": MlModelService}, **ERRORS}
)
async def get_service_by_name(
    fqn: str,
    ctx: ContextDep,
    fields: FieldsQuery = None,
    include: IncludeQuery = Include.non_deleted,
) -> Response:
    """Get an ML model service by its name or fully qualified name."""
    wanted = service.parse_fields(fields)
    doc = ctx.database.read(
        service.get_by_name, fqn, include=include, fields=wanted, caller=_caller(ctx)
    )
    return json_response(_render(ctx, doc, wanted), headers=_etag(doc))


@router.get("/{id}", response_model=None, responses={200: {"model": MlModelService}, **ERRORS})
async def get_service(
    id: uuid.UUID,
    ctx: ContextDep,
    fields: FieldsQuery = None,
    include: IncludeQuery = Include.non_deleted,
) -> Response:
    """Get an ML model service by its id."""
    wanted = service.parse_fields(fields)
    doc = ctx.database.read(
        service.get_by_id, str(id), include=include, fields=wanted, caller=_caller(ctx)
    )
    return json_response(_render(ctx, doc, wanted), headers=_etag(doc))


@router.get(
    "/{id}/versions", response_model=None, responses={200: {"model": EntityHistory}, **ERRORS}
)
async def list_service_versions(id: uuid.UUID, ctx: ContextDep) -> Response:
    """Every version of an ML model service, newest first, each as JSON text."""
    docs = ctx.database.read(service.list_versions, str(id), caller=_caller(ctx))
    versions = [orjson.dumps(_render(ctx, doc)).decode() for doc in docs]
    return json_response({"entityType": service.ENTITY_TYPE, "versions": versions})


@router.get(
    "/{id}/versions/{version}",
    response_model=None,
    responses={200: {"model": MlModelService}, **ERRORS},
)
async def get_service_version(
    id: uuid.UUID,
    version: str,
    ctx: ContextDep,
) -> Response:
    """One version of an ML model service, such as 0.1."""
    doc = ctx.database.read(service.get_version, str(id), version, caller=_caller(ctx))
    return json_response(_render(ctx, doc), headers=_etag(doc))


@router.post(
    "",
    status_code=201,
    response_model=None,
    responses={201: {"model": MlModelService}, **ERRORS},
)
async def create_service(
    request: CreateMlModelService,
    ctx: ContextDep,
) -> Response:
    """Create an ML model service; 409 if the name is taken."""
    doc = ctx.database.write(service.create, request, caller=_caller(ctx))
    body = _render(ctx, doc)
    headers = {"Location": body["href"], CHANGE_HEADER: service.CREATED, **_etag(doc)}
    return json_response(body, status_code=201, headers=headers)


@router.put(
    "",
    response_model=None,
    responses={200: {"model": MlModelService}, 201: {"model": MlModelService}, **ERRORS},
)
async def create_or_update_service(
    request: CreateMlModelService,
    ctx: ContextDep,
) -> Response:
    """Create an ML model service (201) or update the one of that name (200)."""
    upsert = ctx.database.write(service.create_or_update, request, caller=_caller(ctx))
    body = _render(ctx, upsert.doc)
    headers = {CHANGE_HEADER: upsert.change, **_etag(upsert.doc)}
    return json_response(body, status_code=201 if upsert.created else 200, headers=headers)


@router.put("/bulk", response_model=None, responses={200: {"model": BulkOperationResult}, **ERRORS})
async def bulk_create_or_update_services(
    items: Annotated[list[Any], Body(description="Create requests, as for PUT.")],
    ctx: ContextDep,
    run_async: Annotated[bool, Query(alias="async")] = False,
    override_metadata: Annotated[bool, Query(alias="overrideMetadata")] = False,
) -> Response:
    """Create or update many ML model services; each item succeeds or fails on its own."""
    if run_async:
        raise BadRequest("async=true is not supported for ML model services; use async=false")
    if len(items) > ctx.settings.bulk_max_items:
        raise PayloadTooLarge(
            f"Bulk request holds {len(items)} items; the limit is {ctx.settings.bulk_max_items}"
        )
    result = ctx.database.write(
        service.bulk_create_or_update,
        items,
        caller=_caller(ctx),
        override=override_metadata,
    )
    return json_response(result.to_json())


class RestoreEntity(ApiModel):
    """api/restoreEntity.json."""

    id: uuid.UUID


RecursiveQuery = Annotated[
    bool, Query(description="Also delete children (ML model services have none here).")
]


def _deleted_answer(ctx: RequestContext, outcome: service.Upsert) -> Response:
    headers = {CHANGE_HEADER: outcome.change}
    if outcome.change != service.DELETED:
        headers.update(_etag(outcome.doc))
    return json_response(_render(ctx, outcome.doc), headers=headers)


@router.delete("/{id}", response_model=None, responses={200: {"model": MlModelService}, **ERRORS})
async def delete_service(
    id: uuid.UUID,
    ctx: ContextDep,
    hard_delete: Annotated[bool, Query(alias="hardDelete")] = False,
    recursive: RecursiveQuery = False,
) -> Response:
    """Delete an ML model service: soft by default (it can be restored), or for good."""
    outcome = ctx.database.write(
        service.delete, entity_id=str(id), hard=hard_delete, caller=_caller(ctx)
    )
    return _deleted_answer(ctx, outcome)


@router.delete(
    "/name/{fqn:path}", response_model=None, responses={200: {"model": MlModelService}, **ERRORS}
)
async def delete_service_by_name(
    fqn: str,
    ctx: ContextDep,
    hard_delete: Annotated[bool, Query(alias="hardDelete")] = False,
    recursive: RecursiveQuery = False,
) -> Response:
    """Delete an ML model service by name: soft by default, or for good."""
    outcome = ctx.database.write(service.delete, fqn=fqn, hard=hard_delete, caller=_caller(ctx))
    return _deleted_answer(ctx, outcome)


@router.put("/restore", response_model=None, responses={200: {"model": MlModelService}, **ERRORS})
async def restore_service(request: RestoreEntity, ctx: ContextDep) -> Response:
    """Restore a soft-deleted ML model service."""
    outcome = ctx.database.write(service.restore, str(request.id), caller=_caller(ctx))
    return _deleted_answer(ctx, outcome)


@router.put(
    "/{id}/testConnectionResult",
    response_model=None,
    responses={200: {"model": MlModelService}, **ERRORS},
)
async def set_test_connection_result(
    id: uuid.UUID, result: TestConnectionResult, ctx: ContextDep
) -> Response:
    """Record the outcome of a connection test; the service's version does not change."""
    doc = ctx.database.write(
        service.set_test_connection_result, str(id), result.to_json_dict(), caller=_caller(ctx)
    )
    return json_response(_render(ctx, doc), headers=_etag(doc))
