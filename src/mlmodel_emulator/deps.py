"""Request dependencies: the database, the settings and the calling principal."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from mlmodel_emulator.auth.keys import SigningKeys
from mlmodel_emulator.auth.secrets import SecretCipher
from mlmodel_emulator.auth.tokens import Principal, TokenVerifier
from mlmodel_emulator.config import Settings
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.mlmodel_services.permissions import UserCache


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_keys(request: Request) -> SigningKeys:
    keys: SigningKeys = request.app.state.keys
    return keys


async def get_cipher(request: Request) -> SecretCipher:
    cipher: SecretCipher = request.app.state.cipher
    return cipher


SettingsDep = Annotated[Settings, Depends(get_settings)]
CipherDep = Annotated[SecretCipher, Depends(get_cipher)]
DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_principal(request: Request) -> Principal:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier.principal(request.headers.get("authorization"))


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _base_url(request: Request, settings: Settings) -> str:
    """Where /api lives, for href: the configured public URL, else the request's own."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/") + "/api"


async def get_base_url(request: Request, settings: SettingsDep) -> str:
    return _base_url(request, settings)


BaseUrlDep = Annotated[str, Depends(get_base_url)]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class RequestContext:
    """All a route needs besides its parameters, gathered by one dependency.

    FastAPI's cost grows with each dependency a route declares; this one replaces five.
    """

    settings: Settings
    database: Database
    cipher: SecretCipher
    principal: Principal
    base_url: str
    users: UserCache
    if_match: str | None


async def get_context(request: Request) -> RequestContext:
    """Authenticate the caller (401 otherwise) and gather the app's resources."""
    state = request.app.state
    settings: Settings = state.settings
    verifier: TokenVerifier = state.verifier
    return RequestContext(
        settings=settings,
        database=state.database,
        cipher=state.cipher,
        principal=verifier.principal(request.headers.get("authorization")),
        base_url=_base_url(request, settings),
        users=state.users,
        if_match=request.headers.get("if-match"),
    )


ContextDep = Annotated[RequestContext, Depends(get_context)]
