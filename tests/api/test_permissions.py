"""Who may create, edit and read ML model services: admins, bots, owners; 403 for others."""

from __future__ import annotations

import pytest

from tests.factories import SERVICES_URL, create_request

USERS_URL = "/api/v1/users"
TEAMS_URL = "/api/v1/teams"


def _denied(name, operation):
    return f"Principal: CatalogPrincipal{{name='{name}'}} operations [{operation}] not allowed"


@pytest.fixture
def owned(client, auth_headers, user_headers):
    """A service owned by user 'olga', and headers for olga and for 'nina' (no owner)."""
    olga = user_headers("olga")
    nina = user_headers("nina")
    olga_id = client.get(f"{USERS_URL}/name/olga", headers=auth_headers).json()["id"]
    client.put(
        SERVICES_URL,
        json=create_request(owners=[{"id": olga_id, "type": "user"}]),
        headers=auth_headers,
    )
    return olga, nina


def test_create_by_a_plain_user_returns_403(client, user_headers):
    headers = user_headers("nina")

    post = client.post(SERVICES_URL, json=create_request(), headers=headers)
    put = client.put(SERVICES_URL, json=create_request(), headers=headers)

    assert (post.status_code, post.json()["message"]) == (403, _denied("nina", "Create"))
    assert (put.status_code, put.json()["message"]) == (403, _denied("nina", "Create"))


def test_owner_can_update_and_others_get_403(client, auth_headers, owned):
    olga, nina = owned

    by_owner = client.put(SERVICES_URL, json=create_request(description="olga's"), headers=olga)
    by_other = client.put(SERVICES_URL, json=create_request(description="nina's"), headers=nina)

    assert by_owner.status_code == 200
    assert by_owner.json()["updatedBy"] == "olga"
    assert (by_other.status_code, by_other.json()["message"]) == (403, _denied("nina", "EditAll"))
    stored = client.get(f"{SERVICES_URL}/name/mlflow_svc", headers=auth_headers).json()
    assert stored["description"] == "olga's"


def test_member_of_an_owning_team_can_update(client, auth_headers, user_headers):
    headers = user_headers("tom")
    tom_id = client.get(f"{USERS_URL}/name/tom", headers=auth_headers).json()["id"]
    team = client.post(
        TEAMS_URL,
        json={"name": "owners", "teamType": "Group", "users": [tom_id]},
        headers=auth_headers,
    ).json()
    client.put(
        SERVICES_URL,
        json=create_request(owners=[{"id": team["id"], "type": "team"}]),
        headers=auth_headers,
    )

    response = client.put(SERVICES_URL, json=create_request(description="by tom"), headers=headers)

    assert response.status_code == 200


def test_anyone_authenticated_can_read(client, user_headers, owned):
    _, nina = owned

    assert client.get(f"{SERVICES_URL}/name/mlflow_svc", headers=nina).status_code == 200
    assert client.get(SERVICES_URL, headers=nina).json()["paging"]["total"] == 1


def test_bot_can_create_and_update(client, bot_headers, owned):
    created = client.put(SERVICES_URL, json=create_request("bot_made"), headers=bot_headers)
    updated = client.put(
        SERVICES_URL, json=create_request(description="from the bot"), headers=bot_headers
    )

    assert (created.status_code, updated.status_code) == (201, 200)


def test_bulk_items_are_authorized_one_by_one(client, owned):
    olga, _ = owned

    body = client.put(
        f"{SERVICES_URL}/bulk",
        json=[create_request(description="ok"), create_request("new_one")],
        headers=olga,
    ).json()

    assert body["successRequest"] == [
        {"request": "mlflow_svc", "status": 200, "message": "entityUpdated"}
    ]
    assert [(f["status"], f["message"]) for f in body["failedRequest"]] == [
        (403, _denied("olga", "Create"))
    ]


def test_admin_named_in_settings_can_create(make_client, auth_headers, token_for):
    client = make_client(admin_users=frozenset({"ops"}))
    client.post(USERS_URL, json={"name": "ops", "email": "ops@example.com"}, headers=auth_headers)

    response = client.post(
        SERVICES_URL, json=create_request(), headers={"Authorization": f"Bearer {token_for('ops')}"}
    )

    assert response.status_code == 201


@pytest.mark.parametrize("path", ["", "/name/x"])
def test_token_of_an_unknown_user_returns_401(client, token_for, path):
    headers = {"Authorization": f"Bearer {token_for('ghost')}"}

    response = client.get(f"{SERVICES_URL}{path}", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Not Authorized! User ghost does not exist"}
