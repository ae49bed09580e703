"""PUT /api/v1/services/mlmodelServices: create or update by name, with PUT's merge rules."""

from __future__ import annotations

from tests.factories import SERVICES_URL, create_request, mlflow_config


def test_create_or_update_new_name_returns_201_version_01(client, auth_headers):
    response = client.put(SERVICES_URL, json=create_request(), headers=auth_headers)

    assert response.status_code == 201
    assert response.headers["X-OpenMetadata-Change"] == "entityCreated"
    body = response.json()
    assert body["version"] == 0.1
    assert "changeDescription" not in body
    history = client.get(f"{SERVICES_URL}/{body['id']}/versions", headers=auth_headers).json()
    assert len(history["versions"]) == 1


def test_create_or_update_identical_request_changes_nothing(client, auth_headers, user_headers):
    first = client.put(SERVICES_URL, json=create_request(description="d"), headers=auth_headers)
    other_user = user_headers("jane", isAdmin=True)

    second = client.put(SERVICES_URL, json=create_request(description="d"), headers=other_user)

    assert second.status_code == 200
    assert second.headers["X-OpenMetadata-Change"] == "entityNoChange"
    assert second.json() == first.json()
    assert second.json()["updatedBy"] == "admin"


def test_create_or_update_seed_body_twice_keeps_version(client, auth_headers):
    payload = create_request(connection={"config": {"type": "Mlflow", **mlflow_config()}})
    client.post(SERVICES_URL, json=payload, headers=auth_headers)

    response = client.put(SERVICES_URL, json=payload, headers=auth_headers)

    assert response.status_code == 200
    assert response.json()["version"] == 0.1


def test_create_or_update_new_description_and_connection_bumps_minor_version(
    client, auth_headers, user_headers
):
    client.post(SERVICES_URL, json=create_request(), headers=auth_headers)
    payload = create_request(
        description="description1",
        connection={"config": mlflow_config(trackingUri="http://other:5000")},
    )
    jane = user_headers("jane", isAdmin=True)

    response = client.put(SERVICES_URL, json=payload, headers=jane)

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entityUpdated"
    body = response.json()
    assert body["version"] == 0.2
    assert body["updatedBy"] == "jane"
    assert body["connection"]["config"]["trackingUri"] == "http://other:5000"
    assert body["changeDescription"] == {
        "fieldsAdded": [{"name": "description", "newValue": "description1"}],
        "fieldsUpdated": [
            {
                "name": "connection",
                "oldValue": '"old-encrypted-value"',
                "newValue": '"new-encrypted-value"',
            }
        ],
        "fieldsDeleted": [],
        "previousVersion": 0.1,
    }


def test_create_or_update_without_description_by_user_deletes_it(client, auth_headers):
    client.put(SERVICES_URL, json=create_request(description="old"), headers=auth_headers)

    response = client.put(SERVICES_URL, json=create_request(), headers=auth_headers)

    body = response.json()
    assert "description" not in body
    assert body["changeDescription"]["fieldsDeleted"] == [
        {"name": "description", "oldValue": "old"}
    ]


def test_create_or_update_empty_to_filled_description_is_an_update(client, auth_headers):
    client.put(SERVICES_URL, json=create_request(description=""), headers=auth_headers)

    response = client.put(
        SERVICES_URL, json=create_request(description="new"), headers=auth_headers
    )

    assert response.json()["changeDescription"]["fieldsUpdated"] == [
        {"name": "description", "oldValue": "", "newValue": "new"}
    ]


def test_create_or_update_by_bot_keeps_non_empty_description(client, auth_headers, bot_headers):
    client.put(
        SERVICES_URL, json=create_request(description="written by a person"), headers=auth_headers
    )

    response = client.put(
        SERVICES_URL, json=create_request(description="from source"), headers=bot_headers
    )

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entityNoChange"
    assert response.json()["description"] == "written by a person"


def test_create_or_update_by_bot_fills_empty_description(client, auth_headers, bot_headers):
    client.put(SERVICES_URL, json=create_request(), headers=auth_headers)

    response = client.put(
        SERVICES_URL, json=create_request(description="from source"), headers=bot_headers
    )

    assert response.json()["description"] == "from source"
    assert response.json()["updatedBy"] == "ingestion-bot"


def test_create_or_update_display_name_is_replaced(client, auth_headers):
    client.put(SERVICES_URL, json=create_request(displayName="A"), headers=auth_headers)

    response = client.put(SERVICES_URL, json=create_request(displayName="B"), headers=auth_headers)

    assert response.json()["displayName"] == "B"
    assert response.json()["changeDescription"]["fieldsUpdated"] == [
        {"name": "displayName", "oldValue": "A", "newValue": "B"}
    ]


def test_create_or_update_without_connection_keeps_stored_connection(client, auth_headers):
    client.put(SERVICES_URL, json=create_request(), headers=auth_headers)
    payload = {"name": "mlflow_svc", "serviceType": "Mlflow"}

    response = client.put(SERVICES_URL, json=payload, headers=auth_headers)

    assert response.headers["X-OpenMetadata-Change"] == "entityNoChange"
    assert response.json()["connection"]["config"]["trackingUri"] == "http://localhost:5000"


def test_create_or_update_other_service_type_returns_400_and_keeps_entity(client, auth_headers):
    client.put(SERVICES_URL, json=create_request(), headers=auth_headers)

    response = client.put(
        SERVICES_URL, json={"name": "mlflow_svc", "serviceType": "Sklearn"}, headers=auth_headers
    )

    assert response.status_code == 400
    assert response.json()["message"] == "mlmodelService attribute serviceType can't be modified"
    stored = client.get(f"{SERVICES_URL}/name/mlflow_svc", headers=auth_headers).json()
    assert stored["serviceType"] == "Mlflow"
    assert stored["version"] == 0.1


def test_create_or_update_ten_changes_reach_version_11_exactly(client, auth_headers):
    for number in range(11):
        response = client.put(
            SERVICES_URL, json=create_request(description=f"d{number}"), headers=auth_headers
        )

    assert response.json()["version"] == 1.1
    assert response.json()["changeDescription"]["previousVersion"] == 1.0
    assert '"version":1.1' in response.text


def test_create_or_update_invalid_body_returns_400_and_keeps_entity(client, auth_headers):
    client.put(SERVICES_URL, json=create_request(description="keep"), headers=auth_headers)

    response = client.put(
        SERVICES_URL,
        json=create_request(description="lost?", connection={"config": {"bogus": True}}),
        headers=auth_headers,
    )

    assert response.status_code == 400
    stored = client.get(f"{SERVICES_URL}/name/mlflow_svc", headers=auth_headers).json()
    assert stored["description"] == "keep"


def test_create_or_update_masked_secret_keeps_stored_secret(client, auth_headers, bot_headers):
    secret_config = {"awsConfig": {"awsRegion": "eu-west-1", "awsSecretAccessKey": "s3cr3t"}}
    created = client.put(
        SERVICES_URL,
        json={"name": "sm", "serviceType": "SageMaker", "connection": {"config": secret_config}},
        headers=auth_headers,
    )
    masked = created.json()["connection"]
    assert masked["config"]["awsConfig"]["awsSecretAccessKey"] == "*********"

    response = client.put(
        SERVICES_URL,
        json={"name": "sm", "serviceType": "SageMaker", "connection": masked},
        headers=auth_headers,
    )

    assert response.headers["X-OpenMetadata-Change"] == "entityNoChange"
    as_bot = client.get(f"{SERVICES_URL}/name/sm", headers=bot_headers).json()
    assert as_bot["connection"]["config"]["awsConfig"]["awsSecretAccessKey"] == "s3cr3t"


def test_create_or_update_mask_without_stored_secret_returns_400(client, auth_headers):
    config = {"awsConfig": {"awsRegion": "eu-west-1", "awsSecretAccessKey": "*********"}}

    response = client.put(
        SERVICES_URL,
        json={"name": "sm", "serviceType": "SageMaker", "connection": {"config": config}},
        headers=auth_headers,
    )

    assert response.status_code == 400
    assert response.json()["message"] == (
        "connection.config.awsConfig.awsSecretAccessKey is the mask *********, and no stored "
        "secret is there to keep: send the secret itself"
    )
