"""GET /v1/system/version and GET /v1/system/config/jwks: the two routes open to anyone."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from mlmodel_emulator.deps import SettingsDep

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
