"""paging.total comes from the trigger-kept entity_count: it stays equal to the rows listed
after every kind of write, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.factories import MLMODELS_URL, SERVICES_URL, create_request, model_request

EXPORT_URL = "/api/__emulator/export"
IMPORT_URL = "/api/__emulator/import"
RESET_URL = "/api/__emulator/reset"
INCLUDES = ("non-deleted", "deleted", "all")


def _totals(client: TestClient, url: str, headers: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Per include: (paging.total of limit=0, how many rows a full listing holds)."""
    found = {}
    for include in INCLUDES:
        total = client.get(url, params={"include": include, "limit": 0}, headers=headers)
        full = client.get(url, params={"include": include, "limit": 1000}, headers=headers)
        assert total.status_code == full.status_code == 200, total.text + full.text
        found[include] = (total.json()["paging"]["total"], len(full.json()["data"]))
    return found


def _check(client: TestClient, headers: dict[str, str], **expected: int) -> None:
    """Both lists' totals equal their rows; `expected` pins some, e.g. services_all=3."""
    for label, url in (("services", SERVICES_URL), ("models", MLMODELS_URL)):
        totals = _totals(client, url, headers)
        for include, (total, rows) in totals.items():
            assert total == rows, f"{label} include={include}: total {total}, {rows} rows"
            key = f"{label}_{include.replace('-', '_')}"
            if key in expected:
                assert total == expected.pop(key), f"{label} include={include}: {total}"
    assert not expected


def _count_table_matches(engine: Engine) -> None:
    with engine.connect() as connection:
        for table in ("mlmodel_service", "mlmodel", "app_user", "team", "domain", "tag"):
            for deleted in (False, True):
                rows = connection.execute(
                    text(f"SELECT count(*) FROM {table} WHERE deleted = :d"), {"d": deleted}
                ).scalar_one()
                kept = connection.execute(
                    text(
                        "SELECT coalesce(sum(n), 0) FROM entity_count"
                        " WHERE table_name = :t AND deleted = :d"
                    ),
                    {"t": table, "d": deleted},
                ).scalar_one()
                assert (table, deleted, kept) == (table, deleted, rows)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def test_total_follows_creates_bulk_deletes_and_restores(
    client: TestClient, auth_headers: dict[str, str], engine: Engine
) -> None:
    h = auth_headers
    start = _totals(client, SERVICES_URL, h)["all"][0]
    for name in ("s1", "s2"):
        _ok(client.post(SERVICES_URL, json=create_request(name), headers=h), 201)
    bulk = [create_request(f"b{i}") for i in range(5)]
    assert _ok(client.put(f"{SERVICES_URL}/bulk", json=bulk, headers=h))["status"] == "success"
    for name in ("m1", "m2", "m3"):
        _ok(client.post(MLMODELS_URL, json=model_request(name, service="s1"), headers=h), 201)
    _ok(client.post(MLMODELS_URL, json=model_request("m4", service="s2"), headers=h), 201)
    _check(client, h, services_all=start + 7, services_deleted=0, models_all=4)

    # Soft delete of a model, then of a service with its model (recursive), then restore.
    model = _ok(client.get(f"{MLMODELS_URL}/name/s1.m1", headers=h))
    _ok(client.delete(f"{MLMODELS_URL}/{model['id']}", headers=h))
    _check(client, h, models_non_deleted=3, models_deleted=1)
    s2 = _ok(client.get(f"{SERVICES_URL}/name/s2", headers=h))
    _ok(client.delete(f"{SERVICES_URL}/{s2['id']}?recursive=true", headers=h))
    _check(client, h, services_deleted=1, models_non_deleted=2, models_deleted=2)
    _ok(client.put(f"{SERVICES_URL}/restore", json={"id": s2["id"]}, headers=h))
    _check(client, h, services_deleted=0, models_non_deleted=3, models_deleted=1)

    # Hard delete, recursive: the service and its children go.
    s1 = _ok(client.get(f"{SERVICES_URL}/name/s1", headers=h))
    url = f"{SERVICES_URL}/{s1['id']}?recursive=true&hardDelete=true"
    _ok(client.delete(url, headers=h))
    _check(client, h, services_all=start + 6, models_all=1)
    _count_table_matches(engine)


def test_total_follows_delete_stale(
    client: TestClient, auth_headers: dict[str, str], engine: Engine
) -> None:
    h = auth_headers
    _ok(client.post(SERVICES_URL, json=create_request("svc"), headers=h), 201)
    for name in ("a", "b", "c"):
        _ok(client.post(MLMODELS_URL, json=model_request(name, service="svc"), headers=h), 201)
    body = {
        "scopeFqn": "svc",
        "scopeEntityType": "service",
        "seenFqns": ["svc.a"],
        "recursive": True,
    }
    _ok(client.request("DELETE", f"{MLMODELS_URL}/deleteStale", json=body, headers=h))
    _check(client, h, models_non_deleted=1, models_deleted=2)
    _count_table_matches(engine)


def test_total_is_right_after_import_and_reset(
    make_client: Any, auth_headers: dict[str, str], engine: Engine
) -> None:
    client = make_client(admin_api=True)
    h = auth_headers
    for name in ("x1", "x2", "x3"):
        _ok(client.post(SERVICES_URL, json=create_request(name), headers=h), 201)
    _ok(client.post(MLMODELS_URL, json=model_request("m", service="x1"), headers=h), 201)
    x3 = _ok(client.get(f"{SERVICES_URL}/name/x3", headers=h))
    _ok(client.delete(f"{SERVICES_URL}/{x3['id']}", headers=h))
    before = {url: _totals(client, url, h) for url in (SERVICES_URL, MLMODELS_URL)}
    document = _ok(client.get(EXPORT_URL, headers=h))

    _ok(client.post(RESET_URL, headers=h), 204)
    _check(client, h, services_deleted=0, models_all=0)
    _count_table_matches(engine)

    _ok(client.post(IMPORT_URL, json=document, headers=h))
    _check(client, h, models_all=1)
    assert {url: _totals(client, url, h) for url in (SERVICES_URL, MLMODELS_URL)} == before
    _count_table_matches(engine)
