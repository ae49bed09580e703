"""PUT /api/v1/services/mlmodelServices/bulk: many create requests, each on its own."""

from __future__ import annotations

from sqlalchemy import event

from mlmodel_emulator.db import statements as db_statements
from tests.factories import SERVICES_URL, create_request

BULK_URL = f"{SERVICES_URL}/bulk?async=false&overrideMetadata=false"


def test_bulk_seed_example_creates_both(client, auth_headers):
    payload = [
        {
            "name": "mlflow_prod",
            "serviceType": "Mlflow",
            "connection": {"config": {"type": "Mlflow", "trackingUri": "http://mlflow-prod:8088"}},
        },
        {
            "name": "sagemaker_prod",
            "serviceType": "SageMaker",
            "connection": {"config": {"type": "SageMaker"}},
        },
    ]

    response = client.put(BULK_URL, json=payload, headers=auth_headers)

    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "numberOfRowsProcessed": 2,
        "numberOfRowsPassed": 2,
        "numberOfRowsFailed": 0,
        "successRequest": [
            {"request": "mlflow_prod", "status": 201, "message": "entityCreated"},
            {"request": "sagemaker_prod", "status": 201, "message": "entityCreated"},
        ],
        "failedRequest": [],
    }
    stored = client.get(f"{SERVICES_URL}/name/sagemaker_prod", headers=auth_headers).json()
    assert stored["version"] == 0.1


def test_bulk_bad_items_fail_alone(client, auth_headers):
    payload = [
        create_request("good"),
        {"name": "no-type"},
        "not an object",
        create_request("bad-config", connection={"config": {"nope": 1}}),
    ]

    response = client.put(BULK_URL, json=payload, headers=auth_headers)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "partialSuccess"
    assert (
        body["numberOfRowsProcessed"],
        body["numberOfRowsPassed"],
        body["numberOfRowsFailed"],
    ) == (4, 1, 3)
    assert body["successRequest"] == [
        {"request": "good", "status": 201, "message": "entityCreated"}
    ]
    assert body["failedRequest"] == [
        {
            "request": {"name": "no-type"},
            "status": 400,
            "message": "[query param serviceType must not be null]",
        },
        {"request": "not an object", "status": 400, "message": "[must be an object]"},
        {
            "request": payload[3],
            "status": 400,
            "message": "Failed to encrypt 'Mlflow' connection stored in DB due to an "
            "unrecognized field: 'nope'",
        },
    ]
    assert client.get(SERVICES_URL, headers=auth_headers).json()["paging"]["total"] == 1


def test_bulk_all_items_bad_reports_failure(client, auth_headers):
    response = client.put(BULK_URL, json=[{"name": "x"}], headers=auth_headers)

    assert response.status_code == 200
    assert response.json()["status"] == "failure"
    assert response.json()["numberOfRowsFailed"] == 1


def test_bulk_existing_names_are_updated_with_put_rules(client, auth_headers):
    client.put(SERVICES_URL, json=create_request("a", description="old"), headers=auth_headers)
    client.put(SERVICES_URL, json=create_request("b", description="same"), headers=auth_headers)

    response = client.put(
        BULK_URL,
        json=[create_request("a", description="new"), create_request("b", description="same")],
        headers=auth_headers,
    )

    assert response.json()["successRequest"] == [
        {"request": "a", "status": 200, "message": "entityUpdated"},
        {"request": "b", "status": 200, "message": "entityNoChange"},
    ]
    a = client.get(f"{SERVICES_URL}/name/a", headers=auth_headers).json()
    assert (a["version"], a["description"]) == (0.2, "new")
    history = client.get(f"{SERVICES_URL}/{a['id']}/versions", headers=auth_headers).json()
    assert len(history["versions"]) == 2
    b = client.get(f"{SERVICES_URL}/name/b", headers=auth_headers).json()
    assert b["version"] == 0.1


def test_bulk_same_name_twice_is_created_then_updated(client, auth_headers):
    payload = [
        create_request("twice", description="one"),
        create_request("twice", description="two"),
    ]

    response = client.put(BULK_URL, json=payload, headers=auth_headers)

    assert response.json()["successRequest"] == [
        {"request": "twice", "status": 201, "message": "entityCreated"},
        {"request": "twice", "status": 200, "message": "entityUpdated"},
    ]
    stored = client.get(f"{SERVICES_URL}/name/twice", headers=auth_headers).json()
    assert (stored["version"], stored["description"]) == (0.2, "two")
    old = client.get(f"{SERVICES_URL}/{stored['id']}/versions/0.1", headers=auth_headers).json()
    assert old["description"] == "one"


def test_bulk_over_the_limit_returns_413(make_client, auth_headers):
    client = make_client(bulk_max_items=2)

    response = client.put(
        BULK_URL, json=[create_request(f"s{i}") for i in range(3)], headers=auth_headers
    )

    assert response.status_code == 413
    assert response.json() == {"code": 413, "message": "Bulk request holds 3 items; the limit is 2"}
    assert client.get(SERVICES_URL, headers=auth_headers).json()["paging"]["total"] == 0


def test_bulk_default_limit_is_100(client, auth_headers):
    response = client.put(
        BULK_URL, json=[create_request(f"s{i}") for i in range(101)], headers=auth_headers
    )

    assert response.status_code == 413


def test_bulk_body_not_an_array_returns_400(client, auth_headers):
    response = client.put(BULK_URL, json={"name": "x"}, headers=auth_headers)

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": "[must be an array]"}


def test_bulk_statement_count_does_not_grow_with_items(client, auth_headers, engine, monkeypatch):
    # Half the items update existing services, half create new ones.
    client.put(BULK_URL, json=[create_request(f"s{i}") for i in range(50)], headers=auth_headers)
    app_engine = client.app.state.database.engine
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    # On SQLite the hot statements go to the driver, past SQLAlchemy's events.
    run_direct = db_statements._DirectSql.run

    def counted(self, connection, params):
        statements.append(self.sql)
        return run_direct(self, connection, params)

    monkeypatch.setattr(db_statements._DirectSql, "run", counted)
    event.listen(app_engine, "before_cursor_execute", listener)
    try:
        payload = [create_request(f"s{i}", description="d") for i in range(100)]
        response = client.put(BULK_URL, json=payload, headers=auth_headers)
    finally:
        event.remove(app_engine, "before_cursor_execute", listener)

    assert response.json()["numberOfRowsPassed"] == 100
    assert len(statements) <= 6


def test_bulk_override_metadata_lets_a_bot_overwrite_a_description(
    client, auth_headers, bot_headers
):
    client.put(SERVICES_URL, json=create_request("a", description="human"), headers=auth_headers)

    client.put(
        f"{SERVICES_URL}/bulk?overrideMetadata=true",
        json=[create_request("a", description="source")],
        headers=bot_headers,
    )

    assert (
        client.get(f"{SERVICES_URL}/name/a", headers=auth_headers).json()["description"] == "source"
    )


def test_bulk_by_bot_without_override_keeps_a_description(client, auth_headers, bot_headers):
    client.put(SERVICES_URL, json=create_request("a", description="human"), headers=auth_headers)

    client.put(BULK_URL, json=[create_request("a", description="source")], headers=bot_headers)

    assert (
        client.get(f"{SERVICES_URL}/name/a", headers=auth_headers).json()["description"] == "human"
    )


def test_bulk_unstorable_item_is_echoed_and_fails_alone(client, auth_headers):
    body = b'[{"name": "ok", "serviceType": "Sklearn"}, {"name": "big", "x": 10' + b"0" * 22 + b"}]"

    response = client.put(
        BULK_URL, content=body, headers={**auth_headers, "Content-Type": "application/json"}
    )

    assert response.status_code == 200
    assert response.json()["numberOfRowsPassed"] == 1
    assert response.json()["failedRequest"][0]["request"] == {
        "name": "big",
        "x": 100000000000000000000000,
    }
