"""Tables of event subscriptions: the entities and their versions, each destination's
delivery state, and the events whose delivery used up its retries."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from mlmodel_emulator.db.base import Base
from mlmodel_emulator.db.types import JSONDocument, ordered_string

# SQLite numbers rows itself only for a column declared INTEGER PRIMARY KEY.
_ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


class EventSubscriptionRecord(Base):
    __tablename__ = "event_subscription"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(ordered_string(256))
    fqn: Mapped[str] = mapped_column(ordered_string(512), unique=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # In tenths (0.1 is 1), so that versions never drift the way float sums do.
    version_tenths: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    doc: Mapped[dict[str, Any]] = mapped_column(JSONDocument)

    __table_args__ = (Index("ix_event_subscription_name_id", "name", "id"),)


class EventSubscriptionVersionRecord(Base):
    """A past version of a subscription, as it was before the change that replaced it."""

    __tablename__ = "event_subscription_version"

    entity_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("event_subscription.id", ondelete="CASCADE"), primary_key=True
    )
    version_tenths: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class SubscriptionDeliveryRecord(Base):
    """Where one destination is in the change event feed, and who is delivering it.

    `cursor_seq` is the seq of the last event done with (sent, filtered out, or given up);
    a worker delivers only while it holds the lease (`lease_owner` until
    `lease_expires_at`), and moves the cursor only under it.
    """

    __tablename__ = "subscription_delivery"

    destination_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("event_subscription.id", ondelete="CASCADE"), index=True
    )
    cursor_seq: Mapped[int] = mapped_column(BigInteger)
    # Failed attempts at the event after the cursor.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Epoch milliseconds; 0: now.
    next_attempt_at: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[int] = mapped_column(BigInteger, default=0)
    # Set aside while disabled: the subscription's version_tenths then; due again only once
    # the subscription has another version (enabled again, say), so no poll claims it.
    parked_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # eventSubscription.json#/definitions/subscriptionStatus.
    status: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class SubscriptionFailedEventRecord(Base):
    """An event a destination gave up on after its retries (failedEvent.json)."""

    __tablename__ = "subscription_failed_event"
    __table_args__ = (Index("ix_subscription_failed_event_subscription", "subscription_id", "seq"),)

    seq: Mapped[int] = mapped_column(_ROW_ID, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("event_subscription.id", ondelete="CASCADE")
    )
    destination_id: Mapped[str] = mapped_column(String(36))
    event_seq: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(1024))
    event: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


SUBSCRIPTIONS = cast(Table, EventSubscriptionRecord.__table__)
DELIVERY = cast(Table, SubscriptionDeliveryRecord.__table__)
FAILED_EVENTS = cast(Table, SubscriptionFailedEventRecord.__table__)
