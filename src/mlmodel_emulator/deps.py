"""Request dependencies: the database, the settings, the calling principal, and hot bodies."""

from __future__ import annotations

import email.message
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Final, Generic, TypeVar

from cachetools import LRUCache
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from mlmodel_emulator.auth.keys import SigningKeys
from mlmodel_emulator.auth.secrets import SecretCipher
from mlmodel_emulator.auth.tokens import Principal, TokenVerifier
from mlmodel_emulator.clock import Clock, Ids
from mlmodel_emulator.config import Settings
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.entities.permissions import UserCache


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


# Where AuthenticatedRoute leaves the caller it verified, in the request's scope.
PRINCIPAL_KEY = "mlmodel_emulator.principal"


def _principal(request: Request) -> Principal:
    principal: Principal | None = request.scope.get(PRINCIPAL_KEY)
    if principal is None:
        verifier: TokenVerifier = request.app.state.verifier
        principal = verifier.principal(request.headers.get("authorization"))
    return principal


def authenticate(request: Request) -> None:
    """Verify the caller's token (401 otherwise) and keep the principal for the request."""
    verifier: TokenVerifier = request.app.state.verifier
    request.scope[PRINCIPAL_KEY] = verifier.principal(request.headers.get("authorization"))


class AuthenticatedRoute(APIRoute):
    """A route whose caller is authenticated before anything else of the request is read.

    OpenMetadata's authentication filter runs before the resource: a request without a
    valid token is a 401 whatever its body, parameters or path hold. FastAPI reads the body
    and parameters before any dependency runs, so this is done in the route's handler.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def authenticated(request: Request) -> Response:
            authenticate(request)
            return await handler(request)

        return authenticated


async def get_principal(request: Request) -> Principal:
    return _principal(request)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


# Base URLs by what they are made of: building one through Starlette's URL costs about 4% of
# a GET. Bounded, since the Host header is the client's to choose.
_BASE_URLS: LRUCache[tuple[Any, ...], str] = LRUCache(maxsize=256)


def _base_url(request: Request, settings: Settings) -> str:
    """Where /api lives, for href: the configured public URL, else the request's own."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    scope = request.scope
    # Exactly what Request.base_url reads: scheme, server, root path and Host header.
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    root_path = scope.get("app_root_path", scope.get("root_path", ""))
    server = scope.get("server")
    key = (scope.get("scheme"), tuple(server) if server else None, root_path, host)
    base_url = _BASE_URLS.get(key)
    if base_url is None:
        base_url = _BASE_URLS[key] = str(request.base_url).rstrip("/") + "/api"
    return base_url


async def get_base_url(request: Request, settings: SettingsDep) -> str:
    return _base_url(request, settings)


BaseUrlDep = Annotated[str, Depends(get_base_url)]


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
    # Where the request's time and new ids come from (mlmodel_emulator.clock).
    clock: Clock
    ids: Ids


async def get_context(request: Request) -> RequestContext:
    """Authenticate the caller (401 otherwise) and gather the app's resources."""
    state = request.app.state
    settings: Settings = state.settings
    return RequestContext(
        settings=settings,
        database=state.database,
        cipher=state.cipher,
        principal=_principal(request),
        base_url=_base_url(request, settings),
        users=state.users,
        if_match=request.headers.get("if-match"),
        clock=state.clock,
        ids=state.ids,
    )


ContextDep = Annotated[RequestContext, Depends(get_context)]


# ---------------------------------------------------------------------------- JSON bodies

ModelT = TypeVar("ModelT", bound=BaseModel)
_MISSING: Final = object()


def _is_json(content_type: str | None) -> bool:
    """FastAPI's test for a JSON body: application/json or application/*+json."""
    if content_type == "application/json":
        return True
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


@dataclass(frozen=True, slots=True)
class JsonBody(Generic[ModelT]):
    """A request body as FastAPI reads a model parameter, for a hot route.

    FastAPI parses a body with the standard json module, then validates the objects; pydantic
    parsing and validating the bytes in one pass makes a create about 8% cheaper. That
    pass is tried first; whatever it refuses goes FastAPI's way, with FastAPI's errors:
    malformed JSON is refused while the body is read, an invalid body only when `model()`
    is asked for.
    """

    adapter: TypeAdapter[ModelT]
    parsed: Any
    # What FastAPI would validate: the JSON value, the bytes of a non-JSON body, or _MISSING.
    raw: Any = _MISSING

    def model(self) -> ModelT:
        """The validated body, or 400 as FastAPI words a body parameter's errors."""
        if self.parsed is not _MISSING:
            parsed: ModelT = self.parsed
            return parsed
        if self.raw is _MISSING:
            missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
            raise RequestValidationError([missing])
        try:
            return self.adapter.validate_python(self.raw, from_attributes=True)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            raise RequestValidationError(
                [{**error, "loc": ("body", *error["loc"])} for error in errors]
            ) from None


async def raw_body(request: Request) -> bytes:
    """The body's bytes, or the error FastAPI gives when it cannot read a body parameter."""
    try:
        return await request.body()
    except HTTPException:
        # 413 from limits.BodySizeLimit, rendered by the error handlers.
        raise
    except Exception as exc:
        raise HTTPException(400, "There was an error parsing the body") from exc


def is_json(request: Request) -> bool:
    """Whether FastAPI would read the request's body as JSON."""
    return _is_json(request.headers.get("content-type"))


def json_body(model: type[ModelT]) -> Callable[[Request], Awaitable[JsonBody[ModelT]]]:
    """Read the body as `model` (malformed JSON is refused here, validation waits)."""
    adapter = TypeAdapter(model)

    async def read(request: Request) -> JsonBody[ModelT]:
        raw = await raw_body(request)
        if not raw:
            return JsonBody(adapter, _MISSING)
        if not is_json(request):
            return JsonBody(adapter, _MISSING, raw)
        try:
            return JsonBody(adapter, adapter.validate_json(raw))
        except ValidationError:
            pass
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            invalid = {
                "type": "json_invalid",
                "loc": ("body", exc.pos),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": exc.msg},
            }
            raise RequestValidationError([invalid], body=exc.doc) from exc
        except Exception as exc:
            raise HTTPException(400, "There was an error parsing the body") from exc
        return JsonBody(adapter, _MISSING, value)

    return read


@dataclass(frozen=True, slots=True)
class ContextAndBody(Generic[ModelT]):
    """A route's context and its body, gathered by one dependency (see RequestContext)."""

    ctx: RequestContext
    body: JsonBody[ModelT]


def context_and_body(
    model: type[ModelT],
) -> Callable[[Request], Awaitable[ContextAndBody[ModelT]]]:
    """The dependency of a hot route with a body: the caller authenticated (on an
    AuthenticatedRoute, before anything was read), then the body read."""
    read_body = json_body(model)

    async def get(request: Request) -> ContextAndBody[ModelT]:
        ctx = await get_context(request)
        return ContextAndBody(ctx, await read_body(request))

    return get


def json_body_openapi(model: type[BaseModel]) -> dict[str, Any]:
    """What FastAPI documents for a model body parameter: the request body and its 422."""

    def json_schema(name: str) -> dict[str, Any]:
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}

    return {
        "requestBody": {"content": json_schema(model.__name__), "required": True},
        "responses": {
            "422": {
                "description": "Validation Error",
                "content": json_schema("HTTPValidationError"),
            }
        },
    }
