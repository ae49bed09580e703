"""Webhook delivery by real servers: two worker processes on one PostgreSQL database deliver
every event once and in order (the lease), a server stopped mid-stream and started again
loses nothing (the cursor is in the database), and a worker killed mid-send is taken over
when its lease expires."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mlmodel_emulator.db.engine import make_engine
from mlmodel_emulator.subscriptions.models import DELIVERY
from tests.databases import fresh_database
from tests.factories import create_request
from tests.live_server import mint_token, run_cli, running_server, send, server_env
from tests.servers import server_on_fresh_database
from tests.webhook_receiver import webhook_receiver

SUBSCRIPTIONS_PATH = "/api/v1/events/subscriptions"
SERVICES_PATH = "/api/v1/services/mlmodelServices"
EVENTS = 30
FAST = {"MLMODEL_EMULATOR_SUBSCRIPTION_POLL_MS": "20"}


def _subscribe(base_url: str, token: str, endpoint: str) -> None:
    body = {
        "name": "hook",
        "alertType": "Notification",
        "resources": ["mlmodelService"],
        "destinations": [
            {"category": "External", "type": "Webhook", "config": {"endpoint": endpoint}}
        ],
    }
    status, answer = send(base_url + SUBSCRIPTIONS_PATH, token, "POST", body)
    assert status == 201, answer


def _create_services(base_url: str, token: str, names: list[str]) -> None:
    for name in names:
        status, answer = send(base_url + SERVICES_PATH, token, "POST", create_request(name))
        assert status == 201, answer


def _names(events: list[dict[str, Any]]) -> list[str]:
    return [event["entityFullyQualifiedName"] for event in events]


def test_two_workers_deliver_every_event_once_in_order(tmp_path: Path) -> None:
    names = [f"svc_{i:02d}" for i in range(EVENTS)]
    with (
        webhook_receiver() as receiver,
        server_on_fresh_database("postgresql", tmp_path, workers=2, extra_env=FAST) as server,
    ):
        token = mint_token("admin", server.env)
        _subscribe(server.base_url, token, receiver.url)

        _create_services(server.base_url, token, names)
        receiver.wait_for_events(EVENTS, timeout=60)
        # One more event after them: anything sent twice would have come before it.
        _create_services(server.base_url, token, ["svc_last"])
        events = receiver.wait_for_events(EVENTS + 1, timeout=60)

    assert _names(events) == [*names, "svc_last"], server.log_tail()
    assert len({event["id"] for event in events}) == EVENTS + 1
    assert len(receiver.attempts) == EVENTS + 1


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_server_stopped_mid_stream_delivers_the_rest_when_started_again(
    tmp_path: Path, kind: str
) -> None:
    names = [f"svc_{i:02d}" for i in range(12)]
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    # The 4th request is held unanswered while the server stops: lost in flight.
    with webhook_receiver(hold_at=4) as receiver, fresh_database(kind, tmp_path) as url:
        if kind == "postgresql":
            run_cli(["migrate"], server_env(data_dir, url))
        with running_server(data_dir, kind, url, extra_env=FAST) as server:
            token = mint_token("admin", server.env)
            _subscribe(server.base_url, token, receiver.url)
            _create_services(server.base_url, token, names)
            receiver.wait_for(lambda r: r.held.is_set(), timeout=60)
        delivered_before_restart = _names(receiver.events())
        receiver.release.set()

        with running_server(data_dir, kind, url, extra_env=FAST) as server:
            events = receiver.wait_for_events(len(names), timeout=60)

    assert delivered_before_restart == names[:3]
    assert _names(events) == names, server.log_tail()
    # The event lost in flight was sent again after the restart.
    assert _names([a.event for a in receiver.attempts]) == [*names[:4], *names[3:]]


def _lease_owner(database_url: str) -> str | None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            owner: str | None = connection.execute(select(DELIVERY.c.lease_owner)).scalar_one()
    finally:
        engine.dispose()
    return owner


def test_worker_killed_mid_send_is_taken_over_when_its_lease_expires(tmp_path: Path) -> None:
    names = [f"svc_{i:02d}" for i in range(12)]
    lease = {**FAST, "MLMODEL_EMULATOR_SUBSCRIPTION_LEASE_MS": "3000"}
    # The 4th request is held unanswered while the worker sending it is killed outright.
    with (
        webhook_receiver(hold_at=4) as receiver,
        server_on_fresh_database("postgresql", tmp_path, workers=2, extra_env=lease) as server,
    ):
        token = mint_token("admin", server.env)
        _subscribe(server.base_url, token, receiver.url)
        _create_services(server.base_url, token, names)
        receiver.wait_for(lambda r: r.held.is_set(), timeout=60)
        # The lease owner is <host>:<pid>:<random>: the worker sending the held request.
        owner = _lease_owner(server.env["DATABASE_URL"])
        assert owner is not None, server.log_tail()
        pid = int(owner.rsplit(":", 2)[1])
        assert pid != server.process.pid
        os.kill(pid, signal.SIGKILL)
        receiver.release.set()

        # Far less than the default lease (60 s): only the short lease lets this pass.
        events = receiver.wait_for_events(len(names), timeout=40)

    assert _names(events) == names, server.log_tail()
    # Everything arrived once, but the event in flight at the kill, which was sent again.
    assert _names([a.event for a in receiver.attempts]) == [*names[:4], *names[3:]]
