"""/api/v1/teams and /api/v1/domains: their own fields and rules."""

from __future__ import annotations

import pytest

from tests.governance.conftest import (
    DOMAINS_URL,
    TEAMS_URL,
    USERS_URL,
    created,
    domain_request,
    team_request,
)

UNKNOWN_ID = "3f2a1c7e-0000-4000-8000-000000000000"


def test_create_team_defaults_to_group_and_answers_its_users(client, auth_headers, make):
    jane = make("user", name="jane")

    response = client.post(
        TEAMS_URL, json=team_request("ds", users=[jane["id"]]), headers=auth_headers
    )

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "name": "ds",
        "fullyQualifiedName": "ds",
        "teamType": "Group",
        "users": [
            {
                "id": jane["id"],
                "type": "user",
                "name": "jane",
                "fullyQualifiedName": "jane",
                "deleted": False,
                "href": f"http://testserver/api/v1/users/{jane['id']}",
            }
        ],
        "version": 0.1,
        "updatedAt": body["updatedAt"],
        "updatedBy": "admin",
        "deleted": False,
        "href": f"http://testserver/api/v1/teams/{body['id']}",
    }
    user = client.get(f"{USERS_URL}/{jane['id']}", headers=auth_headers).json()
    assert [team["name"] for team in user["teams"]] == ["ds"]


@pytest.mark.parametrize(
    "team_type", ["Group", "Department", "Division", "BusinessUnit", "Organization"]
)
def test_create_team_keeps_each_team_type(client, auth_headers, team_type):
    body = created(client, TEAMS_URL, team_request("t", teamType=team_type), auth_headers)

    assert body["teamType"] == team_type


def test_create_team_unknown_team_type_returns_400(client, auth_headers):
    response = client.post(TEAMS_URL, json=team_request(teamType="Squad"), headers=auth_headers)

    assert response.json() == {
        "code": 400,
        "message": "[query param teamType must be one of "
        "[Group, Department, Division, BusinessUnit, Organization]]",
    }


def test_create_team_unknown_user_returns_404(client, auth_headers):
    response = client.post(TEAMS_URL, json=team_request(users=[UNKNOWN_ID]), headers=auth_headers)

    assert response.status_code == 404
    assert response.json()["message"] == f"user instance for {UNKNOWN_ID} not found"


def test_put_team_without_team_type_keeps_it(client, auth_headers):
    created(client, TEAMS_URL, team_request("t", teamType="Division"), auth_headers)

    response = client.put(TEAMS_URL, json=team_request("t"), headers=auth_headers)

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entityNoChange"
    assert response.json()["teamType"] == "Division"


def test_put_team_users_replaces_them(client, auth_headers, make):
    jane, john = make("user", name="jane"), make("user", name="john")
    created(client, TEAMS_URL, team_request("t", users=[jane["id"]]), auth_headers)

    response = client.put(
        TEAMS_URL, json=team_request("t", users=[john["id"]]), headers=auth_headers
    )

    assert [user["name"] for user in response.json()["users"]] == ["john"]
    assert client.get(f"{USERS_URL}/{jane['id']}", headers=auth_headers).json()["teams"] == []


def test_create_domain_returns_201_with_domain_type(client, auth_headers):
    response = client.post(DOMAINS_URL, json=domain_request("Marketing"), headers=auth_headers)

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "name": "Marketing",
        "fullyQualifiedName": "Marketing",
        "description": "Marketing data",
        "domainType": "Aggregate",
        "version": 0.1,
        "updatedAt": body["updatedAt"],
        "updatedBy": "admin",
        "href": f"http://testserver/api/v1/domains/{body['id']}",
    }


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param(
            {"name": "d", "description": "x"},
            "[query param domainType must not be null]",
            id="no-type",
        ),
        pytest.param(
            {"name": "d", "description": "x", "domainType": "Source"},
            "[query param domainType must be one of [Source-aligned, Consumer-aligned, Aggregate]]",
            id="unknown-type",
        ),
        pytest.param(
            {"name": "d", "domainType": "Aggregate"},
            "[query param description must not be null]",
            id="no-description",
        ),
    ],
)
def test_create_domain_invalid_request_returns_400(client, auth_headers, payload, message):
    response = client.post(DOMAINS_URL, json=payload, headers=auth_headers)

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": message}


def test_put_domain_changes_domain_type(client, auth_headers):
    created(client, DOMAINS_URL, domain_request("d"), auth_headers)

    response = client.put(
        DOMAINS_URL, json=domain_request("d", domainType="Source-aligned"), headers=auth_headers
    )

    assert response.json()["domainType"] == "Source-aligned"
    assert response.json()["changeDescription"]["fieldsUpdated"] == [
        {"name": "domainType", "oldValue": "Aggregate", "newValue": "Source-aligned"}
    ]


def test_get_domain_with_dot_by_plain_or_quoted_name(client, auth_headers):
    domain = created(client, DOMAINS_URL, domain_request("sales.emea"), auth_headers)

    plain = client.get(f"{DOMAINS_URL}/name/sales.emea", headers=auth_headers)
    quoted = client.get(f"{DOMAINS_URL}/name/%22sales.emea%22", headers=auth_headers)

    assert domain["fullyQualifiedName"] == '"sales.emea"'
    assert plain.json()["id"] == quoted.json()["id"] == domain["id"]


def test_create_domain_name_quoting_to_a_taken_fqn_returns_409(client, auth_headers):
    created(client, DOMAINS_URL, domain_request("a.b"), auth_headers)

    post = client.post(DOMAINS_URL, json=domain_request('"a.b"'), headers=auth_headers)
    put = client.put(DOMAINS_URL, json=domain_request('"a.b"'), headers=auth_headers)

    assert post.status_code == put.status_code == 409
