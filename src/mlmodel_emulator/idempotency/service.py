"""Idempotency-Key: a retried write replays its first answer instead of writing again.

A key belongs to its caller (the principal's name). The first request that sends it
inserts the key's record at the start of its own write transaction and stores its answer
there before the commit, so a key is never kept without its effect, nor an effect without
its key. A duplicate that arrives while the first runs waits for it, as a writer waits on
a row's lock (PostgreSQL holds the duplicate's INSERT until the first commits or rolls
back; SQLite's writers queue one after the other), then replays the stored answer. Only
2xx answers are kept: a request that failed rolls its record back with the rest, and may
be sent again under the same key.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, cast

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Connection, Row, Table, and_, bindparam, delete, select, update

from mlmodel_emulator.db.statements import insert_if_absent
from mlmodel_emulator.errors import BadRequest, Conflict
from mlmodel_emulator.idempotency.models import IdempotencyRecord

HEADER: Final = "Idempotency-Key"
_HEADER_NAME: Final = HEADER.lower().encode()
# Set on an answer that was replayed from a key's record rather than written afresh.
REPLAYED_HEADER: Final = "Idempotent-Replayed"
MAX_LENGTH: Final = 255
# Every PURGE_EVERY-th keyed request of a process (the first included) deletes the expired
# records; an expired record met on the way is replaced at once.
PURGE_EVERY: Final = 100
# The Idempotency-Key parameter of the routes that accept one, for the OpenAPI document.
OPENAPI_PARAMETER: Final[dict[str, Any]] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH},
    "description": (
        "Makes a retry safe: a request sent again with the same key, method, path, query "
        "and body replays the first 2xx answer (with Idempotent-Replayed: true) and "
        "writes nothing; the same key with another request is a 409. Keys belong to "
        "their caller and are remembered for MLMODEL_EMULATOR_IDEMPOTENCY_TTL_SECONDS "
        "(24 hours by default). 1 to 255 printable ASCII characters, else a 400."
    ),
}
# Status of a record whose request is still running (in its own, uncommitted, transaction).
_PENDING: Final = 0

_TABLE = cast(Table, IdempotencyRecord.__table__)
_C = _TABLE.c
_THIS_KEY = and_(_C.principal == bindparam("of"), _C.key == bindparam("named"))
_SELECT = select(_C.fingerprint, _C.expires_at, _C.status, _C.headers, _C.body).where(_THIS_KEY)
_STORE = (
    update(_TABLE)
    .where(_THIS_KEY)
    .values(
        status=bindparam("answer_status"),
        headers=bindparam("answer_headers"),
        body=bindparam("answer_body"),
    )
)
_DROP_EXPIRED_ONE = delete(_TABLE).where(_THIS_KEY, _C.expires_at <= bindparam("now"))
_DROP_ONE = delete(_TABLE).where(_THIS_KEY)
_PURGE = delete(_TABLE).where(_C.expires_at <= bindparam("now"))

_keyed_requests = itertools.count()

Work = Callable[[Connection], Response]


@dataclass(frozen=True, slots=True)
class Claim:
    """A request that sent a key: whose key, what the request was, and when it came."""

    principal: str
    key: str
    # SHA-256 (hex) of the method, path, query string and body.
    fingerprint: str
    now_ms: int
    ttl_ms: int


def requested_key(request: Request) -> str | None:
    """The request's Idempotency-Key; None without one, 400 when it is malformed.

    Read from the ASGI scope's raw headers (names are lowercase there): a third of what
    Starlette's Headers.get costs, and this runs on every write without the header too.
    """
    found: bytes | None = None
    for name, value in request.scope["headers"]:
        if name == _HEADER_NAME:
            if found is not None:
                raise BadRequest(f"Send one {HEADER} header, not several")
            found = value
    if found is None:
        return None
    key: str = found.decode("latin-1")
    if not 1 <= len(key) <= MAX_LENGTH or not all(" " <= char <= "~" for char in key):
        raise BadRequest(f"{HEADER} must be 1 to {MAX_LENGTH} printable ASCII characters")
    return key


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """What makes two requests the same one: method, path, query string and body bytes."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        # Each part prefixed by its length, so that no two requests hash alike by accident.
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def claim(
    request: Request, key: str, *, principal: str, now_ms: int, ttl_seconds: int
) -> Claim:
    """The claim of a request that sent `key` (its body is read here, from the cache)."""
    body = await request.body()
    scope = request.scope
    return Claim(
        principal=principal,
        key=key,
        fingerprint=fingerprint(request.method, scope["path"], scope["query_string"], body),
        now_ms=now_ms,
        ttl_ms=ttl_seconds * 1000,
    )


def once(connection: Connection, claim: Claim, work: Work) -> Response:
    """The stored answer to the claim's key, or `work`'s, stored with it; in the request's
    write transaction. 409 when the key came with another request."""
    if next(_keyed_requests) % PURGE_EVERY == 0:
        purge(connection, claim.now_ms)
    this = {"of": claim.principal, "named": claim.key}
    pending = {
        "principal": claim.principal,
        "key": claim.key,
        "fingerprint": claim.fingerprint,
        "created_at": claim.now_ms,
        "expires_at": claim.now_ms + claim.ttl_ms,
        "status": _PENDING,
        "headers": {},
        "body": b"",
    }
    # Three tries at most: again when the record found had expired, or went meanwhile.
    for _ in range(3):
        if insert_if_absent(connection, _TABLE, pending):
            break
        record = connection.execute(_SELECT, this).one_or_none()
        if record is None:
            continue
        if record.expires_at <= claim.now_ms:
            connection.execute(_DROP_EXPIRED_ONE, {**this, "now": claim.now_ms})
            continue
        return _stored_answer(claim, record)
    else:
        raise _in_progress(claim)
    response = work(connection)
    if 200 <= response.status_code < 300:
        headers = dict(response.headers.items())
        headers.pop("content-length", None)
        values = {
            "answer_status": response.status_code,
            "answer_headers": headers,
            "answer_body": bytes(response.body),
        }
        connection.execute(_STORE, {**this, **values})
    else:
        connection.execute(_DROP_ONE, this)
    return response


def purge(connection: Connection, now_ms: int) -> int:
    """Delete the records expired by `now_ms`; how many went."""
    return connection.execute(_PURGE, {"now": now_ms}).rowcount


def _stored_answer(claim: Claim, record: Row[Any, Any, Any, Any, Any]) -> Response:
    if record.fingerprint != claim.fingerprint:
        raise Conflict(
            f"{HEADER} '{claim.key}' was already used for another request; "
            "send a new key for a new request"
        )
    if record.status == _PENDING:
        raise _in_progress(claim)
    headers: dict[str, str] = {**record.headers, REPLAYED_HEADER: "true"}
    return Response(bytes(record.body), status_code=record.status, headers=headers)


def _in_progress(claim: Claim) -> Conflict:
    return Conflict(f"A request with {HEADER} '{claim.key}' is in progress; retry it later")
