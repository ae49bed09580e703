"""Routes under /api/__emulator/: a prefix OpenMetadata never uses, served only when the
admin API is enabled (Settings.admin_api), to admins only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mlmodel_emulator.admin.access import AdminDep
from mlmodel_emulator.admin.reset import Scope, reset
from mlmodel_emulator.deps import AuthenticatedRoute
from mlmodel_emulator.mlmodel_services.schemas import ErrorMessage

PREFIX = "/__emulator"
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorMessage} for status in (400, 401, 403)
}

router = APIRouter(prefix=PREFIX, tags=["emulator"], route_class=AuthenticatedRoute)


@router.post("/reset", status_code=204, response_class=Response, responses=ERRORS)
async def reset_state(
    request: Request,
    ctx: AdminDep,
    scope: Annotated[
        Scope,
        Query(
            description="all: everything, then the built-ins and seeds again; "
            "mlmodelServices: ML model services, their models and jobs only, then the "
            "seeded services again."
        ),
    ] = Scope.ALL,
) -> Response:
    """Empty the stored state without a restart or a migration."""
    reset(
        ctx.database,
        ctx.settings,
        ctx.users,
        scope,
        cipher=ctx.cipher,
        clock=ctx.clock,
        ids=ctx.ids,
    )
    return Response(status_code=204)
