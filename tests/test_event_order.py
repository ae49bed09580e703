"""The change-event feed's seq order is its commit order: a poller paging by `after` never
passes a seq whose transaction is still open (PostgreSQL; SQLite runs one writer at a time)."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import Engine, select

from mlmodel_emulator.events import service as events
from mlmodel_emulator.events.models import CHANGE_EVENT


def _event() -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "eventType": events.CREATED,
        "entityType": "mlmodel",
        "entityId": str(uuid.uuid4()),
        "entityFullyQualifiedName": "order.test",
        "timestamp": 1,
    }


def _after(engine: Engine, seq: int) -> list[tuple[int, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(CHANGE_EVENT.c.seq, CHANGE_EVENT.c.id)
            .where(CHANGE_EVENT.c.seq > seq)
            .order_by(CHANGE_EVENT.c.seq)
        )
        return [(int(s), str(i)) for s, i in rows]


def test_a_poller_sees_an_event_committed_after_a_later_one(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers are serialised: seq order is commit order")
    start = max([seq for seq, _ in _after(engine, 0)], default=0)
    a, b = _event(), _event()
    b_done = threading.Event()

    def write_b() -> None:
        with engine.begin() as connection:
            events.record(connection, [b])
        b_done.set()

    with engine.connect() as held:
        tx = held.begin()
        events.record(held, [a])  # A draws its seq and stays open
        writer = threading.Thread(target=write_b)
        writer.start()
        b_done.wait(2)  # B commits here without the order lock; waits on A with it
        seen = _after(engine, start)
        cursor = seen[-1][0] if seen else start
        tx.commit()
    writer.join()
    seen += _after(engine, cursor)
    assert sorted(i for _, i in seen) == sorted([a["id"], b["id"]])
