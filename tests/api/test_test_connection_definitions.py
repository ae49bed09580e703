"""GET /api/v1/services/testConnectionDefinitions: list, by name and by id."""

from __future__ import annotations

import uuid

import pytest

URL = "/api/v1/services/testConnectionDefinitions"
BASE = "http://testserver/api"
MLFLOW_ID = "17ffb5f3-b2cc-538c-be4e-b52241f80f3b"
SAGEMAKER_ID = "5fac18c5-3381-54bc-bfba-f015d9a7cebd"
VERTEXAI_ID = "6112079a-fd79-550e-b596-30267d6b529d"
NAMES = ["Mlflow", "SageMaker", "VertexAI"]

# json/data/testConnections/mlmodel/mlflow.json, as OpenMetadata answers it.
MLFLOW = {
    "id": MLFLOW_ID,
    "name": "Mlflow",
    "displayName": "Mlflow Test Connection",
    "description": (
        "This Test Connection validates the access against the server and basic metadata "
        "extraction of workbooks and views."
    ),
    "fullyQualifiedName": "Mlflow.testConnectionDefinition",
    "steps": [
        {
            "name": "GetModels",
            "description": "List all the models available to the user.",
            "mandatory": True,
        }
    ],
    "version": 0.1,
    "updatedAt": 1_793_086_001_000,
    "updatedBy": "admin",
    "href": f"{BASE}/v1/services/testConnectionDefinitions/{MLFLOW_ID}",
    "deleted": False,
}
SAGEMAKER_STEP = {
    "name": "GetModels",
    "description": "List all the models available to the user.",
    "errorMessage": (
        "Failed to fetch models, please validate the credentials or validate if user has "
        "access to fetch models"
    ),
    "shortCircuit": True,
    "mandatory": True,
}


def _names(body):
    return [doc["name"] for doc in body["data"]]


def test_get_by_name_mlflow_returns_openmetadata_definition(client, bot_headers):
    response = client.get(f"{URL}/name/Mlflow.testConnectionDefinition", headers=bot_headers)

    assert response.status_code == 200
    assert response.json() == MLFLOW


def test_get_by_name_sagemaker_keeps_error_message_and_short_circuit(client, auth_headers):
    response = client.get(f"{URL}/name/SageMaker.testConnectionDefinition", headers=auth_headers)

    body = response.json()
    assert (body["id"], body["steps"]) == (SAGEMAKER_ID, [SAGEMAKER_STEP])


@pytest.mark.parametrize(
    ("name", "definition_id"),
    [("Mlflow", MLFLOW_ID), ("SageMaker", SAGEMAKER_ID), ("VertexAI", VERTEXAI_ID)],
)
def test_get_by_id_matches_get_by_name(client, auth_headers, name, definition_id):
    by_id = client.get(f"{URL}/{definition_id}", headers=auth_headers)
    by_name = client.get(f"{URL}/name/{name}.testConnectionDefinition", headers=auth_headers)

    assert by_id.status_code == 200
    assert by_id.json() == by_name.json()
    assert by_id.json()["fullyQualifiedName"] == f"{name}.testConnectionDefinition"


def test_ids_are_derived_from_the_fqn():
    namespace = uuid.uuid5(
        uuid.NAMESPACE_URL,
        "https://open-metadata.org/schema/entity/services/connections/"
        "testConnectionDefinition.json",
    )

    assert str(uuid.uuid5(namespace, "Mlflow.testConnectionDefinition")) == MLFLOW_ID


@pytest.mark.parametrize(
    "name", ["Mlflow", "Sklearn.testConnectionDefinition", "Mysql.testConnectionDefinition"]
)
def test_get_by_name_unknown_returns_404(client, auth_headers, name):
    response = client.get(f"{URL}/name/{name}", headers=auth_headers)

    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "message": f"testConnectionDefinition instance for {name} not found",
    }


def test_get_by_id_unknown_returns_404(client, auth_headers):
    missing = str(uuid.uuid4())

    response = client.get(f"{URL}/{missing}", headers=auth_headers)

    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "message": f"testConnectionDefinition instance for {missing} not found",
    }


def test_get_with_include_deleted_returns_404(client, auth_headers):
    response = client.get(
        f"{URL}/name/Mlflow.testConnectionDefinition?include=deleted", headers=auth_headers
    )

    assert response.status_code == 404


def test_get_with_include_all_and_owners_field_returns_definition(client, auth_headers):
    response = client.get(f"{URL}/{MLFLOW_ID}?include=all&fields=owners", headers=auth_headers)

    assert response.json() == MLFLOW


def test_get_with_unknown_field_returns_400(client, auth_headers):
    response = client.get(f"{URL}/{MLFLOW_ID}?fields=steps", headers=auth_headers)

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": "Invalid field name steps"}


def test_list_returns_every_mlmodel_definition_in_name_order(client, auth_headers):
    response = client.get(URL, headers=auth_headers)

    assert response.status_code == 200
    body = response.json()
    assert _names(body) == NAMES
    assert body["data"][0] == MLFLOW
    assert body["paging"] == {"total": 3}


def test_list_pages_forward_then_back(client, auth_headers):
    first = client.get(f"{URL}?limit=1", headers=auth_headers).json()
    second = client.get(f"{URL}?limit=1&after={first['paging']['after']}", headers=auth_headers)
    third = client.get(
        f"{URL}?limit=1&after={second.json()['paging']['after']}", headers=auth_headers
    ).json()
    back = client.get(
        f"{URL}?limit=1&before={third['paging']['before']}", headers=auth_headers
    ).json()

    assert (_names(first), _names(second.json()), _names(third)) == (
        NAMES[:1],
        NAMES[1:2],
        NAMES[2:],
    )
    assert "before" not in first["paging"]
    assert "after" not in third["paging"]
    assert _names(back) == NAMES[1:2]
    assert back["paging"]["before"] == second.json()["paging"]["before"]


def test_list_limit_zero_returns_only_total(client, auth_headers):
    body = client.get(f"{URL}?limit=0", headers=auth_headers).json()

    assert body == {"data": [], "paging": {"total": 3}}


def test_list_include_deleted_is_empty(client, auth_headers):
    body = client.get(f"{URL}?include=deleted", headers=auth_headers).json()

    assert body == {"data": [], "paging": {"total": 0}}


def test_list_before_and_after_together_returns_400(client, auth_headers):
    response = client.get(f"{URL}?before=a&after=b", headers=auth_headers)

    assert response.json() == {
        "code": 400,
        "message": "Only one of before or after query parameter allowed",
    }


def test_list_garbage_cursor_returns_400(client, auth_headers):
    response = client.get(f"{URL}?after=not-a-cursor", headers=auth_headers)

    assert response.json() == {"code": 400, "message": "Invalid paging cursor not-a-cursor"}


@pytest.mark.parametrize("path", ["", "/name/Mlflow.testConnectionDefinition", f"/{MLFLOW_ID}"])
def test_read_without_token_returns_401(client, path):
    response = client.get(f"{URL}{path}")

    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Not Authorized! Token not present"}


def test_read_with_token_of_unknown_user_returns_401(client, token_for):
    headers = {"Authorization": f"Bearer {token_for('ghost')}"}

    response = client.get(f"{URL}/{MLFLOW_ID}", headers=headers)

    assert response.json() == {"code": 401, "message": "Not Authorized! User ghost does not exist"}
