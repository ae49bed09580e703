"""GET /api/v1/mlmodels: by id, by FQN, lists with cursors and filters, fields, versions."""

from __future__ import annotations

import json

import pytest

from tests.factories import MLMODELS_URL, SERVICES_URL, create_request, model_request


def test_get_model_by_id_and_by_fqn_agree(client, auth_headers, model):
    by_id = client.get(f"{MLMODELS_URL}/{model['id']}", headers=auth_headers)
    by_name = client.get(f"{MLMODELS_URL}/name/mlflow_svc.churn", headers=auth_headers)

    assert by_id.status_code == by_name.status_code == 200
    assert by_id.json() == by_name.json()
    assert by_id.headers["ETag"] == f'"0.1-{model["updatedAt"]}"'
    assert "owners" not in by_id.json()


def test_get_unknown_model_returns_404(client, auth_headers, service):
    by_name = client.get(f"{MLMODELS_URL}/name/mlflow_svc.nope", headers=auth_headers)
    by_id = client.get(f"{MLMODELS_URL}/7a8e7c1a-1111-4c55-9a1e-6d2b8f0c4e11", headers=auth_headers)

    assert by_name.json() == {
        "code": 404,
        "message": "mlmodel instance for mlflow_svc.nope not found",
    }
    assert by_id.json() == {
        "code": 404,
        "message": "mlmodel instance for 7a8e7c1a-1111-4c55-9a1e-6d2b8f0c4e11 not found",
    }


def test_get_model_fields_star_answers_every_optional_field(client, auth_headers, service):
    client.post(MLMODELS_URL, json=model_request(sourceHash="abc"), headers=auth_headers)

    body = client.get(f"{MLMODELS_URL}/name/mlflow_svc.churn?fields=*", headers=auth_headers).json()

    assert body["sourceHash"] == "abc"
    assert (body["owners"], body["tags"], body["domains"], body["followers"]) == ([], [], [], [])
    assert body["dataProducts"] == []
    assert {"lifeCycle", "extension"}.isdisjoint(body)


def test_get_model_without_fields_leaves_out_the_source_hash(client, auth_headers, service):
    client.post(MLMODELS_URL, json=model_request(sourceHash="abc"), headers=auth_headers)

    body = client.get(f"{MLMODELS_URL}/name/mlflow_svc.churn", headers=auth_headers).json()

    assert "sourceHash" not in body


def test_get_model_with_an_unknown_field_returns_400(client, auth_headers, model):
    response = client.get(f"{MLMODELS_URL}/{model['id']}?fields=nope", headers=auth_headers)

    assert response.json() == {"code": 400, "message": "Invalid field name nope"}


def test_get_model_shows_its_service_as_it_is_now(client, auth_headers, model):
    client.put(
        SERVICES_URL, json=create_request("mlflow_svc", displayName="MLflow"), headers=auth_headers
    )

    body = client.get(f"{MLMODELS_URL}/{model['id']}", headers=auth_headers).json()

    assert body["service"]["displayName"] == "MLflow"


def _names(response):
    return [doc["name"] for doc in response.json()["data"]]


def test_list_models_pages_in_name_order_both_ways(client, auth_headers, service):
    for name in ("d", "b", "a", "c", "e"):
        client.post(MLMODELS_URL, json=model_request(name), headers=auth_headers)

    first = client.get(f"{MLMODELS_URL}?limit=2", headers=auth_headers)
    second = client.get(
        f"{MLMODELS_URL}?limit=2&after={first.json()['paging']['after']}", headers=auth_headers
    )
    back = client.get(
        f"{MLMODELS_URL}?limit=2&before={second.json()['paging']['before']}", headers=auth_headers
    )

    assert (_names(first), _names(second), _names(back)) == (["a", "b"], ["c", "d"], ["a", "b"])
    assert first.json()["paging"]["total"] == 5
    assert "before" not in first.json()["paging"]


def test_list_models_by_service_keeps_that_services_models(client, auth_headers, service):
    client.post(SERVICES_URL, json=create_request("other"), headers=auth_headers)
    client.post(MLMODELS_URL, json=model_request("a"), headers=auth_headers)
    client.post(MLMODELS_URL, json=model_request("b", service="other"), headers=auth_headers)

    mine = client.get(f"{MLMODELS_URL}?service=mlflow_svc", headers=auth_headers)
    other = client.get(f"{MLMODELS_URL}?service=other", headers=auth_headers)
    unknown = client.get(f"{MLMODELS_URL}?service=nope", headers=auth_headers)

    assert (_names(mine), _names(other), _names(unknown)) == (["a"], ["b"], [])
    assert (mine.json()["paging"]["total"], unknown.json()["paging"]["total"]) == (1, 0)


def test_list_models_by_domain(client, auth_headers, service):
    domain = {"name": "Sales", "domainType": "Aggregate", "description": "Sales"}
    assert client.post("/api/v1/domains", json=domain, headers=auth_headers).status_code == 201
    client.post(MLMODELS_URL, json=model_request("a", domains=["Sales"]), headers=auth_headers)
    client.post(MLMODELS_URL, json=model_request("b"), headers=auth_headers)

    response = client.get(f"{MLMODELS_URL}?domain=Sales&fields=domains", headers=auth_headers)

    assert _names(response) == ["a"]
    assert response.json()["data"][0]["domains"][0]["name"] == "Sales"


@pytest.mark.parametrize(
    ("include", "names"),
    [("non-deleted", ["a"]), ("deleted", ["b"]), ("all", ["a", "b"])],
)
def test_list_models_include(client, auth_headers, service, include, names):
    client.post(MLMODELS_URL, json=model_request("a"), headers=auth_headers)
    gone = client.post(MLMODELS_URL, json=model_request("b"), headers=auth_headers).json()
    client.delete(f"{MLMODELS_URL}/{gone['id']}", headers=auth_headers)

    response = client.get(f"{MLMODELS_URL}?include={include}", headers=auth_headers)

    assert _names(response) == names


def test_model_versions_list_every_version_newest_first(client, auth_headers, model):
    client.put(MLMODELS_URL, json=model_request(target="churned"), headers=auth_headers)

    response = client.get(f"{MLMODELS_URL}/{model['id']}/versions", headers=auth_headers)
    old = client.get(f"{MLMODELS_URL}/{model['id']}/versions/0.1", headers=auth_headers)

    body = response.json()
    assert body["entityType"] == "mlmodel"
    assert [json.loads(v)["version"] for v in body["versions"]] == [0.2, 0.1]
    assert old.status_code == 200
    assert "target" not in old.json()
