"""ETag on answers and If-Match on PUT and DELETE: a stale version gets 412, nothing written."""

from __future__ import annotations

import pytest

from tests.factories import SERVICES_URL, create_request

STALE = {
    "code": 412,
    "message": "The entity has been modified by another user. Please refresh and retry.",
}


@pytest.fixture
def created(client, auth_headers):
    return client.put(SERVICES_URL, json=create_request(description="one"), headers=auth_headers)


def test_answers_carry_a_weak_etag_of_the_version(client, auth_headers, created):
    entity_id = created.json()["id"]

    fetched = client.get(f"{SERVICES_URL}/{entity_id}", headers=auth_headers)
    by_name = client.get(f"{SERVICES_URL}/name/mlflow_svc", headers=auth_headers)
    updated = client.put(SERVICES_URL, json=create_request(description="two"), headers=auth_headers)

    assert created.headers["ETag"] == 'W/"0.1"'
    assert fetched.headers["ETag"] == by_name.headers["ETag"] == 'W/"0.1"'
    assert updated.headers["ETag"] == 'W/"0.2"'


@pytest.mark.parametrize("if_match", ['W/"0.1"', '"0.1"', "*", 'W/"0.3", W/"0.1"'])
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
    assert response.headers["ETag"] == 'W/"0.2"'
