"""Fault rules and the request journal across the worker processes of a real server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import RunningServer, mint_token, send
from tests.servers import server_on_fresh_database

SERVICES_PATH = "/api/v1/services/mlmodelServices"
ADMIN_PATH = "/api/__emulator"
CONCURRENT = 8
# Rounds of concurrent requests sent at most until both workers have answered some.
MAX_ROUNDS = 25


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    admin_api = {"MLMODEL_EMULATOR_ADMIN_API": "true"}
    with server_on_fresh_database(
        request.param, tmp_path, workers=2, extra_env=admin_api
    ) as running:
        yield running


def _round(url: str, token: str) -> list[int]:
    """CONCURRENT requests at once, one thread and connection each, released together."""
    statuses = [0] * CONCURRENT
    barrier = threading.Barrier(CONCURRENT)

    def request(index: int) -> None:
        barrier.wait()
        statuses[index] = send(url, token)[0]

    threads = [threading.Thread(target=request, args=(i,)) for i in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_times_rule_fires_exactly_that_often_across_workers_and_journal_sees_both(server):
    token = mint_token("admin", server.env)
    admin = server.base_url + ADMIN_PATH
    rule = {"method": "GET", "path": SERVICES_PATH, "status": 503, "times": 3}
    status, added = send(admin + "/faults", token, "POST", rule)
    assert status == 201, (added, server.log_tail())

    statuses: list[int] = []
    pids: set[int] = set()
    for _ in range(MAX_ROUNDS):
        statuses += _round(server.base_url + SERVICES_PATH, token)
        _, found = send(admin + "/journal?limit=1000", token)
        pids = {entry["pid"] for entry in found["data"]}
        if len(pids) == 2:
            break

    assert len(pids) == 2, server.log_tail()
    assert sorted(statuses) == [200] * (len(statuses) - 3) + [503] * 3, server.log_tail()
    _, rules = send(admin + "/faults", token)
    assert [(r["id"], r["fired"], r["remaining"]) for r in rules["data"]] == [(added["id"], 3, 0)]
    _, journaled = send(f"{admin}/journal/count?path={SERVICES_PATH}&status=503", token)
    assert journaled == {"count": 3}
    _, journaled = send(f"{admin}/journal/count?path={SERVICES_PATH}&caller=admin", token)
    assert journaled == {"count": len(statuses)}
