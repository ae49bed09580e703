"""GET /api/v1/events: every real change records exactly one ChangeEvent, no-ops none."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import event as sqlalchemy_event

from tests.factories import MLMODELS_URL, SERVICES_URL, create_request, model_request

EVENTS_URL = "/api/v1/events"
ALL = {
    "entityCreated": "*",
    "entityUpdated": "*",
    "entityDeleted": "*",
    "entityRestored": "*",
}
BULK_URL = f"{SERVICES_URL}/bulk?async=false&overrideMetadata=false"
INVALID_HUGE = "Invalid paging cursor eyJzZXEiOiA5MjIzMzcyMDM2ODU0Nzc1ODA4fQ=="
ONLY_ONE_CURSOR = "Only one of before or after query parameter allowed"
PATCH_TYPE = {"Content-Type": "application/json-patch+json"}


def _events(client, headers, **params: Any) -> list[dict[str, Any]]:
    response = client.get(EVENTS_URL, params={**ALL, "limit": 1000, **params}, headers=headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _summary(events: list[dict[str, Any]]) -> list[tuple[str, str, str, float, float]]:
    return [
        (
            event["eventType"],
            event["entityType"],
            event["entityFullyQualifiedName"],
            event["previousVersion"],
            event["currentVersion"],
        )
        for event in events
    ]


@pytest.fixture
def service(client, auth_headers):
    response = client.post(SERVICES_URL, json=create_request(), headers=auth_headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_records_one_entity_created_event(client, auth_headers, service):
    (event,) = _events(client, auth_headers)

    assert uuid.UUID(event.pop("id"))
    assert isinstance(event.pop("timestamp"), int)
    assert event == {
        "eventType": "entityCreated",
        "entityType": "mlmodelService",
        "entityId": service["id"],
        "entityFullyQualifiedName": "mlflow_svc",
        "previousVersion": 0.1,
        "currentVersion": 0.1,
        "userName": "admin",
    }


def test_put_update_records_one_event_with_its_change_description(client, auth_headers, service):
    updated = client.put(
        SERVICES_URL, json=create_request(description="new"), headers=auth_headers
    ).json()

    events = _events(client, auth_headers)

    assert _summary(events) == [
        ("entityCreated", "mlmodelService", "mlflow_svc", 0.1, 0.1),
        ("entityUpdated", "mlmodelService", "mlflow_svc", 0.1, 0.2),
    ]
    assert events[1]["changeDescription"] == updated["changeDescription"]
    assert events[1]["changeDescription"]["fieldsAdded"] == [
        {"name": "description", "newValue": "new"}
    ]


def test_put_without_change_records_no_event(client, auth_headers, service):
    response = client.put(SERVICES_URL, json=create_request(), headers=auth_headers)

    assert response.headers["X-OpenMetadata-Change"] == "entityNoChange"
    assert len(_events(client, auth_headers)) == 1


def test_put_create_records_one_entity_created_event(client, auth_headers):
    client.put(SERVICES_URL, json=create_request("fresh"), headers=auth_headers)

    assert _summary(_events(client, auth_headers)) == [
        ("entityCreated", "mlmodelService", "fresh", 0.1, 0.1)
    ]


def test_bulk_records_one_event_per_changed_item(client, auth_headers):
    client.put(BULK_URL, json=[create_request(n) for n in ("a", "b", "c")], headers=auth_headers)
    items = [
        create_request("a", description="changed"),
        create_request("b"),  # unchanged: no event
        create_request("c", description="changed"),
        create_request("d"),
        create_request("d", description="then changed"),  # the same name again
    ]

    response = client.put(BULK_URL, json=items, headers=auth_headers)

    assert response.json()["numberOfRowsPassed"] == 5
    assert _summary(_events(client, auth_headers)) == [
        ("entityCreated", "mlmodelService", "a", 0.1, 0.1),
        ("entityCreated", "mlmodelService", "b", 0.1, 0.1),
        ("entityCreated", "mlmodelService", "c", 0.1, 0.1),
        ("entityUpdated", "mlmodelService", "a", 0.1, 0.2),
        ("entityUpdated", "mlmodelService", "c", 0.1, 0.2),
        ("entityCreated", "mlmodelService", "d", 0.1, 0.1),
        ("entityUpdated", "mlmodelService", "d", 0.1, 0.2),
    ]


def test_bulk_failed_items_record_no_event(client, auth_headers):
    items = [create_request("ok"), {"name": "bad", "serviceType": "Nope"}]

    client.put(BULK_URL, json=items, headers=auth_headers)

    assert _summary(_events(client, auth_headers)) == [
        ("entityCreated", "mlmodelService", "ok", 0.1, 0.1)
    ]


def test_patch_records_one_event_with_both_change_descriptions(client, auth_headers, service):
    operations = [{"op": "add", "path": "/description", "value": "patched"}]

    patched = client.patch(
        f"{SERVICES_URL}/{service['id']}",
        json=operations,
        headers={**auth_headers, **PATCH_TYPE},
    ).json()

    event = _events(client, auth_headers)[-1]
    assert _summary([event]) == [("entityUpdated", "mlmodelService", "mlflow_svc", 0.1, 0.2)]
    assert event["changeDescription"] == patched["changeDescription"]
    assert event["incrementalChangeDescription"] == patched["changeDescription"]


def test_patch_that_changes_nothing_records_no_event(client, auth_headers, service):
    client.patch(
        f"{SERVICES_URL}/{service['id']}",
        json=[{"op": "replace", "path": "/name", "value": "mlflow_svc"}],
        headers={**auth_headers, **PATCH_TYPE},
    )

    assert len(_events(client, auth_headers)) == 1


def test_soft_delete_restore_and_hard_delete_record_one_event_each(client, auth_headers, service):
    url = f"{SERVICES_URL}/{service['id']}"
    client.delete(url, headers=auth_headers)
    client.delete(url, headers=auth_headers)  # already deleted: no change
    client.put(f"{SERVICES_URL}/restore", json={"id": service["id"]}, headers=auth_headers)
    client.delete(f"{url}?hardDelete=true", headers=auth_headers)

    events = _events(client, auth_headers)

    assert _summary(events) == [
        ("entityCreated", "mlmodelService", "mlflow_svc", 0.1, 0.1),
        ("entitySoftDeleted", "mlmodelService", "mlflow_svc", 0.1, 0.2),
        ("entityRestored", "mlmodelService", "mlflow_svc", 0.2, 0.3),
        ("entityDeleted", "mlmodelService", "mlflow_svc", 0.3, 0.3),
    ]
    assert events[1]["changeDescription"]["fieldsUpdated"] == [
        {"name": "deleted", "oldValue": False, "newValue": True}
    ]
    assert "changeDescription" not in events[3]


def test_recursive_deletes_record_an_event_for_each_child(client, auth_headers, service):
    for name in ("m1", "m2"):
        client.post(MLMODELS_URL, json=model_request(name), headers=auth_headers)
    url = f"{SERVICES_URL}/{service['id']}"

    client.delete(f"{url}?recursive=true", headers=auth_headers)
    client.put(f"{SERVICES_URL}/restore", json={"id": service["id"]}, headers=auth_headers)
    client.delete(f"{url}?recursive=true&hardDelete=true", headers=auth_headers)

    assert _summary(_events(client, auth_headers))[3:] == [
        ("entitySoftDeleted", "mlmodelService", "mlflow_svc", 0.1, 0.2),
        ("entitySoftDeleted", "mlmodel", "mlflow_svc.m1", 0.1, 0.2),
        ("entitySoftDeleted", "mlmodel", "mlflow_svc.m2", 0.1, 0.2),
        ("entityRestored", "mlmodelService", "mlflow_svc", 0.2, 0.3),
        ("entityRestored", "mlmodel", "mlflow_svc.m1", 0.2, 0.3),
        ("entityRestored", "mlmodel", "mlflow_svc.m2", 0.2, 0.3),
        ("entityDeleted", "mlmodelService", "mlflow_svc", 0.3, 0.3),
        ("entityDeleted", "mlmodel", "mlflow_svc.m1", 0.3, 0.3),
        ("entityDeleted", "mlmodel", "mlflow_svc.m2", 0.3, 0.3),
    ]


def test_put_that_restores_records_the_update_and_the_children_restored(
    client, auth_headers, service
):
    client.post(MLMODELS_URL, json=model_request("m1"), headers=auth_headers)
    client.delete(f"{SERVICES_URL}/{service['id']}?recursive=true", headers=auth_headers)

    client.put(SERVICES_URL, json=create_request(), headers=auth_headers)

    assert _summary(_events(client, auth_headers))[4:] == [
        ("entityUpdated", "mlmodelService", "mlflow_svc", 0.2, 0.3),
        ("entityRestored", "mlmodel", "mlflow_svc.m1", 0.2, 0.3),
    ]


def test_delete_stale_records_an_event_per_model_deleted(client, auth_headers, service):
    for name in ("a", "b", "c"):
        client.post(MLMODELS_URL, json=model_request(name), headers=auth_headers)
    body = {
        "scopeFqn": "mlflow_svc",
        "scopeEntityType": "service",
        "seenFqns": ["mlflow_svc.b"],
        "recursive": True,
    }

    client.request("DELETE", f"{MLMODELS_URL}/deleteStale", json=body, headers=auth_headers)

    assert _summary(_events(client, auth_headers, entityCreated=None)) == [
        ("entitySoftDeleted", "mlmodel", "mlflow_svc.a", 0.1, 0.2),
        ("entitySoftDeleted", "mlmodel", "mlflow_svc.c", 0.1, 0.2),
    ]


def test_followers_record_one_event_per_real_change(client, auth_headers, service):
    admin_id = client.get("/api/v1/users/name/admin", headers=auth_headers).json()["id"]
    url = f"{SERVICES_URL}/{service['id']}/followers"

    answered = client.put(url, json=admin_id, headers=auth_headers).json()
    client.put(url, json=admin_id, headers=auth_headers)  # already following: no change
    client.delete(f"{url}/{admin_id}", headers=auth_headers)
    client.delete(f"{url}/{admin_id}", headers=auth_headers)  # no longer following

    events = _events(client, auth_headers)
    assert _summary(events)[1:] == [
        ("entityUpdated", "mlmodelService", "mlflow_svc", 0.1, 0.1),
        ("entityUpdated", "mlmodelService", "mlflow_svc", 0.1, 0.1),
    ]
    answered.pop("entity")
    assert events[1] == answered
    assert events[2]["changeDescription"]["fieldsDeleted"][0]["name"] == "followers"


def test_governance_kinds_record_events(client, auth_headers):
    client.put("/api/v1/teams", json={"name": "ml", "teamType": "Group"}, headers=auth_headers)

    assert _summary(_events(client, auth_headers, entityCreated="team")) == [
        ("entityCreated", "team", "ml", 0.1, 0.1)
    ]


def test_filters_select_event_types_and_entity_types(client, auth_headers, service):
    client.post(MLMODELS_URL, json=model_request("m1"), headers=auth_headers)
    client.put(SERVICES_URL, json=create_request(description="new"), headers=auth_headers)
    client.delete(f"{SERVICES_URL}/{service['id']}?recursive=true", headers=auth_headers)

    def asked(**params: str) -> list[tuple[str, str]]:
        response = client.get(EVENTS_URL, params=params, headers=auth_headers)
        return [(e["eventType"], e["entityFullyQualifiedName"]) for e in response.json()["data"]]

    assert asked(entityCreated="mlmodel") == [("entityCreated", "mlflow_svc.m1")]
    assert asked(entityCreated="mlmodelService,mlmodel") == [
        ("entityCreated", "mlflow_svc"),
        ("entityCreated", "mlflow_svc.m1"),
    ]
    assert asked(entityUpdated="*") == [("entityUpdated", "mlflow_svc")]
    assert asked(entityDeleted="mlmodel", entityUpdated="mlmodelService") == [
        ("entityUpdated", "mlflow_svc"),
        ("entitySoftDeleted", "mlflow_svc.m1"),
    ]
    assert asked(entityRestored="*") == []
    assert asked() == []


def test_timestamp_keeps_events_at_or_after_it(client, auth_headers, service):
    client.put(SERVICES_URL, json=create_request(description="new"), headers=auth_headers)
    events = _events(client, auth_headers)
    last = events[-1]["timestamp"]

    assert [e["id"] for e in _events(client, auth_headers, timestamp=last)] == [
        e["id"] for e in events if e["timestamp"] >= last
    ]
    assert _events(client, auth_headers, timestamp=last + 1) == []


def test_pages_follow_the_cursors_with_the_total(client, auth_headers):
    client.put(BULK_URL, json=[create_request(f"s{n}") for n in range(5)], headers=auth_headers)

    first = client.get(EVENTS_URL, params={**ALL, "limit": 2}, headers=auth_headers).json()
    second = client.get(
        EVENTS_URL,
        params={**ALL, "limit": 2, "after": first["paging"]["after"]},
        headers=auth_headers,
    ).json()
    last = client.get(
        EVENTS_URL,
        params={**ALL, "limit": 2, "after": second["paging"]["after"]},
        headers=auth_headers,
    ).json()
    back = client.get(
        EVENTS_URL,
        params={**ALL, "limit": 2, "before": second["paging"]["before"]},
        headers=auth_headers,
    ).json()

    pages = (first, second, last)
    names = [[e["entityFullyQualifiedName"] for e in page["data"]] for page in pages]
    assert names == [["s0", "s1"], ["s2", "s3"], ["s4"]]
    assert [page["paging"]["total"] for page in pages] == [5, 5, 5]
    assert "after" not in last["paging"]
    assert back["data"] == first["data"]
    assert client.get(EVENTS_URL, params={**ALL, "limit": 0}, headers=auth_headers).json() == {
        "data": [],
        "paging": {"total": 5},
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"after": "nope"}, "Invalid paging cursor nope"),
        # {"seq": 2**63}: beyond what the column holds.
        ({"after": "eyJzZXEiOiA5MjIzMzcyMDM2ODU0Nzc1ODA4fQ=="}, INVALID_HUGE),
        ({"after": "e30=", "before": "e30="}, ONLY_ONE_CURSOR),
    ],
)
def test_bad_paging_is_a_400(client, auth_headers, params, message):
    response = client.get(EVENTS_URL, params={**ALL, **params}, headers=auth_headers)

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": message}


def test_events_need_a_token(client):
    response = client.get(EVENTS_URL, params=ALL)

    assert response.status_code == 401
    assert response.json()["code"] == 401


def test_export_leaves_the_feed_out_and_import_empties_it(make_client, auth_headers):
    client = make_client(admin_api=True)
    client.post(SERVICES_URL, json=create_request(), headers=auth_headers)
    document = client.get("/api/__emulator/export", headers=auth_headers).json()
    client.put(SERVICES_URL, json=create_request(description="new"), headers=auth_headers)

    response = client.post("/api/__emulator/import", json=document, headers=auth_headers)

    assert response.status_code == 200, response.text
    assert "change_event" not in document["tables"]
    assert _events(client, auth_headers) == []


@pytest.mark.parametrize(
    ("scope", "left"),
    [("", []), ("?scope=mlmodelServices", [("entityCreated", "team", "ml", 0.1, 0.1)])],
)
def test_reset_empties_the_events_of_what_it_empties(make_client, auth_headers, scope, left):
    client = make_client(admin_api=True)
    client.post(SERVICES_URL, json=create_request(), headers=auth_headers)
    client.post(MLMODELS_URL, json=model_request("m1"), headers=auth_headers)
    client.put("/api/v1/teams", json={"name": "ml", "teamType": "Group"}, headers=auth_headers)

    response = client.post(f"/api/__emulator/reset{scope}", headers=auth_headers)

    assert response.status_code == 204
    assert _summary(_events(client, auth_headers)) == left


def test_background_delete_records_its_event_when_it_runs(client, auth_headers, service):
    response = client.delete(f"{SERVICES_URL}/async/{service['id']}", headers=auth_headers)

    assert response.status_code == 202
    assert _summary(_events(client, auth_headers))[1:] == [
        ("entitySoftDeleted", "mlmodelService", "mlflow_svc", 0.1, 0.2)
    ]


@pytest.mark.parametrize("timestamp", ["-1", str(2**63), "soon"])
def test_timestamp_out_of_range_is_a_400(client, auth_headers, timestamp):
    response = client.get(EVENTS_URL, params={**ALL, "timestamp": timestamp}, headers=auth_headers)

    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert "timestamp" in response.json()["message"]


def test_patch_merged_into_a_session_records_the_session_change(client, auth_headers, service):
    url = f"{SERVICES_URL}/{service['id']}"
    headers = {**auth_headers, **PATCH_TYPE}
    client.patch(url, json=[{"op": "add", "path": "/description", "value": "one"}], headers=headers)

    second = client.patch(
        url, json=[{"op": "add", "path": "/displayName", "value": "Two"}], headers=headers
    ).json()

    event = _events(client, auth_headers)[-1]
    assert _summary([event]) == [("entityUpdated", "mlmodelService", "mlflow_svc", 0.1, 0.2)]
    stored = client.get(url, headers=auth_headers).json()
    assert event["changeDescription"] == stored["changeDescription"]
    assert [f["name"] for f in event["changeDescription"]["fieldsAdded"]] == [
        "description",
        "displayName",
    ]
    assert event["incrementalChangeDescription"] == second["changeDescription"]


def _statements(client, send) -> list[str]:
    """The SQL the app sends to its database while `send` runs."""
    app_engine = client.app.state.database.engine
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sqlalchemy_event.listen(app_engine, "before_cursor_execute", listener)
    try:
        send()
    finally:
        sqlalchemy_event.remove(app_engine, "before_cursor_execute", listener)
    return statements


def _on_postgresql(client) -> None:
    if client.app.state.database.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL inserts a write's events with the write")


def test_a_create_and_its_event_go_in_as_one_statement(client, auth_headers, service):
    _on_postgresql(client)

    def create() -> None:
        response = client.post(SERVICES_URL, json=create_request("b"), headers=auth_headers)
        assert response.status_code == 201, response.text

    (statement,) = _statements(client, create)

    assert "INSERT INTO mlmodel_service " in statement
    assert "INSERT INTO change_event " in statement
    assert [event["entityFullyQualifiedName"] for event in _events(client, auth_headers)] == [
        service["fullyQualifiedName"],
        "b",
    ]


def test_a_create_refused_for_a_taken_name_records_no_event(client, auth_headers, service):
    response = client.post(SERVICES_URL, json=create_request(), headers=auth_headers)

    assert response.status_code == 409
    assert [event["eventType"] for event in _events(client, auth_headers)] == ["entityCreated"]


def test_a_put_update_is_its_locked_read_and_one_statement(client, auth_headers, service):
    _on_postgresql(client)

    def update() -> None:
        response = client.put(
            SERVICES_URL, json=create_request(description="new"), headers=auth_headers
        )
        assert response.status_code == 200, response.text

    read, write = _statements(client, update)

    assert "FOR UPDATE" in read
    assert "UPDATE mlmodel_service " in write
    assert "INSERT INTO mlmodel_service_version " in write
    assert "INSERT INTO change_event " in write
    (_, updated) = _events(client, auth_headers)
    assert (updated["eventType"], updated["currentVersion"]) == ("entityUpdated", 0.2)
    history = client.get(f"{SERVICES_URL}/{service['id']}/versions", headers=auth_headers).json()
    assert [json.loads(version)["version"] for version in history["versions"]] == [0.2, 0.1]
