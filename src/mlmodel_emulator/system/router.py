"""The routes open to anyone: /v1/system/version, /config/jwks, /health and /ready."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection, text

from mlmodel_emulator.deps import DatabaseDep, SettingsDep
from mlmodel_emulator.errors import ServiceUnavailable
from mlmodel_emulator.governance import repository
from mlmodel_emulator.mlmodel_services.schemas import ErrorMessage

SCHEMA_NOT_READY = "The database schema is not up to date (run: mlmodel-emulator migrate)"

router = APIRouter(prefix="/v1/system", tags=["system"])


@router.get("/version")
def get_version(request: Request, settings: SettingsDep) -> dict[str, Any]:
    """The server version; the official client requires its own major.minor."""
    return {
        "version": settings.server_version,
        "revision": request.app.state.revision,
        "timestamp": request.app.state.started_at,
    }


@router.get("/config/jwks")
def get_jwks(request: Request) -> dict[str, Any]:
    """The public keys that verify this server's tokens."""
    jwks: dict[str, Any] = request.app.state.keys.jwks
    return jwks


@router.get("/health")
def get_health() -> dict[str, Any]:
    """Liveness: the process answers. It does not touch the database."""
    return {"status": "ok"}


def _check_database(connection: Connection) -> None:
    connection.execute(text("SELECT 1"))
    if not repository.schema_ready(connection):
        raise ServiceUnavailable(SCHEMA_NOT_READY)


@router.get(
    "/ready",
    responses={503: {"model": ErrorMessage, "description": "The database is not ready."}},
)
async def get_ready(database: DatabaseDep) -> dict[str, Any]:
    """Readiness: the database answers and its schema is migrated; 503 with Retry-After
    otherwise. Health checks (the Docker image's, compose's) use this one."""
    await database.aread(_check_database)
    return {"status": "ok", "database": "ok"}
