"""Routes under /api/__emulator/ that save and replace the whole state (export, import) and
set the clock."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import Response
from pydantic import Field

from mlmodel_emulator.admin import snapshot
from mlmodel_emulator.admin.access import AdminDep
from mlmodel_emulator.admin.router import ERRORS, PREFIX
from mlmodel_emulator.clock import Clock
from mlmodel_emulator.common.api import ApiModel, ResponseModel
from mlmodel_emulator.errors import BadRequest
from mlmodel_emulator.responses import json_response

router = APIRouter(prefix=PREFIX, tags=["emulator"])


class StateDocument(ResponseModel):
    """Everything stored: the rows of every table, as the database holds them."""

    format: str = Field(examples=[snapshot.FORMAT])
    format_version: int = Field(alias="formatVersion", examples=[snapshot.FORMAT_VERSION])
    schema_revision: str | None = Field(alias="schemaRevision")
    emulator_version: str = Field(alias="emulatorVersion")
    exported_at: int = Field(alias="exportedAt", description="Epoch milliseconds.")
    tables: dict[str, list[dict[str, Any]]] = Field(description="Each table's rows, by name.")


class ImportResult(ResponseModel):
    rows: dict[str, int] = Field(description="How many rows each table now holds.")


@router.get("/export", response_model=None, responses={200: {"model": StateDocument}, **ERRORS})
async def export_state(ctx: AdminDep) -> Response:
    """The whole state as one JSON document, read in one snapshot: ML model services and
    ML models with their version history, users, teams and their members, domains,
    classifications, tags and jobs. Connection secrets stay encrypted with this server's
    secrets key."""
    return json_response(snapshot.export(ctx.database, now_ms=ctx.clock.now_ms()))


@router.post("/import", response_model=None, responses={200: {"model": ImportResult}, **ERRORS})
async def import_state(
    ctx: AdminDep,
    document: Annotated[
        dict[str, Any], Body(description="A document from GET /api/__emulator/export.")
    ],
) -> Response:
    """Replace the whole state with an exported document, in one transaction. A document of
    another format version or schema revision, or one that does not fit the tables, is
    refused with 400 and changes nothing."""
    counts = snapshot.replace(
        ctx.database, document, cipher=ctx.cipher, users=ctx.users, ids=ctx.ids
    )
    return json_response({"rows": counts})


# Epoch milliseconds that both databases store (BIGINT) and JSON numbers carry exactly.
_LATEST_MS = 2**63 - 1


class ClockChange(ApiModel):
    """Hold the clock at a time, or move it ahead: exactly one of the two."""

    now: int | None = Field(
        default=None, ge=0, le=_LATEST_MS, description="Hold the clock at this epoch ms."
    )
    advance_ms: int | None = Field(
        default=None,
        alias="advanceMs",
        ge=0,
        le=_LATEST_MS,
        description="Move the clock this many milliseconds ahead.",
    )


class ClockState(ResponseModel):
    now: int = Field(description="The time requests now get, in epoch milliseconds.")
    frozen: bool = Field(description="Whether the clock is held (set) rather than running.")


def _clock_answer(clock: Clock) -> Response:
    return json_response({"now": clock.now_ms(), "frozen": clock.frozen})


_CLOCK_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"model": ClockState}, **ERRORS}


@router.get("/clock", response_model=None, responses=_CLOCK_RESPONSES)
async def get_clock(ctx: AdminDep) -> Response:
    """The time this server process gives requests (updatedAt, version sessions, jobs)."""
    return _clock_answer(ctx.clock)


@router.put("/clock", response_model=None, responses=_CLOCK_RESPONSES)
async def set_clock(ctx: AdminDep, change: ClockChange) -> Response:
    """Hold this process's clock at `now`, or move it `advanceMs` ahead (a held clock stays
    held, a running one runs on ahead). Tokens still expire by the real time."""
    if (change.now is None) == (change.advance_ms is None):
        raise BadRequest("Give exactly one of now and advanceMs")
    if change.now is not None:
        ctx.clock.set(change.now)
    elif change.advance_ms is not None:
        if ctx.clock.now_ms() + change.advance_ms > _LATEST_MS:
            raise BadRequest("[query param advanceMs moves the clock beyond 2^63 - 1 ms]")
        ctx.clock.advance(change.advance_ms)
    return _clock_answer(ctx.clock)


@router.delete("/clock", response_model=None, responses=_CLOCK_RESPONSES)
async def restore_clock(ctx: AdminDep) -> Response:
    """Back to the real time."""
    ctx.clock.restore()
    return _clock_answer(ctx.clock)
