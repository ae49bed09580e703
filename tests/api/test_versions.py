"""GET /api/v1/services/mlmodelServices/{id}/versions and /versions/{version}."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.factories import SERVICES_URL, create_request


@pytest.fixture
def three_versions(client, auth_headers):
    for description in ("v1", "v2", "v3"):
        body = client.put(
            SERVICES_URL, json=create_request(description=description), headers=auth_headers
        ).json()
    return body


def test_list_versions_newest_first_as_json_text(client, auth_headers, three_versions):
    response = client.get(f"{SERVICES_URL}/{three_versions['id']}/versions", headers=auth_headers)

    assert response.status_code == 200
    body = response.json()
    assert body["entityType"] == "mlmodelService"
    assert all(isinstance(item, str) for item in body["versions"])
    versions = [json.loads(item) for item in body["versions"]]
    assert [(v["version"], v["description"]) for v in versions] == [
        (0.3, "v3"),
        (0.2, "v2"),
        (0.1, "v1"),
    ]
    assert versions[0]["changeDescription"]["previousVersion"] == 0.2


def test_get_version_returns_that_version(client, auth_headers, three_versions):
    response = client.get(
        f"{SERVICES_URL}/{three_versions['id']}/versions/0.2", headers=auth_headers
    )

    assert response.status_code == 200
    assert (response.json()["version"], response.json()["description"]) == (0.2, "v2")


def test_get_version_current_returns_current_entity(client, auth_headers, three_versions):
    response = client.get(
        f"{SERVICES_URL}/{three_versions['id']}/versions/0.3", headers=auth_headers
    )

    assert response.json()["description"] == "v3"


def test_get_version_unknown_returns_404_with_version(client, auth_headers, three_versions):
    entity_id = three_versions["id"]

    response = client.get(f"{SERVICES_URL}/{entity_id}/versions/0.9", headers=auth_headers)

    assert response.status_code == 404
    assert (
        response.json()["message"]
        == f"mlmodelService instance for {entity_id} and version 0.9 not found"
    )


@pytest.mark.parametrize("version", ["abc", "0.15", "-1"])
def test_get_version_invalid_returns_400(client, auth_headers, three_versions, version):
    response = client.get(
        f"{SERVICES_URL}/{three_versions['id']}/versions/{version}", headers=auth_headers
    )

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": f"Invalid version {version}"}


def test_list_versions_unknown_entity_returns_404(client, auth_headers):
    missing = uuid.uuid4()

    response = client.get(f"{SERVICES_URL}/{missing}/versions", headers=auth_headers)

    assert response.status_code == 404
    assert response.json()["message"] == f"mlmodelService instance for {missing} not found"


def test_versions_mask_secrets_for_non_bots(client, auth_headers, bot_headers):
    payload = {
        "name": "sm",
        "serviceType": "SageMaker",
        "connection": {"config": {"awsConfig": {"awsRegion": "r", "awsSecretAccessKey": "s3cr3t"}}},
    }
    created = client.put(SERVICES_URL, json=payload, headers=auth_headers).json()
    client.put(SERVICES_URL, json={**payload, "description": "d"}, headers=auth_headers)

    as_admin = client.get(f"{SERVICES_URL}/{created['id']}/versions", headers=auth_headers).json()
    as_bot = client.get(f"{SERVICES_URL}/{created['id']}/versions", headers=bot_headers).json()

    admin_keys = [
        json.loads(v)["connection"]["config"]["awsConfig"]["awsSecretAccessKey"]
        for v in as_admin["versions"]
    ]
    bot_keys = [
        json.loads(v)["connection"]["config"]["awsConfig"]["awsSecretAccessKey"]
        for v in as_bot["versions"]
    ]
    assert admin_keys == ["*********", "*********"]
    assert bot_keys == ["s3cr3t", "s3cr3t"]
