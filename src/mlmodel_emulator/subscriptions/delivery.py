"""All SQL of delivery: each destination's place in the change event feed and its lease, and
the events given up on. Every function runs in its caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from mlmodel_emulator.db.statements import insert_ignoring_conflicts
from mlmodel_emulator.events.models import CHANGE_EVENT
from mlmodel_emulator.subscriptions.models import DELIVERY, FAILED_EVENTS, SUBSCRIPTIONS

Doc = dict[str, Any]

# eventSubscription.json#/definitions/status.
ACTIVE = "active"
AWAITING_RETRY = "awaitingRetry"
RETRY_LIMIT_REACHED = "retryLimitReached"
DISABLED = "disabled"
FAILED = "failed"


def max_seq(connection: Connection) -> int:
    """The seq of the newest event committed: a new destination starts after it."""
    return int(
        connection.execute(select(func.coalesce(func.max(CHANGE_EVENT.c.seq), 0))).scalar_one()
    )


def _new_row(subscription_id: str, destination_id: str, cursor: int) -> Doc:
    return {
        "destination_id": destination_id,
        "subscription_id": subscription_id,
        "cursor_seq": cursor,
        "attempts": 0,
        "next_attempt_at": 0,
        "lease_owner": None,
        "lease_expires_at": 0,
        "parked_version": None,
        "status": {"status": ACTIVE},
    }


def sync_destinations(
    connection: Connection, subscription_id: str, destination_ids: Sequence[str]
) -> None:
    """Give each new destination of a subscription its state, starting after the newest
    event; forget the state of destinations it no longer has."""
    c = DELIVERY.c
    connection.execute(
        delete(DELIVERY).where(
            c.subscription_id == subscription_id, c.destination_id.not_in(list(destination_ids))
        )
    )
    if destination_ids:
        cursor = max_seq(connection)
        rows = [_new_row(subscription_id, d, cursor) for d in destination_ids]
        insert_ignoring_conflicts(connection, DELIVERY, rows)
    # A write of the subscription (a secret key submitted again, say) is the cue to try its
    # parked destinations at once (see `park`).
    connection.execute(
        update(DELIVERY)
        .where(c.subscription_id == subscription_id, c.attempts == 0, c.next_attempt_at > 0)
        .values(next_attempt_at=0)
    )


def taken_elsewhere(
    connection: Connection, destination_ids: Sequence[str], subscription_id: str | None
) -> list[str]:
    """The destination ids among these that belong to another subscription."""
    c = DELIVERY.c
    statement = select(c.destination_id).where(c.destination_id.in_(list(destination_ids)))
    if subscription_id is not None:
        statement = statement.where(c.subscription_id != subscription_id)
    return sorted(connection.execute(statement).scalars())


def forget(connection: Connection, subscription_ids: Sequence[str]) -> None:
    """Remove the delivery state and failed events of subscriptions about to go."""
    ids = list(subscription_ids)
    connection.execute(delete(FAILED_EVENTS).where(FAILED_EVENTS.c.subscription_id.in_(ids)))
    connection.execute(delete(DELIVERY).where(DELIVERY.c.subscription_id.in_(ids)))


def statuses(connection: Connection, subscription_ids: Sequence[str]) -> dict[str, Doc]:
    """The status details of every destination of these subscriptions, by destination id."""
    c = DELIVERY.c
    rows = connection.execute(
        select(c.destination_id, c.status).where(c.subscription_id.in_(list(subscription_ids)))
    )
    return {row.destination_id: row.status for row in rows}


def failed_events(
    connection: Connection, subscription_id: str, limit: int, offset: int
) -> list[Doc]:
    """failedEvent.json documents of one subscription, oldest first."""
    c = FAILED_EVENTS.c
    rows = connection.execute(
        select(c.subscription_id, c.event, c.reason, c.timestamp)
        .where(c.subscription_id == subscription_id)
        .order_by(c.seq)
        .limit(limit)
        .offset(offset)
    )
    return [
        {
            "failingSubscriptionId": row.subscription_id,
            "changeEvent": row.event,
            "reason": row.reason,
            "source": "Publisher",
            "timestamp": row.timestamp,
        }
        for row in rows
    ]


# ---------------------------------------------------------------------------- the dispatcher


@dataclass(frozen=True, slots=True)
class Claimed:
    """A destination this worker holds the lease of, with its subscription's document."""

    destination_id: str
    subscription: Doc
    cursor: int
    attempts: int
    status: Doc
    version: int


def _missing(connection: Connection) -> list[tuple[str, str]]:
    known = set(connection.execute(select(DELIVERY.c.destination_id)).scalars())
    return [
        (doc["id"], destination["id"])
        for doc in connection.execute(select(SUBSCRIPTIONS.c.doc)).scalars()
        for destination in doc.get("destinations", [])
        if destination["id"] not in known
    ]


def add_missing(connection: Connection) -> None:
    """State for destinations that have none: the subscriptions an import of the state
    wrote (every write of the service gives its destinations theirs, see
    sync_destinations)."""
    missing = _missing(connection)
    if missing:
        cursor = max_seq(connection)
        rows = [_new_row(s, d, cursor) for s, d in missing]
        insert_ignoring_conflicts(connection, DELIVERY, rows)


def _due(owner: str, now_ms: int, limit: int) -> Any:
    """Destinations with events after their cursor, due, leased by no other worker, and not
    set aside at their subscription's current version."""
    c = DELIVERY.c
    newest = select(func.max(CHANGE_EVENT.c.seq)).scalar_subquery()
    version = SUBSCRIPTIONS.c.version_tenths
    return (
        select(c.destination_id)
        .select_from(DELIVERY.join(SUBSCRIPTIONS, SUBSCRIPTIONS.c.id == c.subscription_id))
        .where(
            _claimable(owner, now_ms),
            c.next_attempt_at <= now_ms,
            c.cursor_seq < newest,
            or_(c.parked_version.is_(None), c.parked_version != version),
        )
        .order_by(c.next_attempt_at, c.destination_id)
        .limit(limit)
    )


def pending(connection: Connection, owner: str, now_ms: int) -> bool:
    """Whether a poll has anything to do: read first, so that an idle poll writes nothing."""
    return connection.execute(_due(owner, now_ms, 1)).first() is not None


def _claimable(owner: str, now_ms: int) -> Any:
    c = DELIVERY.c
    return or_(c.lease_owner.is_(None), c.lease_owner == owner, c.lease_expires_at < now_ms)


def claim(
    connection: Connection, owner: str, now_ms: int, lease_ms: int, limit: int
) -> list[Claimed]:
    """Take the lease of destinations that are due and not leased by another worker. Each
    lease is taken by one conditional UPDATE, so of two workers only one gets it."""
    c = DELIVERY.c
    due = list(connection.execute(_due(owner, now_ms, limit)).scalars())
    claimed = []
    for destination_id in due:
        taken = connection.execute(
            update(DELIVERY)
            .where(c.destination_id == destination_id, _claimable(owner, now_ms))
            .values(lease_owner=owner, lease_expires_at=now_ms + lease_ms, parked_version=None)
        ).rowcount
        if not taken:
            continue
        row = connection.execute(
            select(
                c.cursor_seq,
                c.attempts,
                c.status,
                SUBSCRIPTIONS.c.doc,
                SUBSCRIPTIONS.c.version_tenths,
            )
            .join(SUBSCRIPTIONS, SUBSCRIPTIONS.c.id == c.subscription_id)
            .where(c.destination_id == destination_id)
        ).one()
        claimed.append(
            Claimed(
                destination_id,
                row.doc,
                row.cursor_seq,
                row.attempts,
                row.status,
                row.version_tenths,
            )
        )
    return claimed


def events_after(connection: Connection, seq: int, limit: int) -> list[tuple[int, Doc]]:
    """The next events of the feed after a cursor, in seq order."""
    c = CHANGE_EVENT.c
    rows = connection.execute(select(c.seq, c.doc).where(c.seq > seq).order_by(c.seq).limit(limit))
    return [(row.seq, row.doc) for row in rows]


def _mine(destination_id: str, owner: str) -> Any:
    c = DELIVERY.c
    return and_(c.destination_id == destination_id, c.lease_owner == owner)


def advance(
    connection: Connection,
    destination_id: str,
    owner: str,
    *,
    cursor: int,
    status: Doc,
    lease_until: int,
    failed: Doc | None = None,
) -> bool:
    """Move the cursor (attempts back to 0), only while this worker holds the lease;
    whether it did. `failed` records the event given up on."""
    moved = connection.execute(
        update(DELIVERY)
        .where(_mine(destination_id, owner))
        .values(
            cursor_seq=cursor,
            attempts=0,
            next_attempt_at=0,
            status=status,
            lease_expires_at=lease_until,
        )
    ).rowcount
    if moved and failed is not None:
        connection.execute(insert(FAILED_EVENTS), failed)
    return bool(moved)


def retry_later(
    connection: Connection, destination_id: str, owner: str, *, attempts: int, at: int, status: Doc
) -> bool:
    """Keep the cursor, count the failed attempt, come back at `at`; the lease is let go."""
    return bool(
        connection.execute(
            update(DELIVERY)
            .where(_mine(destination_id, owner))
            .values(
                attempts=attempts,
                next_attempt_at=at,
                status=status,
                lease_owner=None,
                lease_expires_at=0,
            )
        ).rowcount
    )


def release(
    connection: Connection, destination_id: str, owner: str, status: Doc | None = None
) -> None:
    """Let the lease go (status set when given), for the next poll of any worker."""
    values: Doc = {"lease_owner": None, "lease_expires_at": 0}
    if status is not None:
        values["status"] = status
    connection.execute(update(DELIVERY).where(_mine(destination_id, owner)).values(**values))


def park(
    connection: Connection, destination_id: str, owner: str, *, status: Doc, until: int
) -> None:
    """A destination that cannot be delivered as stored: the status says why, the lease is
    let go, and it is due again at `until` or at the next write of its subscription
    (parked is `attempts` 0 with a `next_attempt_at`, which no retry has)."""
    connection.execute(
        update(DELIVERY)
        .where(_mine(destination_id, owner))
        .values(
            attempts=0,
            next_attempt_at=until,
            status=status,
            lease_owner=None,
            lease_expires_at=0,
        )
    )


def set_aside(connection: Connection, destination_id: str, owner: str, version: int) -> None:
    """A disabled destination: the lease let go, and no poll claims it again until its
    subscription has another version than this one."""
    connection.execute(
        update(DELIVERY)
        .where(_mine(destination_id, owner))
        .values(parked_version=version, lease_owner=None, lease_expires_at=0)
    )


def release_all(connection: Connection, owner: str) -> None:
    """Every lease of a worker that stops."""
    connection.execute(
        update(DELIVERY)
        .where(DELIVERY.c.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=0)
    )
