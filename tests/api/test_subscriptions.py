"""/api/v1/events/subscriptions: CRUD of webhook subscriptions, what is refused, and the
delivery of the change event feed to a real local HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import uuid
from typing import Any
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import select, text, update

from mlmodel_emulator.clock import real_now_ms
from mlmodel_emulator.db.engine import begin_writing
from mlmodel_emulator.subscriptions import delivery
from mlmodel_emulator.subscriptions.models import (
    DELIVERY,
    SUBSCRIPTIONS,
    EventSubscriptionRecord,
)
from tests.factories import SERVICES_URL, create_request, subscription
from tests.webhook_receiver import Receiver, webhook_receiver

URL = "/api/v1/events/subscriptions"
PATCH_TYPE = {"Content-Type": "application/json-patch+json"}


def _create(client, headers, **overrides: Any) -> dict[str, Any]:
    response = client.post(URL, json=subscription(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _service(client, headers, name: str) -> None:
    response = client.post(SERVICES_URL, json=create_request(name), headers=headers)
    assert response.status_code == 201, response.text


def _status(client, headers, subscription_id: str) -> dict[str, Any]:
    response = client.get(f"{URL}/{subscription_id}", headers=headers)
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()["destinations"][0]["statusDetails"]
    return status


def _wait_status(client, headers, subscription_id: str, wanted: str, receiver: Receiver):
    receiver.wait_for(lambda _: _status(client, headers, subscription_id)["status"] == wanted)
    return _status(client, headers, subscription_id)


@pytest.fixture
def fast(make_client):
    """A client whose delivery polls every 20 ms and retries after 20 ms, 40 ms, ..."""
    return make_client(
        subscription_delivery=True, subscription_poll_ms=20, subscription_retry_base_ms=20
    )


@pytest.fixture
def quiet(make_client):
    return make_client(subscription_delivery=False)


# ---------------------------------------------------------------------------- CRUD


def test_create_answers_201_with_defaults_ids_and_status(quiet, auth_headers):
    response = quiet.post(
        URL, json=subscription(config={"secretKey": "s3cret"}), headers=auth_headers
    )

    assert response.status_code == 201, response.text
    body = response.json()
    destination = body["destinations"][0]
    assert uuid.UUID(body.pop("id"))
    assert uuid.UUID(destination.pop("id"))
    assert isinstance(body.pop("updatedAt"), int)
    assert body.pop("href").endswith("/api/v1/events/subscriptions/" + response.json()["id"])
    assert body == {
        "name": "hook",
        "fullyQualifiedName": "hook",
        "owners": [],
        "enabled": True,
        "batchSize": 10,
        "alertType": "Notification",
        "trigger": {"triggerType": "RealTime"},
        "filteringRules": {"resources": ["mlmodelService"]},
        "destinations": [
            {
                "category": "External",
                "type": "Webhook",
                "timeout": 10,
                "readTimeout": 12,
                "enabled": True,
                "config": {
                    "endpoint": "http://127.0.0.1:9/hook",
                    "httpMethod": "POST",
                    # The pre-1.9 secretKey, answered as the authType that carries it since.
                    "authType": {"type": "bearer", "secretKey": "s3cret"},
                },
                "statusDetails": {"status": "active"},
            }
        ],
        "provider": "user",
        "retries": 3,
        "pollInterval": 10,
        "input": {"filters": []},
        "domains": [],
        "version": 0.1,
        "updatedBy": "admin",
    }
    assert response.headers["Location"] == response.json()["href"]


def test_create_keeps_the_secret_key_encrypted_at_rest(quiet, auth_headers, engine):
    created = _create(quiet, auth_headers, config={"secretKey": "s3cret"})

    with engine.connect() as connection:
        doc = connection.execute(
            text("SELECT doc FROM event_subscription WHERE id = :id"), {"id": created["id"]}
        ).scalar_one()
    stored = doc if isinstance(doc, dict) else json.loads(doc)
    secret = stored["destinations"][0]["config"]["authType"]["secretKey"]
    assert secret.startswith("fernet:")
    assert "s3cret" not in str(stored)


def test_bearer_auth_type_is_answered_as_given_and_encrypted_at_rest(quiet, auth_headers, engine):
    auth = {"type": "bearer", "secretKey": "s3cret"}
    created = _create(quiet, auth_headers, config={"authType": auth})

    assert created["destinations"][0]["config"]["authType"] == auth
    read = quiet.get(f"{URL}/{created['id']}", headers=auth_headers).json()
    assert read["destinations"][0]["config"]["authType"] == auth
    with engine.connect() as connection:
        doc = connection.execute(
            text("SELECT doc FROM event_subscription WHERE id = :id"), {"id": created["id"]}
        ).scalar_one()
    stored = doc if isinstance(doc, dict) else json.loads(doc)
    assert stored["destinations"][0]["config"]["authType"]["secretKey"].startswith("fernet:")
    assert "s3cret" not in str(stored)


def test_a_stored_pre_auth_type_secret_key_is_answered_as_auth_type(quiet, auth_headers, engine):
    created = _create(quiet, auth_headers, config={"secretKey": "s3cret"})
    table = EventSubscriptionRecord.__table__
    with engine.begin() as connection:
        doc = connection.execute(
            select(table.c.doc).where(table.c.id == created["id"])
        ).scalar_one()
        doc = doc if isinstance(doc, dict) else json.loads(doc)
        config = doc["destinations"][0]["config"]
        config["secretKey"] = config.pop("authType")["secretKey"]
        connection.execute(update(table).where(table.c.id == created["id"]).values(doc=doc))

    read = quiet.get(f"{URL}/{created['id']}", headers=auth_headers).json()

    assert read["destinations"][0]["config"] == {
        "endpoint": "http://127.0.0.1:9/hook",
        "httpMethod": "POST",
        "authType": {"type": "bearer", "secretKey": "s3cret"},
    }


def test_stakeholder_options_are_taken_when_off_and_not_stored(quiet, auth_headers):
    body = subscription(
        config={
            "receivers": [],
            "sendToAdmins": False,
            "sendToOwners": False,
            "sendToFollowers": False,
        },
    )
    body["destinations"][0]["notifyDownstream"] = False

    response = quiet.post(URL, json=body, headers=auth_headers)

    assert response.status_code == 201, response.text
    destination = response.json()["destinations"][0]
    assert "notifyDownstream" not in destination
    assert destination["config"] == {"endpoint": "http://127.0.0.1:9/hook", "httpMethod": "POST"}


@pytest.mark.parametrize(
    ("where", "name", "value"),
    [
        ("destination", "notifyDownstream", True),
        ("destination", "downstreamDepth", 2),
        ("config", "receivers", ["a@example.com"]),
        ("config", "sendToAdmins", True),
        ("config", "sendToOwners", True),
        ("config", "sendToFollowers", True),
    ],
)
def test_stakeholder_options_when_on_are_400(quiet, auth_headers, where, name, value):
    body = subscription(config={name: value} if where == "config" else {})
    if where == "destination":
        body["destinations"][0][name] = value

    response = quiet.post(URL, json=body, headers=auth_headers)

    assert response.status_code == 400, response.text
    assert response.json() == {
        "code": 400,
        "message": f"Destination {name} is not supported: a Webhook destination is sent to "
        "its endpoint only",
    }


def test_mentions_category_is_400_that_says_so(quiet, auth_headers):
    body = subscription()
    body["destinations"][0]["category"] = "Mentions"

    response = quiet.post(URL, json=body, headers=auth_headers)

    assert response.status_code == 400, response.text
    assert response.json()["message"] == (
        "Destination category Mentions is not supported: only External destinations are delivered"
    )


def test_secret_key_and_auth_type_together_are_400(quiet, auth_headers):
    config = {"secretKey": "a", "authType": {"type": "bearer", "secretKey": "b"}}
    response = quiet.post(URL, json=subscription(config=config), headers=auth_headers)

    assert response.status_code == 400, response.text
    assert response.json() == {
        "code": 400,
        "message": "Give a webhook's secret key in config.authType or config.secretKey",
    }


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        (
            {
                "type": "oauth2",
                "tokenUrl": "http://127.0.0.1:9/t",
                "clientId": "a",
                "clientSecret": "b",
            },
            "Webhook authType oauth2 is not supported: only none and bearer are delivered",
        ),
        ({"type": "bearer"}, "Webhook authType bearer needs secretKey"),
        ({"type": "none", "secretKey": "x"}, "Webhook authType none takes no other field"),
    ],
)
def test_auth_types_not_delivered_are_400(quiet, auth_headers, auth, message):
    response = quiet.post(URL, json=subscription(config={"authType": auth}), headers=auth_headers)

    assert response.status_code == 400, response.text
    assert response.json() == {"code": 400, "message": message}


def test_create_with_taken_name_is_409(quiet, auth_headers):
    _create(quiet, auth_headers)

    response = quiet.post(URL, json=subscription(), headers=auth_headers)

    assert response.status_code == 409
    assert response.json() == {"code": 409, "message": "Entity already exists"}


def test_create_by_non_admin_is_403(quiet, user_headers):
    headers = user_headers("jane")

    response = quiet.post(URL, json=subscription(), headers=headers)

    assert response.status_code == 403
    assert response.json() == {
        "code": 403,
        "message": "Principal: CatalogPrincipal{name='jane'} is not admin",
    }


def test_get_by_id_and_by_name_answer_the_same_subscription(quiet, auth_headers):
    created = _create(quiet, auth_headers)

    by_id = quiet.get(f"{URL}/{created['id']}", headers=auth_headers)
    by_name = quiet.get(f"{URL}/name/hook", headers=auth_headers)

    assert by_id.status_code == by_name.status_code == 200
    assert by_id.json() == by_name.json()
    assert by_id.json()["destinations"][0]["statusDetails"]["status"] == "active"


def test_list_pages_in_name_order(quiet, auth_headers):
    for name in ("b", "a", "c"):
        _create(quiet, auth_headers, name=name)

    first = quiet.get(URL, params={"limit": 2}, headers=auth_headers).json()
    second = quiet.get(
        URL, params={"limit": 2, "after": first["paging"]["after"]}, headers=auth_headers
    ).json()

    assert [s["name"] for s in first["data"]] == ["a", "b"]
    assert first["paging"]["total"] == 3
    assert [s["name"] for s in second["data"]] == ["c"]


def test_put_updates_and_keeps_the_destination_id(quiet, auth_headers):
    created = _create(quiet, auth_headers)

    response = quiet.put(URL, json=subscription(description="Ops", retries=5), headers=auth_headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == 0.2
    assert body["retries"] == 5
    assert body["destinations"][0]["id"] == created["destinations"][0]["id"]
    assert body["changeDescription"]["fieldsAdded"] == [{"name": "description", "newValue": "Ops"}]


def test_put_of_a_new_name_creates_it(quiet, auth_headers):
    response = quiet.put(URL, json=subscription(name="fresh"), headers=auth_headers)

    assert response.status_code == 201
    assert response.json()["name"] == "fresh"


def test_put_never_records_the_secret_key_in_the_change(quiet, auth_headers):
    _create(quiet, auth_headers, config={"secretKey": "old"})

    response = quiet.put(
        URL, json=subscription(config={"secretKey": "new-secret"}), headers=auth_headers
    )

    assert response.status_code == 200
    assert "new-secret" not in str(response.json()["changeDescription"])
    auth = response.json()["destinations"][0]["config"]["authType"]
    assert auth == {"type": "bearer", "secretKey": "new-secret"}


def test_put_with_another_endpoint_gives_a_new_destination_and_forgets_the_old(
    quiet, auth_headers, engine
):
    created = _create(quiet, auth_headers)

    response = quiet.put(
        URL, json=subscription(endpoint="http://127.0.0.1:9/other"), headers=auth_headers
    )

    assert response.status_code == 200, response.text
    new_id = response.json()["destinations"][0]["id"]
    assert new_id != created["destinations"][0]["id"]
    with engine.connect() as connection:
        kept = connection.execute(
            text("SELECT destination_id FROM subscription_delivery")
        ).scalars()
        assert list(kept) == [new_id]


def test_a_seeded_restart_never_gives_a_new_destination_a_stored_destination_id(
    make_client, auth_headers
):
    first = make_client(id_seed=42, subscription_delivery=False)
    # More destinations than the start's seeding draws ids for (and throws away) again.
    made = [_create(first, auth_headers, name=f"s{i}") for i in range(20)]

    again = make_client(id_seed=42, subscription_delivery=False)
    response = again.post(URL, json=subscription(name="new"), headers=auth_headers)

    assert response.status_code == 201, response.text
    stored = {s["destinations"][0]["id"] for s in made}
    assert response.json()["destinations"][0]["id"] not in stored


def test_create_with_a_destination_id_of_another_subscription_is_400(quiet, auth_headers):
    first = _create(quiet, auth_headers)
    taken = first["destinations"][0]["id"]
    body = subscription(name="second")
    body["destinations"][0]["id"] = taken

    response = quiet.post(URL, json=body, headers=auth_headers)

    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "message": f"Destination id {taken} belongs to another subscription",
    }


def test_patch_disables_and_the_status_says_disabled(quiet, auth_headers):
    created = _create(quiet, auth_headers)
    patch = [{"op": "replace", "path": "/enabled", "value": False}]

    response = quiet.patch(
        f"{URL}/{created['id']}", json=patch, headers={**auth_headers, **PATCH_TYPE}
    )

    assert response.status_code == 200, response.text
    assert response.json()["enabled"] is False
    assert _status(quiet, auth_headers, created["id"])["status"] == "disabled"


def test_disabled_destination_answers_status_disabled(fast, auth_headers):
    body = subscription()
    body["destinations"][0]["enabled"] = False
    with webhook_receiver() as receiver:
        body["destinations"][0]["config"]["endpoint"] = receiver.url
        created = fast.post(URL, json=body, headers=auth_headers).json()
        _service(fast, auth_headers, "svc_a")

        status = _status(fast, auth_headers, created["id"])

    assert status["status"] == "disabled"


def test_versions_lists_every_version_newest_first(quiet, auth_headers):
    created = _create(quiet, auth_headers)
    quiet.put(URL, json=subscription(description="Ops"), headers=auth_headers)

    response = quiet.get(f"{URL}/{created['id']}/versions", headers=auth_headers)

    assert response.status_code == 200
    assert response.json()["entityType"] == "eventSubscription"
    versions = [json.loads(v)["version"] for v in response.json()["versions"]]
    assert versions == [0.2, 0.1]


@pytest.mark.parametrize("by", ["id", "name"])
def test_delete_removes_the_subscription_for_good(quiet, auth_headers, engine, by):
    created = _create(quiet, auth_headers)
    path = f"{URL}/{created['id']}" if by == "id" else f"{URL}/name/hook"

    response = quiet.delete(path, headers=auth_headers)

    assert response.status_code == 200
    assert response.json()["id"] == created["id"]
    assert quiet.get(f"{URL}/{created['id']}", headers=auth_headers).status_code == 404
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT count(*) FROM subscription_delivery")).scalar()
    assert rows == 0


def test_failed_events_of_an_unknown_subscription_is_404(quiet, auth_headers):
    missing = str(uuid.uuid4())

    response = quiet.get(f"{URL}/id/{missing}/failedEvents", headers=auth_headers)

    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "message": f"eventSubscription instance for {missing} not found",
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"trigger": {"triggerType": "Scheduled", "scheduleInfo": "Daily"}},
            "Trigger type Scheduled is not supported: only RealTime subscriptions are delivered",
        ),
        (
            {"destinations": [{"category": "External", "type": "Slack", "config": {}}]},
            "Destination type Slack is not supported: only Webhook destinations are delivered",
        ),
        (
            {"destinations": [{"category": "Admins", "type": "Email"}]},
            "Destination category Admins is not supported: only External destinations are "
            "delivered",
        ),
        (
            {"destinations": [{"category": "External", "type": "Webhook", "config": {}}]},
            "A Webhook destination needs config.endpoint",
        ),
        (
            {
                "destinations": [
                    {"category": "External", "type": "Webhook", "config": {"endpoint": "ftp://x"}}
                ]
            },
            "config.endpoint ftp://x is not an http or https URL",
        ),
        (
            {"input": {"filters": [{"name": "filterByOwnerName", "arguments": []}]}},
            "Filter filterByOwnerName is not supported; supported filters: filterByEventType, "
            "filterByFqn, filterByUpdaterName",
        ),
        (
            {
                "input": {
                    "filters": [
                        {
                            "name": "filterByFqn",
                            "arguments": [{"name": "entityNameList", "input": ["a"]}],
                        }
                    ]
                }
            },
            "Filter filterByFqn takes the argument fqnList, not entityNameList",
        ),
        (
            {"input": {"actions": [{"name": "filterByFqn"}]}},
            "input.actions is not supported: only input.filters are evaluated",
        ),
        (
            {"resources": ["table"]},
            "Resource table is not supported; use all or one of classification, domain, "
            "eventSubscription, mlmodel, mlmodelService, tag, team, user",
        ),
    ],
)
def test_create_of_what_cannot_be_delivered_is_400(quiet, auth_headers, overrides, message):
    response = quiet.post(URL, json=subscription(**overrides), headers=auth_headers)

    assert response.status_code == 400, response.text
    assert response.json() == {"code": 400, "message": message}
    assert quiet.get(URL, headers=auth_headers).json()["paging"]["total"] == 0


def test_create_without_alert_type_is_400(quiet, auth_headers):
    body = subscription()
    del body["alertType"]

    response = quiet.post(URL, json=body, headers=auth_headers)

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": "[query param alertType must not be null]"}


# ---------------------------------------------------------------------------- delivery


def test_events_are_delivered_signed_with_the_configured_headers(fast, auth_headers):
    with webhook_receiver() as receiver:
        config = {"secretKey": "s3cret", "headers": {"X-Team": "ops"}}
        created = _create(fast, auth_headers, endpoint=receiver.url, config=config)
        _service(fast, auth_headers, "svc_a")

        (event,) = receiver.wait_for_events(1)
        (request,) = receiver.received
        status = _wait_status(fast, auth_headers, created["id"], "active", receiver)

    expected = "sha256=" + hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-OM-Signature"] == expected
    assert request.headers["X-Team"] == "ops"
    assert request.headers["Content-Type"] == "application/json"
    assert request.method == "POST"
    assert (event["eventType"], event["entityType"], event["entityFullyQualifiedName"]) == (
        "entityCreated",
        "mlmodelService",
        "svc_a",
    )
    assert isinstance(status["lastSuccessfulAt"], int)


def test_bearer_auth_type_signs_each_event(fast, auth_headers):
    with webhook_receiver() as receiver:
        config = {"authType": {"type": "bearer", "secretKey": "s3cret"}}
        _create(fast, auth_headers, endpoint=receiver.url, config=config)
        _service(fast, auth_headers, "svc_a")

        receiver.wait_for_events(1)
        (request,) = receiver.received

    expected = "sha256=" + hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-OM-Signature"] == expected


def test_query_params_are_added_to_the_endpoint(fast, auth_headers):
    with webhook_receiver() as receiver:
        config = {"queryParams": {"team": "ml ops", "page": 2, "dry": True}}
        created = _create(fast, auth_headers, endpoint=receiver.url + "?k=v", config=config)
        _service(fast, auth_headers, "svc_a")

        receiver.wait_for_events(1)
        (request,) = receiver.received

    assert created["destinations"][0]["config"]["queryParams"] == config["queryParams"]
    path, _, query = request.path.partition("?")
    # The endpoint's own query first; PostgreSQL keeps queryParams in its own key order.
    assert (path, parse_qsl(query)[0]) == ("/hook", ("k", "v"))
    assert sorted(parse_qsl(query)) == [
        ("dry", "true"),
        ("k", "v"),
        ("page", "2"),
        ("team", "ml ops"),
    ]


def test_events_are_delivered_in_order_without_signature_when_no_secret(fast, auth_headers):
    with webhook_receiver() as receiver:
        _create(fast, auth_headers, endpoint=receiver.url, config={"httpMethod": "PUT"})
        for name in ("svc_a", "svc_b", "svc_c"):
            _service(fast, auth_headers, name)

        events = receiver.wait_for_events(3)

    assert [e["entityFullyQualifiedName"] for e in events] == ["svc_a", "svc_b", "svc_c"]
    assert {r.method for r in receiver.received} == {"PUT"}
    assert all("X-OM-Signature" not in r.headers for r in receiver.received)


def test_filters_and_resources_choose_the_events_sent(fast, auth_headers):
    include = {
        "name": "filterByFqn",
        "effect": "include",
        "arguments": [{"name": "fqnList", "input": ["svc_a", "svc_b"]}],
    }
    created_only = {
        "name": "filterByEventType",
        "arguments": [{"name": "eventTypeList", "input": ["entityCreated"]}],
    }
    not_jane = {
        "name": "filterByUpdaterName",
        "effect": "exclude",
        "arguments": [{"name": "updateByUserList", "input": ["jane"]}],
    }
    with webhook_receiver() as receiver:
        _create(
            fast,
            auth_headers,
            endpoint=receiver.url,
            input={"filters": [include, created_only, not_jane]},
        )
        # A team (another resource), an FQN not included, then an update (not a create).
        fast.post("/api/v1/teams", json={"name": "t", "teamType": "Group"}, headers=auth_headers)
        _service(fast, auth_headers, "svc_x")
        _service(fast, auth_headers, "svc_a")
        fast.put(SERVICES_URL, json=create_request("svc_a", description="d"), headers=auth_headers)
        _service(fast, auth_headers, "svc_b")

        events = receiver.wait_for_events(2)

    assert [(e["eventType"], e["entityFullyQualifiedName"]) for e in events] == [
        ("entityCreated", "svc_a"),
        ("entityCreated", "svc_b"),
    ]


def test_filter_by_updater_name_excludes_that_user(fast, auth_headers, bot_headers):
    not_bot = {
        "name": "filterByUpdaterName",
        "effect": "exclude",
        "arguments": [{"name": "updateByUserList", "input": ["ingestion-bot"]}],
    }
    with webhook_receiver() as receiver:
        _create(fast, auth_headers, endpoint=receiver.url, input={"filters": [not_bot]})
        _service(fast, bot_headers, "by_bot")
        _service(fast, auth_headers, "by_admin")

        events = receiver.wait_for_events(1)

    assert [(e["userName"], e["entityFullyQualifiedName"]) for e in events] == [
        ("admin", "by_admin")
    ]


def test_failed_delivery_is_retried_until_it_succeeds(fast, auth_headers):
    with webhook_receiver(failures=2) as receiver:
        created = _create(fast, auth_headers, endpoint=receiver.url)
        _service(fast, auth_headers, "svc_a")

        (event,) = receiver.wait_for_events(1)
        status = _wait_status(fast, auth_headers, created["id"], "active", receiver)

    assert [a.event["id"] for a in receiver.attempts] == [event["id"]] * 3
    assert status["lastFailedStatusCode"] == 503
    assert status["lastFailedReason"] == "503 Service Unavailable"
    assert status["lastSuccessfulAt"] >= status["lastFailedAt"]


def test_event_past_its_retries_is_a_failed_event_and_delivery_moves_on(fast, auth_headers):
    with webhook_receiver(failures=2, status_on_failure=500) as receiver:
        created = _create(fast, auth_headers, endpoint=receiver.url, retries=1)
        _service(fast, auth_headers, "svc_a")
        status = _wait_status(fast, auth_headers, created["id"], "retryLimitReached", receiver)
        _service(fast, auth_headers, "svc_b")

        (delivered,) = receiver.wait_for_events(1)
        failed = fast.get(f"{URL}/id/{created['id']}/failedEvents", headers=auth_headers)

    assert delivered["entityFullyQualifiedName"] == "svc_b"
    assert [a.event["entityFullyQualifiedName"] for a in receiver.attempts] == [
        "svc_a",
        "svc_a",
        "svc_b",
    ]
    assert status["lastFailedStatusCode"] == 500
    assert failed.status_code == 200
    (record,) = failed.json()
    assert record["failingSubscriptionId"] == created["id"]
    assert record["changeEvent"]["entityFullyQualifiedName"] == "svc_a"
    assert record["reason"] == "500 Internal Server Error"
    assert record["source"] == "Publisher"


def test_disabled_subscription_sends_nothing_and_resumes_from_its_cursor(fast, auth_headers):
    with webhook_receiver() as receiver:
        created = _create(fast, auth_headers, endpoint=receiver.url, enabled=False)
        _service(fast, auth_headers, "svc_a")
        status = _status(fast, auth_headers, created["id"])
        sent_while_disabled = len(receiver.attempts)
        patch = [{"op": "replace", "path": "/enabled", "value": True}]
        enabled = fast.patch(
            f"{URL}/{created['id']}", json=patch, headers={**auth_headers, **PATCH_TYPE}
        )
        _service(fast, auth_headers, "svc_b")

        events = receiver.wait_for_events(2)

    assert status["status"] == "disabled"
    assert sent_while_disabled == 0
    assert enabled.status_code == 200
    assert [e["entityFullyQualifiedName"] for e in events] == ["svc_a", "svc_b"]


def _set_aside(engine) -> bool:
    """Whether the one destination is leased by no worker and still no poll would claim it,
    both read in one snapshot."""
    with engine.connect().execution_options(isolation_level="SERIALIZABLE") as connection:
        leased = connection.execute(select(DELIVERY.c.lease_owner)).scalar_one()
        return leased is None and not delivery.pending(connection, "a-worker", real_now_ms())


def test_disabled_subscription_is_no_poll_s_work_until_enabled_again(fast, auth_headers, engine):
    with webhook_receiver() as receiver:
        created = _create(fast, auth_headers, endpoint=receiver.url, enabled=False)
        _service(fast, auth_headers, "svc_a")
        # Seen once, then set aside: an idle poll only reads.
        receiver.wait_for(lambda _: _set_aside(engine))
        patch = [{"op": "replace", "path": "/enabled", "value": True}]
        fast.patch(f"{URL}/{created['id']}", json=patch, headers={**auth_headers, **PATCH_TYPE})

        events = receiver.wait_for_events(1)

    assert [e["entityFullyQualifiedName"] for e in events] == ["svc_a"]


def test_write_is_answered_while_the_endpoint_is_unreachable(fast, auth_headers):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with webhook_receiver() as clock:
        created = _create(fast, auth_headers, endpoint=f"http://127.0.0.1:{port}/hook")

        response = fast.post(SERVICES_URL, json=create_request("svc_a"), headers=auth_headers)
        status = _wait_status(fast, auth_headers, created["id"], "awaitingRetry", clock)

    assert response.status_code == 201
    assert status["lastFailedReason"].startswith("ConnectError")
    assert "lastFailedStatusCode" not in status
    assert status["nextAttempt"] > status["lastFailedAt"]


# ---------------------------------------------------------------------------- broken state


def _stored_status(engine, subscription_id: str) -> dict[str, Any]:
    """The delivery's status details as stored (a subscription that no longer opens
    cannot be read through the API)."""
    with engine.connect() as connection:
        status: dict[str, Any] = connection.execute(
            select(DELIVERY.c.status).where(DELIVERY.c.subscription_id == subscription_id)
        ).scalar_one()
    return status


def _edit_stored_destination(engine, subscription_id: str, edit) -> None:
    # The delivery task writes on its own 20 ms poll: this read-then-write transaction takes
    # the write lock first (BEGIN IMMEDIATE on SQLite), so it waits on busy_timeout instead of
    # failing when a delivery commits between its read and its write.
    with engine.connect() as connection:
        begin_writing(connection)
        connection.begin()
        doc = connection.execute(
            select(SUBSCRIPTIONS.c.doc).where(SUBSCRIPTIONS.c.id == subscription_id)
        ).scalar_one()
        edit(doc["destinations"][0])
        connection.execute(
            update(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == subscription_id).values(doc=doc)
        )
        connection.commit()


def _corrupt_secret_key(destination: dict[str, Any]) -> None:
    """The stored ciphertext (config.secretKey or authType.secretKey) no longer opens."""
    config = destination["config"]
    holder = config if "secretKey" in config else config["authType"]
    assert holder["secretKey"].startswith("fernet:")
    holder["secretKey"] = "fernet:gAAAAAbroken"


def test_a_secret_key_that_no_longer_decrypts_fails_its_destination_alone(
    fast, auth_headers, engine
):
    with webhook_receiver() as good, webhook_receiver() as bad:
        body = subscription(bad.url, name="broken", config={"secretKey": "s3cret"})
        broken = fast.post(URL, json=body, headers=auth_headers).json()
        _create(fast, auth_headers, name="fine", endpoint=good.url)
        # As after a restart with another secrets key: the ciphertext no longer opens.
        _edit_stored_destination(engine, broken["id"], _corrupt_secret_key)
        _service(fast, auth_headers, "svc_a")

        (delivered,) = good.wait_for_events(1)
        bad.wait_for(lambda _: _stored_status(engine, broken["id"])["status"] == "failed")
        status = _stored_status(engine, broken["id"])
        with engine.connect() as connection:
            lease = connection.execute(
                select(DELIVERY.c.lease_owner).where(DELIVERY.c.subscription_id == broken["id"])
            ).scalar_one()
        sent_while_broken = len(bad.attempts)

    assert delivered["entityFullyQualifiedName"] == "svc_a"
    assert "MLMODEL_EMULATOR_SECRETS_PREVIOUS_KEY" in status["lastFailedReason"]
    assert isinstance(status["lastFailedAt"], int)
    assert lease is None
    assert sent_while_broken == 0


def test_a_stored_destination_that_no_longer_reads_fails_alone(fast, auth_headers, engine):
    with webhook_receiver() as good:
        broken = _create(fast, auth_headers, name="broken")
        _create(fast, auth_headers, name="fine", endpoint=good.url)
        _edit_stored_destination(engine, broken["id"], lambda d: d["config"].pop("endpoint"))
        _service(fast, auth_headers, "svc_a")
        _service(fast, auth_headers, "svc_b")

        events = good.wait_for_events(2)
        good.wait_for(lambda _: _stored_status(engine, broken["id"])["status"] == "failed")
        status = _stored_status(engine, broken["id"])

    assert [e["entityFullyQualifiedName"] for e in events] == ["svc_a", "svc_b"]
    assert status["lastFailedReason"].startswith("the stored subscription cannot be delivered")
    assert "endpoint" in status["lastFailedReason"]
