"""DELETE /api/v1/services/mlmodelServices/{id} and /name/{fqn}, and PUT /restore."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.factories import SERVICES_URL, create_request


@pytest.fixture
def created(client, auth_headers):
    return client.put(
        SERVICES_URL, json=create_request(description="d"), headers=auth_headers
    ).json()


@pytest.mark.parametrize("by", ["id", "name"])
def test_soft_delete_bumps_version_and_records_the_change(client, auth_headers, created, by):
    path = created["id"] if by == "id" else "name/mlflow_svc"

    response = client.delete(f"{SERVICES_URL}/{path}", headers=auth_headers)

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entitySoftDeleted"
    body = response.json()
    assert (body["deleted"], body["version"]) == (True, 0.2)
    assert body["changeDescription"] == {
        "fieldsAdded": [],
        "fieldsUpdated": [{"name": "deleted", "oldValue": False, "newValue": True}],
        "fieldsDeleted": [],
        "previousVersion": 0.1,
    }


@pytest.mark.parametrize(
    ("include", "status"), [("non-deleted", 404), ("deleted", 200), ("all", 200)]
)
def test_soft_deleted_entity_follows_include(client, auth_headers, created, include, status):
    client.delete(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)

    by_id = client.get(f"{SERVICES_URL}/{created['id']}?include={include}", headers=auth_headers)
    by_name = client.get(f"{SERVICES_URL}/name/mlflow_svc?include={include}", headers=auth_headers)
    listed = client.get(f"{SERVICES_URL}?include={include}", headers=auth_headers).json()

    assert (by_id.status_code, by_name.status_code) == (status, status)
    assert listed["paging"]["total"] == (0 if status == 404 else 1)


def test_post_of_a_soft_deleted_name_returns_409(client, auth_headers, created):
    client.delete(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)

    response = client.post(SERVICES_URL, json=create_request(), headers=auth_headers)

    assert response.status_code == 409


def test_put_of_a_soft_deleted_name_restores_it(client, auth_headers, created):
    client.delete(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)

    response = client.put(SERVICES_URL, json=create_request(description="d"), headers=auth_headers)

    assert response.status_code == 200
    assert (response.json()["deleted"], response.json()["version"]) == (False, 0.3)
    assert response.json()["changeDescription"]["fieldsUpdated"] == [
        {"name": "deleted", "oldValue": True, "newValue": False}
    ]


def test_restore_brings_it_back_with_a_new_version(client, auth_headers, created):
    client.delete(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)

    response = client.put(
        f"{SERVICES_URL}/restore", json={"id": created["id"]}, headers=auth_headers
    )

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entityRestored"
    assert (response.json()["deleted"], response.json()["version"]) == (False, 0.3)
    assert client.get(f"{SERVICES_URL}/{created['id']}", headers=auth_headers).status_code == 200
    versions = client.get(f"{SERVICES_URL}/{created['id']}/versions", headers=auth_headers).json()
    assert [json.loads(v)["version"] for v in versions["versions"]] == [0.3, 0.2, 0.1]


def test_restore_of_a_live_entity_returns_404(client, auth_headers, created):
    response = client.put(
        f"{SERVICES_URL}/restore", json={"id": created["id"]}, headers=auth_headers
    )

    assert response.status_code == 404
    assert response.json()["message"] == f"mlmodelService instance for {created['id']} not found"


def test_hard_delete_removes_entity_and_history(client, auth_headers, created, engine):
    response = client.delete(
        f"{SERVICES_URL}/{created['id']}?hardDelete=true", headers=auth_headers
    )

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entityDeleted"
    assert response.json()["id"] == created["id"]
    assert (
        client.get(f"{SERVICES_URL}/{created['id']}?include=all", headers=auth_headers).status_code
        == 404
    )
    assert (
        client.get(f"{SERVICES_URL}/{created['id']}/versions", headers=auth_headers).status_code
        == 404
    )
    assert client.post(SERVICES_URL, json=create_request(), headers=auth_headers).status_code == 201


def test_hard_delete_of_a_soft_deleted_entity_works(client, auth_headers, created):
    client.delete(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)

    response = client.delete(
        f"{SERVICES_URL}/name/mlflow_svc?hardDelete=true", headers=auth_headers
    )

    assert response.status_code == 200
    assert (
        client.get(f"{SERVICES_URL}?include=all", headers=auth_headers).json()["paging"]["total"]
        == 0
    )


def test_delete_unknown_returns_404(client, auth_headers):
    missing = uuid.uuid4()

    by_id = client.delete(f"{SERVICES_URL}/{missing}", headers=auth_headers)
    by_name = client.delete(f"{SERVICES_URL}/name/no.such", headers=auth_headers)

    assert by_id.json() == {
        "code": 404,
        "message": f"mlmodelService instance for {missing} not found",
    }
    assert by_name.json() == {
        "code": 404,
        "message": 'mlmodelService instance for "no.such" not found',
    }


def test_delete_by_owner_works_and_by_others_is_403(client, auth_headers, user_headers):
    owner = user_headers("olga")
    other = user_headers("nina")
    olga_id = client.get("/api/v1/users/name/olga", headers=auth_headers).json()["id"]
    created = client.put(
        SERVICES_URL,
        json=create_request(owners=[{"id": olga_id, "type": "user"}]),
        headers=auth_headers,
    ).json()

    denied = client.delete(f"{SERVICES_URL}/{created['id']}", headers=other)
    allowed = client.delete(f"{SERVICES_URL}/{created['id']}?hardDelete=true", headers=owner)

    assert denied.status_code == 403
    assert (
        denied.json()["message"]
        == "Principal: CatalogPrincipal{name='nina'} operations [Delete] not allowed"
    )
    assert allowed.status_code == 200


def test_delete_by_bot_is_allowed(client, bot_headers, created):
    response = client.delete(f"{SERVICES_URL}/{created['id']}", headers=bot_headers)

    assert response.status_code == 200
