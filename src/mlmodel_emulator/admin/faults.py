"""Fault injection: rules that delay requests or answer them with an error, in every worker.

The rules live in a table, so every worker process of one database applies the same ones,
and a reset clears them. Each process keeps the live rules in memory and reads them again
at most every REFRESH_S; a rule added is answered only once REFRESH_S has passed since it
was committed, so every request sent after the answer sees it, in whichever process. Each
firing is an UPDATE of the rule's row that counts it and checks that it may still fire
(`times`), so a rule deleted, cleared or used up meanwhile never fires again.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import Field, field_validator
from sqlalchemy import Connection, Table, bindparam, delete, insert, or_, select, update

from mlmodel_emulator.admin.access import AdminDep
from mlmodel_emulator.admin.models import FaultRecord
from mlmodel_emulator.admin.router import PREFIX
from mlmodel_emulator.common.api import ApiModel, ResponseModel
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.deps import AuthenticatedRoute
from mlmodel_emulator.errors import BadRequest, EntityNotFound
from mlmodel_emulator.mlmodel_services.schemas import ErrorMessage
from mlmodel_emulator.responses import json_response

REFRESH_S = 0.05
# Longest delay a rule may ask for: enough to trip any client's timeout.
MAX_DELAY_MS = 600_000
MAX_TIMES = 2_147_483_647

# The default message of each status; a status HTTP names no phrase for gets the fallback.
_PHRASES: dict[int | None, str] = {status.value: status.phrase for status in HTTPStatus}

Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
Doc = dict[str, Any]


class CreateFault(ApiModel):
    """A fault rule: which requests it matches, and what it does to them."""

    method: Method | None = Field(
        default=None, description="The HTTP method it matches (any case); default: any."
    )
    path: str = Field(
        min_length=1,
        max_length=2048,
        description=(
            "A glob on the whole request path, /api included, without the query: * matches "
            "any run of characters, / included; ? one character; [abc] one of a set."
        ),
    )
    status: int | None = Field(
        default=None,
        ge=400,
        le=599,
        description='Answer with this status and the body {"code": status, "message": ...}.',
    )
    message: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="The error's message; default: the status's reason phrase.",
    )
    delay_ms: int | None = Field(
        default=None,
        alias="delayMs",
        ge=0,
        le=MAX_DELAY_MS,
        description="Wait this long first (then answer the error, or serve the request).",
    )
    times: int | None = Field(
        default=None, ge=1, le=MAX_TIMES, description="Fire this many times, then stop."
    )
    probability: float | None = Field(
        default=None, ge=0, le=1, description="Fire on this share of matching requests."
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class FaultRule(ResponseModel):
    """A stored fault rule and how often it fired."""

    id: str
    method: str | None = None
    path: str
    status: int | None = None
    message: str | None = None
    delayMs: int | None = None
    times: int | None = None
    probability: float | None = None
    createdAt: int = Field(description="Epoch milliseconds.")
    fired: int = Field(description="How many requests it delayed or answered.")
    remaining: int | None = Field(default=None, description="With times: how many are left.")


class FaultRuleList(ResponseModel):
    data: list[FaultRule]


# ------------------------------------------------------------------------------------ SQL

_faults = cast(Table, FaultRecord.__table__)
_c = _faults.c
_live = or_(_c.remaining.is_(None), _c.remaining > 0)

_INSERT = insert(_faults)
_ALL = select(_c.doc, _c.fired, _c.remaining).order_by(_c.created_at, _c.id)
_LIVE = select(_c.doc).where(_live).order_by(_c.created_at, _c.id)
# Counted and used up in one statement: two processes never both take the last one.
_FIRE = (
    update(_faults)
    .where(_c.id == bindparam("key"), _live)
    .values(fired=_c.fired + 1, remaining=_c.remaining - 1)
)
_DELETE = delete(_faults).where(_c.id == bindparam("key"))
_CLEAR = delete(_faults)


def _answer(doc: Doc, fired: int, remaining: int | None) -> Doc:
    answer = {**doc, "fired": fired}
    if remaining is not None:
        answer["remaining"] = remaining
    return answer


def create(connection: Connection, body: CreateFault, *, now_us: int) -> Doc:
    """Store a rule; 400 when it would do nothing."""
    if body.status is None and body.delay_ms is None:
        raise BadRequest("A fault needs a status, a delayMs, or both")
    if body.message is not None and body.status is None:
        raise BadRequest("A fault's message needs a status")
    if not body.path.startswith(("/", "*")):
        raise BadRequest("A fault's path is a glob on the request path: it starts with / or *")
    doc = {"id": str(uuid.uuid4()), **body.to_json_dict(), "createdAt": now_us // 1000}
    connection.execute(
        _INSERT,
        {"id": doc["id"], "created_at": now_us, "doc": doc, "fired": 0, "remaining": body.times},
    )
    return _answer(doc, 0, body.times)


def list_all(connection: Connection) -> list[Doc]:
    """Every rule, used up or not, oldest first."""
    return [_answer(doc, fired, left) for doc, fired, left in connection.execute(_ALL)]


def remove(connection: Connection, fault_id: str) -> None:
    if connection.execute(_DELETE, {"key": fault_id}).rowcount != 1:
        raise EntityNotFound("fault", fault_id)


def clear(connection: Connection) -> None:
    connection.execute(_CLEAR)


def _live_docs(connection: Connection) -> list[Doc]:
    return list(connection.execute(_LIVE).scalars())


def _fire(connection: Connection, fault_id: str) -> bool:
    return bool(connection.execute(_FIRE, {"key": fault_id}).rowcount == 1)


# --------------------------------------------------------------------- the per-process view


@dataclass(frozen=True, slots=True)
class Rule:
    """A live rule, ready to match."""

    id: str
    method: str | None
    path: re.Pattern[str]
    status: int | None
    message: str
    delay_s: float
    probability: float | None

    @classmethod
    def from_doc(cls, doc: Doc) -> Rule:
        status = doc.get("status")
        return cls(
            id=doc["id"],
            method=doc.get("method"),
            path=re.compile(fnmatch.translate(doc["path"])),
            status=status,
            message=doc.get("message") or _PHRASES.get(status, "Injected fault"),
            delay_s=doc.get("delayMs", 0) / 1000,
            probability=doc.get("probability"),
        )

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path.match(path) is not None
        )


class FaultRules:
    """One process's view of the live rules, read again at most every `refresh_s`."""

    def __init__(
        self, refresh_s: float | None = None, draw: Callable[[], float] = random.random
    ) -> None:
        self._refresh_s = REFRESH_S if refresh_s is None else refresh_s
        self._draw = draw
        self._rules: list[Rule] = []
        self._loaded_at = float("-inf")
        self._loading = asyncio.Lock()

    async def pick(self, database: Database, method: str, path: str) -> Rule | None:
        """The first rule, oldest first, that matches the request and fires on it."""
        now = time.monotonic()
        if self._loading.locked() or now - self._loaded_at >= self._refresh_s:
            # Requests that come while the rules are being read wait for that read rather
            # than apply the list it replaces; one read at a time.
            async with self._loading:
                if now - self._loaded_at >= self._refresh_s:
                    docs = await database.aread(_live_docs)
                    self._rules = [Rule.from_doc(doc) for doc in docs]
                    # The time taken before the read: what it read is at least that recent.
                    self._loaded_at = now
        if not self._rules:
            return None
        for rule in self._rules:
            if not rule.matches(method, path):
                continue
            if rule.probability is not None and self._draw() >= rule.probability:
                continue
            if await database.awrite(_fire, rule.id):
                return rule
            # Deleted or used up meanwhile, for good.
            self._rules = [kept for kept in self._rules if kept.id != rule.id]
        return None


# --------------------------------------------------------------------------------- routes

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorMessage} for status in (400, 401, 403)
}

router = APIRouter(prefix=PREFIX + "/faults", tags=["emulator"], route_class=AuthenticatedRoute)


@router.post("", status_code=201, response_model=FaultRule, responses=ERRORS)
async def add_fault(body: CreateFault, ctx: AdminDep) -> Response:
    """Add a fault rule, tried after the rules already there. Answered once every worker
    process applies it."""
    doc = await ctx.database.awrite(create, body, now_us=time.time_ns() // 1000)
    await asyncio.sleep(REFRESH_S)
    return json_response(doc, status_code=201)


@router.get("", response_model=FaultRuleList, responses=ERRORS)
async def list_faults(ctx: AdminDep) -> Response:
    """Every fault rule, oldest first, with how many times each fired."""
    return json_response({"data": await ctx.database.aread(list_all)})


@router.delete("", status_code=204, response_class=Response, responses=ERRORS)
async def clear_faults(ctx: AdminDep) -> Response:
    """Remove every fault rule."""
    await ctx.database.awrite(clear)
    return Response(status_code=204)


@router.delete(
    "/{id}",
    status_code=204,
    response_class=Response,
    responses={**ERRORS, 404: {"model": ErrorMessage}},
)
async def delete_fault(
    fault_id: Annotated[uuid.UUID, Path(alias="id", description="The rule's id.")],
    ctx: AdminDep,
) -> Response:
    """Remove one fault rule."""
    await ctx.database.awrite(remove, str(fault_id))
    return Response(status_code=204)
