"""Request dependencies: the database, the settings and the calling principal."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Header, Request

from mlmodel_emulator.auth.keys import SigningKeys
from mlmodel_emulator.auth.tokens import Principal, principal_from_header
from mlmodel_emulator.config import Settings
from mlmodel_emulator.db.session import Database


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_keys(request: Request) -> SigningKeys:
    keys: SigningKeys = request.app.state.keys
    return keys


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_principal(
    settings: SettingsDep,
    keys: Annotated[SigningKeys, Depends(get_keys)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    return principal_from_header(authorization, keys, settings.jwt_issuer)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_base_url(request: Request, settings: SettingsDep) -> str:
    """Where /api lives, for href: the configured public URL, else the request's own."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/") + "/api"


BaseUrlDep = Annotated[str, Depends(get_base_url)]


def now_ms() -> int:
    return time.time_ns() // 1_000_000
