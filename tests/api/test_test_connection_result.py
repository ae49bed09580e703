"""PUT /api/v1/services/mlmodelServices/{id}/testConnectionResult."""

from __future__ import annotations

import uuid

import pytest

from tests.factories import SERVICES_URL, create_request

RESULT = {
    "lastUpdatedAt": 1769982621618,
    "status": "Successful",
    "steps": [{"name": "CheckAccess", "mandatory": True, "passed": True}],
}


@pytest.fixture
def created(client, auth_headers):
    return client.put(SERVICES_URL, json=create_request(), headers=auth_headers).json()


def test_result_is_stored_without_a_new_version(client, auth_headers, created):
    response = client.put(
        f"{SERVICES_URL}/{created['id']}/testConnectionResult", json=RESULT, headers=auth_headers
    )

    assert response.status_code == 200
    body = response.json()
    assert body["testConnectionResult"] == RESULT
    assert (body["version"], body["updatedAt"], body["updatedBy"]) == (
        created["version"],
        created["updatedAt"],
        created["updatedBy"],
    )
    assert body["connection"] == created["connection"]
    fetched = client.get(f"{SERVICES_URL}/{created['id']}", headers=auth_headers).json()
    assert fetched["testConnectionResult"] == RESULT
    versions = client.get(f"{SERVICES_URL}/{created['id']}/versions", headers=auth_headers).json()
    assert len(versions["versions"]) == 1


def test_fresh_service_has_no_result(client, auth_headers, created):
    assert "testConnectionResult" not in created


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"status": "Successful"}, "[query param steps must not be null]", id="no-steps"
        ),
        pytest.param(
            {"steps": [{"name": "x", "mandatory": True}]},
            "[query param steps[0].passed must not be null]",
            id="step-without-passed",
        ),
        pytest.param(
            {"steps": [], "status": "Great"},
            "[query param status must be 'Successful', 'Failed' or 'Running']",
            id="bad-status",
        ),
    ],
)
def test_invalid_result_returns_400(client, auth_headers, created, body, message):
    response = client.put(
        f"{SERVICES_URL}/{created['id']}/testConnectionResult", json=body, headers=auth_headers
    )

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": message}


def test_unknown_service_returns_404(client, auth_headers):
    missing = uuid.uuid4()

    response = client.put(
        f"{SERVICES_URL}/{missing}/testConnectionResult", json=RESULT, headers=auth_headers
    )

    assert response.json() == {
        "code": 404,
        "message": f"mlmodelService instance for {missing} not found",
    }


def test_plain_user_gets_403(client, created, user_headers):
    response = client.put(
        f"{SERVICES_URL}/{created['id']}/testConnectionResult",
        json=RESULT,
        headers=user_headers("nina"),
    )

    assert response.status_code == 403
    assert (
        response.json()["message"]
        == "Principal: CatalogPrincipal{name='nina'} operations [Create] not allowed"
    )
