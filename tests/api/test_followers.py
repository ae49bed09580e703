"""PUT /api/v1/services/mlmodelServices/{id}/followers and DELETE .../followers/{userId}."""

from __future__ import annotations

import uuid

import pytest

from tests.factories import SERVICES_URL, create_request

USERS_URL = "/api/v1/users"


@pytest.fixture
def created(client, auth_headers):
    return client.put(SERVICES_URL, json=create_request(), headers=auth_headers).json()


@pytest.fixture
def nina(client, auth_headers, user_headers):
    """A plain user: her token's headers and her user id."""
    headers = user_headers("nina")
    user_id = client.get(f"{USERS_URL}/name/nina", headers=auth_headers).json()["id"]
    return headers, user_id


def _reference(user_id, name):
    return {
        "id": user_id,
        "type": "user",
        "name": name,
        "fullyQualifiedName": name,
        "deleted": False,
    }


def _follow(client, service_id, user_id, headers):
    return client.put(f"{SERVICES_URL}/{service_id}/followers", json=user_id, headers=headers)


def _unfollow(client, service_id, user_id, headers):
    return client.delete(f"{SERVICES_URL}/{service_id}/followers/{user_id}", headers=headers)


def test_add_follower_answers_a_change_event(client, created, nina):
    headers, user_id = nina

    response = _follow(client, created["id"], user_id, headers)

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entityFieldsChanged"
    event = response.json()
    change = {
        "fieldsAdded": [{"name": "followers", "newValue": [_reference(user_id, "nina")]}],
        "fieldsUpdated": [],
        "fieldsDeleted": [],
        "previousVersion": 0.1,
    }
    assert uuid.UUID(event.pop("id"))
    assert isinstance(event.pop("timestamp"), int)
    entity = event.pop("entity")
    assert event == {
        "eventType": "entityUpdated",
        "entityType": "mlmodelService",
        "entityId": created["id"],
        "entityFullyQualifiedName": "mlflow_svc",
        "previousVersion": 0.1,
        "currentVersion": 0.1,
        "userName": "nina",
        "changeDescription": change,
        "incrementalChangeDescription": change,
    }
    expected_entity = {
        key: value
        for key, value in created.items()
        if key not in ("href", "owners", "tags", "domains")
    }
    assert entity == {
        **expected_entity,
        "changeDescription": change,
        "incrementalChangeDescription": change,
    }


def test_add_follower_changes_no_version_and_writes_no_history(client, auth_headers, created, nina):
    headers, user_id = nina

    _follow(client, created["id"], user_id, headers)

    fetched = client.get(
        f"{SERVICES_URL}/{created['id']}?fields=owners,tags,domains", headers=auth_headers
    ).json()
    assert fetched == created
    versions = client.get(f"{SERVICES_URL}/{created['id']}/versions", headers=auth_headers).json()
    assert len(versions["versions"]) == 1


def test_get_with_fields_followers_shows_the_follower(client, auth_headers, created, nina):
    headers, user_id = nina
    _follow(client, created["id"], user_id, headers)

    response = client.get(f"{SERVICES_URL}/{created['id']}?fields=followers", headers=auth_headers)

    assert response.json()["followers"] == [
        {
            **_reference(user_id, "nina"),
            "href": f"http://testserver/api/v1/users/{user_id}",
        }
    ]


def test_get_without_fields_leaves_followers_out(client, auth_headers, created, nina):
    headers, user_id = nina
    _follow(client, created["id"], user_id, headers)

    response = client.get(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)

    assert "followers" not in response.json()


def test_add_follower_twice_is_answered_alike_and_kept_once(client, auth_headers, created, nina):
    headers, user_id = nina
    first = _follow(client, created["id"], user_id, headers)

    second = _follow(client, created["id"], user_id, headers)

    assert second.status_code == 200
    assert second.json()["changeDescription"] == first.json()["changeDescription"]
    followers = client.get(
        f"{SERVICES_URL}/{created['id']}?fields=followers", headers=auth_headers
    ).json()["followers"]
    assert [follower["id"] for follower in followers] == [user_id]


def test_followers_are_listed_by_name(client, auth_headers, user_headers, created):
    ids = {}
    for name in ("zoe", "adam"):
        user_headers(name)
        ids[name] = client.get(f"{USERS_URL}/name/{name}", headers=auth_headers).json()["id"]
        _follow(client, created["id"], ids[name], auth_headers)

    followers = client.get(
        f"{SERVICES_URL}/{created['id']}?fields=followers", headers=auth_headers
    ).json()["followers"]

    assert [follower["name"] for follower in followers] == ["adam", "zoe"]


def test_remove_follower_answers_fields_deleted(client, auth_headers, created, nina):
    headers, user_id = nina
    _follow(client, created["id"], user_id, headers)

    response = _unfollow(client, created["id"], user_id, headers)

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entityFieldsChanged"
    assert response.json()["changeDescription"] == {
        "fieldsAdded": [],
        "fieldsUpdated": [],
        "fieldsDeleted": [{"name": "followers", "oldValue": [_reference(user_id, "nina")]}],
        "previousVersion": 0.1,
    }
    assert response.json()["currentVersion"] == 0.1
    fetched = client.get(
        f"{SERVICES_URL}/{created['id']}?fields=followers", headers=auth_headers
    ).json()
    assert (fetched["followers"], fetched["version"]) == ([], 0.1)


def test_remove_follower_who_does_not_follow_is_answered_alike(client, created, nina):
    headers, user_id = nina

    response = _unfollow(client, created["id"], user_id, headers)

    assert response.status_code == 200
    assert response.json()["changeDescription"]["fieldsDeleted"] == [
        {"name": "followers", "oldValue": [_reference(user_id, "nina")]}
    ]


def test_admin_may_add_and_remove_another_user(client, auth_headers, created, nina):
    _, user_id = nina

    added = _follow(client, created["id"], user_id, auth_headers)
    removed = _unfollow(client, created["id"], user_id, auth_headers)

    assert (added.status_code, removed.status_code) == (200, 200)
    assert added.json()["userName"] == "admin"


def test_plain_user_may_not_change_another_users_follow(
    client, auth_headers, user_headers, created, nina
):
    _, nina_id = nina
    olga = user_headers("olga")
    _follow(client, created["id"], nina_id, auth_headers)
    denied = {"code": 403, "message": "Principal: CatalogPrincipal{name='olga'} is not admin"}

    added = _follow(client, created["id"], nina_id, olga)
    removed = _unfollow(client, created["id"], nina_id, olga)

    assert (added.status_code, added.json()) == (403, denied)
    assert (removed.status_code, removed.json()) == (403, denied)
    followers = client.get(
        f"{SERVICES_URL}/{created['id']}?fields=followers", headers=auth_headers
    ).json()["followers"]
    assert [follower["id"] for follower in followers] == [nina_id]


def test_bot_may_not_add_another_user(client, bot_headers, created, nina):
    _, user_id = nina

    response = _follow(client, created["id"], user_id, bot_headers)

    assert response.json() == {
        "code": 403,
        "message": "Principal: CatalogPrincipal{name='ingestion-bot'} is not admin",
    }


@pytest.mark.parametrize("verb", ["add", "remove"])
def test_unknown_user_returns_404(client, auth_headers, created, verb):
    missing = str(uuid.uuid4())
    change = _follow if verb == "add" else _unfollow

    response = change(client, created["id"], missing, auth_headers)

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": f"user instance for {missing} not found"}


@pytest.mark.parametrize("verb", ["add", "remove"])
def test_soft_deleted_user_returns_404(client, auth_headers, created, nina, verb):
    _, user_id = nina
    client.delete(f"{USERS_URL}/{user_id}", headers=auth_headers)
    change = _follow if verb == "add" else _unfollow

    response = change(client, created["id"], user_id, auth_headers)

    assert response.json() == {"code": 404, "message": f"user instance for {user_id} not found"}


@pytest.mark.parametrize("verb", ["add", "remove"])
def test_unknown_service_returns_404(client, nina, verb):
    headers, user_id = nina
    missing = uuid.uuid4()
    change = _follow if verb == "add" else _unfollow

    response = change(client, missing, user_id, headers)

    assert response.json() == {
        "code": 404,
        "message": f"mlmodelService instance for {missing} not found",
    }


@pytest.mark.parametrize("verb", ["add", "remove"])
def test_soft_deleted_service_returns_404(client, auth_headers, created, nina, verb):
    headers, user_id = nina
    client.delete(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)
    change = _follow if verb == "add" else _unfollow

    response = change(client, created["id"], user_id, headers)

    assert response.json() == {
        "code": 404,
        "message": f"mlmodelService instance for {created['id']} not found",
    }


def test_followers_survive_a_soft_delete(client, auth_headers, created, nina):
    headers, user_id = nina
    _follow(client, created["id"], user_id, headers)

    client.delete(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)

    fetched = client.get(
        f"{SERVICES_URL}/{created['id']}?fields=followers&include=deleted", headers=auth_headers
    ).json()
    assert [follower["id"] for follower in fetched["followers"]] == [user_id]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b'"not-a-uuid"', "[query param userId must be a UUID]", id="not-a-uuid"),
        pytest.param(b"42", "[query param userId must be a UUID]", id="number"),
        pytest.param(b'{"id": "x"}', "[query param userId must be a UUID]", id="object"),
        pytest.param(
            b'"3F1C2A9E0B7D4C559A1E6D2B8F0C4E11"',
            "[query param userId must be a UUID]",
            id="no-dashes",
        ),
        pytest.param(b"null", "[query param userId must not be null]", id="null"),
        pytest.param(b"", "[query param userId must not be null]", id="empty"),
    ],
)
def test_add_follower_with_a_body_that_is_no_uuid_returns_400(
    client, auth_headers, created, body, message
):
    response = client.put(
        f"{SERVICES_URL}/{created['id']}/followers",
        content=body,
        headers={**auth_headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": message}


def test_add_follower_with_an_unquoted_id_returns_400(client, auth_headers, created, nina):
    _, user_id = nina

    response = client.put(
        f"{SERVICES_URL}/{created['id']}/followers",
        content=user_id.encode(),
        headers={**auth_headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["message"].startswith("Malformed JSON in the request body")


def test_add_follower_with_an_upper_case_id_is_accepted(client, created, nina):
    headers, user_id = nina

    response = _follow(client, created["id"], user_id.upper(), headers)

    assert response.status_code == 200
    assert response.json()["changeDescription"]["fieldsAdded"][0]["newValue"][0]["id"] == user_id


def test_remove_follower_with_a_user_id_that_is_no_uuid_returns_400(client, auth_headers, created):
    response = _unfollow(client, created["id"], "nina", auth_headers)

    assert response.json() == {"code": 400, "message": "[query param userId must be a UUID]"}


def test_add_follower_without_a_token_returns_401(client, created, nina):
    _, user_id = nina

    response = client.put(f"{SERVICES_URL}/{created['id']}/followers", json=user_id)

    assert response.status_code == 401


def test_change_event_entity_masks_secrets_for_users(client, auth_headers, nina):
    headers, user_id = nina
    sagemaker = create_request(
        "sm",
        serviceType="SageMaker",
        connection={"config": {"awsConfig": {"awsRegion": "eu-west-1", "awsSecretAccessKey": "s"}}},
    )
    created = client.put(SERVICES_URL, json=sagemaker, headers=auth_headers).json()

    response = _follow(client, created["id"], user_id, headers)

    aws = response.json()["entity"]["connection"]["config"]["awsConfig"]
    assert aws["awsSecretAccessKey"] == "*********"
