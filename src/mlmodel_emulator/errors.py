"""The API's error hierarchy and the handlers that render every error as {"code", "message"}."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mlmodel_emulator.db import failures

logger = logging.getLogger(__name__)

# CatalogGenericExceptionMapper.getResponse adds this header to 401, 403, 404 and 409 answers.
_OM_AUTH_HEADER_STATUSES = frozenset({401, 403, 404, 409})


class ApiError(Exception):
    """Base of every error the API answers with; subclasses fix the HTTP status."""

    status_code: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def headers(self) -> Mapping[str, str]:
        """Headers the answer carries besides OpenMetadata's own."""
        return {}


class BadRequest(ApiError):
    status_code = 400


class Unauthorized(ApiError):
    status_code = 401


class Forbidden(ApiError):
    status_code = 403


class NotFound(ApiError):
    status_code = 404


class EntityNotFound(NotFound):
    """CatalogExceptionMessage.entityNotFound: '<type> instance for <id or fqn> not found'."""

    def __init__(self, entity_type: str, key: object) -> None:
        super().__init__(f"{entity_type} instance for {key} not found")


class Conflict(ApiError):
    status_code = 409


class EntityAlreadyExists(Conflict):
    def __init__(self) -> None:
        super().__init__("Entity already exists")


class PreconditionFailed(ApiError):
    status_code = 412


class PayloadTooLarge(ApiError):
    status_code = 413


class ServerMisconfigured(ApiError):
    """The server cannot do its work as configured (a secrets key that changed, say)."""

    status_code = 500


class RetryLater(ApiError):
    """An error the same request may overcome later: answered with Retry-After."""

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class TooManyRequests(RetryLater):
    """A limit on work in progress is reached: try again once some of it has finished."""

    status_code = 429


class ServiceUnavailable(RetryLater):
    """The database cannot be reached, or kept refusing a write: try again shortly."""

    status_code = 503


# What a 503 asks the client to wait, in seconds.
RETRY_AFTER_S = 1
UNAVAILABLE = "The database is unavailable; retry shortly"
CONFLICTED = "The write kept conflicting with concurrent writes; retry shortly"


def unavailable_answer(error: DBAPIError) -> ServiceUnavailable | None:
    """The 503 for a database that is gone or kept conflicting; None for any other error."""
    if failures.is_unavailable(error):
        return ServiceUnavailable(UNAVAILABLE, RETRY_AFTER_S)
    if failures.is_conflict(error):
        return ServiceUnavailable(CONFLICTED, RETRY_AFTER_S)
    return None


def error_response(
    status_code: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """Render OpenMetadata's error body, with its headers."""
    headers = dict(headers or {})
    if status_code in _OM_AUTH_HEADER_STATUSES:
        headers["WWW-Authenticate"] = "om-auth"
    return Response(
        orjson.dumps({"code": status_code, "message": message}),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


_TYPE_MESSAGES: dict[str, str] = {
    "missing": "must not be null",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be a boolean",
    "bool_parsing": "must be a boolean",
    "list_type": "must be an array",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "uuid_type": "must be a UUID",
    "uuid_parsing": "must be a UUID",
    "extra_forbidden": "is not a recognized field",
    "url_parsing": "must be a URL",
    "url_scheme": "must be a URL",
}


# FastAPI's first location element says where a value came from; OpenMetadata's texts do not.
_REQUEST_PARTS = frozenset({"body", "query", "path", "header", "cookie"})


def format_location(loc: Sequence[str | int]) -> str:
    """Join a pydantic error location into a field path: owners[0].type."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def describe_error(error: Any) -> str:
    """One violation in OpenMetadata's words: 'query param <path> <message>'."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if error.get("input", ...) is None and kind not in ("extra_forbidden", "missing"):
        message = "must not be null"
    elif kind in ("string_too_short", "string_too_long") and "max_length" in ctx:
        message = f"size must be between {ctx.get('min_length', 0)} and {ctx['max_length']}"
    elif kind in ("string_too_short", "string_too_long"):
        message = error["msg"]
    elif kind in ("greater_than_equal",):
        message = f"must be greater than or equal to {ctx['ge']}"
    elif kind in ("less_than_equal",):
        message = f"must be less than or equal to {ctx['le']}"
    elif kind == "enum" and "expected" in ctx:
        message = f"must be one of [{ctx['expected'].replace(chr(39), '').replace(' or ', ', ')}]"
    elif kind == "union_tag_invalid":
        message = (
            f"has an unknown type {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
        )
    elif kind == "literal_error" and "expected" in ctx:
        message = f"must be {ctx['expected']}"
    else:
        message = _TYPE_MESSAGES.get(kind, error["msg"])
    loc = list(error["loc"])
    if loc and loc[0] in _REQUEST_PARTS:
        loc = loc[1:]
    path = format_location(loc)
    return f"query param {path} {message}" if path else message


def describe_errors(errors: Sequence[Any]) -> str:
    """All violations as a Java list, as ConstraintViolationExceptionMapper renders them."""
    return "[" + ", ".join(describe_error(error) for error in errors) + "]"


def _validation_message(exc: RequestValidationError) -> str:
    errors = list(exc.errors())
    for error in errors:
        if error["type"] == "json_invalid":
            ctx = error.get("ctx") or {}
            return f"Malformed JSON in the request body: {ctx.get('error', error['msg'])}"
    return describe_errors(errors)


async def _api_error_handler(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.message, exc.headers)


async def _validation_error_handler(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, _validation_message(exc))


async def _http_error_handler(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    # Starlette's own headers carry meaning, such as Allow on a 405.
    return error_response(exc.status_code, str(exc.detail), exc.headers)


async def _database_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    answer = unavailable_answer(exc)
    if answer is None:
        return await _unhandled_error_handler(request, exc)
    return error_response(answer.status_code, answer.message, answer.headers)


async def _unhandled_error_handler(request: Request, exc: Exception) -> Response:
    logger.exception("Unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "Internal server error")


def register_exception_handlers(app: FastAPI) -> None:
    """Make every error, ours or the framework's, answer in OpenMetadata's body."""
    app.add_exception_handler(ApiError, _api_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(DBAPIError, _database_error_handler)
    app.add_exception_handler(Exception, _unhandled_error_handler)
