"""Deterministic ids (MLMODEL_EMULATOR_ID_SEED) and the clock (PUT /api/__emulator/clock)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import TABLES_CHILD_FIRST
from tests.factories import MLMODELS_URL, SERVICES_URL, create_request, model_request

CLOCK_URL = "/api/__emulator/clock"
RESET_URL = "/api/__emulator/reset"
T = 1_800_000_000_000
HOUR_MS = 3_600_000
SESSION_MS = 600_000

Headers = dict[str, str]


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _empty(engine: Any) -> None:
    with engine.begin() as connection:
        for table in TABLES_CHILD_FIRST:
            connection.execute(text(f"DELETE FROM {table}"))


def _ids_of_requests(client: TestClient, headers: Headers) -> dict[str, str]:
    """The same requests, and every id their answers carry."""
    user = _ok(client.post("/api/v1/users", json=_user("alice"), headers=headers), 201)
    service = _ok(client.put(SERVICES_URL, json=create_request("svc"), headers=headers), 201)
    model = _ok(
        client.put(MLMODELS_URL, json=model_request("m", service="svc"), headers=headers), 201
    )
    followers = f"{SERVICES_URL}/{service['id']}/followers"
    event = _ok(client.put(followers, json=user["id"], headers=headers))
    job = _ok(client.delete(f"{MLMODELS_URL}/async/{model['id']}", headers=headers), 202)
    admin = _ok(client.get("/api/v1/users/name/admin", headers=headers))
    return {
        "admin": admin["id"],
        "user": user["id"],
        "service": service["id"],
        "model": model["id"],
        "event": event["id"],
        "job": job["jobId"],
    }


def _user(name: str) -> dict[str, str]:
    return {"name": name, "email": f"{name}@example.com"}


# ---------------------------------------------------------------------------- ids


def test_two_fresh_apps_with_one_seed_give_the_same_ids(
    make_client: Any, engine: Any, auth_headers: Headers
) -> None:
    _empty(engine)
    first = _ids_of_requests(make_client(id_seed=42), auth_headers)
    _empty(engine)
    second = _ids_of_requests(make_client(id_seed=42), auth_headers)
    _empty(engine)
    other = _ids_of_requests(make_client(id_seed=7), auth_headers)

    assert second == first
    assert set(other.values()).isdisjoint(first.values())
    assert len(set(first.values())) == len(first)
    assert {uuid.UUID(value).version for value in first.values()} == {4}


def test_without_a_seed_ids_differ_between_fresh_apps(
    make_client: Any, engine: Any, auth_headers: Headers
) -> None:
    _empty(engine)
    first = _ids_of_requests(make_client(), auth_headers)
    _empty(engine)
    second = _ids_of_requests(make_client(), auth_headers)

    assert set(second.values()).isdisjoint(first.values())


def test_a_seeded_restart_on_a_used_database_skips_the_stored_ids(
    make_client: Any, engine: Any, auth_headers: Headers
) -> None:
    _empty(engine)
    first = make_client(id_seed=42)
    one = _ok(first.put(SERVICES_URL, json=create_request("one"), headers=auth_headers), 201)

    again = make_client(id_seed=42)
    two = _ok(again.put(SERVICES_URL, json=create_request("two"), headers=auth_headers), 201)

    assert two["id"] != one["id"]
    listing = _ok(again.get(SERVICES_URL, headers=auth_headers))
    assert [service["name"] for service in listing["data"]] == ["one", "two"]


def test_a_reset_starts_the_seeded_ids_over(make_client: Any, auth_headers: Headers) -> None:
    client = make_client(id_seed=42, admin_api=True)
    before = _ok(client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers), 201)

    _ok(client.post(RESET_URL, headers=auth_headers), 204)
    after = _ok(client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers), 201)

    assert after["id"] == before["id"]


def test_an_import_restarts_the_seeded_ids_past_the_imported_ones(
    make_client: Any, auth_headers: Headers
) -> None:
    client = make_client(id_seed=42, admin_api=True)
    made = _ok(client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers), 201)
    document = _ok(client.get("/api/__emulator/export", headers=auth_headers))

    _ok(client.post("/api/__emulator/import", json=document, headers=auth_headers))
    other = _ok(client.put(SERVICES_URL, json=create_request("other"), headers=auth_headers), 201)

    assert other["id"] != made["id"]


# ---------------------------------------------------------------------------- the clock


def _put_clock(client: TestClient, headers: Headers, **body: int) -> Any:
    return _ok(client.put(CLOCK_URL, json=body, headers=headers))


def test_a_set_clock_gives_updated_at_and_etag_exactly(
    make_client: Any, auth_headers: Headers
) -> None:
    client = make_client(admin_api=True)

    assert _put_clock(client, auth_headers, now=T) == {"now": T, "frozen": True}
    response = client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers)

    assert response.status_code == 201
    assert response.json()["updatedAt"] == T
    assert response.headers["etag"] == f'"0.1-{T}"'
    assert _ok(client.get(CLOCK_URL, headers=auth_headers)) == {"now": T, "frozen": True}


def test_an_advanced_clock_stays_held_and_moves_updated_at(
    make_client: Any, auth_headers: Headers
) -> None:
    client = make_client(admin_api=True)
    _put_clock(client, auth_headers, now=T)
    client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers)

    assert _put_clock(client, auth_headers, advanceMs=1_000) == {"now": T + 1_000, "frozen": True}
    changed = create_request("svc", description="second")
    body = _ok(client.put(SERVICES_URL, json=changed, headers=auth_headers))

    assert (body["version"], body["updatedAt"]) == (0.2, T + 1_000)


def test_advancing_the_clock_past_the_patch_session_starts_a_new_version(
    make_client: Any, auth_headers: Headers
) -> None:
    client = make_client(admin_api=True)
    _put_clock(client, auth_headers, now=T)
    service = _ok(client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers), 201)
    url = f"{SERVICES_URL}/{service['id']}"
    patch_headers = {**auth_headers, "Content-Type": "application/json-patch+json"}

    def patch(description: str) -> tuple[float, int]:
        operations = [{"op": "add", "path": "/description", "value": description}]
        body = _ok(client.patch(url, content=json.dumps(operations), headers=patch_headers))
        return body["version"], body["updatedAt"]

    _put_clock(client, auth_headers, advanceMs=HOUR_MS)
    assert patch("one") == (0.2, T + HOUR_MS)
    _put_clock(client, auth_headers, advanceMs=SESSION_MS - 1)
    # Within the session: merged into the same version.
    assert patch("two") == (0.2, T + HOUR_MS + SESSION_MS - 1)
    _put_clock(client, auth_headers, advanceMs=SESSION_MS + 1)
    assert patch("three") == (0.3, T + HOUR_MS + 2 * SESSION_MS)
    versions = _ok(client.get(f"{url}/versions", headers=auth_headers))["versions"]
    assert [json.loads(v)["version"] for v in versions] == [0.3, 0.2, 0.1]


def test_a_held_clock_times_background_jobs(make_client: Any, auth_headers: Headers) -> None:
    client = make_client(admin_api=True)
    _put_clock(client, auth_headers, now=T)
    service = _ok(client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers), 201)

    started = _ok(client.delete(f"{SERVICES_URL}/async/{service['id']}", headers=auth_headers), 202)

    job = _ok(client.get(f"/api/v1/jobs/{started['jobId']}", headers=auth_headers))
    assert (job["status"], job["createdAt"], job["finishedAt"]) == ("completed", T, T)


def test_delete_returns_the_clock_to_the_real_time(make_client: Any, auth_headers: Headers) -> None:
    client = make_client(admin_api=True)
    _put_clock(client, auth_headers, now=T)

    answer = _ok(client.delete(CLOCK_URL, headers=auth_headers))

    before = time.time_ns() // 1_000_000
    body = _ok(client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers), 201)
    after = time.time_ns() // 1_000_000
    assert answer["frozen"] is False
    assert before <= body["updatedAt"] <= after


def test_advancing_a_running_clock_keeps_it_running_ahead(
    make_client: Any, auth_headers: Headers
) -> None:
    client = make_client(admin_api=True)
    ahead = 10 * 24 * HOUR_MS

    before = time.time_ns() // 1_000_000
    answer = _put_clock(client, auth_headers, advanceMs=ahead)
    body = _ok(client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers), 201)
    after = time.time_ns() // 1_000_000

    assert answer["frozen"] is False
    assert before + ahead <= answer["now"] <= body["updatedAt"] <= after + ahead


def test_a_reset_returns_the_clock_to_the_real_time(
    make_client: Any, auth_headers: Headers
) -> None:
    client = make_client(admin_api=True)
    _put_clock(client, auth_headers, now=T)

    _ok(client.post(RESET_URL, headers=auth_headers), 204)

    assert _ok(client.get(CLOCK_URL, headers=auth_headers))["frozen"] is False


def test_each_app_has_its_own_clock(make_client: Any, auth_headers: Headers) -> None:
    held = make_client(admin_api=True)
    running = make_client(admin_api=True)

    _put_clock(held, auth_headers, now=T)

    assert _ok(running.get(CLOCK_URL, headers=auth_headers))["frozen"] is False


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"now": T, "advanceMs": 1},
        {"now": -1},
        {"advanceMs": -5},
        {"advanceMs": "soon"},
        {"now": 2**63},
        {"later": 1},
    ],
)
def test_set_clock_refuses_a_bad_body(
    make_client: Any, auth_headers: Headers, body: dict[str, Any]
) -> None:
    client = make_client(admin_api=True)

    response = client.put(CLOCK_URL, json=body, headers=auth_headers)

    assert response.status_code == 400, response.text
    assert set(response.json()) == {"code", "message"}
    assert _ok(client.get(CLOCK_URL, headers=auth_headers))["frozen"] is False


def test_advancing_beyond_what_can_be_stored_is_refused(
    make_client: Any, auth_headers: Headers
) -> None:
    client = make_client(admin_api=True)
    _put_clock(client, auth_headers, now=2**63 - 10)

    response = client.put(CLOCK_URL, json={"advanceMs": 10}, headers=auth_headers)

    assert response.status_code == 400
    assert _ok(client.get(CLOCK_URL, headers=auth_headers))["now"] == 2**63 - 10


def test_the_clock_is_for_admins_only(
    make_client: Any, auth_headers: Headers, bot_headers: Headers, user_headers: Any
) -> None:
    client = make_client(admin_api=True)

    assert client.put(CLOCK_URL, json={"now": T}).status_code == 401
    for headers in (bot_headers, user_headers("bob")):
        for response in (
            client.get(CLOCK_URL, headers=headers),
            client.put(CLOCK_URL, json={"now": T}, headers=headers),
            client.delete(CLOCK_URL, headers=headers),
        ):
            assert response.status_code == 403, response.text
    assert _ok(client.get(CLOCK_URL, headers=auth_headers))["frozen"] is False


def test_the_clock_is_not_served_unless_enabled(client: TestClient, auth_headers: Headers) -> None:
    assert client.put(CLOCK_URL, json={"now": T}, headers=auth_headers).status_code == 404
