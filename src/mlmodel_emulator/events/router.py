"""HTTP route of /api/v1/events: the change event feed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import Connection

from mlmodel_emulator.auth.tokens import Principal
from mlmodel_emulator.deps import AuthenticatedRoute, ContextDep
from mlmodel_emulator.entities import permissions
from mlmodel_emulator.events import service
from mlmodel_emulator.events.schemas import ChangeEventList
from mlmodel_emulator.mlmodel_services.schemas import ErrorMessage
from mlmodel_emulator.responses import json_response

ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorMessage} for status in (400, 401)}

router = APIRouter(prefix="/v1/events", tags=["events"], route_class=AuthenticatedRoute)

_TYPES = (
    "Comma-separated entity types (mlmodelService, mlmodel, user, team, domain, "
    "classification, tag, eventSubscription) whose {} events to list, or `*` for every type."
)


def _list(
    connection: Connection,
    query: service.EventQuery,
    *,
    principal: Principal,
    admin_users: frozenset[str],
    users: permissions.UserCache | None,
) -> dict[str, Any]:
    permissions.actor_for(connection, principal, admin_users, users)
    return service.list_events(connection, query)


@router.get("", response_model=None, responses={200: {"model": ChangeEventList}, **ERRORS})
async def list_change_events(
    ctx: ContextDep,
    entity_created: Annotated[
        str | None, Query(alias="entityCreated", description=_TYPES.format("entityCreated"))
    ] = None,
    entity_updated: Annotated[
        str | None, Query(alias="entityUpdated", description=_TYPES.format("entityUpdated"))
    ] = None,
    entity_deleted: Annotated[
        str | None,
        Query(
            alias="entityDeleted",
            description=_TYPES.format("entitySoftDeleted and entityDeleted"),
        ),
    ] = None,
    entity_restored: Annotated[
        str | None, Query(alias="entityRestored", description=_TYPES.format("entityRestored"))
    ] = None,
    timestamp: Annotated[
        int,
        Query(
            ge=0,
            lt=service.MAX_INT64,
            description="Events at or after this time, epoch milliseconds.",
        ),
    ] = 0,
    limit: Annotated[
        int, Query(ge=0, le=1_000_000, description="Page size (default 10), 0 for the total only.")
    ] = 10,
    before: str | None = None,
    after: str | None = None,
) -> Response:
    """Change events, oldest first in the order they were recorded: every create, update,
    bulk item that changed, PATCH, soft and hard delete, restore and follower change of
    every entity kind. Only the event types whose filter is given are listed (none given,
    none listed, as OpenMetadata answers)."""
    query = service.EventQuery(
        filters={
            service.CREATED: service.parse_types(entity_created) or (),
            service.UPDATED: service.parse_types(entity_updated) or (),
            service.DELETED: service.parse_types(entity_deleted) or (),
            service.RESTORED: service.parse_types(entity_restored) or (),
        },
        timestamp=timestamp,
        limit=limit,
        before=before,
        after=after,
    )
    page = await ctx.database.aread(
        _list,
        query,
        principal=ctx.principal,
        admin_users=frozenset(ctx.settings.admin_users),
        users=ctx.users,
    )
    return json_response(page)
