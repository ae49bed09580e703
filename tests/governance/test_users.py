"""/api/v1/users: create, upsert, reads, team membership, delete."""

from __future__ import annotations

import pytest

from tests.governance.conftest import TEAMS_URL, USERS_URL, created, user_request

UNKNOWN_ID = "3f2a1c7e-0000-4000-8000-000000000000"


def test_create_user_returns_201_with_openmetadata_shape(client, auth_headers):
    response = client.post(
        USERS_URL,
        json=user_request("jane", displayName="Jane Doe", description="Data scientist"),
        headers=auth_headers,
    )

    assert response.status_code == 201
    body = response.json()
    href = f"http://testserver/api/v1/users/{body['id']}"
    assert response.headers["Location"] == href
    assert response.headers["X-OpenMetadata-Change"] == "entityCreated"
    assert body == {
        "id": body["id"],
        "name": "jane",
        "fullyQualifiedName": "jane",
        "displayName": "Jane Doe",
        "description": "Data scientist",
        "email": "jane@example.com",
        "isBot": False,
        "isAdmin": False,
        "teams": [],
        "version": 0.1,
        "updatedAt": body["updatedAt"],
        "updatedBy": "admin",
        "deleted": False,
        "href": href,
    }


def test_create_user_keeps_name_and_email_lower_case(client, auth_headers):
    body = created(
        client, USERS_URL, {"name": "Jane.Doe", "email": "Jane.Doe@Example.COM"}, auth_headers
    )

    assert (body["name"], body["fullyQualifiedName"]) == ("jane.doe", '"jane.doe"')
    assert body["email"] == "jane.doe@example.com"
    by_name = client.get(f"{USERS_URL}/name/Jane.Doe", headers=auth_headers)
    assert by_name.json()["id"] == body["id"]


def test_create_user_taken_name_returns_409(client, auth_headers):
    created(client, USERS_URL, user_request("jane"), auth_headers)

    response = client.post(
        USERS_URL, json=user_request("jane", email="other@example.com"), headers=auth_headers
    )

    assert response.status_code == 409
    assert response.json() == {"code": 409, "message": "Entity already exists"}


@pytest.mark.parametrize("method", ["post", "put"])
def test_create_user_taken_email_returns_409(client, auth_headers, method):
    created(client, USERS_URL, user_request("jane"), auth_headers)

    response = getattr(client, method)(
        USERS_URL, json=user_request("john", email="JANE@example.com"), headers=auth_headers
    )

    assert response.status_code == 409
    assert response.json() == {"code": 409, "message": "Entity already exists"}


def test_update_user_to_taken_email_returns_409(client, auth_headers):
    created(client, USERS_URL, user_request("jane"), auth_headers)
    created(client, USERS_URL, user_request("john"), auth_headers)

    response = client.put(
        USERS_URL, json=user_request("john", email="jane@example.com"), headers=auth_headers
    )

    assert response.status_code == 409
    john = client.get(f"{USERS_URL}/name/john", headers=auth_headers).json()
    assert john["email"] == "john@example.com"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param({"name": "jane"}, "[query param email must not be null]", id="no-email"),
        pytest.param(
            {"name": "jane", "email": "a@b"},
            "[query param email size must be between 6 and 127]",
            id="short-email",
        ),
        pytest.param(
            {"name": "jane", "email": "jane.example.com"},
            '[query param email must match "^[\\S.!#$%&’*+/=?^_`{|}~-]+@\\S+\\.\\S+$"]',
            id="no-at",
        ),
        pytest.param(
            {"email": "jane@example.com"}, "[query param name must not be null]", id="no-name"
        ),
        pytest.param(
            {"name": "a::b", "email": "jane@example.com"},
            '[query param name must match "^((?!::).)*$"]',
            id="double-colon",
        ),
        pytest.param(
            {"name": "jane", "email": "jane@example.com", "teams": ["nope"]},
            "[query param teams[0] must be a UUID]",
            id="team-not-uuid",
        ),
        pytest.param(
            {"name": "jane", "email": "jane@example.com", "isAdmin": "maybe"},
            "[query param isAdmin must be a boolean]",
            id="admin-not-boolean",
        ),
        pytest.param(
            {"name": "jane", "email": "jane@example.com", "roles": []},
            "[query param roles is not a recognized field]",
            id="unknown-field",
        ),
    ],
)
def test_create_user_invalid_request_returns_400(client, auth_headers, payload, message):
    response = client.post(USERS_URL, json=payload, headers=auth_headers)

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": message}


def test_create_user_with_teams_answers_team_references(client, auth_headers, make):
    beta, alpha = make("team", name="beta"), make("team", name="alpha", displayName="Alpha")

    body = created(
        client, USERS_URL, user_request("jane", teams=[beta["id"], alpha["id"]]), auth_headers
    )

    assert body["teams"] == [
        {
            "id": alpha["id"],
            "type": "team",
            "name": "alpha",
            "fullyQualifiedName": "alpha",
            "displayName": "Alpha",
            "deleted": False,
            "href": f"http://testserver/api/v1/teams/{alpha['id']}",
        },
        {
            "id": beta["id"],
            "type": "team",
            "name": "beta",
            "fullyQualifiedName": "beta",
            "deleted": False,
            "href": f"http://testserver/api/v1/teams/{beta['id']}",
        },
    ]
    team = client.get(f"{TEAMS_URL}/{alpha['id']}", headers=auth_headers).json()
    assert [user["name"] for user in team["users"]] == ["jane"]


def test_create_user_with_unknown_team_returns_404_and_creates_nothing(client, auth_headers):
    response = client.post(
        USERS_URL, json=user_request("jane", teams=[UNKNOWN_ID]), headers=auth_headers
    )

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": f"team instance for {UNKNOWN_ID} not found"}
    assert client.get(f"{USERS_URL}/name/jane", headers=auth_headers).status_code == 404


def test_put_user_new_name_returns_201_then_200_then_no_change(client, auth_headers):
    first = client.put(USERS_URL, json=user_request("jane"), headers=auth_headers)
    second = client.put(
        USERS_URL, json=user_request("jane", displayName="Jane"), headers=auth_headers
    )
    third = client.put(
        USERS_URL, json=user_request("jane", displayName="Jane"), headers=auth_headers
    )

    assert (first.status_code, first.headers["X-OpenMetadata-Change"]) == (201, "entityCreated")
    assert (second.status_code, second.headers["X-OpenMetadata-Change"]) == (200, "entityUpdated")
    assert (third.status_code, third.headers["X-OpenMetadata-Change"]) == (200, "entityNoChange")
    assert second.json()["version"] == 0.2
    assert second.json()["changeDescription"] == {
        "fieldsAdded": [{"name": "displayName", "newValue": "Jane"}],
        "fieldsUpdated": [],
        "fieldsDeleted": [],
        "previousVersion": 0.1,
    }
    assert third.json() == second.json()


def test_put_user_without_flags_keeps_them(client, auth_headers):
    created(client, USERS_URL, user_request("jane", isAdmin=True), auth_headers)

    response = client.put(USERS_URL, json=user_request("jane"), headers=auth_headers)

    assert response.headers["X-OpenMetadata-Change"] == "entityNoChange"
    assert response.json()["isAdmin"] is True


def test_put_user_teams_replaces_them_and_null_keeps_them(client, auth_headers, make):
    one, two = make("team", name="one"), make("team", name="two")
    created(client, USERS_URL, user_request("jane", teams=[one["id"]]), auth_headers)

    moved = client.put(
        USERS_URL, json=user_request("jane", teams=[two["id"]]), headers=auth_headers
    )
    kept = client.put(USERS_URL, json=user_request("jane"), headers=auth_headers)

    assert [team["name"] for team in moved.json()["teams"]] == ["two"]
    change = moved.json()["changeDescription"]
    assert [field["name"] for field in change["fieldsAdded"]] == ["teams"]
    assert [field["name"] for field in change["fieldsDeleted"]] == ["teams"]
    assert kept.headers["X-OpenMetadata-Change"] == "entityNoChange"
    assert [team["name"] for team in kept.json()["teams"]] == ["two"]
    team_one = client.get(f"{TEAMS_URL}/{one['id']}", headers=auth_headers).json()
    assert team_one["users"] == []


def test_get_user_by_id_and_name(client, auth_headers):
    user = created(client, USERS_URL, user_request("jane"), auth_headers)

    by_id = client.get(f"{USERS_URL}/{user['id']}", headers=auth_headers)
    by_name = client.get(f"{USERS_URL}/name/jane", headers=auth_headers)

    assert by_id.json() == user
    assert by_name.json() == user


def test_get_unknown_user_returns_404_with_openmetadata_text(client, auth_headers):
    by_id = client.get(f"{USERS_URL}/{UNKNOWN_ID}", headers=auth_headers)
    by_name = client.get(f"{USERS_URL}/name/nobody", headers=auth_headers)

    assert by_id.json() == {"code": 404, "message": f"user instance for {UNKNOWN_ID} not found"}
    assert by_name.json() == {"code": 404, "message": "user instance for nobody not found"}


def test_delete_team_keeps_membership_until_hard_delete(client, auth_headers, make):
    team = make("team", name="one")
    user = created(client, USERS_URL, user_request("jane", teams=[team["id"]]), auth_headers)

    client.delete(f"{TEAMS_URL}/{team['id']}", headers=auth_headers)
    soft = client.get(f"{USERS_URL}/{user['id']}", headers=auth_headers).json()
    client.delete(f"{TEAMS_URL}/{team['id']}?hardDelete=true", headers=auth_headers)
    hard = client.get(f"{USERS_URL}/{user['id']}", headers=auth_headers).json()

    assert [(ref["name"], ref["deleted"]) for ref in soft["teams"]] == [("one", True)]
    assert hard["teams"] == []
