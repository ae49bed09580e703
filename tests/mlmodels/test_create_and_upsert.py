"""POST and PUT /api/v1/mlmodels: a model under its service, its FQN, versions on change."""

from __future__ import annotations

import pytest

from tests.factories import MLMODELS_URL, SERVICES_URL, create_request, model_request


def test_create_model_answers_the_entity_under_its_service(client, auth_headers, service):
    response = client.post(MLMODELS_URL, json=model_request(), headers=auth_headers)

    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"] == body["href"]
    assert response.headers["X-OpenMetadata-Change"] == "entityCreated"
    assert body["fullyQualifiedName"] == "mlflow_svc.churn"
    assert body["version"] == 0.1
    assert body["updatedBy"] == "admin"
    assert body["deleted"] is False
    assert body["algorithm"] == "xgboost"
    assert body["serviceType"] == "Mlflow"
    assert body["service"] == {
        "id": service["id"],
        "type": "mlmodelService",
        "name": "mlflow_svc",
        "fullyQualifiedName": "mlflow_svc",
        "deleted": False,
        "href": f"http://testserver/api/v1/services/mlmodelServices/{service['id']}",
    }
    assert body["mlFeatures"] == [
        {"name": "age", "dataType": "numerical", "fullyQualifiedName": "mlflow_svc.churn.age"},
        {"name": "plan", "dataType": "categorical", "fullyQualifiedName": "mlflow_svc.churn.plan"},
    ]
    assert body["mlHyperParameters"] == [{"name": "learning_rate", "value": "0.1"}]
    assert body["mlStore"] == {"storage": "s3://models/churn"}
    assert body["server"] == "http://serving:8080/churn"
    assert body["href"] == f"http://testserver/api/v1/mlmodels/{body['id']}"
    assert (body["owners"], body["tags"], body["domains"]) == ([], [], [])
    assert "followers" not in body


def test_create_model_without_algorithm_gets_the_default(client, auth_headers, service):
    request = model_request()
    del request["algorithm"]

    response = client.post(MLMODELS_URL, json=request, headers=auth_headers)

    assert response.json()["algorithm"] == "mlmodel"


def test_create_model_whose_name_holds_a_dot_quotes_it_in_the_fqn(client, auth_headers, service):
    response = client.post(MLMODELS_URL, json=model_request("churn.v2"), headers=auth_headers)

    assert response.status_code == 201
    fqn = response.json()["fullyQualifiedName"]
    assert fqn == 'mlflow_svc."churn.v2"'
    by_name = client.get(f"{MLMODELS_URL}/name/{fqn}", headers=auth_headers)
    assert by_name.json()["id"] == response.json()["id"]


def test_create_model_in_a_service_whose_name_holds_a_dot(client, auth_headers):
    client.post(SERVICES_URL, json=create_request("ml.prod"), headers=auth_headers)

    response = client.post(
        MLMODELS_URL, json=model_request(service='"ml.prod"'), headers=auth_headers
    )

    assert response.status_code == 201
    assert response.json()["fullyQualifiedName"] == '"ml.prod".churn'


def test_create_model_twice_returns_409(client, auth_headers, model):
    response = client.post(MLMODELS_URL, json=model_request(), headers=auth_headers)

    assert response.status_code == 409
    assert response.json() == {"code": 409, "message": "Entity already exists"}


def test_create_model_in_an_unknown_service_returns_404(client, auth_headers):
    response = client.post(MLMODELS_URL, json=model_request(service="nope"), headers=auth_headers)

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "mlmodelService instance for nope not found"}


def test_create_model_in_a_soft_deleted_service_returns_404(client, auth_headers, service):
    client.delete(f"{SERVICES_URL}/{service['id']}", headers=auth_headers)

    response = client.post(MLMODELS_URL, json=model_request(), headers=auth_headers)

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"service": None}, "[query param service must not be null]", id="no-service"),
        pytest.param({"name": ""}, "[query param name size must be between 1 and 256]", id="name"),
        pytest.param(
            {"mlFeatures": [{"name": "x", "dataType": "text"}]},
            "[query param mlFeatures[0].dataType must be one of [numerical, categorical]]",
            id="feature-type",
        ),
        pytest.param({"server": "not a uri"}, None, id="server"),
        pytest.param({"sourceHash": "x" * 33}, None, id="source-hash"),
        pytest.param(
            {"owner": {"id": "x"}}, "[query param owner is not a recognized field]", id="extra"
        ),
    ],
)
def test_create_model_with_invalid_fields_returns_400(
    client, auth_headers, service, overrides, message
):
    response = client.post(MLMODELS_URL, json=model_request(**overrides), headers=auth_headers)

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message"}
    if message is not None:
        assert body["message"] == message
    assert (
        client.get(f"{MLMODELS_URL}?service=mlflow_svc", headers=auth_headers).json()["paging"][
            "total"
        ]
        == 0
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"dashboard": "superset.churn"},
            "dashboard instance for superset.churn not found",
            id="dashboard",
        ),
        pytest.param(
            {"dataProducts": ["sales"]}, "dataProduct instance for sales not found", id="product"
        ),
        pytest.param(
            {
                "mlFeatures": [
                    {
                        "name": "age",
                        "featureSources": [
                            {
                                "name": "age",
                                "dataSource": {
                                    "id": "7a8e7c1a-1111-4c55-9a1e-6d2b8f0c4e11",
                                    "type": "table",
                                },
                            }
                        ],
                    }
                ]
            },
            "table instance for 7a8e7c1a-1111-4c55-9a1e-6d2b8f0c4e11 not found",
            id="feature-source",
        ),
        pytest.param(
            {"tags": [{"tagFQN": "Nope.Tag"}]}, "tag instance for Nope.Tag not found", id="tag"
        ),
    ],
)
def test_create_model_naming_what_does_not_exist_returns_404(
    client, auth_headers, service, overrides, message
):
    response = client.post(MLMODELS_URL, json=model_request(**overrides), headers=auth_headers)

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": message}


def test_create_model_with_an_extension_value_returns_400(client, auth_headers, service):
    response = client.post(
        MLMODELS_URL, json=model_request(extension={"team": "x"}), headers=auth_headers
    )

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": "Unknown custom field team"}


def test_create_model_feature_tags_are_resolved(client, auth_headers, service):
    features = [{"name": "email", "dataType": "categorical", "tags": [{"tagFQN": "PII.Sensitive"}]}]

    response = client.post(
        MLMODELS_URL, json=model_request(mlFeatures=features), headers=auth_headers
    )

    assert response.status_code == 201
    (label,) = response.json()["mlFeatures"][0]["tags"]
    assert (label["tagFQN"], label["source"], label["labelType"], label["state"]) == (
        "PII.Sensitive",
        "Classification",
        "Manual",
        "Confirmed",
    )
    assert label["name"] == "Sensitive"


def test_put_model_creates_then_updates(client, auth_headers, service):
    first = client.put(MLMODELS_URL, json=model_request(), headers=auth_headers)
    second = client.put(
        MLMODELS_URL, json=model_request(algorithm="lightgbm"), headers=auth_headers
    )

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.headers["X-OpenMetadata-Change"] == "entityUpdated"
    body = second.json()
    assert body["id"] == first.json()["id"]
    assert body["version"] == 0.2
    assert body["changeDescription"] == {
        "fieldsAdded": [],
        "fieldsUpdated": [{"name": "algorithm", "oldValue": "xgboost", "newValue": "lightgbm"}],
        "fieldsDeleted": [],
        "previousVersion": 0.1,
    }


def test_put_model_unchanged_keeps_the_version(client, auth_headers, model):
    response = client.put(MLMODELS_URL, json=model_request(), headers=auth_headers)

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entityNoChange"
    assert response.json()["version"] == 0.1


def test_put_model_changed_feature_is_recorded_as_removed_and_added(client, auth_headers, model):
    features = [
        {"name": "age", "dataType": "categorical"},
        {"name": "plan", "dataType": "categorical"},
    ]

    response = client.put(
        MLMODELS_URL, json=model_request(mlFeatures=features), headers=auth_headers
    )

    change = response.json()["changeDescription"]
    assert [c["name"] for c in change["fieldsAdded"]] == ["mlFeatures"]
    assert [c["name"] for c in change["fieldsDeleted"]] == ["mlFeatures"]
    assert '"dataType":"categorical"' in change["fieldsAdded"][0]["newValue"]
    assert '"dataType":"numerical"' in change["fieldsDeleted"][0]["oldValue"]
    assert change["fieldsUpdated"] == []


def test_put_model_leaving_out_entity_fields_removes_them(client, auth_headers, model):
    request = model_request()
    for key in ("mlStore", "server", "mlHyperParameters"):
        del request[key]

    response = client.put(MLMODELS_URL, json=request, headers=auth_headers)

    body = response.json()
    assert {"mlStore", "server", "mlHyperParameters"}.isdisjoint(body)
    assert sorted(c["name"] for c in body["changeDescription"]["fieldsDeleted"]) == [
        "mlHyperParameters",
        "mlStore",
        "server",
    ]


def test_put_model_with_the_stored_source_hash_changes_nothing(client, auth_headers, service):
    client.put(MLMODELS_URL, json=model_request(sourceHash="abc"), headers=auth_headers)

    response = client.put(
        MLMODELS_URL,
        json=model_request(sourceHash="abc", algorithm="changed-but-same-hash"),
        headers=auth_headers,
    )

    assert response.headers["X-OpenMetadata-Change"] == "entityNoChange"
    stored = client.get(f"{MLMODELS_URL}/name/mlflow_svc.churn", headers=auth_headers).json()
    assert (stored["version"], stored["algorithm"]) == (0.1, "xgboost")


def test_put_model_with_only_a_new_source_hash_keeps_the_version_and_the_hash(
    client, auth_headers, service
):
    client.put(MLMODELS_URL, json=model_request(sourceHash="abc"), headers=auth_headers)

    response = client.put(MLMODELS_URL, json=model_request(sourceHash="def"), headers=auth_headers)

    assert response.headers["X-OpenMetadata-Change"] == "entityNoChange"
    stored = client.get(
        f"{MLMODELS_URL}/name/mlflow_svc.churn?fields=sourceHash", headers=auth_headers
    ).json()
    assert (stored["version"], stored["sourceHash"]) == (0.1, "def")
    versions = client.get(f"{MLMODELS_URL}/{stored['id']}/versions", headers=auth_headers).json()
    assert len(versions["versions"]) == 1


def test_put_model_with_a_new_hash_and_a_change_records_the_change(client, auth_headers, service):
    client.put(MLMODELS_URL, json=model_request(sourceHash="abc"), headers=auth_headers)

    response = client.put(
        MLMODELS_URL, json=model_request(sourceHash="def", target="churned"), headers=auth_headers
    )

    assert response.json()["version"] == 0.2
    assert response.json()["changeDescription"]["fieldsAdded"] == [
        {"name": "target", "newValue": "churned"}
    ]


def test_put_model_by_a_bot_keeps_a_description_someone_wrote(
    client, auth_headers, bot_headers, service
):
    client.put(MLMODELS_URL, json=model_request(description="by a user"), headers=auth_headers)

    response = client.put(
        MLMODELS_URL, json=model_request(description="from the source"), headers=bot_headers
    )

    assert response.json()["description"] == "by a user"


def test_put_soft_deleted_model_restores_it(client, auth_headers, model):
    client.delete(f"{MLMODELS_URL}/{model['id']}", headers=auth_headers)

    response = client.put(MLMODELS_URL, json=model_request(), headers=auth_headers)

    assert response.status_code == 200
    assert (response.json()["deleted"], response.json()["version"]) == (False, 0.3)
