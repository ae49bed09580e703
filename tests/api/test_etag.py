"""ETag on answers and If-Match on PUT, PATCH and DELETE: a stale one gets 412, nothing written."""

from __future__ import annotations

import json

import pytest

from tests.factories import SERVICES_URL, create_request

STALE = {
    "code": 412,
    "message": "The entity has been modified by another user. Please refresh and retry.",
}


@pytest.fixture
def created(client, auth_headers):
    return client.put(SERVICES_URL, json=create_request(description="one"), headers=auth_headers)


def _strong(entity) -> str:
    return f'"{entity["version"]}-{entity["updatedAt"]}"'


def test_answers_carry_a_strong_etag_of_version_and_update_time(client, auth_headers, created):
    entity_id = created.json()["id"]

    fetched = client.get(f"{SERVICES_URL}/{entity_id}", headers=auth_headers)
    by_name = client.get(f"{SERVICES_URL}/name/mlflow_svc", headers=auth_headers)
    updated = client.put(SERVICES_URL, json=create_request(description="two"), headers=auth_headers)

    assert created.headers["ETag"] == _strong(created.json())
    assert created.headers["ETag"].startswith('"0.1-')
    assert fetched.headers["ETag"] == by_name.headers["ETag"] == created.headers["ETag"]
    assert updated.headers["ETag"] == _strong(updated.json())
    assert updated.headers["ETag"].startswith('"0.2-')


def test_if_match_with_the_answered_etag_updates(client, auth_headers, created):
    response = client.put(
        SERVICES_URL,
        json=create_request(description="two"),
        headers={**auth_headers, "If-Match": created.headers["ETag"]},
    )

    assert response.status_code == 200
    assert response.json()["version"] == 0.2


def test_strong_etag_sees_a_patch_merged_into_the_same_version(client, auth_headers, created):
    url = f"{SERVICES_URL}/{created.json()['id']}"
    patch_type = {"Content-Type": "application/json-patch+json"}

    def patch(description, **extra):
        operations = [{"op": "replace", "path": "/description", "value": description}]
        return client.patch(
            url, content=json.dumps(operations), headers={**auth_headers, **patch_type, **extra}
        )

    first = patch("two")
    merged = patch("three")
    stale = patch("lost", **{"If-Match": first.headers["ETag"]})

    assert (first.json()["version"], merged.json()["version"]) == (0.2, 0.2)
    assert merged.headers["ETag"] != first.headers["ETag"]
    assert stale.status_code == 412
    assert client.get(url, headers=auth_headers).json()["description"] == "three"


@pytest.mark.parametrize("if_match", ['W/"0.1"', "*", 'W/"0.3", W/"0.1"'])
def test_put_with_current_if_match_updates(client, auth_headers, created, if_match):
    response = client.put(
        SERVICES_URL,
        json=create_request(description="two"),
        headers={**auth_headers, "If-Match": if_match},
    )

    assert response.status_code == 200
    assert response.json()["version"] == 0.2


def test_put_with_stale_if_match_returns_412_and_keeps_entity(client, auth_headers, created):
    client.put(SERVICES_URL, json=create_request(description="two"), headers=auth_headers)

    response = client.put(
        SERVICES_URL,
        json=create_request(description="lost update"),
        headers={**auth_headers, "If-Match": created.headers["ETag"]},
    )

    assert response.status_code == 412
    assert response.json() == STALE
    stored = client.get(f"{SERVICES_URL}/name/mlflow_svc", headers=auth_headers).json()
    assert (stored["description"], stored["version"]) == ("two", 0.2)


def test_put_with_if_match_on_a_new_name_returns_412(client, auth_headers):
    response = client.put(
        SERVICES_URL, json=create_request("new"), headers={**auth_headers, "If-Match": 'W/"0.1"'}
    )

    assert response.status_code == 412
    assert client.get(f"{SERVICES_URL}/name/new", headers=auth_headers).status_code == 404


def test_delete_with_stale_if_match_returns_412_and_keeps_entity(client, auth_headers, created):
    entity_id = created.json()["id"]
    client.put(SERVICES_URL, json=create_request(description="two"), headers=auth_headers)

    response = client.delete(
        f"{SERVICES_URL}/{entity_id}", headers={**auth_headers, "If-Match": 'W/"0.1"'}
    )

    assert response.status_code == 412
    assert response.json() == STALE
    assert client.get(f"{SERVICES_URL}/{entity_id}", headers=auth_headers).status_code == 200


def test_delete_with_current_if_match_deletes(client, auth_headers, created):
    entity_id = created.json()["id"]

    response = client.delete(
        f"{SERVICES_URL}/{entity_id}", headers={**auth_headers, "If-Match": 'W/"0.1"'}
    )

    assert response.status_code == 200
    assert response.headers["ETag"] == _strong(response.json())
    assert response.json()["version"] == 0.2
