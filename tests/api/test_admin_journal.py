"""/api/__emulator/journal: the latest requests, to assert what a client sent."""

from __future__ import annotations

import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from mlmodel_emulator.admin import journal
from tests.factories import SERVICES_URL, create_request

JOURNAL_URL = "/api/__emulator/journal"
VERSION_URL = "/api/v1/system/version"


def _entries(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get(JOURNAL_URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["data"]
    return entries


def _count(client: TestClient, headers: dict[str, str], **params: Any) -> int:
    response = client.get(JOURNAL_URL + "/count", params=params, headers=headers)
    assert response.status_code == 200, response.text
    found: int = response.json()["count"]
    return found


def _seen(entries: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(entry["method"], entry["path"], entry["status"]) for entry in entries]


def test_journal_is_not_served_unless_enabled(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    assert client.get(JOURNAL_URL, headers=auth_headers).status_code == 404


def test_journal_records_each_request_newest_first(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    assert client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers).status_code
    client.get(SERVICES_URL, params={"limit": 5, "fields": "owners"}, headers=auth_headers)
    client.get(SERVICES_URL + "/name/nothing", headers=auth_headers)

    entries = _entries(client, auth_headers)

    assert _seen(entries) == [
        ("GET", SERVICES_URL + "/name/nothing", 404),
        ("GET", SERVICES_URL, 200),
        ("PUT", SERVICES_URL, 201),
    ]
    newest = entries[1]
    assert newest["query"] == "limit=5&fields=owners"
    assert newest["caller"] == "admin"
    assert newest["pid"] == os.getpid()
    assert newest["durationMs"] >= 0
    assert set(newest) == {
        "method",
        "path",
        "query",
        "status",
        "caller",
        "timestamp",
        "durationMs",
        "pid",
    }
    assert entries[0]["timestamp"] >= entries[1]["timestamp"] >= entries[2]["timestamp"]


def test_journal_leaves_out_the_admin_routes(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    client.get(VERSION_URL)
    client.get("/api/__emulator/faults", headers=auth_headers)
    client.post("/api/__emulator/reset", params={"scope": "mlmodelServices"}, headers=auth_headers)

    assert _seen(_entries(client, auth_headers)) == [("GET", VERSION_URL, 200)]


def test_journal_names_the_caller_only_for_a_valid_token(
    make_client: Any, auth_headers: dict[str, str], bot_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    client.get(SERVICES_URL, headers=bot_headers)
    client.get(SERVICES_URL)
    client.get(SERVICES_URL, headers={"Authorization": "Bearer not-a-token"})

    entries = _entries(client, auth_headers)

    assert [(entry["status"], entry.get("caller")) for entry in entries] == [
        (401, None),
        (401, None),
        (200, "ingestion-bot"),
    ]


def test_journal_records_injected_faults_and_refused_bodies(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True, max_body_bytes=64)
    rule = {"path": VERSION_URL, "status": 503, "times": 1}
    assert client.post("/api/__emulator/faults", json=rule, headers=auth_headers).status_code == 201
    client.get(VERSION_URL)
    client.get(VERSION_URL)
    client.put(SERVICES_URL, json=create_request("x" * 100), headers=auth_headers)

    assert _seen(_entries(client, auth_headers)) == [
        ("PUT", SERVICES_URL, 413),
        ("GET", VERSION_URL, 200),
        ("GET", VERSION_URL, 503),
    ]


def _traffic(client: TestClient, auth_headers: dict[str, str], bot_headers: dict[str, str]) -> None:
    client.put(SERVICES_URL, json=create_request("a"), headers=auth_headers)
    client.put(SERVICES_URL, json=create_request("b"), headers=bot_headers)
    client.get(SERVICES_URL + "/name/a", headers=bot_headers)
    client.get(SERVICES_URL + "/name/zzz", headers=auth_headers)
    client.get(VERSION_URL)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"method": "put"}, [("PUT", SERVICES_URL, 201), ("PUT", SERVICES_URL, 201)]),
        ({"status": 404}, [("GET", SERVICES_URL + "/name/zzz", 404)]),
        (
            {"caller": "ingestion-bot"},
            [("GET", SERVICES_URL + "/name/a", 200), ("PUT", SERVICES_URL, 201)],
        ),
        (
            {"path": SERVICES_URL + "/name/*"},
            [("GET", SERVICES_URL + "/name/zzz", 404), ("GET", SERVICES_URL + "/name/a", 200)],
        ),
        ({"path": VERSION_URL}, [("GET", VERSION_URL, 200)]),
        (
            {"method": "GET", "status": 200, "caller": "ingestion-bot", "path": "*/a"},
            [("GET", SERVICES_URL + "/name/a", 200)],
        ),
        ({"limit": 2}, [("GET", VERSION_URL, 200), ("GET", SERVICES_URL + "/name/zzz", 404)]),
        ({"path": "/api/v1/*", "limit": 1}, [("GET", VERSION_URL, 200)]),
        ({"caller": "nobody"}, []),
    ],
)
def test_journal_find_and_count_apply_every_filter(
    make_client: Any,
    auth_headers: dict[str, str],
    bot_headers: dict[str, str],
    params: dict[str, Any],
    expected: list[tuple[str, str, int]],
) -> None:
    client = make_client(admin_api=True)
    _traffic(client, auth_headers, bot_headers)

    found = _seen(_entries(client, auth_headers, **params))
    counted = _count(client, auth_headers, **{k: v for k, v in params.items() if k != "limit"})

    assert found == expected
    if "limit" not in params:
        assert counted == len(expected)


def test_journal_keeps_only_the_latest_requests(
    make_client: Any, auth_headers: dict[str, str], engine: Engine, monkeypatch: Any
) -> None:
    monkeypatch.setattr(journal, "TRIM_EVERY", 4)
    client = make_client(admin_api=True, journal_capacity=3)

    for n in range(10):
        client.get(VERSION_URL, params={"n": n})

    entries = _entries(client, auth_headers, limit=100)
    assert [entry["query"] for entry in entries] == ["n=9", "n=8", "n=7"]
    assert _count(client, auth_headers) == 3
    assert _count(client, auth_headers, path=VERSION_URL) == 3
    with engine.connect() as connection:
        stored, newest = connection.execute(
            text("SELECT count(*), max(id) FROM emulator_journal")
        ).one()
    # The last trim, at the last id divisible by 4, kept 3 rows; the rows after it remain.
    assert stored == 3 + newest % 4


def test_journal_with_no_capacity_records_nothing(
    make_client: Any, auth_headers: dict[str, str], engine: Engine
) -> None:
    client = make_client(admin_api=True, journal_capacity=0)
    client.get(VERSION_URL)

    assert _entries(client, auth_headers) == []
    assert _count(client, auth_headers) == 0
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM emulator_journal")).scalar_one() == 0


def test_clear_journal_and_reset_forget_every_request(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    client.get(VERSION_URL)

    assert client.delete(JOURNAL_URL, headers=auth_headers).status_code == 204
    assert _count(client, auth_headers) == 0

    client.get(VERSION_URL)
    assert client.post("/api/__emulator/reset", headers=auth_headers).status_code == 204
    assert _count(client, auth_headers) == 0
    client.get(VERSION_URL)
    assert _count(client, auth_headers) == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "ok"}, "[query param status must be an integer]"),
        ({"status": 99}, "[query param status must be greater than or equal to 100]"),
        ({"limit": 0}, "[query param limit must be greater than or equal to 1]"),
    ],
)
def test_journal_refuses_bad_filters_with_400(
    make_client: Any, auth_headers: dict[str, str], params: dict[str, Any], message: str
) -> None:
    client = make_client(admin_api=True)

    response = client.get(JOURNAL_URL, params=params, headers=auth_headers)

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": message}


def test_journal_is_for_admins_only(
    make_client: Any, bot_headers: dict[str, str], auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)

    assert client.get(JOURNAL_URL).status_code == 401
    assert client.get(JOURNAL_URL, headers=bot_headers).status_code == 403
    assert client.get(JOURNAL_URL + "/count", headers=bot_headers).status_code == 403
    assert client.delete(JOURNAL_URL, headers=bot_headers).status_code == 403
    # The refused calls to the journal itself are not recorded either.
    assert _count(client, auth_headers) == 0
