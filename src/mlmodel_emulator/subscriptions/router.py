"""HTTP routes of /api/v1/events/subscriptions: the shared entity routes (admins write,
anyone with a token reads), plus the events a subscription gave up on."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import Connection

from mlmodel_emulator.deps import AuthenticatedRoute, ContextDep
from mlmodel_emulator.entities.kind import Caller, Doc
from mlmodel_emulator.entities.router import Routes, build_router, caller_of
from mlmodel_emulator.errors import EntityNotFound
from mlmodel_emulator.mlmodel_services.schemas import EntityHistory, ErrorMessage
from mlmodel_emulator.responses import json_response
from mlmodel_emulator.subscriptions import delivery
from mlmodel_emulator.subscriptions.kind import ENTITY_TYPE, EVENT_SUBSCRIPTIONS, STORE
from mlmodel_emulator.subscriptions.schemas import (
    EventSubscription,
    EventSubscriptionList,
    FailedEvent,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorMessage} for status in (400, 401, 403, 404, 409)
}

ROUTES = Routes(
    kind=EVENT_SUBSCRIPTIONS,
    tag="eventSubscriptions",
    one="event_subscription",
    many="event_subscriptions",
    label="event subscription",
    entity_model=EventSubscription,
    list_model=EventSubscriptionList,
    errors=ERRORS,
    history_model=EntityHistory,
    with_fields=False,
    full=False,
    versioned=True,
)


def _failed_events(
    connection: Connection, subscription_id: str, limit: int, offset: int, *, caller: Caller
) -> list[Doc]:
    caller.actor(connection)
    if STORE.get_by_id(connection, subscription_id) is None:
        raise EntityNotFound(ENTITY_TYPE, subscription_id)
    return delivery.failed_events(connection, subscription_id, limit, offset)


router: APIRouter = APIRouter(
    prefix=EVENT_SUBSCRIPTIONS.collection, tags=[ROUTES.tag], route_class=AuthenticatedRoute
)


@router.get(
    "/id/{id}/failedEvents",
    name="list_event_subscription_failed_events",
    response_model=None,
    responses={200: {"model": list[FailedEvent]}, **ERRORS},
)
async def failed_events(
    id: uuid.UUID,
    ctx: ContextDep,
    limit: Annotated[int, Query(ge=0, le=1_000_000, description="Most events answered.")] = 15,
    pagination_offset: Annotated[
        int, Query(ge=0, alias="paginationOffset", description="Events skipped first.")
    ] = 0,
) -> Response:
    """The events a subscription gave up on once their delivery used up its retries,
    oldest first."""
    found = await ctx.database.aread(
        _failed_events, str(id), limit, pagination_offset, caller=caller_of(ctx)
    )
    return json_response(found)


build_router(ROUTES, router)
