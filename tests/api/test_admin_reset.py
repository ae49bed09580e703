"""POST /api/__emulator/reset: empty the state without a restart, admins only, off by default."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import MLMODELS_URL, SERVICES_URL, create_request, model_request

RESET_URL = "/api/__emulator/reset"


def _setup(client: TestClient, headers: dict[str, str]) -> None:
    assert client.put(SERVICES_URL, json=create_request("svc"), headers=headers).status_code == 201
    model = model_request("m1", service="svc")
    assert client.put(MLMODELS_URL, json=model, headers=headers).status_code == 201
    user = {"name": "alice", "email": "alice@example.com"}
    assert client.post("/api/v1/users", json=user, headers=headers).status_code == 201


def _names(client: TestClient, url: str, headers: dict[str, str]) -> list[str]:
    response = client.get(url, params={"include": "all", "limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return [entity["name"] for entity in body["data"]]


def test_reset_is_not_served_unless_enabled(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = client.post(RESET_URL, headers=auth_headers)
    assert response.status_code == 404
    assert response.json()["code"] == 404


def test_reset_empties_everything_and_brings_the_built_ins_back(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    _setup(client, auth_headers)
    assert "alice" in _names(client, "/api/v1/users", auth_headers)

    response = client.post(RESET_URL, headers=auth_headers)

    assert response.status_code == 204, response.text
    assert _names(client, SERVICES_URL, auth_headers) == []
    assert _names(client, MLMODELS_URL, auth_headers) == []
    users = _names(client, "/api/v1/users", auth_headers)
    assert "alice" not in users
    assert "admin" in users
    assert "ingestion-bot" in users
    # The admin token still works, and writing works again at once.
    assert (
        client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers).json()["version"]
        == 0.1
    )


def test_reset_of_services_keeps_users(make_client: Any, auth_headers: dict[str, str]) -> None:
    client = make_client(admin_api=True)
    _setup(client, auth_headers)

    response = client.post(RESET_URL, params={"scope": "mlmodelServices"}, headers=auth_headers)

    assert response.status_code == 204, response.text
    assert _names(client, SERVICES_URL, auth_headers) == []
    assert _names(client, MLMODELS_URL, auth_headers) == []
    assert "alice" in _names(client, "/api/v1/users", auth_headers)


def test_reset_is_for_admins_only(
    make_client: Any, auth_headers: dict[str, str], bot_headers: dict[str, str], user_headers: Any
) -> None:
    client = make_client(admin_api=True)
    _setup(client, auth_headers)

    assert client.post(RESET_URL).status_code == 401
    for headers in (bot_headers, user_headers("bob")):
        response = client.post(RESET_URL, headers=headers)
        assert response.status_code == 403, response.text
        assert response.json()["message"].endswith("is not admin")
    assert _names(client, SERVICES_URL, auth_headers) == ["svc"]


def test_reset_refuses_an_unknown_scope(make_client: Any, auth_headers: dict[str, str]) -> None:
    client = make_client(admin_api=True)
    response = client.post(RESET_URL, params={"scope": "tables"}, headers=auth_headers)
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message"}
