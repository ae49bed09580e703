"""The change-event feed's seq order is its commit order: a poller paging by `after` never
passes a seq whose transaction is still open (PostgreSQL; SQLite runs one writer at a time)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, delete, select, text
from sqlalchemy import event as sqlalchemy_event

from mlmodel_emulator.db.session import Database
from mlmodel_emulator.events import service as events
from mlmodel_emulator.events.models import CHANGE_EVENT
from mlmodel_emulator.mlmodel_services.kind import STORE


@pytest.fixture(autouse=True)
def _no_events_left(engine: Engine) -> Iterator[None]:
    """These tests write to the shared database directly: leave no event behind."""
    yield
    with engine.begin() as connection:
        connection.execute(delete(CHANGE_EVENT))


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


def _events_total(engine: Engine) -> int:
    with engine.connect() as connection:
        return len(list(connection.execute(select(CHANGE_EVENT.c.seq))))


def test_through_database_the_events_go_in_last_right_before_the_commit(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL defers the event insert")
    database = Database(engine)
    statements: list[str] = []

    def listener(*args: object) -> None:
        statements.append(str(args[2]))

    def write(connection: Connection) -> None:
        events.record(connection, [_event()])
        events.record(connection, [_event()])
        connection.execute(text("SELECT 1"))  # work after the record calls

    before = _events_total(engine)
    sqlalchemy_event.listen(engine, "before_cursor_execute", listener)
    try:
        database.write(write)
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", listener)
        database.dispose()
    assert _events_total(engine) == before + 2
    assert "pg_advisory_xact_lock" in statements[-1]
    assert "change_event" in statements[-1]
    assert "SELECT 1" in statements[-2]


def test_events_of_a_rolled_back_transaction_never_reach_the_next_one(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL defers the event insert")
    database = Database(engine)
    lost, kept = _event(), _event()

    def fail(connection: Connection) -> None:
        events.record(connection, [lost])
        raise RuntimeError("rolled back")

    try:
        with pytest.raises(RuntimeError):
            database.write(fail)
        database.write(lambda connection: events.record(connection, [kept]))
    finally:
        database.dispose()
    with engine.connect() as connection:
        ids = set(connection.execute(select(CHANGE_EVENT.c.id)).scalars())
    assert kept["id"] in ids
    assert lost["id"] not in ids


def _service_doc(fqn: str) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "name": fqn,
        "fullyQualifiedName": fqn,
        "serviceType": "Mlflow",
        "deleted": False,
        "version": 0.1,
        "updatedAt": 1,
    }


def test_a_create_with_its_event_waits_for_a_taken_name_before_the_order_lock(
    engine: Engine,
) -> None:
    """A create whose event goes in with its INSERT (Store.add with events) that finds its
    name inserted by an open transaction waits for that one without holding the
    event-order lock: the other can still record its events and commit, and no deadlock
    has to be broken."""
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL has the event-order lock")
    fqn = f"order-{uuid.uuid4().hex[:8]}"
    first, second = _service_doc(fqn), _service_doc(fqn)
    first_event, second_event = _event(), _event()
    database = Database(engine)
    attempts: list[bool] = []
    outcome: list[bool] = []

    def create(connection: Connection) -> bool:
        assert events.attachable(connection)
        attempts.append(True)
        return STORE.add(connection, second, events=events.rows([second_event]))

    try:
        with engine.connect() as held:
            tx = held.begin()
            assert STORE.add(held, first)
            writer = threading.Thread(target=lambda: outcome.append(database.write(create)))
            writer.start()
            time.sleep(0.3)  # the second INSERT waits on the first one's row
            events.record(held, [first_event])  # takes the event-order lock at once
            tx.commit()
            writer.join(10)
        assert outcome == [False]
        assert len(attempts) == 1  # never chosen as a deadlock's victim and run again
        ids = [event_id for _, event_id in _after(engine, 0)]
        assert first_event["id"] in ids
        assert second_event["id"] not in ids
    finally:
        database.dispose()
        with engine.begin() as connection:
            connection.execute(delete(STORE.table).where(STORE.table.c.fqn == fqn))
