"""PATCH with a JSON Patch (RFC 6902): validation, permissions, secrets, versions, sessions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import SERVICES_URL, create_request

PATCH_TYPE = {"Content-Type": "application/json-patch+json"}
USERS_URL = "/api/v1/users"
DOMAINS_URL = "/api/v1/domains"
SECRET = "aws-secret-for-patch-tests"
SAGEMAKER = {
    "name": "sagemaker_svc",
    "serviceType": "SageMaker",
    "connection": {
        "config": {"awsConfig": {"awsRegion": "eu-west-1", "awsSecretAccessKey": SECRET}}
    },
}


def _patch(client, url: str, operations: Any, headers: dict[str, str], **extra: str):
    return client.patch(
        url, content=json.dumps(operations), headers={**headers, **PATCH_TYPE, **extra}
    )


def _replace(path: str, value: Any) -> list[dict[str, Any]]:
    return [{"op": "replace", "path": path, "value": value}]


def _create(client, headers, url, body):
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def service(client, auth_headers):
    return _create(client, auth_headers, SERVICES_URL, create_request(description="one"))


@pytest.fixture
def url(service):
    return f"{SERVICES_URL}/{service['id']}"


@pytest.fixture
def no_sessions(make_client):
    """A server that never merges PATCHes into one version."""
    return make_client(patch_session_seconds=0)


def _versions(client, url, headers) -> list[float]:
    history = client.get(f"{url}/versions", headers=headers).json()["versions"]
    return [json.loads(text)["version"] for text in history]


# ---------------------------------------------------------------------------- basics


def test_patch_description_makes_a_new_version(client, auth_headers, service, url):
    response = _patch(client, url, _replace("/description", "two"), auth_headers)

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entityUpdated"
    body = response.json()
    assert response.headers["ETag"] == f'"0.2-{body["updatedAt"]}"'
    assert (body["description"], body["version"], body["updatedBy"]) == ("two", 0.2, "admin")
    assert body["changeDescription"] == {
        "fieldsAdded": [],
        "fieldsUpdated": [{"name": "description", "oldValue": "one", "newValue": "two"}],
        "fieldsDeleted": [],
        "previousVersion": 0.1,
    }
    stored = client.get(url, headers=auth_headers).json()
    assert (stored["description"], stored["version"]) == ("two", 0.2)
    assert _versions(client, url, auth_headers) == [0.2, 0.1]


def test_patch_by_name_of_a_dotted_service(client, auth_headers):
    created = _create(client, auth_headers, SERVICES_URL, create_request("team.models"))

    response = _patch(
        client,
        f"{SERVICES_URL}/name/team.models",
        [{"op": "add", "path": "/displayName", "value": "Team models"}],
        auth_headers,
    )

    assert response.status_code == 200
    assert response.json()["id"] == created["id"]
    assert response.json()["displayName"] == "Team models"
    assert response.json()["changeDescription"]["fieldsAdded"] == [
        {"name": "displayName", "newValue": "Team models"}
    ]


def test_patch_removing_description_records_a_deletion(client, auth_headers, url):
    response = _patch(client, url, [{"op": "remove", "path": "/description"}], auth_headers)

    assert response.status_code == 200
    assert "description" not in response.json()
    assert response.json()["changeDescription"]["fieldsDeleted"] == [
        {"name": "description", "oldValue": "one"}
    ]


def test_patch_that_changes_nothing_keeps_everything(client, auth_headers, service, url):
    response = _patch(client, url, _replace("/description", "one"), auth_headers)
    empty = _patch(client, url, [], auth_headers)

    for answer in (response, empty):
        assert answer.status_code == 200
        assert answer.headers["X-OpenMetadata-Change"] == "entityNoChange"
        assert answer.json()["version"] == 0.1
        assert answer.json()["updatedAt"] == service["updatedAt"]
    assert _versions(client, url, auth_headers) == [0.1]


def test_patch_cannot_change_identity_or_bookkeeping(client, auth_headers, service, url):
    operations = [
        {"op": "replace", "path": "/id", "value": "00000000-0000-4000-8000-000000000000"},
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "replace", "path": "/fullyQualifiedName", "value": "renamed"},
        {"op": "replace", "path": "/version", "value": 7.0},
        {"op": "replace", "path": "/updatedBy", "value": "mallory"},
        {"op": "replace", "path": "/href", "value": "http://elsewhere/"},
        {"op": "add", "path": "/changeDescription", "value": {"previousVersion": 3.0}},
    ]

    response = _patch(client, url, operations, auth_headers)

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entityNoChange"
    stored = client.get(url, headers=auth_headers).json()
    assert {key: stored[key] for key in ("id", "name", "fullyQualifiedName", "version")} == {
        key: service[key] for key in ("id", "name", "fullyQualifiedName", "version")
    }
    assert stored["href"].endswith(service["id"])
    assert "changeDescription" not in stored


@pytest.mark.parametrize(
    ("operations", "message"),
    [
        (_replace("/deleted", True), "mlmodelService attribute deleted can't be modified"),
        (
            [{"op": "remove", "path": "/deleted"}],
            "mlmodelService attribute deleted can't be modified",
        ),
        (
            _replace("/serviceType", "Sklearn"),
            "mlmodelService attribute serviceType can't be modified",
        ),
        (
            [{"op": "add", "path": "/votes", "value": 1}],
            "[query param votes is not a recognized field]",
        ),
        (
            _replace("/connection/config/trackingUri", 5),
            "[query param connection.config.trackingUri must be a string]",
        ),
        (_replace("/description", 5), "[query param description must be a string]"),
        (
            [{"op": "add", "path": "/owners/0", "value": {"type": "user"}}],
            "[query param owners[0].id must not be null]",
        ),
    ],
)
def test_patch_of_a_field_it_cannot_change_is_refused(
    client, auth_headers, url, operations, message
):
    response = _patch(client, url, operations, auth_headers)

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": message}
    assert client.get(url, headers=auth_headers).json()["version"] == 0.1


@pytest.mark.parametrize(
    ("content", "content_type", "message_start"),
    [
        (
            '[{"op": "replace", "path": "/description", "value": "x"}]',
            "application/json",
            "A PATCH needs Content-Type application/json-patch+json",
        ),
        (
            '[{"op": "replace", "path": "/description", "value": "x"}]',
            None,
            "A PATCH needs Content-Type application/json-patch+json",
        ),
        ("[{", "application/json-patch+json", "Malformed JSON in the request body"),
        ('{"op": "add"}', "application/json-patch+json", "A JSON Patch must be an array"),
        ('["add"]', "application/json-patch+json", "Invalid JSON Patch: operation 0 must be"),
        (
            '[{"op": "upsert", "path": "/a"}]',
            "application/json-patch+json",
            "Invalid JSON Patch: operation 0 has op 'upsert'",
        ),
        (
            '[{"op": "add", "value": 1}]',
            "application/json-patch+json",
            "Invalid JSON Patch: operation 0 needs a JSON pointer",
        ),
        (
            '[{"op": "add", "path": "description", "value": 1}]',
            "application/json-patch+json",
            "Invalid JSON Patch: operation 0 needs a JSON pointer",
        ),
        (
            '[{"op": "add", "path": "/description"}]',
            "application/json-patch+json",
            "Invalid JSON Patch: operation 0 (add) needs a 'value'",
        ),
        (
            '[{"op": "move", "path": "/displayName"}]',
            "application/json-patch+json",
            "Invalid JSON Patch: operation 0 needs a JSON pointer string as 'from'",
        ),
        (
            '[{"op": "remove", "path": "/displayName"}]',
            "application/json-patch+json",
            "The JSON Patch cannot be applied",
        ),
        (
            '[{"op": "add", "path": "/description/x", "value": 1}]',
            "application/json-patch+json",
            "The JSON Patch cannot be applied",
        ),
        (
            '[{"op": "add", "path": "/owners/7", "value": {}}]',
            "application/json-patch+json",
            "The JSON Patch cannot be applied",
        ),
        (
            '[{"op": "test", "path": "/description", "value": "other"}]',
            "application/json-patch+json",
            "The JSON Patch cannot be applied",
        ),
        (
            '[{"op": "replace", "path": "", "value": []}]',
            "application/json-patch+json",
            "The JSON Patch cannot be applied: the entity must remain an object",
        ),
    ],
)
def test_malformed_patch_or_wrong_content_type_is_a_400(
    client, auth_headers, url, content, content_type, message_start
):
    headers = dict(auth_headers)
    if content_type is not None:
        headers["Content-Type"] = content_type

    response = client.patch(url, content=content, headers=headers)

    assert response.status_code == 400, response.text
    assert response.json()["code"] == 400
    assert response.json()["message"].startswith(message_start)
    assert client.get(url, headers=auth_headers).json()["version"] == 0.1


def test_patch_of_missing_or_soft_deleted_service_is_a_404(client, auth_headers, service, url):
    client.delete(url, headers=auth_headers)
    missing = "6a2bdfc4-1a31-4b16-9cf0-3d8e0c0d1f77"

    deleted = _patch(client, url, _replace("/description", "x"), auth_headers)
    unknown = _patch(client, f"{SERVICES_URL}/{missing}", [], auth_headers)
    by_name = _patch(client, f"{SERVICES_URL}/name/nope", [], auth_headers)

    assert deleted.json() == {
        "code": 404,
        "message": f"mlmodelService instance for {service['id']} not found",
    }
    assert unknown.json() == {
        "code": 404,
        "message": f"mlmodelService instance for {missing} not found",
    }
    assert by_name.json() == {"code": 404, "message": "mlmodelService instance for nope not found"}


def test_a_test_operation_that_holds_lets_the_patch_apply(client, auth_headers, url):
    operations = [
        {"op": "test", "path": "/description", "value": "one"},
        {"op": "copy", "from": "/description", "path": "/displayName"},
    ]

    response = _patch(client, url, operations, auth_headers)

    assert response.status_code == 200
    assert response.json()["displayName"] == "one"


# ---------------------------------------------------------------------------- references


@pytest.fixture
def jane(client, auth_headers):
    return _create(client, auth_headers, USERS_URL, {"name": "jane", "email": "jane@example.com"})


@pytest.fixture
def marketing(client, auth_headers):
    body = {"name": "Marketing", "description": "Marketing", "domainType": "Aggregate"}
    return _create(client, auth_headers, DOMAINS_URL, body)


def test_patch_sets_and_removes_owners(client, auth_headers, url, jane):
    added = _patch(
        client,
        url,
        [{"op": "add", "path": "/owners/0", "value": {"id": jane["id"], "type": "user"}}],
        auth_headers,
    )
    removed = _patch(client, url, _replace("/owners", []), auth_headers)

    assert added.status_code == 200
    assert [(o["id"], o["name"]) for o in added.json()["owners"]] == [(jane["id"], "jane")]
    assert added.json()["owners"][0]["href"].endswith(f"/v1/users/{jane['id']}")
    # Unlike PUT, a PATCH may take ownership away.
    assert removed.status_code == 200
    assert removed.json()["owners"] == []
    assert (
        json.loads(removed.json()["changeDescription"]["fieldsDeleted"][0]["oldValue"])[0]["id"]
        == jane["id"]
    )


def test_patch_owner_that_does_not_exist_is_a_404(client, auth_headers, url):
    missing = "5f0c7d7e-30b4-4bb8-8f42-c1f3ed4b8d10"

    response = _patch(
        client, url, _replace("/owners", [{"id": missing, "type": "user"}]), auth_headers
    )

    assert response.json() == {"code": 404, "message": f"user instance for {missing} not found"}


def test_patch_replaces_tags_instead_of_merging(client, auth_headers, url):
    first = _patch(client, url, _replace("/tags", [{"tagFQN": "PII.Sensitive"}]), auth_headers)
    second = _patch(client, url, _replace("/tags", [{"tagFQN": "Tier.Tier1"}]), auth_headers)

    assert [tag["tagFQN"] for tag in first.json()["tags"]] == ["PII.Sensitive"]
    assert [tag["tagFQN"] for tag in second.json()["tags"]] == ["Tier.Tier1"]
    assert [
        tag["tagFQN"]
        for tag in client.get(f"{url}?fields=tags", headers=auth_headers).json()["tags"]
    ] == ["Tier.Tier1"]


def test_patch_with_mutually_exclusive_tags_is_refused(client, auth_headers, url):
    tags = [{"tagFQN": "PII.Sensitive"}, {"tagFQN": "PII.NonSensitive"}]

    response = _patch(client, url, _replace("/tags", tags), auth_headers)

    assert response.status_code == 400
    assert "mutually exclusive" in response.json()["message"]


def test_patch_sets_domains_by_reference(client, auth_headers, url, marketing):
    response = _patch(
        client, url, _replace("/domains", [{"id": marketing["id"], "type": "domain"}]), auth_headers
    )
    listed = client.get(f"{SERVICES_URL}?domain=Marketing", headers=auth_headers).json()

    assert response.status_code == 200
    assert [(d["id"], d["name"]) for d in response.json()["domains"]] == [
        (marketing["id"], "Marketing")
    ]
    assert [entity["name"] for entity in listed["data"]] == ["mlflow_svc"]


def test_patch_with_unknown_domain_is_a_404(client, auth_headers, url):
    missing = "0b8f3c2e-8a51-4d0f-9d55-6c0f3c0a2b11"

    response = _patch(
        client, url, _replace("/domains", [{"id": missing, "type": "domain"}]), auth_headers
    )

    assert response.json() == {"code": 404, "message": f"domain instance for {missing} not found"}


# ---------------------------------------------------------------------------- secrets


@pytest.fixture
def sagemaker(client, auth_headers):
    return _create(client, auth_headers, SERVICES_URL, SAGEMAKER)


def _secret(client, entity_id, bot_headers) -> str:
    entity = client.get(f"{SERVICES_URL}/{entity_id}", headers=bot_headers).json()
    return str(entity["connection"]["config"]["awsConfig"]["awsSecretAccessKey"])


def test_patch_by_user_keeps_the_masked_secret(client, auth_headers, bot_headers, sagemaker):
    url = f"{SERVICES_URL}/{sagemaker['id']}"
    operations = [
        {"op": "add", "path": "/description", "value": "patched"},
        {"op": "replace", "path": "/connection/config/awsConfig/awsRegion", "value": "us-east-1"},
    ]

    response = _patch(client, url, operations, auth_headers)

    assert response.status_code == 200
    config = response.json()["connection"]["config"]["awsConfig"]
    assert (config["awsRegion"], config["awsSecretAccessKey"]) == ("us-east-1", "*********")
    assert _secret(client, sagemaker["id"], bot_headers) == SECRET


def test_patch_can_replace_the_secret(client, auth_headers, bot_headers, sagemaker):
    url = f"{SERVICES_URL}/{sagemaker['id']}"

    response = _patch(
        client,
        url,
        _replace("/connection/config/awsConfig/awsSecretAccessKey", "new"),
        auth_headers,
    )

    assert response.status_code == 200
    assert response.json()["changeDescription"]["fieldsUpdated"] == [
        {
            "name": "connection",
            "oldValue": '"old-encrypted-value"',
            "newValue": '"new-encrypted-value"',
        }
    ]
    assert _secret(client, sagemaker["id"], bot_headers) == "new"


def test_bot_patches_in_clear_and_may_overwrite_a_description(
    client, auth_headers, bot_headers, sagemaker
):
    url = f"{SERVICES_URL}/{sagemaker['id']}"
    first = _patch(
        client, url, [{"op": "add", "path": "/description", "value": "mine"}], auth_headers
    )
    assert first.status_code == 200

    response = _patch(client, url, _replace("/description", "by the bot"), bot_headers)

    assert response.status_code == 200, response.text
    assert response.json()["description"] == "by the bot"
    assert response.json()["connection"]["config"]["awsConfig"]["awsSecretAccessKey"] == SECRET


# ---------------------------------------------------------------------------- permissions


def _denied(name: str, operations: str) -> dict[str, Any]:
    return {
        "code": 403,
        "message": (
            f"Principal: CatalogPrincipal{{name='{name}'}} operations [{operations}] not allowed"
        ),
    }


@pytest.mark.parametrize(
    ("operations", "listed"),
    [
        (_replace("/description", "x"), "EditDescription"),
        (_replace("/tags", [{"tagFQN": "PII.Sensitive"}]), "EditTags"),
        (
            [*_replace("/description", "x"), *_replace("/tags", [{"tagFQN": "PII.Sensitive"}])],
            "EditDescription, EditTags",
        ),
        (_replace("/displayName", "x"), "EditAll"),
        ([*_replace("/description", "x"), *_replace("/displayName", "x")], "EditAll"),
        ([{"op": "move", "from": "/description", "path": "/displayName"}], "EditAll"),
    ],
)
def test_outsider_is_refused_the_operations_the_patch_paths_name(
    client, user_headers, url, operations, listed
):
    outsider = user_headers("outsider")

    response = _patch(client, url, operations, outsider)

    assert response.status_code == 403
    assert response.json() == _denied("outsider", listed)


def test_anyone_may_set_owners_of_an_unowned_service_but_not_more(
    client, auth_headers, user_headers, url, jane
):
    jane_headers = {"Authorization": user_headers("mark")["Authorization"]}
    owner = [{"id": jane["id"], "type": "user"}]

    both = _patch(
        client, url, [*_replace("/owners", owner), *_replace("/description", "x")], jane_headers
    )
    claimed = _patch(client, url, _replace("/owners", owner), jane_headers)
    again = _patch(client, url, _replace("/owners", []), jane_headers)

    assert both.json() == _denied("mark", "EditDescription, EditOwners")
    assert claimed.status_code == 200
    # Once owned, only the owners (and admins and bots) may change the owners.
    assert again.json() == _denied("mark", "EditOwners")


def test_owner_may_patch_anything(client, auth_headers, user_headers, url):
    owner_headers = user_headers("olivia")
    olivia = client.get(f"{USERS_URL}/name/olivia", headers=auth_headers).json()
    _patch(client, url, _replace("/owners", [{"id": olivia["id"], "type": "user"}]), auth_headers)

    response = _patch(
        client, url, [{"op": "add", "path": "/displayName", "value": "Olivia's"}], owner_headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["updatedBy"] == "olivia"


# ---------------------------------------------------------------------------- If-Match


def test_patch_with_stale_if_match_is_a_412_and_writes_nothing(client, auth_headers, url):
    _patch(client, url, _replace("/description", "two"), auth_headers)

    response = _patch(
        client, url, _replace("/description", "lost"), auth_headers, **{"If-Match": 'W/"0.1"'}
    )

    assert response.status_code == 412
    assert response.json() == {
        "code": 412,
        "message": "The entity has been modified by another user. Please refresh and retry.",
    }
    assert client.get(url, headers=auth_headers).json()["description"] == "two"


def test_patch_with_current_if_match_applies(client, auth_headers, url):
    response = _patch(
        client, url, _replace("/description", "two"), auth_headers, **{"If-Match": 'W/"0.1"'}
    )

    assert response.status_code == 200
    assert response.headers["ETag"].startswith('"0.2-')


# ---------------------------------------------------------------------------- sessions


def test_patches_by_one_user_within_the_session_make_one_version(client, auth_headers, url):
    _patch(client, url, _replace("/description", "two"), auth_headers)

    response = _patch(client, url, _replace("/description", "three"), auth_headers)

    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 0.2
    # The answer tells what this patch changed ...
    assert body["changeDescription"]["fieldsUpdated"] == [
        {"name": "description", "oldValue": "two", "newValue": "three"}
    ]
    # ... the stored entity what the whole session changed since 0.1.
    stored = client.get(url, headers=auth_headers).json()
    assert stored["changeDescription"] == {
        "fieldsAdded": [],
        "fieldsUpdated": [{"name": "description", "oldValue": "one", "newValue": "three"}],
        "fieldsDeleted": [],
        "previousVersion": 0.1,
    }
    assert _versions(client, url, auth_headers) == [0.2, 0.1]


def test_session_that_undoes_its_change_returns_to_the_previous_version(client, auth_headers, url):
    _patch(client, url, _replace("/description", "two"), auth_headers)

    response = _patch(client, url, _replace("/description", "one"), auth_headers)

    assert response.status_code == 200
    assert response.json()["version"] == 0.1
    stored = client.get(url, headers=auth_headers).json()
    assert (stored["version"], stored["description"]) == (0.1, "one")
    assert "changeDescription" not in stored
    assert _versions(client, url, auth_headers) == [0.1]
    version = client.get(f"{url}/versions/0.1", headers=auth_headers)
    assert version.json()["description"] == "one"


def test_patch_by_another_user_starts_a_new_version(client, auth_headers, bot_headers, url):
    _patch(client, url, _replace("/description", "two"), auth_headers)

    response = _patch(client, url, _replace("/description", "three"), bot_headers)

    assert response.json()["version"] == 0.3
    assert _versions(client, url, auth_headers) == [0.3, 0.2, 0.1]


def test_patch_with_if_match_is_never_merged(client, auth_headers, url):
    _patch(client, url, _replace("/description", "two"), auth_headers)

    response = _patch(
        client, url, _replace("/description", "three"), auth_headers, **{"If-Match": 'W/"0.2"'}
    )

    assert response.json()["version"] == 0.3


def test_put_after_a_patch_is_never_merged(client, auth_headers, url):
    _patch(client, url, _replace("/description", "two"), auth_headers)

    response = client.put(
        SERVICES_URL, json=create_request(description="three"), headers=auth_headers
    )

    assert response.json()["version"] == 0.3


def test_session_window_of_zero_turns_merging_off(no_sessions, auth_headers):
    created = _create(no_sessions, auth_headers, SERVICES_URL, create_request(description="one"))
    url = f"{SERVICES_URL}/{created['id']}"

    _patch(no_sessions, url, _replace("/description", "two"), auth_headers)
    response = _patch(no_sessions, url, _replace("/description", "three"), auth_headers)

    assert response.json()["version"] == 0.3
    assert _versions(no_sessions, url, auth_headers) == [0.3, 0.2, 0.1]


@pytest.mark.parametrize("op", [{}, [], 1, None, True, {"op": "add"}])
@pytest.mark.parametrize(
    "target",
    [
        f"{SERVICES_URL}/6a2bdfc4-1a31-4b16-9cf0-3d8e0c0d1f77",
        f"{SERVICES_URL}/name/nope",
        "/api/v1/mlmodels/6a2bdfc4-1a31-4b16-9cf0-3d8e0c0d1f77",
        "/api/v1/mlmodels/name/nope.model",
    ],
)
def test_an_op_of_the_wrong_json_type_is_a_400_on_every_patch_route(
    client, auth_headers, target, op
):
    headers = {**auth_headers, "Content-Type": "application/json-patch+json"}
    body = json.dumps([{"op": op, "path": "/description", "value": "x"}])

    response = client.patch(target, content=body, headers=headers)

    assert response.status_code == 400, response.text
    assert response.json()["code"] == 400
    assert response.json()["message"].startswith("Invalid JSON Patch: operation 0 has op")
