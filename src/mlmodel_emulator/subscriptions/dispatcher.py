"""Delivery of the change event feed to webhook destinations: one task per worker process,
at least once, in seq order per destination, with retries and exponential backoff.

A destination is delivered only by the worker that holds its lease (delivery.claim, one
conditional UPDATE), and its cursor moves only under that lease, so two workers never
deliver one destination at once. Every HTTP call runs outside any database transaction;
each outcome is then recorded in a short transaction of its own. A worker that dies
mid-send leaves its lease to expire and the event to be sent again: consumers dedupe on
the event's id. A destination that cannot be delivered as stored (a secret key that no
longer decrypts, a document that no longer reads) fails alone: its status says so, and
every other destination is delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import httpx2
import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from mlmodel_emulator.auth.secrets import SecretCipher
from mlmodel_emulator.clock import real_now_ms
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.errors import ApiError, ServerMisconfigured
from mlmodel_emulator.subscriptions import delivery, filters
from mlmodel_emulator.subscriptions.kind import EVENT_SUBSCRIPTIONS

Doc = dict[str, Any]
T = TypeVar("T")

logger = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "X-OM-Signature"
# Destinations claimed per poll, and events read per claimed destination.
CLAIM_LIMIT: Final = 50
# The longest wait between two attempts at one event.
MAX_BACKOFF_MS: Final = 300_000
# How long a destination that cannot be delivered as stored waits before it is tried
# again, unless its subscription is written before.
BROKEN_RETRY_MS: Final = 60_000
UNDECRYPTABLE: Final = (
    "the webhook's stored secretKey does not decrypt with the configured secrets key "
    "(MLMODEL_EMULATOR_SECRETS_KEY changed, or the stored value is corrupted): restore the "
    "former key as MLMODEL_EMULATOR_SECRETS_PREVIOUS_KEY; until then the subscription can "
    "be neither read, changed nor deleted, and the secretKey cannot be re-submitted"
)


def signature(secret: str, body: bytes) -> str:
    """GenericPublisher: sha256=<hex HMAC-SHA256 of the body under the secret key>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff_ms(base_ms: int, attempts: int) -> int:
    """The wait after the n-th failed attempt: base, 2 x base, 4 x base, ..., capped."""
    return int(min(MAX_BACKOFF_MS, base_ms * 2 ** (attempts - 1)))


@dataclass(frozen=True, slots=True)
class Sent:
    """What one HTTP attempt came to."""

    ok: bool
    status_code: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Work:
    """A destination claimed for this poll, in clear, with the events after its cursor."""

    claimed: delivery.Claimed
    subscription: Doc
    events: list[tuple[int, Doc]]


def failed_status(status: Doc, now_ms: int, reason: str) -> Doc:
    """The status details of a destination that cannot be delivered as stored."""
    kept = {k: v for k, v in status.items() if k not in ("nextAttempt", "lastFailedStatusCode")}
    return {
        **kept,
        "status": delivery.FAILED,
        "lastFailedAt": now_ms,
        "lastFailedReason": reason[:1000],
        "timestamp": now_ms,
    }


def unreadable(exc: Exception) -> str:
    """Why a stored subscription cannot be delivered, and what to do about it."""
    return (
        f"the stored subscription cannot be delivered ({type(exc).__name__}: {exc}): "
        "submit it again (PUT) with a valid destination"
    )


def _claim(
    connection: Connection, owner: str, cipher: SecretCipher, now_ms: int, lease_ms: int
) -> list[Work]:
    work = []
    for claimed in delivery.claim(connection, owner, now_ms, lease_ms, CLAIM_LIMIT):
        try:
            subscription = EVENT_SUBSCRIPTIONS.open(claimed.subscription, cipher)
            batch = min(int(subscription.get("batchSize") or CLAIM_LIMIT), CLAIM_LIMIT)
        except ServerMisconfigured:
            reason = UNDECRYPTABLE
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = unreadable(exc)
        else:
            events = delivery.events_after(connection, claimed.cursor, batch)
            work.append(Work(claimed, subscription, events))
            continue
        logger.warning("Event subscription destination %s: %s", claimed.destination_id, reason)
        status = failed_status(claimed.status, now_ms, reason)
        until = now_ms + BROKEN_RETRY_MS
        delivery.park(connection, claimed.destination_id, owner, status=status, until=until)
    return work


async def send(client: httpx2.AsyncClient, destination: Doc, body: bytes) -> Sent:
    """One ChangeEvent to one webhook: its headers and query parameters, the signature when a
    secret key is set, the destination's timeouts. Any answer but a 2xx, a timeout or no
    connection fails."""
    config = destination["config"]
    headers = {"Content-Type": "application/json", **(config.get("headers") or {})}
    # authType bearer (OpenMetadata 1.9+), or the older config.secretKey.
    secret = (config.get("authType") or {}).get("secretKey") or config.get("secretKey")
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    connect, read = float(destination.get("timeout", 10)), float(destination.get("readTimeout", 12))
    timeout = httpx2.Timeout(connect=connect, read=read, write=read, pool=connect)
    try:
        response = await client.request(
            config.get("httpMethod", "POST"),
            _url(config["endpoint"], config.get("queryParams")),
            content=body,
            headers=headers,
            timeout=timeout,
        )
    except httpx2.HTTPError as exc:
        return Sent(False, None, f"{type(exc).__name__}: {exc}"[:1000])
    if 200 <= response.status_code < 300:
        return Sent(True, response.status_code)
    reason = f"{response.status_code} {response.reason_phrase}".strip()
    return Sent(False, response.status_code, reason[:1000])


def _url(endpoint: str, params: dict[str, Any] | None) -> httpx2.URL:
    """The endpoint with queryParams after its own query, written as Java writes them:
    true/false for booleans, the rest as text."""
    url = httpx2.URL(endpoint)
    if not params:
        return url
    return url.copy_merge_params(
        {
            name: ("true" if value else "false") if isinstance(value, bool) else str(value)
            for name, value in params.items()
        }
    )


class Dispatcher:
    """The delivery loop of one worker process."""

    def __init__(
        self,
        database: Database,
        cipher: SecretCipher,
        *,
        poll_ms: int,
        retry_base_ms: int,
        lease_ms: int = 60_000,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.database = database
        self.cipher = cipher
        self.poll_s = poll_ms / 1000
        self.retry_base_ms = retry_base_ms
        self.lease_ms = lease_ms
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._client = client

    async def _db(self, writing: bool, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A transaction that a cancellation (the process stopping) never cuts short: its
        thread holds a pooled connection until it ends, so the engine is disposed only
        after it."""
        run = self.database.awrite if writing else self.database.aread
        task = asyncio.ensure_future(run(fn, *args, **kwargs))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await task
            raise

    async def run(self) -> None:
        """Poll until cancelled; a failing poll (the database away) is logged and retried,
        never the end of delivery. The leases held are let go on the way out."""
        client = self._client or httpx2.AsyncClient(follow_redirects=False)
        try:
            while True:
                try:
                    busy = await self.poll(client)
                except Exception:
                    # The one place besides jobs.runner that catches everything: the loop
                    # must outlive a database restart or a bad stored secret.
                    logger.exception("Event subscription delivery failed; retrying")
                    busy = False
                if not busy:
                    await asyncio.sleep(self.poll_s)
        finally:
            try:
                await self._db(True, delivery.release_all, self.owner)
            except Exception:
                logger.warning("Could not release the event subscription leases of %s", self.owner)
            if self._client is None:
                await client.aclose()

    async def poll(self, client: httpx2.AsyncClient) -> bool:
        """Claim what is due and deliver it, every destination at once; whether any event
        was sent (then the next poll comes at once)."""
        now_ms = real_now_ms()
        if not await self._db(False, delivery.pending, self.owner, now_ms):
            return False
        claimed = await self._db(True, _claim, self.owner, self.cipher, now_ms, self.lease_ms)
        done = await asyncio.gather(*(self.deliver(client, work) for work in claimed))
        return any(done)

    async def deliver(self, client: httpx2.AsyncClient, work: Work) -> bool:
        """The events after one destination's cursor, in order, until one fails. A stored
        destination that cannot be sent to (its document no longer reads, say) fails alone;
        the database away fails the poll."""
        try:
            return await self._deliver(client, work)
        except (ApiError, SQLAlchemyError):
            raise
        except Exception as exc:
            destination_id = work.claimed.destination_id
            logger.exception("Event subscription destination %s failed", destination_id)
            now = real_now_ms()
            status = failed_status(work.claimed.status, now, unreadable(exc))
            await self._db(
                True,
                delivery.park,
                destination_id,
                self.owner,
                status=status,
                until=now + BROKEN_RETRY_MS,
            )
            return False

    async def _deliver(self, client: httpx2.AsyncClient, work: Work) -> bool:
        claimed, subscription = work.claimed, work.subscription
        destination_id = claimed.destination_id
        destination = next(
            (d for d in subscription.get("destinations", []) if d["id"] == destination_id), None
        )
        enabled = subscription.get("enabled", True) and (destination or {}).get("enabled", True)
        if destination is None or not enabled:
            # Disabled: nothing is sent, and the cursor waits for it to be enabled again
            # (another version of the subscription); no poll claims it meanwhile.
            version = claimed.version
            await self._db(True, delivery.set_aside, destination_id, self.owner, version)
            return False
        if not work.events:
            await self._db(True, delivery.release, destination_id, self.owner)
            return False
        resources = subscription.get("filteringRules", {}).get("resources", [])
        rules = subscription.get("input", {}).get("filters", [])
        retries = int(subscription.get("retries", 3))
        status, attempts, cursor, sent_any = dict(claimed.status), claimed.attempts, None, False
        for seq, event in work.events:
            if not filters.matches(resources, rules, event):
                cursor = seq
                continue
            outcome = await send(client, destination, orjson.dumps(event))
            sent_any = True
            now = real_now_ms()
            if outcome.ok:
                status = {
                    **status,
                    "status": delivery.ACTIVE,
                    "lastSuccessfulAt": now,
                    "timestamp": now,
                }
                status.pop("nextAttempt", None)
                attempts, cursor = 0, seq
                if not await self._advance(destination_id, seq, status, now):
                    return True
                continue
            attempts += 1
            status = {
                **status,
                "lastFailedAt": now,
                "lastFailedReason": outcome.reason,
                "timestamp": now,
            }
            if outcome.status_code is not None:
                status["lastFailedStatusCode"] = outcome.status_code
            else:
                status.pop("lastFailedStatusCode", None)
            if attempts <= retries:
                at = now + backoff_ms(self.retry_base_ms, attempts)
                status = {**status, "status": delivery.AWAITING_RETRY, "nextAttempt": at}
                if cursor is not None:
                    await self._advance(destination_id, cursor, claimed.status, now)
                await self._db(
                    True,
                    delivery.retry_later,
                    destination_id,
                    self.owner,
                    attempts=attempts,
                    at=at,
                    status=status,
                )
                return True
            # Every retry used: the event is given up on, and the next one comes.
            status = {**status, "status": delivery.RETRY_LIMIT_REACHED}
            status.pop("nextAttempt", None)
            failed = {
                "subscription_id": subscription["id"],
                "destination_id": destination_id,
                "event_seq": seq,
                "timestamp": now,
                "reason": outcome.reason or "",
                "event": event,
            }
            attempts, cursor = 0, seq
            if not await self._advance(destination_id, seq, status, now, failed=failed):
                return True
        if cursor is not None and cursor > claimed.cursor:
            await self._advance(destination_id, cursor, status, real_now_ms())
        await self._db(True, delivery.release, destination_id, self.owner)
        return sent_any

    async def _advance(
        self, destination_id: str, cursor: int, status: Doc, now: int, failed: Doc | None = None
    ) -> bool:
        moved = await self._db(
            True,
            delivery.advance,
            destination_id,
            self.owner,
            cursor=cursor,
            status=status,
            lease_until=now + self.lease_ms,
            failed=failed,
        )
        if not moved:
            logger.warning("Lost the lease of destination %s", destination_id)
        return moved
