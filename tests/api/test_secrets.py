"""Connection secrets: encrypted at rest, masked for users, clear for bots, kept on round trips."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet
from sqlalchemy import text

from tests.factories import SERVICES_URL

SECRETS = ("aws-s3cr3t-value", "-----BEGIN PRIVATE KEY-----gcp", "dbpassw0rd")
SAGEMAKER = {
    "name": "sm",
    "serviceType": "SageMaker",
    "connection": {
        "config": {"awsConfig": {"awsRegion": "eu-west-1", "awsSecretAccessKey": SECRETS[0]}}
    },
}
VERTEX = {
    "name": "vx",
    "serviceType": "VertexAI",
    "connection": {
        "config": {
            "location": "europe-west4",
            "credentials": {"gcpConfig": {"projectId": "p", "privateKey": SECRETS[1]}},
        }
    },
}
MLFLOW = {
    "name": "mf",
    "serviceType": "Mlflow",
    "connection": {
        "config": {
            "trackingUri": "http://mlflow:5000",
            "registryUri": f"mysql+pymysql://mlflow:{SECRETS[2]}@db:3306/experiments",
        }
    },
}


def _raw_rows(engine) -> str:
    with engine.connect() as connection:
        current = connection.execute(text("SELECT doc FROM mlmodel_service")).all()
        history = connection.execute(text("SELECT doc FROM mlmodel_service_version")).all()
    return json.dumps([str(row[0]) for row in [*current, *history]])


def test_secrets_are_never_stored_in_clear(client, auth_headers, engine):
    for payload in (SAGEMAKER, VERTEX, MLFLOW):
        client.put(SERVICES_URL, json=payload, headers=auth_headers)
        client.put(
            SERVICES_URL, json={**payload, "description": "new version"}, headers=auth_headers
        )
    client.put(f"{SERVICES_URL}/bulk", json=[{**SAGEMAKER, "name": "sm2"}], headers=auth_headers)

    stored = _raw_rows(engine)

    assert [secret for secret in SECRETS if secret in stored] == []
    assert stored.count("fernet:") >= 7


def test_secrets_are_masked_for_users_everywhere(client, auth_headers):
    created = client.post(SERVICES_URL, json=MLFLOW, headers=auth_headers).json()
    client.put(SERVICES_URL, json={**MLFLOW, "description": "d"}, headers=auth_headers)

    answers = [
        created,
        client.get(f"{SERVICES_URL}/{created['id']}", headers=auth_headers).json(),
        client.get(SERVICES_URL, headers=auth_headers).json(),
        client.get(f"{SERVICES_URL}/{created['id']}/versions", headers=auth_headers).json(),
        client.get(f"{SERVICES_URL}/{created['id']}/versions/0.1", headers=auth_headers).json(),
    ]

    text_of_answers = json.dumps(answers)
    assert SECRETS[2] not in text_of_answers
    assert created["connection"]["config"]["registryUri"] == (
        "mysql+pymysql://mlflow:*********@db:3306/experiments"
    )


def test_secrets_are_clear_for_bots(client, auth_headers, bot_headers):
    client.put(SERVICES_URL, json=VERTEX, headers=auth_headers)

    as_bot = client.get(f"{SERVICES_URL}/name/vx", headers=bot_headers).json()

    assert as_bot["connection"]["config"]["credentials"]["gcpConfig"]["privateKey"] == SECRETS[1]


def test_masked_uri_password_is_restored_and_host_change_kept(client, auth_headers, bot_headers):
    masked = client.put(SERVICES_URL, json=MLFLOW, headers=auth_headers).json()["connection"]
    masked["config"]["registryUri"] = masked["config"]["registryUri"].replace("db:3306", "db2:3306")

    response = client.put(SERVICES_URL, json={**MLFLOW, "connection": masked}, headers=auth_headers)

    assert response.status_code == 200
    as_bot = client.get(f"{SERVICES_URL}/name/mf", headers=bot_headers).json()
    assert as_bot["connection"]["config"]["registryUri"] == (
        f"mysql+pymysql://mlflow:{SECRETS[2]}@db2:3306/experiments"
    )


def test_masked_round_trip_of_every_secret_changes_nothing(client, auth_headers):
    for payload in (SAGEMAKER, VERTEX, MLFLOW):
        masked = client.put(SERVICES_URL, json=payload, headers=auth_headers).json()["connection"]

        response = client.put(
            SERVICES_URL, json={**payload, "connection": masked}, headers=auth_headers
        )

        assert response.headers["X-OpenMetadata-Change"] == "entityNoChange", payload["name"]


def test_bulk_failure_echo_masks_secrets(client, auth_headers):
    bad = {**SAGEMAKER, "connection": {"config": {**SAGEMAKER["connection"]["config"], "bogus": 1}}}

    response = client.put(
        f"{SERVICES_URL}/bulk", json=[bad, {**MLFLOW, "unknown": 1}], headers=auth_headers
    )

    assert [SECRETS[0] in response.text, SECRETS[2] in response.text] == [False, False]
    failed = response.json()["failedRequest"]
    assert (
        failed[0]["request"]["connection"]["config"]["awsConfig"]["awsSecretAccessKey"]
        == "*********"
    )


def test_rotated_key_still_decrypts_old_secrets(make_client, auth_headers, bot_headers):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = make_client(secrets_key=old_key)
    before.put(SERVICES_URL, json=SAGEMAKER, headers=auth_headers)

    after = make_client(secrets_key=new_key, secrets_previous_key=old_key)
    as_bot = after.get(f"{SERVICES_URL}/name/sm", headers=bot_headers).json()

    assert as_bot["connection"]["config"]["awsConfig"]["awsSecretAccessKey"] == SECRETS[0]


def test_unknown_key_gives_a_clear_500_naming_the_setting(make_client, auth_headers, bot_headers):
    make_client(secrets_key=Fernet.generate_key().decode()).put(
        SERVICES_URL, json=SAGEMAKER, headers=auth_headers
    )

    response = make_client(secrets_key=Fernet.generate_key().decode()).get(
        f"{SERVICES_URL}/name/sm", headers=bot_headers
    )

    assert response.status_code == 500
    assert "MLMODEL_EMULATOR_SECRETS_PREVIOUS_KEY" in response.json()["message"]
