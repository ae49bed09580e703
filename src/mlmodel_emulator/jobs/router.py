"""HTTP routes of /api/v1/jobs: how an asynchronous operation stands."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from mlmodel_emulator.deps import AuthenticatedRoute, ContextDep
from mlmodel_emulator.jobs import service
from mlmodel_emulator.jobs.schemas import Job
from mlmodel_emulator.mlmodel_services.schemas import ErrorMessage
from mlmodel_emulator.responses import json_response

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorMessage} for status in (400, 401, 404)
}

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=AuthenticatedRoute)


@router.get("/{jobId}", response_model=None, responses={200: {"model": Job}, **ERRORS})
async def get_job(
    job_id: Annotated[uuid.UUID, Path(alias="jobId", description="From a 202 answer.")],
    ctx: ContextDep,
) -> Response:
    """How an asynchronous delete, restore or bulk stands: running, completed (a bulk with
    its BulkOperationResult), or failed with the error it ended on."""
    doc = await ctx.database.aread(
        service.get,
        str(job_id),
        principal=ctx.principal,
        now_ms=ctx.clock.now_ms(),
        admin_users=frozenset(ctx.settings.admin_users),
        users=ctx.users,
    )
    return json_response(doc)
