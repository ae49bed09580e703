"""GET /api/__emulator/export and POST /api/__emulator/import: the whole state as one
versioned document, replaced in one transaction."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.factories import (
    MLMODELS_URL,
    SERVICES_URL,
    create_request,
    model_request,
    subscription,
)

EXPORT_URL = "/api/__emulator/export"
IMPORT_URL = "/api/__emulator/import"
RESET_URL = "/api/__emulator/reset"
GOVERNANCE_URLS = (
    "/api/v1/users",
    "/api/v1/teams",
    "/api/v1/domains",
    "/api/v1/classifications",
    "/api/v1/tags",
)
SECRET = "aws-s3cr3t-value"
HOOK_SECRET = "hook-s3cr3t-value"
SUBSCRIPTIONS_URL = "/api/v1/events/subscriptions"
SUBSCRIPTION = subscription(config={"secretKey": HOOK_SECRET})
SAGEMAKER = {
    "name": "sm",
    "serviceType": "SageMaker",
    "connection": {
        "config": {"awsConfig": {"awsRegion": "eu-west-1", "awsSecretAccessKey": SECRET}}
    },
}

Headers = dict[str, str]


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _build_state(client: TestClient, admin: Headers) -> str:
    """Every kind of stored entity, with history, relations, a soft delete and a job (whose
    id is returned)."""
    alice = _ok(client.post("/api/v1/users", json=_user("alice"), headers=admin), 201)
    _ok(client.post("/api/v1/users", json=_user("bob"), headers=admin), 201)
    team = {"name": "ml-team", "users": [alice["id"]]}
    _ok(client.post("/api/v1/teams", json=team, headers=admin), 201)
    domain = {"name": "Marketing", "domainType": "Aggregate", "description": "Marketing data"}
    _ok(client.post("/api/v1/domains", json=domain, headers=admin), 201)
    quality = {"name": "Quality", "description": "How good the data is"}
    _ok(client.post("/api/v1/classifications", json=quality, headers=admin), 201)
    gold = {"name": "Gold", "classification": "Quality", "description": "Gold data"}
    _ok(client.post("/api/v1/tags", json=gold, headers=admin), 201)

    governed = create_request(
        "svc_a",
        owners=[{"id": alice["id"], "type": "user"}],
        tags=[{"tagFQN": "PII.Sensitive"}, {"tagFQN": "Quality.Gold"}],
        domains=["Marketing"],
    )
    service = _ok(client.put(SERVICES_URL, json=governed, headers=admin), 201)
    changed = {**governed, "description": "second version"}
    _ok(client.put(SERVICES_URL, json=changed, headers=admin))
    patch = [{"op": "add", "path": "/displayName", "value": "Service A"}]
    patched = client.patch(
        f"{SERVICES_URL}/{service['id']}",
        content=json.dumps(patch),
        headers={**admin, "Content-Type": "application/json-patch+json"},
    )
    # Merged into the PUT's version: the same user's editing session.
    assert _ok(patched)["version"] == 0.2
    followers = f"{SERVICES_URL}/{service['id']}/followers"
    _ok(client.put(followers, json=alice["id"], headers=admin))
    _ok(client.put(SERVICES_URL, json=SAGEMAKER, headers=admin), 201)

    model = model_request("churn", service="svc_a", domains=["Marketing"])
    _ok(client.put(MLMODELS_URL, json=model, headers=admin), 201)
    _ok(client.put(MLMODELS_URL, json={**model, "algorithm": "lightgbm"}, headers=admin))

    gone = _ok(client.put(SERVICES_URL, json=create_request("svc_gone"), headers=admin), 201)
    _ok(client.delete(f"{SERVICES_URL}/{gone['id']}", headers=admin))
    later = _ok(client.put(SERVICES_URL, json=create_request("svc_later"), headers=admin), 201)
    job: str = _ok(client.delete(f"{SERVICES_URL}/async/{later['id']}", headers=admin), 202)[
        "jobId"
    ]
    _ok(client.put(SUBSCRIPTIONS_URL, json=SUBSCRIPTION, headers=admin), 201)
    _ok(client.put(SUBSCRIPTIONS_URL, json={**SUBSCRIPTION, "retries": 1}, headers=admin))
    return job


def _user(name: str) -> dict[str, Any]:
    return {"name": name, "email": f"{name}@example.com"}


def _reads(client: TestClient, headers: Headers, job: str) -> dict[str, Any]:
    """Every read the API offers on the stored state, answer by answer."""
    reads: dict[str, Any] = {}

    def read(url: str, **params: Any) -> Any:
        response = client.get(url, params=params, headers=headers)
        body = _ok(response)
        reads[f"{url} {params}"] = (body, response.headers.get("etag"))
        return body

    everything = {"fields": "*", "include": "all"}
    for url in (SERVICES_URL, MLMODELS_URL):
        for entity in read(url, limit=1000, **everything)["data"]:
            read(f"{url}/name/{entity['fullyQualifiedName']}", **everything)
            read(f"{url}/{entity['id']}", **everything)
            for version in read(f"{url}/{entity['id']}/versions")["versions"]:
                read(f"{url}/{entity['id']}/versions/{json.loads(version)['version']}")
    for url in GOVERNANCE_URLS:
        for entity in read(url, limit=1000, include="all")["data"]:
            read(f"{url}/name/{entity['fullyQualifiedName']}", include="all")
    for entity in read(SUBSCRIPTIONS_URL, limit=1000)["data"]:
        read(f"{SUBSCRIPTIONS_URL}/name/{entity['name']}")
        for version in read(f"{SUBSCRIPTIONS_URL}/{entity['id']}/versions")["versions"]:
            read(f"{SUBSCRIPTIONS_URL}/{entity['id']}/versions/{json.loads(version)['version']}")
    read(f"/api/v1/jobs/{job}")
    return reads


def _export(client: TestClient, headers: Headers) -> dict[str, Any]:
    document: dict[str, Any] = _ok(client.get(EXPORT_URL, headers=headers))
    document.pop("exportedAt")
    return document


def _services(client: TestClient, headers: Headers) -> list[str]:
    listing = _ok(client.get(SERVICES_URL, params={"include": "all"}, headers=headers))
    return [service["name"] for service in listing["data"]]


def test_export_reset_import_answers_every_read_as_before(
    make_client: Any, auth_headers: Headers, bot_headers: Headers
) -> None:
    client = make_client(admin_api=True)
    job = _build_state(client, auth_headers)
    before = {"user": _reads(client, auth_headers, job), "bot": _reads(client, bot_headers, job)}
    document = _ok(client.get(EXPORT_URL, headers=auth_headers))
    _ok(client.post(RESET_URL, headers=auth_headers), 204)
    assert _services(client, auth_headers) == []

    response = client.post(IMPORT_URL, json=document, headers=auth_headers)

    assert _ok(response)["rows"] == {name: len(rows) for name, rows in document["tables"].items()}
    after = {"user": _reads(client, auth_headers, job), "bot": _reads(client, bot_headers, job)}
    assert after == before
    # What was read covers every kind of row the document holds.
    assert {name for name, rows in document["tables"].items() if not rows} == set()
    # The secret stored encrypted still decrypts: a bot reads it in clear.
    sagemaker = _ok(client.get(f"{SERVICES_URL}/name/sm", headers=bot_headers))
    assert sagemaker["connection"]["config"]["awsConfig"]["awsSecretAccessKey"] == SECRET
    assert SECRET not in json.dumps(document)
    assert HOOK_SECRET not in json.dumps(document)
    hook = _ok(client.get(f"{SUBSCRIPTIONS_URL}/name/hook", headers=auth_headers))
    assert hook["destinations"][0]["config"]["authType"] == {
        "type": "bearer",
        "secretKey": HOOK_SECRET,
    }
    exported_again = _export(client, auth_headers)
    assert exported_again == {k: v for k, v in document.items() if k != "exportedAt"}


def test_export_is_versioned_and_lists_every_table(
    make_client: Any, auth_headers: Headers, engine: Any
) -> None:
    client = make_client(admin_api=True)

    document = _ok(client.get(EXPORT_URL, headers=auth_headers))

    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert document["format"] == "mlmodel-emulator-state"
    assert document["formatVersion"] == 1
    assert document["schemaRevision"] == revision
    assert set(document["tables"]) == {
        "app_user",
        "team",
        "team_member",
        "domain",
        "classification",
        "tag",
        "mlmodel_service",
        "mlmodel_service_version",
        "mlmodel_service_domain",
        "mlmodel",
        "mlmodel_version",
        "mlmodel_domain",
        "job",
        "event_subscription",
        "event_subscription_version",
    }
    users = document["tables"]["app_user"]
    assert sorted(row["name"] for row in users) == ["admin", "ingestion-bot"]
    # Rows come in primary key order, so that two exports of one state are equal.
    assert [row["id"] for row in users] == sorted(row["id"] for row in users)


def _row(document: dict[str, Any], table: str, index: int = 0) -> dict[str, Any]:
    row: dict[str, Any] = document["tables"][table][index]
    return row


Mutation = Callable[[dict[str, Any]], None]

BAD_DOCUMENTS: dict[str, tuple[Mutation, str]] = {
    "another format version": (
        lambda d: d.update(formatVersion=2),
        "its format version is 2; this server reads version 1",
    ),
    "another schema revision": (
        lambda d: d.update(schemaRevision="0000aaaa"),
        "its rows fit schema revision '0000aaaa', and this database is at",
    ),
    "not a state document": (lambda d: d.pop("format"), '"format": "mlmodel-emulator-state"'),
    "an unknown table": (
        lambda d: d["tables"].update(dashboard=[]),
        '"tables" must be an object of exactly the tables',
    ),
    "a missing column": (
        lambda d: _row(d, "mlmodel_service").pop("updated_at"),
        "tables.mlmodel_service[0] must have exactly the columns",
    ),
    "a value of the wrong type": (
        lambda d: _row(d, "mlmodel_service").update(version_tenths="3"),
        "tables.mlmodel_service[0].version_tenths must be an integer within 32 bits",
    ),
    "a column that disagrees with its document": (
        lambda d: _row(d, "mlmodel_service").update(fqn="elsewhere"),
        "tables.mlmodel_service[0]: columns ['fqn'] disagree with its document",
    ),
    "a NUL character": (
        lambda d: _row(d, "mlmodel_version")["doc"].update(description="a\x00b"),
        "tables.mlmodel_version[0]: doc.description must not contain the NUL character",
    ),
    # Refused by the database itself, after the tables were emptied and others filled:
    # the transaction rolls back.
    "a duplicate key": (
        lambda d: d["tables"]["mlmodel_version"].append(copy.deepcopy(_row(d, "mlmodel_version"))),
        "tables.mlmodel_version:",
    ),
    "a row naming a missing parent": (
        lambda d: _row(d, "mlmodel_version").update(mlmodel_id="3f2a1c7e-0000-4000-8000-0000"),
        "tables.mlmodel_version:",
    ),
}


@pytest.mark.parametrize("case", list(BAD_DOCUMENTS))
def test_import_of_a_bad_document_is_refused_and_changes_nothing(
    make_client: Any, auth_headers: Headers, case: str
) -> None:
    client = make_client(admin_api=True)
    _build_state(client, auth_headers)
    document = _ok(client.get(EXPORT_URL, headers=auth_headers))
    state = _export(client, auth_headers)
    mutate, message = BAD_DOCUMENTS[case]
    mutate(document)

    response = client.post(IMPORT_URL, json=document, headers=auth_headers)

    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"code", "message"}
    assert body["message"].startswith("The state document cannot be imported: ")
    assert message in body["message"]
    assert _export(client, auth_headers) == state


def test_import_gives_the_subscriptions_destinations_their_place_in_the_feed(
    make_client: Any, auth_headers: Headers, engine: Any
) -> None:
    client = make_client(admin_api=True)
    created = _ok(client.put(SUBSCRIPTIONS_URL, json=SUBSCRIPTION, headers=auth_headers), 201)
    _ok(client.put(SERVICES_URL, json=SAGEMAKER, headers=auth_headers), 201)
    document = _ok(client.get(EXPORT_URL, headers=auth_headers))
    _ok(client.post(RESET_URL, headers=auth_headers), 204)

    _ok(client.post(IMPORT_URL, json=document, headers=auth_headers))

    # In the import's own transaction, before any delivery task polls (none runs here).
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT destination_id, cursor_seq FROM subscription_delivery")
        ).all()
    assert [(row.destination_id, row.cursor_seq) for row in rows] == [
        (created["destinations"][0]["id"], 0)
    ]


def test_import_with_another_secrets_key_is_refused_and_changes_nothing(
    make_client: Any, auth_headers: Headers
) -> None:
    exporter = make_client(admin_api=True)
    _ok(exporter.put(SERVICES_URL, json=SAGEMAKER, headers=auth_headers), 201)
    document = _ok(exporter.get(EXPORT_URL, headers=auth_headers))
    importer = make_client(admin_api=True, secrets_key=Fernet.generate_key().decode())
    _ok(importer.post(RESET_URL, headers=auth_headers), 204)

    response = importer.post(IMPORT_URL, json=document, headers=auth_headers)

    assert response.status_code == 400, response.text
    assert "does not decrypt with this server's secrets key" in response.json()["message"]
    assert _services(importer, auth_headers) == []


def test_import_with_the_former_key_as_previous_key_decrypts(
    make_client: Any, auth_headers: Headers, bot_headers: Headers, settings: Any
) -> None:
    exporter = make_client(admin_api=True, secrets_key=Fernet.generate_key().decode())
    _ok(exporter.put(SERVICES_URL, json=SAGEMAKER, headers=auth_headers), 201)
    document = _ok(exporter.get(EXPORT_URL, headers=auth_headers))
    former = exporter.app.state.settings.secrets_key
    importer = make_client(
        admin_api=True, secrets_key=Fernet.generate_key().decode(), secrets_previous_key=former
    )

    _ok(importer.post(IMPORT_URL, json=document, headers=auth_headers))

    sagemaker = _ok(importer.get(f"{SERVICES_URL}/name/sm", headers=bot_headers))
    assert sagemaker["connection"]["config"]["awsConfig"]["awsSecretAccessKey"] == SECRET


def test_import_of_a_body_that_is_no_object_is_a_400(
    make_client: Any, auth_headers: Headers
) -> None:
    client = make_client(admin_api=True)

    response = client.post(IMPORT_URL, json=[1, 2], headers=auth_headers)

    assert response.status_code == 400
    assert set(response.json()) == {"code", "message"}
    assert "admin" in [
        user["name"] for user in _ok(client.get("/api/v1/users", headers=auth_headers))["data"]
    ]


def test_export_and_import_are_for_admins_only(
    make_client: Any, auth_headers: Headers, bot_headers: Headers, user_headers: Any
) -> None:
    client = make_client(admin_api=True)
    document = _ok(client.get(EXPORT_URL, headers=auth_headers))

    assert client.get(EXPORT_URL).status_code == 401
    assert client.post(IMPORT_URL, json=document).status_code == 401
    for headers in (bot_headers, user_headers("bob")):
        for response in (
            client.get(EXPORT_URL, headers=headers),
            client.post(IMPORT_URL, json=document, headers=headers),
        ):
            assert response.status_code == 403, response.text
            assert response.json()["message"].endswith("is not admin")


def test_export_and_import_are_not_served_unless_enabled(
    client: TestClient, auth_headers: Headers
) -> None:
    assert client.get(EXPORT_URL, headers=auth_headers).status_code == 404
    assert client.post(IMPORT_URL, json={}, headers=auth_headers).status_code == 404
