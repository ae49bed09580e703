"""The HTTP routes of an entity kind, built from what it declares: parse the request, call
one core function through Database.read or Database.write, answer.

Annotations are evaluated when each route is built (no postponed annotations here): the
request and response models are those of the kind at hand.
"""

import inspect
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Connection
from starlette.background import BackgroundTask

from mlmodel_emulator import hot_paths
from mlmodel_emulator.common.api import ApiModel
from mlmodel_emulator.common.paging import VersionPage
from mlmodel_emulator.deps import (
    AuthenticatedRoute,
    ContextAndBody,
    ContextDep,
    RequestContext,
    authenticate,
    context_and_body,
    get_context,
    is_json,
    json_body_openapi,
    raw_body,
)
from mlmodel_emulator.entities import bulk, core, patch
from mlmodel_emulator.entities.answers import etag, to_response
from mlmodel_emulator.entities.kind import (
    CREATED,
    DELETED,
    FIELDS_CHANGED,
    Caller,
    Doc,
    Kind,
    ListQuery,
    Outcome,
)
from mlmodel_emulator.errors import BadRequest, PayloadTooLarge
from mlmodel_emulator.idempotency import service as idempotency
from mlmodel_emulator.jobs import runner
from mlmodel_emulator.jobs.service import Started
from mlmodel_emulator.responses import CHANGE_HEADER, json_response


class Include(StrEnum):
    """include.json."""

    non_deleted = "non-deleted"
    deleted = "deleted"
    all = "all"


FieldsQuery = Annotated[
    str | None,
    Query(description="Comma-separated relationship fields to include, or '*' for all."),
]
IncludeQuery = Annotated[Include, Query(description="non-deleted, deleted or all.")]
LimitQuery = Annotated[
    int, Query(ge=0, le=1_000_000, description="Page size (default 10), 0 for the total only.")
]
HardDeleteQuery = Annotated[
    bool, Query(alias="hardDelete", description="Remove the entity instead of marking it deleted.")
]
RecursiveQuery = Annotated[bool, Query(description="Also delete what belongs to the entity.")]


class RestoreEntity(ApiModel):
    """api/restoreEntity.json."""

    id: uuid.UUID


@dataclass(frozen=True)
class ListFilter:
    """A query parameter that narrows a list: `?domain=`, `?service=`."""

    name: str
    description: str
    # The condition it adds, read in the list's transaction.
    condition: Callable[[Connection, str], ColumnElement[bool]]


@dataclass(frozen=True)
class Routes:
    """How a kind is served: its wire models, the names of its routes, what it answers."""

    kind: Kind[Any]
    tag: str
    # Route names: f"get_{one}", f"list_{many}"; the OpenAPI operation ids derive from them.
    one: str
    many: str
    # What the entity is called in route descriptions: "ML model service".
    label: str
    entity_model: type[BaseModel]
    list_model: type[BaseModel] | None
    errors: Mapping[int | str, dict[str, Any]]
    history_model: type[BaseModel] | None = None
    bulk_result_model: type[BaseModel] | None = None
    change_event_model: type[BaseModel] | None = None
    delete_response_model: type[BaseModel] | None = None
    restore_response_model: type[BaseModel] | None = None
    # Whether `fields` is read (relation fields answered on request).
    with_fields: bool = True
    filters: Sequence[ListFilter] = field(default=())
    # The whole lifecycle (versions, PATCH, bulk, restore, followers, background jobs), or
    # only create, read and delete.
    full: bool = True
    # Without the whole lifecycle: versions and PATCH besides create, read and delete.
    versioned: bool = False


def caller_of(ctx: RequestContext) -> Caller:
    """Who acts, and under which settings, for one request."""
    return Caller(
        principal=ctx.principal,
        now_ms=ctx.clock.now_ms(),
        cipher=ctx.cipher,
        strict=ctx.settings.strict_connection_validation,
        admin_users=frozenset(ctx.settings.admin_users),
        users=ctx.users,
        if_match=ctx.if_match,
        base_url=ctx.base_url,
        session_ms=ctx.settings.patch_session_seconds * 1000,
        ids=ctx.ids,
    )


def render(
    kind: Kind[Any], ctx: RequestContext, doc: Doc, fields: frozenset[str] | None = None
) -> Doc:
    """The stored document as this caller sees it: href base, secrets shown or masked."""
    return to_response(
        kind,
        doc,
        fields=kind.write_response_fields if fields is None else fields,
        base_url=ctx.base_url,
        cipher=ctx.cipher,
        reveal_secrets=ctx.principal.is_bot,
    )


def _etag(doc: Doc) -> dict[str, str]:
    return {"ETag": etag(doc)}


def changed_answer(
    kind: Kind[Any], ctx: RequestContext, outcome: Outcome, *, tagged: bool = True
) -> Response:
    """The entity after a write, with what happened to it; an ETag too, unless it is gone."""
    headers = {CHANGE_HEADER: outcome.change}
    if tagged and outcome.change != DELETED:
        headers.update(_etag(outcome.doc))
    return json_response(render(kind, ctx, outcome.doc), headers=headers)


def accepted(ctx: RequestContext, started: Started, keys: tuple[str, ...]) -> Response:
    """202 with the job's id; the job's work runs once this answer is out."""
    response = json_response({key: started.doc[key] for key in keys}, status_code=202)
    response.background = BackgroundTask(
        runner.run, ctx.database, ctx.clock, started.job_id, started.work
    )
    return response


def accepted_bulk(ctx: RequestContext, started: Started, items: int) -> Response:
    """202 for PUT /bulk?async=true: OpenMetadata's placeholder BulkOperationResult (the
    official client parses the answer as one, and refuses any other key), with the job in
    the Location header; the work runs once this answer is out."""
    body = {
        "status": "running",
        "numberOfRowsProcessed": items,
        "numberOfRowsPassed": 0,
        "numberOfRowsFailed": 0,
    }
    headers = {"Location": f"{ctx.base_url}/v1/jobs/{started.job_id}"}
    response = json_response(body, status_code=202, headers=headers)
    response.background = BackgroundTask(
        runner.run, ctx.database, ctx.clock, started.job_id, started.work
    )
    return response


async def claimed(http: Request, ctx: RequestContext, key: str) -> idempotency.Claim:
    """The request's claim on the Idempotency-Key it sent."""
    return await idempotency.claim(
        http,
        key,
        principal=ctx.principal.name,
        now_ms=ctx.clock.now_ms(),
        ttl_seconds=ctx.settings.idempotency_ttl_seconds,
    )


ASYNC_WITH_KEY = (
    "Idempotency-Key is not supported with async=true: a retried asynchronous bulk would "
    "start a second job"
)

# Documents the Idempotency-Key header on a route (FastAPI adds the lists together).
IDEMPOTENT: dict[str, Any] = {"parameters": [idempotency.OPENAPI_PARAMETER]}


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


def build_router(spec: Routes, router: APIRouter | None = None) -> APIRouter:
    """Every route of a kind, in the order requests are matched: the ones ingestion sends
    most come early, and a list stays the first route of its path (so that a wrong method
    there answers 405 with Allow: GET). Routes already on `router` are matched first."""
    kind = spec.kind
    if router is None:
        router = APIRouter(prefix=kind.collection, tags=[spec.tag], route_class=AuthenticatedRoute)
    one = {200: {"model": spec.entity_model}, **spec.errors}
    label = spec.label

    def wanted(fields: str | None) -> frozenset[str]:
        return kind.parse_fields(fields) if spec.with_fields else frozenset()

    # ------------------------------------------------------------------ list

    if spec.list_model is not None:

        async def list_entities(
            ctx: ContextDep,
            fields: FieldsQuery = None,
            limit: LimitQuery = 10,
            before: str | None = None,
            after: str | None = None,
            include: IncludeQuery = Include.non_deleted,
            **filters: str | None,
        ) -> Response:
            asked = wanted(fields)
            given = {name: value for name, value in filters.items() if value is not None}
            page = await ctx.database.aread(
                _list,
                kind,
                spec.filters,
                given,
                limit,
                before,
                after,
                include,
                asked,
                caller_of(ctx),
            )
            data = [render(kind, ctx, doc, asked) for doc in page.docs]
            return json_response({"data": data, "paging": page.paging})

        _declare_filters(list_entities, spec)
        router.add_api_route(
            "",
            list_entities,
            methods=["GET"],
            name=f"list_{spec.many}",
            response_model=None,
            responses={200: {"model": spec.list_model}, **spec.errors},
            description=f"List {label} entities in name order, a page at a time.",
        )

    # ------------------------------------------------------------------ reads

    async def get_by_name(
        fqn: str,
        ctx: ContextDep,
        fields: FieldsQuery = None,
        include: IncludeQuery = Include.non_deleted,
    ) -> Response:
        asked = wanted(fields)
        doc = await ctx.database.aread(
            core.get_by_name, kind, fqn, include=include, fields=asked, caller=caller_of(ctx)
        )
        return json_response(render(kind, ctx, doc, asked), headers=_etag(doc))

    _without_fields(get_by_name, spec)
    router.add_api_route(
        "/name/{fqn:path}",
        get_by_name,
        methods=["GET"],
        name=f"get_{spec.one}_by_name",
        response_model=None,
        responses=one,
        description=f"Get a {label} by its name or fully qualified name.",
    )

    create_context = context_and_body(kind.create_model)

    async def create(
        call: Annotated[ContextAndBody[Any], Depends(create_context)], http: Request
    ) -> Response:
        ctx = call.ctx
        request = call.body.model()
        caller = caller_of(ctx)

        def answer(doc: Doc) -> Response:
            body = render(kind, ctx, doc)
            headers = {"Location": body["href"], CHANGE_HEADER: CREATED, **_etag(doc)}
            return json_response(body, status_code=201, headers=headers)

        key = idempotency.requested_key(http)
        if key is None:
            return answer(await ctx.database.awrite(core.create, kind, request, caller=caller))
        return await ctx.database.awrite(
            idempotency.once,
            await claimed(http, ctx, key),
            lambda connection: answer(core.create(connection, kind, request, caller=caller)),
        )

    router.add_api_route(
        "",
        create,
        methods=["POST"],
        name=f"create_{spec.one}",
        status_code=201,
        response_model=None,
        responses={201: {"model": spec.entity_model}, **spec.errors},
        openapi_extra={**json_body_openapi(kind.create_model), **IDEMPOTENT},
        description=f"Create a {label}; 409 if the name is taken.",
    )

    async def create_hot(http: Request) -> Response:
        authenticate(http)
        return await create(await create_context(http), http)

    hot_paths.register(router, "POST", "", create, create_hot)

    async def get_by_id(
        id: uuid.UUID,
        ctx: ContextDep,
        fields: FieldsQuery = None,
        include: IncludeQuery = Include.non_deleted,
    ) -> Response:
        asked = wanted(fields)
        doc = await ctx.database.aread(
            core.get_by_id, kind, str(id), include=include, fields=asked, caller=caller_of(ctx)
        )
        return json_response(render(kind, ctx, doc, asked), headers=_etag(doc))

    _without_fields(get_by_id, spec)
    router.add_api_route(
        "/{id}",
        get_by_id,
        methods=["GET"],
        name=f"get_{spec.one}",
        response_model=None,
        responses=one,
        description=f"Get a {label} by its id.",
    )

    if spec.full or spec.versioned:
        _add_version_routes(router, spec)

    # ------------------------------------------------------------------ writes

    model = kind.create_model

    async def put(request: Any, ctx: RequestContext, http: Request) -> Response:
        caller = caller_of(ctx)

        def answer(outcome: Outcome) -> Response:
            body = render(kind, ctx, outcome.doc)
            headers = {CHANGE_HEADER: outcome.change, **_etag(outcome.doc)}
            status = 201 if outcome.created else 200
            return json_response(body, status_code=status, headers=headers)

        key = idempotency.requested_key(http)
        if key is None:
            return answer(
                await ctx.database.awrite(core.create_or_update, kind, request, caller=caller)
            )
        return await ctx.database.awrite(
            idempotency.once,
            await claimed(http, ctx, key),
            lambda connection: answer(
                core.create_or_update(connection, kind, request, caller=caller)
            ),
        )

    async def create_or_update(request: model, ctx: ContextDep, http: Request) -> Response:  # type: ignore[valid-type]
        return await put(request, ctx, http)

    router.add_api_route(
        "",
        create_or_update,
        methods=["PUT"],
        name=f"create_or_update_{spec.one}",
        response_model=None,
        responses={
            200: {"model": spec.entity_model},
            201: {"model": spec.entity_model},
            **spec.errors,
        },
        openapi_extra=IDEMPOTENT,
        description=f"Create a {label} (201) or update the one of that name (200).",
    )

    async def create_or_update_hot(http: Request) -> Response:
        authenticate(http)
        call = await create_context(http)
        return await put(call.body.model(), call.ctx, http)

    hot_paths.register(router, "PUT", "", create_or_update, create_or_update_hot)

    if spec.full or spec.versioned:
        _add_patch_and_bulk_routes(router, spec, with_bulk=spec.full)
    _add_delete_routes(router, spec)
    if spec.full:
        _add_lifecycle_routes(router, spec)
    return router


def _list(
    connection: Connection,
    kind: Kind[Any],
    filters: Sequence[ListFilter],
    given: Mapping[str, str],
    limit: int,
    before: str | None,
    after: str | None,
    include: str,
    fields: frozenset[str],
    caller: Caller,
) -> Any:
    conditions = [f.condition(connection, given[f.name]) for f in filters if f.name in given]
    query = ListQuery(
        limit=limit, before=before, after=after, include=include, fields=fields, filters=conditions
    )
    return core.list_page(connection, kind, query, caller=caller)


def _declare_filters(endpoint: Callable[..., Any], spec: Routes) -> None:
    """Show FastAPI the kind's filters as optional query parameters in place of **filters."""
    signature = inspect.signature(endpoint)
    parameters = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    for name, description in ((f.name, f.description) for f in spec.filters):
        parameters.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[str | None, Query(description=description)],
            )
        )
    if not spec.with_fields:
        parameters = [p for p in parameters if p.name != "fields"]
    endpoint.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]


def _without_fields(endpoint: Callable[..., Any], spec: Routes) -> None:
    if spec.with_fields:
        return
    signature = inspect.signature(endpoint)
    parameters = [p for p in signature.parameters.values() if p.name != "fields"]
    endpoint.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]


VersionLimitQuery = Annotated[
    int | None,
    Query(ge=1, le=1_000_000, description="Page size; without it (and a cursor), every version."),
]
VersionCursorQuery = Annotated[
    str | None,
    Query(description="Cursor from the X-Paging-Before or X-Paging-After header of a page."),
]
PAGING_BEFORE_HEADER = "X-Paging-Before"
PAGING_AFTER_HEADER = "X-Paging-After"


def _paging_headers(request: Request, page: VersionPage) -> dict[str, str]:
    """The cursors of the pages on either side of a page of versions: the official client's
    EntityVersionHistory refuses any key but entityType and versions, so they travel as
    headers, and as a Link header (RFC 8288) to the next and previous pages."""
    headers: dict[str, str] = {}
    links: list[str] = []
    for name, value, header, rel in (
        ("after", page.after, PAGING_AFTER_HEADER, "next"),
        ("before", page.before, PAGING_BEFORE_HEADER, "prev"),
    ):
        if value is None:
            continue
        headers[header] = value
        other = "before" if name == "after" else "after"
        params = [(k, v) for k, v in request.query_params.multi_items() if k not in (name, other)]
        url = request.url.replace_query_params(**dict(params), **{name: value})
        links.append(f'<{url}>; rel="{rel}"')
    if links:
        headers["Link"] = ", ".join(links)
    return headers


def _add_version_routes(router: APIRouter, spec: Routes) -> None:
    kind = spec.kind

    async def list_versions(
        id: uuid.UUID,
        request: Request,
        ctx: ContextDep,
        limit: VersionLimitQuery = None,
        before: VersionCursorQuery = None,
        after: VersionCursorQuery = None,
    ) -> Response:
        headers: dict[str, str] = {}
        if limit is None and before is None and after is None:
            docs = await ctx.database.aread(
                core.list_versions, kind, str(id), caller=caller_of(ctx)
            )
        else:
            page = await ctx.database.aread(
                core.versions_page,
                kind,
                str(id),
                limit=limit,
                before=before,
                after=after,
                caller=caller_of(ctx),
            )
            docs = page.docs
            headers = _paging_headers(request, page)
        versions = [orjson.dumps(render(kind, ctx, doc)).decode() for doc in docs]
        body = {"entityType": kind.entity_type, "versions": versions}
        return json_response(body, headers=headers)

    router.add_api_route(
        "/{id}/versions",
        list_versions,
        methods=["GET"],
        name=f"list_{spec.one}_versions",
        response_model=None,
        responses={200: {"model": spec.history_model}, **spec.errors},
        description=(
            f"Every version of a {spec.label}, newest first, each as JSON text; with `limit`, "
            "`before` or `after`, one page of them, its neighbours' cursors in the "
            "X-Paging-Before and X-Paging-After headers (and a Link header)."
        ),
    )

    async def get_version(id: uuid.UUID, version: str, ctx: ContextDep) -> Response:
        doc = await ctx.database.aread(
            core.get_version, kind, str(id), version, caller=caller_of(ctx)
        )
        return json_response(render(kind, ctx, doc), headers=_etag(doc))

    router.add_api_route(
        "/{id}/versions/{version}",
        get_version,
        methods=["GET"],
        name=f"get_{spec.one}_version",
        response_model=None,
        responses={200: {"model": spec.entity_model}, **spec.errors},
        description=f"One version of a {spec.label}, such as 0.1.",
    )


def _add_patch_and_bulk_routes(router: APIRouter, spec: Routes, *, with_bulk: bool) -> None:
    kind = spec.kind
    patch_errors = {**spec.errors, 412: spec.errors[400]}
    responses = {200: {"model": spec.entity_model}, **patch_errors}

    async def patch_by_name(fqn: str, request: Request, ctx: ContextDep) -> Response:
        operations = patch.parse(await request.body(), request.headers.get("content-type"))
        outcome = await ctx.database.awrite(
            patch.apply_patch, kind, operations, fqn=fqn, caller=caller_of(ctx)
        )
        return changed_answer(kind, ctx, outcome)

    router.add_api_route(
        "/name/{fqn:path}",
        patch_by_name,
        methods=["PATCH"],
        name=f"patch_{spec.one}_by_name",
        response_model=None,
        responses=responses,
        openapi_extra=JSON_PATCH_BODY,
        description=f"Change parts of a {spec.label}, found by name, with a JSON Patch (RFC 6902).",
    )

    async def patch_by_id(id: uuid.UUID, request: Request, ctx: ContextDep) -> Response:
        operations = patch.parse(await request.body(), request.headers.get("content-type"))
        outcome = await ctx.database.awrite(
            patch.apply_patch, kind, operations, entity_id=str(id), caller=caller_of(ctx)
        )
        return changed_answer(kind, ctx, outcome)

    router.add_api_route(
        "/{id}",
        patch_by_id,
        methods=["PATCH"],
        name=f"patch_{spec.one}",
        response_model=None,
        responses=responses,
        openapi_extra=JSON_PATCH_BODY,
        description=f"Change parts of a {spec.label} with a JSON Patch (RFC 6902).",
    )
    if not with_bulk:
        return

    async def bulk_create_or_update(
        items: Annotated[list[Any], Body(description="Create requests, as for PUT.")],
        ctx: ContextDep,
        http: Request,
        run_async: Annotated[
            bool,
            Query(alias="async", description="Answer 202 at once; the job tells the outcome."),
        ] = False,
        override_metadata: Annotated[bool, Query(alias="overrideMetadata")] = False,
    ) -> Response:
        if len(items) > ctx.settings.bulk_max_items:
            raise PayloadTooLarge(
                f"Bulk request holds {len(items)} items; the limit is {ctx.settings.bulk_max_items}"
            )
        caller = caller_of(ctx)
        key = idempotency.requested_key(http)
        if run_async:
            if key is not None:
                raise BadRequest(ASYNC_WITH_KEY)
            started = await ctx.database.awrite(
                bulk.create_or_update_later,
                kind,
                items,
                caller=caller,
                override=override_metadata,
                max_running=ctx.settings.max_running_bulk_jobs,
            )
            return accepted_bulk(ctx, started, len(items))
        if key is None:
            result = await ctx.database.awrite(
                bulk.create_or_update_many, kind, items, caller=caller, override=override_metadata
            )
            return json_response(result.to_json())
        return await ctx.database.awrite(
            idempotency.once,
            await claimed(http, ctx, key),
            lambda connection: json_response(
                bulk.create_or_update_many(
                    connection, kind, items, caller=caller, override=override_metadata
                ).to_json()
            ),
        )

    router.add_api_route(
        "/bulk",
        bulk_create_or_update,
        methods=["PUT"],
        name=f"bulk_create_or_update_{spec.many}",
        response_model=None,
        responses={
            200: {"model": spec.bulk_result_model},
            202: {
                "model": spec.bulk_result_model,
                "description": "Accepted: the job is in the Location header.",
                "headers": {
                    "Location": {
                        "description": "/api/v1/jobs/{jobId}: the job, and once completed "
                        "its BulkOperationResult.",
                        "schema": {"type": "string"},
                    }
                },
            },
            **spec.errors,
            429: {
                **spec.errors.get(400, {}),
                "description": "async=true while the most bulk jobs allowed are running "
                "(MLMODEL_EMULATOR_MAX_RUNNING_BULK_JOBS); retry after Retry-After seconds.",
            },
        },
        openapi_extra=IDEMPOTENT,
        description=(
            f"Create or update many {spec.label}s; each item succeeds or fails on its own. "
            "With async=true, 400, 401 and 413 come at once, then 202 and the work runs in the "
            "background."
        ),
    )

    async def bulk_create_or_update_hot(http: Request) -> Response | None:
        """Without a query string, a JSON array is all FastAPI would check of the request."""
        if http.scope["query_string"] or not is_json(http):
            return None
        authenticate(http)
        try:
            items = orjson.loads(await raw_body(http))
        except orjson.JSONDecodeError:
            return None
        if not isinstance(items, list):
            return None
        return await bulk_create_or_update(items, await get_context(http), http)

    hot_paths.register(router, "PUT", "/bulk", bulk_create_or_update, bulk_create_or_update_hot)


def _add_delete_routes(router: APIRouter, spec: Routes) -> None:
    kind = spec.kind
    one = {200: {"model": spec.entity_model}, **spec.errors}

    async def delete_by_id(
        id: uuid.UUID,
        ctx: ContextDep,
        hard_delete: HardDeleteQuery = False,
        recursive: RecursiveQuery = False,
    ) -> Response:
        outcome = await ctx.database.awrite(
            core.delete,
            kind,
            entity_id=str(id),
            hard=hard_delete,
            recursive=recursive,
            caller=caller_of(ctx),
        )
        return changed_answer(kind, ctx, outcome, tagged=spec.full)

    router.add_api_route(
        "/{id}",
        delete_by_id,
        methods=["DELETE"],
        name=f"delete_{spec.one}",
        response_model=None,
        responses=one,
        description=f"Delete a {spec.label}: soft by default (it can be restored), or for good.",
    )

    async def delete_by_name(
        fqn: str,
        ctx: ContextDep,
        hard_delete: HardDeleteQuery = False,
        recursive: RecursiveQuery = False,
    ) -> Response:
        outcome = await ctx.database.awrite(
            core.delete, kind, fqn=fqn, hard=hard_delete, recursive=recursive, caller=caller_of(ctx)
        )
        return changed_answer(kind, ctx, outcome, tagged=spec.full)

    router.add_api_route(
        "/name/{fqn:path}",
        delete_by_name,
        methods=["DELETE"],
        name=f"delete_{spec.one}_by_name",
        response_model=None,
        responses=one,
        description=f"Delete a {spec.label} by name: soft by default, or for good.",
    )


def _add_lifecycle_routes(router: APIRouter, spec: Routes) -> None:
    kind = spec.kind
    errors = spec.errors

    async def restore(
        request: RestoreEntity,
        ctx: ContextDep,
        run_async: Annotated[
            bool, Query(alias="async", description="Answer 202 at once with a job to poll.")
        ] = False,
    ) -> Response:
        if run_async:
            started = await ctx.database.awrite(
                core.restore_later, kind, str(request.id), caller=caller_of(ctx)
            )
            return accepted(ctx, started, ("jobId", "message"))
        outcome = await ctx.database.awrite(
            core.restore, kind, str(request.id), caller=caller_of(ctx)
        )
        return changed_answer(kind, ctx, outcome)

    router.add_api_route(
        "/restore",
        restore,
        methods=["PUT"],
        name=f"restore_{spec.one}",
        response_model=None,
        responses={
            200: {"model": spec.entity_model},
            202: {"model": spec.restore_response_model},
            **errors,
        },
        description=f"Restore a soft-deleted {spec.label}; with async=true, in the background.",
    )

    def follower_answer(ctx: RequestContext, change: core.FollowerChange) -> Response:
        entity = render(kind, ctx, change.entity, frozenset())
        # The event carries the entity as stored, and a stored entity has no href.
        del entity["href"]
        body = {**change.event, "entity": entity}
        return json_response(body, headers={CHANGE_HEADER: FIELDS_CHANGED})

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
        change = await ctx.database.awrite(
            core.add_follower, kind, str(id), core.parse_follower_id(user_id), caller=caller_of(ctx)
        )
        return follower_answer(ctx, change)

    router.add_api_route(
        "/{id}/followers",
        add_follower,
        methods=["PUT"],
        name="add_follower",
        response_model=None,
        responses={200: {"model": spec.change_event_model}, **errors},
        description=(
            f"Add a follower to a {spec.label}; the version does not change. Users add "
            "themselves; only admins add someone else."
        ),
    )

    async def remove_follower(
        id: uuid.UUID,
        user_id: Annotated[uuid.UUID, Path(alias="userId")],
        ctx: ContextDep,
    ) -> Response:
        change = await ctx.database.awrite(
            core.remove_follower, kind, str(id), str(user_id), caller=caller_of(ctx)
        )
        return follower_answer(ctx, change)

    router.add_api_route(
        "/{id}/followers/{userId}",
        remove_follower,
        methods=["DELETE"],
        name="remove_follower",
        response_model=None,
        responses={200: {"model": spec.change_event_model}, **errors},
        description=(
            f"Remove a follower from a {spec.label}; the version does not change. Users "
            "remove themselves; only admins remove someone else."
        ),
    )

    async def delete_async(
        id: uuid.UUID,
        ctx: ContextDep,
        hard_delete: HardDeleteQuery = False,
        recursive: RecursiveQuery = False,
    ) -> Response:
        started = await ctx.database.awrite(
            core.delete_later,
            kind,
            str(id),
            hard=hard_delete,
            recursive=recursive,
            caller=caller_of(ctx),
        )
        keys = ("jobId", "message", "entityName", "hardDelete", "recursive")
        return accepted(ctx, started, keys)

    router.add_api_route(
        "/async/{id}",
        delete_async,
        methods=["DELETE"],
        name=f"delete_{spec.one}_async",
        status_code=202,
        response_model=None,
        responses={202: {"model": spec.delete_response_model}, **errors, 412: errors[400]},
        description=(
            f"Delete a {spec.label} in the background: 404, 403 and 412 come at once, then "
            "202 with a job whose outcome GET /api/v1/jobs/{jobId} tells."
        ),
    )
