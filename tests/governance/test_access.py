"""Only admins change users, teams, domains, classifications and tags; anyone signed in reads."""

from __future__ import annotations

import pytest

from mlmodel_emulator.config import Settings
from tests.governance.conftest import RESOURCES, USERS_URL, created, user_request

KINDS = list(RESOURCES)


def _not_admin(name):
    return {"code": 403, "message": f"Principal: CatalogPrincipal{{name='{name}'}} is not admin"}


def _bearer(token_for, name, **kwargs):
    return {"Authorization": f"Bearer {token_for(name, **kwargs)}"}


@pytest.mark.parametrize("kind", KINDS)
def test_non_admin_user_cannot_create_update_or_delete(client, jane_headers, make, kind):
    url, request = RESOURCES[kind]
    entity = make(kind, name="first")
    body = request(name="second")

    post = client.post(url, json=body, headers=jane_headers)
    put = client.put(url, json=request(name="first", description="new"), headers=jane_headers)
    by_id = client.delete(f"{url}/{entity['id']}", headers=jane_headers)
    by_name = client.delete(
        f"{url}/name/{entity['fullyQualifiedName']}?hardDelete=true", headers=jane_headers
    )

    for response in (post, put, by_id, by_name):
        assert response.status_code == 403
        assert response.json() == _not_admin("jane")
        assert response.headers["WWW-Authenticate"] == "om-auth"


@pytest.mark.parametrize("kind", KINDS)
def test_non_admin_user_reads(client, jane_headers, make, kind):
    url, _ = RESOURCES[kind]
    entity = make(kind, name="first")

    listed = client.get(url, headers=jane_headers)
    by_id = client.get(f"{url}/{entity['id']}", headers=jane_headers)
    by_name = client.get(f"{url}/name/{entity['fullyQualifiedName']}", headers=jane_headers)

    assert listed.status_code == by_id.status_code == by_name.status_code == 200
    assert by_id.json() == by_name.json() == entity


def test_forbidden_write_changes_nothing(client, auth_headers, jane_headers):
    created(client, USERS_URL, user_request("john"), auth_headers)

    client.put(USERS_URL, json=user_request("john", isAdmin=True), headers=jane_headers)

    john = client.get(f"{USERS_URL}/name/john", headers=auth_headers).json()
    assert (john["isAdmin"], john["version"]) == (False, 0.1)


def test_bot_is_never_admin(client, auth_headers, bot_headers, token_for, make_client):
    created(client, USERS_URL, user_request("robot", isAdmin=True), auth_headers)
    named = make_client(admin_users={"ingestion-bot", "robot"})
    robot_headers = _bearer(token_for, "robot", is_bot=True)

    builtin_bot = client.post(USERS_URL, json=user_request("x1"), headers=bot_headers)
    listed_bot = named.post(USERS_URL, json=user_request("x2"), headers=bot_headers)
    bot_token = named.post(USERS_URL, json=user_request("x3"), headers=robot_headers)

    assert builtin_bot.json() == _not_admin("ingestion-bot")
    assert listed_bot.json() == _not_admin("ingestion-bot")
    assert bot_token.json() == _not_admin("robot")


def test_user_recorded_as_bot_is_no_admin(client, auth_headers, token_for, make_client):
    created(client, USERS_URL, user_request("robot", isBot=True, isAdmin=True), auth_headers)
    named = make_client(admin_users={"robot"})

    response = named.post(USERS_URL, json=user_request("x"), headers=_bearer(token_for, "robot"))

    assert response.json() == _not_admin("robot")


def test_user_made_admin_may_write(client, auth_headers, token_for):
    created(client, USERS_URL, user_request("root", isAdmin=True), auth_headers)

    response = client.post(USERS_URL, json=user_request("x"), headers=_bearer(token_for, "root"))

    assert response.status_code == 201
    assert response.json()["updatedBy"] == "root"


def test_admin_users_setting_makes_admins(client, jane_headers, make_client):
    named = make_client(admin_users={"Jane"})

    response = named.post(USERS_URL, json=user_request("x"), headers=jane_headers)

    assert response.status_code == 201


def test_soft_deleted_admin_is_refused_as_any_deleted_user(client, auth_headers, token_for):
    root = created(client, USERS_URL, user_request("root", isAdmin=True), auth_headers)
    client.delete(f"{USERS_URL}/{root['id']}", headers=auth_headers)

    response = client.post(USERS_URL, json=user_request("x"), headers=_bearer(token_for, "root"))

    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Not Authorized! User root is deleted"}


def test_admin_users_env_is_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("MLMODEL_EMULATOR_ADMIN_USERS", " alice, bob ,,carol")

    assert Settings().admin_users == {"alice", "bob", "carol"}
