"""GET /api/v1/services/mlmodelServices/{id} and /name/{fqn}."""

from __future__ import annotations

import uuid

import pytest

from tests.factories import SERVICES_URL, create_request

RELATIONS = ["owners", "tags", "domains", "followers", "dataProducts", "pipelines"]


@pytest.fixture
def created(client, auth_headers):
    return client.post(
        SERVICES_URL, json=create_request(description="d"), headers=auth_headers
    ).json()


def test_get_by_id_without_fields_omits_relationships(client, auth_headers, created):
    response = client.get(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)

    assert response.status_code == 200
    body = response.json()
    assert not set(RELATIONS) & set(body)
    assert body["name"] == "mlflow_svc"
    assert body["href"] == created["href"]


def test_get_by_name_matches_get_by_id(client, auth_headers, created):
    by_name = client.get(f"{SERVICES_URL}/name/mlflow_svc", headers=auth_headers).json()
    by_id = client.get(f"{SERVICES_URL}/{created['id']}", headers=auth_headers).json()

    assert by_name == by_id


def test_get_with_star_fields_returns_every_relationship_as_empty_list(
    client, auth_headers, created
):
    response = client.get(f"{SERVICES_URL}/{created['id']}?fields=*", headers=auth_headers)

    body = response.json()
    assert {name: body[name] for name in RELATIONS} == dict.fromkeys(RELATIONS, [])


def test_get_with_some_fields_returns_only_those(client, auth_headers, created):
    response = client.get(
        f"{SERVICES_URL}/name/mlflow_svc?fields=owners,tags", headers=auth_headers
    )

    body = response.json()
    assert (body["owners"], body["tags"]) == ([], [])
    assert "domains" not in body


def test_get_with_plain_property_in_fields_is_accepted(client, auth_headers, created):
    response = client.get(
        f"{SERVICES_URL}/{created['id']}?fields=description", headers=auth_headers
    )

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/{id}", "/name/mlflow_svc", ""])
def test_get_with_unknown_field_returns_400(client, auth_headers, created, path):
    response = client.get(
        f"{SERVICES_URL}{path.format(id=created['id'])}?fields=invalidField", headers=auth_headers
    )

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": "Invalid field name invalidField"}


def test_get_unknown_id_returns_404(client, auth_headers):
    missing = uuid.uuid4()

    response = client.get(f"{SERVICES_URL}/{missing}", headers=auth_headers)

    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "message": f"mlmodelService instance for {missing} not found",
    }
    assert response.headers["WWW-Authenticate"] == "om-auth"


def test_get_malformed_id_returns_400(client, auth_headers):
    response = client.get(f"{SERVICES_URL}/not-a-uuid", headers=auth_headers)

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": "[query param id must be a UUID]"}


def test_get_unknown_dotted_name_returns_404_with_quoted_fqn(client, auth_headers):
    response = client.get(f"{SERVICES_URL}/name/my.svc", headers=auth_headers)

    assert response.status_code == 404
    assert response.json()["message"] == 'mlmodelService instance for "my.svc" not found'


@pytest.mark.parametrize("path_name", ["my.svc", "%22my.svc%22"])
def test_get_dotted_name_by_plain_or_quoted_name(client, auth_headers, path_name):
    client.post(SERVICES_URL, json=create_request("my.svc"), headers=auth_headers)

    response = client.get(f"{SERVICES_URL}/name/{path_name}", headers=auth_headers)

    assert response.status_code == 200
    assert response.json()["fullyQualifiedName"] == '"my.svc"'


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        pytest.param("a/b", "a%2Fb", id="slash"),
        pytest.param("with space", "with%20space", id="space"),
        pytest.param(
            "Ünïcødé 模型", "%C3%9Cn%C3%AFc%C3%B8d%C3%A9%20%E6%A8%A1%E5%9E%8B", id="non-ascii"
        ),
    ],
)
def test_get_by_name_encoded_as_the_client_sends_it(client, auth_headers, name, encoded):
    client.post(SERVICES_URL, json=create_request(name), headers=auth_headers)

    response = client.get(f"{SERVICES_URL}/name/{encoded}", headers=auth_headers)

    assert response.status_code == 200
    assert response.json()["name"] == name


def test_get_invalid_include_returns_400(client, auth_headers, created):
    response = client.get(f"{SERVICES_URL}/{created['id']}?include=some", headers=auth_headers)

    assert response.status_code == 400
    assert (
        response.json()["message"]
        == "[query param include must be one of [non-deleted, deleted, all]]"
    )


@pytest.mark.parametrize(
    ("include", "status"), [("non-deleted", 200), ("all", 200), ("deleted", 404)]
)
def test_get_include_on_a_live_entity(client, auth_headers, created, include, status):
    response = client.get(f"{SERVICES_URL}/{created['id']}?include={include}", headers=auth_headers)

    assert response.status_code == status


def test_get_trailing_slash_is_404_not_a_redirect(client, auth_headers):
    response = client.get(f"{SERVICES_URL}/", headers=auth_headers, follow_redirects=False)

    assert response.status_code == 404
    assert response.json()["code"] == 404
