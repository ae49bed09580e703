"""HTTP routes of /api/v1/services/mlmodelServices: parse, call one service function, answer."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from mlmodel_emulator.common.api import ApiModel
from mlmodel_emulator.deps import (
    ContextAndBody,
    ContextDep,
    RequestContext,
    context_and_body,
    json_body_openapi,
    now_ms,
)
from mlmodel_emulator.errors import BadRequest, PayloadTooLarge
from mlmodel_emulator.jobs import runner
from mlmodel_emulator.jobs.service import Started
from mlmodel_emulator.mlmodel_services import patch, service
from mlmodel_emulator.mlmodel_services.schemas import (
    BulkOperationResult,
    ChangeEvent,
    CreateMlModelService,
    DeleteEntityResponse,
    EntityHistory,
    ErrorMessage,
    MlModelService,
    MlModelServiceList,
    RestoreEntityResponse,
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

# The hottest route reads its body in one pydantic pass (deps.JsonBody).
_create_context = context_and_body(CreateMlModelService)

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
        base_url=ctx.base_url,
        session_ms=ctx.settings.patch_session_seconds * 1000,
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


# Routes are matched in the order declared, each request walking the list: the create that
# ingestion sends most comes early. The list stays the first route of its path, so a wrong
# method there still answers 405 with Allow: GET.
@router.post(
    "",
    status_code=201,
    response_model=None,
    responses={201: {"model": MlModelService}, **ERRORS},
    openapi_extra=json_body_openapi(CreateMlModelService),
)
async def create_service(
    call: Annotated[ContextAndBody[CreateMlModelService], Depends(_create_context)],
) -> Response:
    """Create an ML model service; 409 if the name is taken."""
    ctx = call.ctx
    doc = ctx.database.write(service.create, call.body.model(), caller=_caller(ctx))
    body = _render(ctx, doc)
    headers = {"Location": body["href"], CHANGE_HEADER: service.CREATED, **_etag(doc)}
    return json_response(body, status_code=201, headers=headers)


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


def _changed_answer(ctx: RequestContext, outcome: service.Upsert) -> Response:
    """The entity after a PATCH, DELETE or restore, with what happened to it; an ETag too,
    unless it is gone."""
    headers = {CHANGE_HEADER: outcome.change}
    if outcome.change != service.DELETED:
        headers.update(_etag(outcome.doc))
    return json_response(_render(ctx, outcome.doc), headers=headers)


JSON_PATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            patch.CONTENT_TYPE: {
                "schema": {
                    "type": "array",
                    "description": "RFC 6902 operations.",
                    "items": {
                        "type": "object",
                        "required": ["op", "path"],
                        "properties": {
                            "op": {
                                "type": "string",
                                "enum": ["add", "remove", "replace", "move", "copy", "test"],
                            },
                            "path": {"type": "string"},
                            "from": {"type": "string"},
                            "value": {},
                        },
                    },
                }
            }
        },
    }
}
PATCH_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 412: {"model": ErrorMessage}}


@router.patch(
    "/name/{fqn:path}",
    response_model=None,
    responses={200: {"model": MlModelService}, **PATCH_ERRORS},
    openapi_extra=JSON_PATCH_BODY,
)
async def patch_service_by_name(fqn: str, request: Request, ctx: ContextDep) -> Response:
    """Change parts of an ML model service, found by name, with a JSON Patch (RFC 6902)."""
    operations = patch.parse(await request.body(), request.headers.get("content-type"))
    outcome = ctx.database.write(patch.apply_patch, operations, fqn=fqn, caller=_caller(ctx))
    return _changed_answer(ctx, outcome)


@router.patch(
    "/{id}",
    response_model=None,
    responses={200: {"model": MlModelService}, **PATCH_ERRORS},
    openapi_extra=JSON_PATCH_BODY,
)
async def patch_service(id: uuid.UUID, request: Request, ctx: ContextDep) -> Response:
    """Change parts of an ML model service with a JSON Patch (RFC 6902)."""
    operations = patch.parse(await request.body(), request.headers.get("content-type"))
    outcome = ctx.database.write(
        patch.apply_patch, operations, entity_id=str(id), caller=_caller(ctx)
    )
    return _changed_answer(ctx, outcome)


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
    return _changed_answer(ctx, outcome)


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
    return _changed_answer(ctx, outcome)


@router.put(
    "/restore",
    response_model=None,
    responses={200: {"model": MlModelService}, 202: {"model": RestoreEntityResponse}, **ERRORS},
)
async def restore_service(
    request: RestoreEntity,
    ctx: ContextDep,
    run_async: Annotated[
        bool, Query(alias="async", description="Answer 202 at once with a job to poll.")
    ] = False,
) -> Response:
    """Restore a soft-deleted ML model service; with async=true, in the background."""
    if run_async:
        started = ctx.database.write(service.restore_later, str(request.id), caller=_caller(ctx))
        return _accepted(ctx, started, ("jobId", "message"))
    outcome = ctx.database.write(service.restore, str(request.id), caller=_caller(ctx))
    return _changed_answer(ctx, outcome)


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


def _follower_answer(ctx: RequestContext, change: service.FollowerChange) -> Response:
    entity = _render(ctx, change.entity, frozenset())
    # The event carries the entity as stored, and a stored entity has no href.
    del entity["href"]
    body = {**change.event, "entity": entity}
    return json_response(body, headers={CHANGE_HEADER: service.FIELDS_CHANGED})


@router.put(
    "/{id}/followers", response_model=None, responses={200: {"model": ChangeEvent}, **ERRORS}
)
async def add_follower(
    id: uuid.UUID,
    ctx: ContextDep,
    user_id: Annotated[
        Any,
        Body(
            description="The id of the user who follows, as a JSON string.",
            examples=["3f1c2a9e-0b7d-4c55-9a1e-6d2b8f0c4e11"],
        ),
    ] = None,
) -> Response:
    """Add a follower to an ML model service; the version does not change. Users add
    themselves; only admins add someone else."""
    change = ctx.database.write(
        service.add_follower, str(id), service.parse_follower_id(user_id), caller=_caller(ctx)
    )
    return _follower_answer(ctx, change)


@router.delete(
    "/{id}/followers/{userId}",
    response_model=None,
    responses={200: {"model": ChangeEvent}, **ERRORS},
)
async def remove_follower(
    id: uuid.UUID,
    user_id: Annotated[uuid.UUID, Path(alias="userId")],
    ctx: ContextDep,
) -> Response:
    """Remove a follower from an ML model service; the version does not change. Users
    remove themselves; only admins remove someone else."""
    change = ctx.database.write(service.remove_follower, str(id), str(user_id), caller=_caller(ctx))
    return _follower_answer(ctx, change)


def _accepted(ctx: RequestContext, started: Started, keys: tuple[str, ...]) -> Response:
    """202 with the job's id; the job's work runs once this answer is out."""
    response = json_response({key: started.doc[key] for key in keys}, status_code=202)
    response.background = BackgroundTask(runner.run, ctx.database, started.job_id, started.work)
    return response


@router.delete(
    "/async/{id}",
    status_code=202,
    response_model=None,
    responses={
        202: {"model": DeleteEntityResponse},
        **ERRORS,
        412: {"model": ErrorMessage},
    },
)
async def delete_service_async(
    id: uuid.UUID,
    ctx: ContextDep,
    hard_delete: Annotated[bool, Query(alias="hardDelete")] = False,
    recursive: RecursiveQuery = False,
) -> Response:
    """Delete an ML model service in the background: 404, 403 and 412 come at once, then
    202 with a job whose outcome GET /api/v1/jobs/{jobId} tells."""
    started = ctx.database.write(
        service.delete_later,
        str(id),
        hard=hard_delete,
        recursive=recursive,
        caller=_caller(ctx),
    )
    keys = ("jobId", "message", "entityName", "hardDelete", "recursive")
    return _accepted(ctx, started, keys)
