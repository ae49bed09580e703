"""Concurrent writers against a real multi-worker server: one 201, the rest 200, never 5xx."""

from __future__ import annotations

import json
import random
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import RunningServer, mint_token
from tests.servers import server_on_fresh_database

SERVICES_PATH = "/api/v1/services/mlmodelServices"
ROUNDS = 20
WRITERS = 4


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    with server_on_fresh_database(request.param, tmp_path, workers=2) as running:
        yield running


def _put(url: str, token: str, body: object) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _race(url: str, token: str, bodies: list[object]) -> list[tuple[int, dict[str, object]]]:
    """Send the bodies at once, one thread each, released together."""
    results: list[tuple[int, dict[str, object]]] = [(0, {})] * len(bodies)
    barrier = threading.Barrier(len(bodies))

    def send(index: int) -> None:
        barrier.wait()
        results[index] = _put(url, token, bodies[index])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_create_or_update_same_new_name_at_once_gives_one_201(server):
    token = mint_token("admin", server.env)
    url = server.base_url + SERVICES_PATH

    outcomes = []
    for round_ in range(ROUNDS):
        body = {"name": f"race-{round_}", "serviceType": "Sklearn"}
        outcomes.append(_race(url, token, [body] * WRITERS))

    for results in outcomes:
        statuses = sorted(status for status, _ in results)
        assert statuses == [200] * (WRITERS - 1) + [201], (results, server.log_tail())
        assert len({body["id"] for _, body in results}) == 1


def test_bulk_same_new_names_at_once_creates_each_once(server):
    token = mint_token("admin", server.env)
    url = server.base_url + SERVICES_PATH + "/bulk"
    items = [{"name": f"bulk-{i}", "serviceType": "Sklearn"} for i in range(20)]

    results = _race(url, token, [items] * WRITERS)

    assert [status for status, _ in results] == [200] * WRITERS, server.log_tail()
    assert [body["numberOfRowsPassed"] for _, body in results] == [20] * WRITERS
    created = [
        entry["request"]
        for _, body in results
        for entry in body["successRequest"]  # type: ignore[union-attr]
        if entry["status"] == 201  # type: ignore[index]
    ]
    assert sorted(created) == sorted(item["name"] for item in items)


OVERLAPPING_BULKS = 8
BULK_ITEMS = 50
SHARED_NAMES = 25


def _get(url: str, token: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_overlapping_bulks_never_deadlock_and_keep_every_change(server):
    """Eight bulks at once, each of 50 items: 25 names shared by all, in an order of its own,
    and 25 names of its own. Each bulk changes the shared services' description."""
    token = mint_token("admin", server.env)
    url = server.base_url + SERVICES_PATH + "/bulk"
    rng = random.Random(8)
    shared = [f"shared-{i:02d}" for i in range(SHARED_NAMES)]
    bodies: list[object] = []
    for bulk in range(OVERLAPPING_BULKS):
        own = [f"own-{bulk}-{i:02d}" for i in range(BULK_ITEMS - SHARED_NAMES)]
        names = shared + own
        rng.shuffle(names)
        bodies.append(
            [
                {"name": name, "serviceType": "Sklearn", "description": f"from bulk {bulk}"}
                for name in names
            ]
        )

    results = _race(url, token, bodies)

    log = server.log_tail()
    assert [status for status, _ in results] == [200] * OVERLAPPING_BULKS, (results, log)
    assert [body["numberOfRowsPassed"] for _, body in results] == [BULK_ITEMS] * (
        OVERLAPPING_BULKS
    ), results
    status, listing = _get(f"{server.base_url}{SERVICES_PATH}?limit=1000", token)
    assert status == 200
    names = [entity["name"] for entity in listing["data"]]  # type: ignore[attr-defined]
    expected = set(shared) | {
        f"own-{bulk}-{i:02d}"
        for bulk in range(OVERLAPPING_BULKS)
        for i in range(BULK_ITEMS - SHARED_NAMES)
    }
    assert sorted(names) == sorted(expected)
    created = [
        entry["request"]
        for _, body in results
        for entry in body["successRequest"]  # type: ignore[union-attr]
        if entry["status"] == 201  # type: ignore[index]
    ]
    assert sorted(created) == sorted(expected), "each name created exactly once"
    for name in shared:
        status, service = _get(f"{server.base_url}{SERVICES_PATH}/name/{name}", token)
        assert status == 200
        status, history = _get(f"{server.base_url}{SERVICES_PATH}/{service['id']}/versions", token)
        assert status == 200
        versions = sorted(
            round(json.loads(version)["version"] * 10)  # type: ignore[arg-type]
            for version in history["versions"]  # type: ignore[union-attr]
        )
        current = round(float(service["version"]) * 10)  # type: ignore[arg-type]
        assert versions == list(range(1, current + 1)), (name, versions, current)


def _send(method: str, url: str, token: str, body: object = None) -> int:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_overlapping_creates_and_deletes_keep_paging_total_equal_to_the_rows(server):
    """Four writers over two workers: each creates, bulk-creates, soft- and hard-deletes its
    own services at once; every total the counters give then equals the rows listed."""
    token = mint_token("admin", server.env)
    url = server.base_url + SERVICES_PATH
    barrier = threading.Barrier(WRITERS)
    statuses: list[int] = []

    def write(writer: int) -> None:
        barrier.wait()
        for i in range(10):
            body = {"name": f"w{writer}-{i}", "serviceType": "Sklearn"}
            statuses.append(_send("POST", url, token, body))
        bulk = [{"name": f"w{writer}-bulk-{i}", "serviceType": "Sklearn"} for i in range(20)]
        statuses.append(_send("PUT", url + "/bulk", token, bulk))
        for i in range(0, 10, 2):
            statuses.append(_send("DELETE", f"{url}/name/w{writer}-{i}", token))
        for i in range(1, 10, 3):
            statuses.append(_send("DELETE", f"{url}/name/w{writer}-{i}?hardDelete=true", token))
        statuses.append(_send("DELETE", f"{url}/name/w{writer}-0?hardDelete=true", token))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(200 <= status < 300 for status in statuses), (statuses, server.log_tail())
    expected = {"non-deleted": 23 * WRITERS, "deleted": 3 * WRITERS, "all": 26 * WRITERS}
    for include, rows in expected.items():
        status, total = _get(f"{url}?include={include}&limit=0", token)
        status_full, full = _get(f"{url}?include={include}&limit=1000", token)
        assert (status, status_full) == (200, 200)
        assert (total["paging"]["total"], len(full["data"])) == (rows, rows), include  # type: ignore[index,arg-type]
