"""Routes under /api/__emulator/ that save and replace the whole state (export, import)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import Response
from pydantic import Field

from mlmodel_emulator.admin import snapshot
from mlmodel_emulator.admin.access import AdminDep
from mlmodel_emulator.admin.router import ERRORS, PREFIX
from mlmodel_emulator.common.api import ResponseModel
from mlmodel_emulator.deps import now_ms
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
    return json_response(snapshot.export(ctx.database, now_ms=now_ms()))


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
    counts = snapshot.replace(ctx.database, document, cipher=ctx.cipher, users=ctx.users)
    return json_response({"rows": counts})
