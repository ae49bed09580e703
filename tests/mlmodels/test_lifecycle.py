"""Delete, restore, deleteStale, bulk, PATCH, followers and who may do each, for ML models
and for the services that hold them."""

from __future__ import annotations

import pytest

from tests.factories import MLMODELS_URL, SERVICES_URL, model_request

BULK_URL = f"{MLMODELS_URL}/bulk?async=false&overrideMetadata=false"
STALE_URL = f"{MLMODELS_URL}/deleteStale"


def _models(client, headers, query="include=all"):
    data = client.get(f"{MLMODELS_URL}?{query}&limit=100", headers=headers).json()["data"]
    return {doc["name"]: (doc["deleted"], doc["version"]) for doc in data}


def test_delete_model_soft_then_restore(client, auth_headers, model):
    deleted = client.delete(f"{MLMODELS_URL}/{model['id']}", headers=auth_headers)
    restored = client.put(f"{MLMODELS_URL}/restore", json={"id": model["id"]}, headers=auth_headers)

    assert deleted.headers["X-OpenMetadata-Change"] == "entitySoftDeleted"
    assert (deleted.json()["deleted"], deleted.json()["version"]) == (True, 0.2)
    assert restored.headers["X-OpenMetadata-Change"] == "entityRestored"
    assert (restored.json()["deleted"], restored.json()["version"]) == (False, 0.3)


def test_hard_delete_model_removes_it_and_its_history(client, auth_headers, model):
    response = client.delete(
        f"{MLMODELS_URL}/name/mlflow_svc.churn?hardDelete=true", headers=auth_headers
    )

    assert response.headers["X-OpenMetadata-Change"] == "entityDeleted"
    gone = client.get(f"{MLMODELS_URL}/{model['id']}?include=all", headers=auth_headers)
    versions = client.get(f"{MLMODELS_URL}/{model['id']}/versions", headers=auth_headers)
    assert (gone.status_code, versions.status_code) == (404, 404)


@pytest.mark.parametrize("hard", ["false", "true"])
def test_delete_service_with_models_without_recursive_returns_400(
    client, auth_headers, service, model, hard
):
    response = client.delete(
        f"{SERVICES_URL}/{service['id']}?hardDelete={hard}", headers=auth_headers
    )

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": "mlmodelService is not empty"}
    assert _models(client, auth_headers) == {"churn": (False, 0.1)}


def test_delete_service_with_only_deleted_models_still_needs_recursive(
    client, auth_headers, service, model
):
    client.delete(f"{MLMODELS_URL}/{model['id']}", headers=auth_headers)

    response = client.delete(f"{SERVICES_URL}/{service['id']}", headers=auth_headers)

    assert response.status_code == 400


def test_recursive_soft_delete_of_a_service_deletes_its_models_and_restore_brings_them_back(
    client, auth_headers, service
):
    for name in ("a", "b", "c"):
        client.post(MLMODELS_URL, json=model_request(name), headers=auth_headers)

    deleted = client.delete(f"{SERVICES_URL}/{service['id']}?recursive=true", headers=auth_headers)
    after_delete = _models(client, auth_headers)
    restored = client.put(
        f"{SERVICES_URL}/restore", json={"id": service["id"]}, headers=auth_headers
    )

    assert deleted.status_code == 200
    assert after_delete == {"a": (True, 0.2), "b": (True, 0.2), "c": (True, 0.2)}
    assert restored.status_code == 200
    assert _models(client, auth_headers) == {
        "a": (False, 0.3),
        "b": (False, 0.3),
        "c": (False, 0.3),
    }


def test_put_of_a_soft_deleted_service_restores_its_models(client, auth_headers, service, model):
    client.delete(f"{SERVICES_URL}/{service['id']}?recursive=true", headers=auth_headers)

    client.put(
        SERVICES_URL, json={"name": "mlflow_svc", "serviceType": "Mlflow"}, headers=auth_headers
    )

    assert _models(client, auth_headers) == {"churn": (False, 0.3)}


def test_recursive_hard_delete_of_a_service_removes_its_models(client, auth_headers, service):
    for name in ("a", "b"):
        client.post(MLMODELS_URL, json=model_request(name), headers=auth_headers)

    response = client.delete(
        f"{SERVICES_URL}/{service['id']}?recursive=true&hardDelete=true", headers=auth_headers
    )

    assert response.status_code == 200
    assert _models(client, auth_headers) == {}


def test_delete_stale_soft_deletes_the_models_not_seen(client, auth_headers, service):
    for name in ("a", "b", "c"):
        client.post(MLMODELS_URL, json=model_request(name), headers=auth_headers)
    body = {
        "scopeFqn": "mlflow_svc",
        "scopeEntityType": "service",
        "seenFqns": ["mlflow_svc.a", "mlflow_svc.c"],
        "recursive": True,
    }

    response = client.request("DELETE", STALE_URL, json=body, headers=auth_headers)

    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "numberOfRowsProcessed": 1,
        "numberOfRowsPassed": 1,
        "numberOfRowsFailed": 0,
        "successRequest": [
            {"request": "mlflow_svc.b", "status": 200, "message": "entitySoftDeleted"}
        ],
        "failedRequest": [],
    }
    assert _models(client, auth_headers) == {"a": (False, 0.1), "b": (True, 0.2), "c": (False, 0.1)}


def test_delete_stale_with_nothing_seen_deletes_nothing(client, auth_headers, model):
    body = {"scopeFqn": "mlflow_svc", "scopeEntityType": "service", "seenFqns": []}

    response = client.request("DELETE", STALE_URL, json=body, headers=auth_headers)

    assert response.json()["numberOfRowsProcessed"] == 0
    assert _models(client, auth_headers) == {"churn": (False, 0.1)}


def test_delete_stale_of_an_unknown_service_returns_404(client, auth_headers):
    body = {"scopeFqn": "nope", "scopeEntityType": "service", "seenFqns": ["nope.a"]}

    response = client.request("DELETE", STALE_URL, json=body, headers=auth_headers)

    assert response.json() == {"code": 404, "message": "mlmodelService instance for nope not found"}


def test_delete_stale_leaves_other_services_alone(client, auth_headers, service):
    client.post(SERVICES_URL, json={"name": "other", "serviceType": "Mlflow"}, headers=auth_headers)
    client.post(MLMODELS_URL, json=model_request("a", service="other"), headers=auth_headers)
    client.post(MLMODELS_URL, json=model_request("b"), headers=auth_headers)
    body = {"scopeFqn": "mlflow_svc", "scopeEntityType": "service", "seenFqns": ["mlflow_svc.b"]}

    client.request("DELETE", STALE_URL, json=body, headers=auth_headers)

    assert _models(client, auth_headers) == {"a": (False, 0.1), "b": (False, 0.1)}


def test_bulk_models_creates_updates_and_fails_items_alone(client, auth_headers, model):
    items = [
        model_request("new"),
        model_request(algorithm="lightgbm"),
        model_request("lost", service="nope"),
        {"name": "broken"},
    ]

    response = client.put(BULK_URL, json=items, headers=auth_headers)

    body = response.json()
    assert body["status"] == "partialSuccess"
    assert body["successRequest"] == [
        {"request": "mlflow_svc.new", "status": 201, "message": "entityCreated"},
        {"request": "mlflow_svc.churn", "status": 200, "message": "entityUpdated"},
    ]
    assert [(f["status"], f["message"]) for f in body["failedRequest"]] == [
        (404, "mlmodelService instance for nope not found"),
        (400, "[query param service must not be null]"),
    ]
    assert _models(client, auth_headers) == {"churn": (False, 0.2), "new": (False, 0.1)}


def test_bulk_models_twice_with_the_same_hashes_changes_nothing(client, auth_headers, service):
    items = [model_request(name, sourceHash=f"h-{name}") for name in ("a", "b")]
    client.put(BULK_URL, json=items, headers=auth_headers)

    again = client.put(BULK_URL, json=items, headers=auth_headers)

    assert [r["message"] for r in again.json()["successRequest"]] == ["entityNoChange"] * 2
    assert _models(client, auth_headers) == {"a": (False, 0.1), "b": (False, 0.1)}


def test_bulk_models_over_the_limit_returns_413(client, auth_headers, service):
    items = [model_request(f"m{i}") for i in range(101)]

    response = client.put(BULK_URL, json=items, headers=auth_headers)

    assert response.status_code == 413


def test_patch_model_description_and_owners(client, auth_headers, model):
    admin = client.get("/api/v1/users/name/admin", headers=auth_headers).json()
    patch = [
        {"op": "add", "path": "/description", "value": "Predicts churn"},
        {"op": "add", "path": "/owners", "value": [{"id": admin["id"], "type": "user"}]},
    ]

    response = client.patch(
        f"{MLMODELS_URL}/{model['id']}",
        json=patch,
        headers={**auth_headers, "Content-Type": "application/json-patch+json"},
    )

    assert response.status_code == 200
    body = client.get(f"{MLMODELS_URL}/{model['id']}?fields=owners", headers=auth_headers).json()
    assert body["description"] == "Predicts churn"
    assert [owner["name"] for owner in body["owners"]] == ["admin"]
    assert body["version"] == 0.2


def test_patch_model_features_gets_their_fqns(client, auth_headers, model):
    patch = [{"op": "add", "path": "/mlFeatures/-", "value": {"name": "tenure"}}]

    response = client.patch(
        f"{MLMODELS_URL}/name/mlflow_svc.churn",
        json=patch,
        headers={**auth_headers, "Content-Type": "application/json-patch+json"},
    )

    assert response.json()["mlFeatures"][-1] == {
        "name": "tenure",
        "fullyQualifiedName": "mlflow_svc.churn.tenure",
    }


@pytest.mark.parametrize("field", ["service", "serviceType", "deleted"])
def test_patch_model_may_not_change_where_it_lives(client, auth_headers, model, field):
    value = {"service": {"id": model["id"], "type": "mlmodelService"}, "serviceType": "Sklearn"}
    patch = [{"op": "replace", "path": f"/{field}", "value": value.get(field, True)}]

    response = client.patch(
        f"{MLMODELS_URL}/{model['id']}",
        json=patch,
        headers={**auth_headers, "Content-Type": "application/json-patch+json"},
    )

    assert response.status_code in (200, 400)
    stored = client.get(f"{MLMODELS_URL}/{model['id']}", headers=auth_headers).json()
    assert (stored["service"]["id"], stored["serviceType"], stored["deleted"]) == (
        model["service"]["id"],
        "Mlflow",
        False,
    )


def test_user_who_owns_nothing_may_read_but_not_write_models(
    client, auth_headers, user_headers, model
):
    jane = user_headers("jane")

    read = client.get(f"{MLMODELS_URL}/{model['id']}", headers=jane)
    put = client.put(MLMODELS_URL, json=model_request(target="x"), headers=jane)
    delete = client.delete(f"{MLMODELS_URL}/{model['id']}", headers=jane)

    assert read.status_code == 200
    assert put.json() == {
        "code": 403,
        "message": "Principal: CatalogPrincipal{name='jane'} operations [EditAll] not allowed",
    }
    assert delete.status_code == 403


def test_bot_may_create_update_and_delete_models(client, bot_headers, service):
    created = client.put(MLMODELS_URL, json=model_request(), headers=bot_headers)
    updated = client.put(MLMODELS_URL, json=model_request(target="x"), headers=bot_headers)
    deleted = client.delete(f"{MLMODELS_URL}/{created.json()['id']}", headers=bot_headers)

    assert (created.status_code, updated.status_code, deleted.status_code) == (201, 200, 200)


def test_owner_may_edit_its_model(client, auth_headers, user_headers, service):
    jane = user_headers("jane")
    jane_id = client.get("/api/v1/users/name/jane", headers=auth_headers).json()["id"]
    client.put(
        MLMODELS_URL,
        json=model_request(owners=[{"id": jane_id, "type": "user"}]),
        headers=auth_headers,
    )

    response = client.put(MLMODELS_URL, json=model_request(target="x"), headers=jane)

    assert response.status_code == 200


def test_follow_and_unfollow_a_model(client, auth_headers, model):
    admin_id = client.get("/api/v1/users/name/admin", headers=auth_headers).json()["id"]

    added = client.put(
        f"{MLMODELS_URL}/{model['id']}/followers", json=admin_id, headers=auth_headers
    )
    following = client.get(f"{MLMODELS_URL}/{model['id']}?fields=followers", headers=auth_headers)
    removed = client.delete(
        f"{MLMODELS_URL}/{model['id']}/followers/{admin_id}", headers=auth_headers
    )

    assert added.json()["entityType"] == "mlmodel"
    assert [f["name"] for f in following.json()["followers"]] == ["admin"]
    assert following.json()["version"] == 0.1
    assert removed.status_code == 200


def test_async_delete_of_a_model_completes(client, auth_headers, model):
    response = client.delete(f"{MLMODELS_URL}/async/{model['id']}", headers=auth_headers)

    assert response.status_code == 202
    job = client.get(f"/api/v1/jobs/{response.json()['jobId']}", headers=auth_headers).json()
    assert (job["status"], job["entityType"]) == ("completed", "mlmodel")
    assert _models(client, auth_headers) == {"churn": (True, 0.2)}
