"""Owners, domains and tags on ML model services: resolved, validated, merged by PUT."""

from __future__ import annotations

import json

import pytest

from tests.factories import SERVICES_URL, create_request

USERS_URL = "/api/v1/users"
TEAMS_URL = "/api/v1/teams"
DOMAINS_URL = "/api/v1/domains"


def _create(client, headers, url, body):
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def jane(client, auth_headers):
    return _create(client, auth_headers, USERS_URL, {"name": "jane", "email": "jane@example.com"})


@pytest.fixture
def marketing(client, auth_headers):
    body = {"name": "Marketing", "description": "Marketing", "domainType": "Aggregate"}
    return _create(client, auth_headers, DOMAINS_URL, body)


def test_create_with_owners_domains_and_tags_returns_resolved_references(
    client, auth_headers, jane, marketing
):
    payload = create_request(
        owners=[{"id": jane["id"], "type": "user"}],
        domains=["Marketing"],
        tags=[{"tagFQN": "PII.Sensitive"}, {"tagFQN": "Tier.Tier1"}, {"tagFQN": "PII.Sensitive"}],
    )

    response = client.post(SERVICES_URL, json=payload, headers=auth_headers)

    assert response.status_code == 201
    body = response.json()
    assert body["owners"] == [
        {
            "id": jane["id"],
            "type": "user",
            "name": "jane",
            "fullyQualifiedName": "jane",
            "deleted": False,
            "href": f"http://testserver/api/v1/users/{jane['id']}",
        }
    ]
    assert [(d["id"], d["type"], d["name"]) for d in body["domains"]] == [
        (marketing["id"], "domain", "Marketing")
    ]
    assert body["domains"][0]["href"] == f"http://testserver/api/v1/domains/{marketing['id']}"
    assert [
        (t["tagFQN"], t["name"], t["source"], t["labelType"], t["state"]) for t in body["tags"]
    ] == [
        ("PII.Sensitive", "Sensitive", "Classification", "Manual", "Confirmed"),
        ("Tier.Tier1", "Tier1", "Classification", "Manual", "Confirmed"),
    ]
    assert all(tag["description"] for tag in body["tags"])


def test_get_with_fields_shows_current_owner_names(client, auth_headers, jane):
    created = client.post(
        SERVICES_URL,
        json=create_request(owners=[{"id": jane["id"], "type": "user"}]),
        headers=auth_headers,
    ).json()
    client.put(
        USERS_URL,
        json={"name": "jane", "email": "jane@example.com", "displayName": "Jane D."},
        headers=auth_headers,
    )

    body = client.get(f"{SERVICES_URL}/{created['id']}?fields=owners", headers=auth_headers).json()

    assert body["owners"][0]["displayName"] == "Jane D."


@pytest.mark.parametrize(
    ("tags", "status", "message"),
    [
        pytest.param(
            [{"tagFQN": "PII.Sensitive"}, {"tagFQN": "PII.NonSensitive"}],
            400,
            "Tag labels PII.NonSensitive and PII.Sensitive are mutually exclusive and can't be "
            "assigned together",
            id="mutually-exclusive",
        ),
        pytest.param(
            [{"tagFQN": "Nope.Nope"}], 404, "tag instance for Nope.Nope not found", id="unknown"
        ),
    ],
)
def test_create_with_bad_tags_is_refused(client, auth_headers, tags, status, message):
    response = client.post(SERVICES_URL, json=create_request(tags=tags), headers=auth_headers)

    assert response.status_code == status
    assert response.json() == {"code": status, "message": message}


def test_create_with_disabled_tag_returns_400(client, auth_headers):
    client.put(
        "/api/v1/tags",
        json={"name": "Tier5", "classification": "Tier", "description": "t", "disabled": True},
        headers=auth_headers,
    )

    response = client.post(
        SERVICES_URL, json=create_request(tags=[{"tagFQN": "Tier.Tier5"}]), headers=auth_headers
    )

    assert response.status_code == 400
    assert (
        response.json()["message"]
        == "Tag label Tier.Tier5 is disabled and can't be assigned to a data asset."
    )


@pytest.mark.parametrize("team_type", ["Department", "Division", "BusinessUnit", "Organization"])
def test_create_owned_by_a_non_group_team_returns_400(client, auth_headers, team_type):
    team = _create(
        client, auth_headers, TEAMS_URL, {"name": f"t-{team_type}", "teamType": team_type}
    )

    response = client.post(
        SERVICES_URL,
        json=create_request(owners=[{"id": team["id"], "type": "team"}]),
        headers=auth_headers,
    )

    assert response.status_code == 400
    assert response.json()["message"] == (
        f"Team of type {team_type} can't own entities. Only Team of type Group can own entities."
    )


def test_put_without_owners_keeps_them_and_with_owners_replaces_them(client, auth_headers, jane):
    team = _create(client, auth_headers, TEAMS_URL, {"name": "data", "teamType": "Group"})
    client.put(
        SERVICES_URL,
        json=create_request(owners=[{"id": jane["id"], "type": "user"}]),
        headers=auth_headers,
    )

    kept = client.put(SERVICES_URL, json=create_request(), headers=auth_headers)
    replaced = client.put(
        SERVICES_URL,
        json=create_request(owners=[{"id": team["id"], "type": "team"}]),
        headers=auth_headers,
    )

    assert kept.headers["X-OpenMetadata-Change"] == "entityNoChange"
    assert [o["name"] for o in kept.json()["owners"]] == ["jane"]
    change = replaced.json()["changeDescription"]
    assert [o["name"] for o in replaced.json()["owners"]] == ["data"]
    assert [c["name"] for c in change["fieldsAdded"]] == ["owners"]
    assert [c["name"] for c in change["fieldsDeleted"]] == ["owners"]
    assert json.loads(change["fieldsAdded"][0]["newValue"])[0]["id"] == team["id"]
    assert json.loads(change["fieldsDeleted"][0]["oldValue"])[0]["id"] == jane["id"]


def test_put_merges_tags_and_never_removes_them(client, auth_headers):
    client.put(
        SERVICES_URL, json=create_request(tags=[{"tagFQN": "PII.Sensitive"}]), headers=auth_headers
    )

    response = client.put(
        SERVICES_URL, json=create_request(tags=[{"tagFQN": "Tier.Tier2"}]), headers=auth_headers
    )
    again = client.put(
        SERVICES_URL, json=create_request(tags=[{"tagFQN": "Tier.Tier2"}]), headers=auth_headers
    )

    assert [t["tagFQN"] for t in response.json()["tags"]] == ["PII.Sensitive", "Tier.Tier2"]
    added = response.json()["changeDescription"]["fieldsAdded"]
    assert [c["name"] for c in added] == ["tags"]
    assert [t["tagFQN"] for t in json.loads(added[0]["newValue"])] == ["Tier.Tier2"]
    assert again.headers["X-OpenMetadata-Change"] == "entityNoChange"


def test_put_tag_exclusive_with_a_stored_one_returns_400(client, auth_headers):
    client.put(
        SERVICES_URL, json=create_request(tags=[{"tagFQN": "Tier.Tier1"}]), headers=auth_headers
    )

    response = client.put(
        SERVICES_URL, json=create_request(tags=[{"tagFQN": "Tier.Tier2"}]), headers=auth_headers
    )

    assert response.status_code == 400
    assert "mutually exclusive" in response.json()["message"]


def test_put_domains_replaced_when_given_and_kept_from_a_bot(
    client, auth_headers, bot_headers, marketing
):
    sales = _create(
        client,
        auth_headers,
        DOMAINS_URL,
        {"name": "Sales", "description": "s", "domainType": "Aggregate"},
    )
    client.put(SERVICES_URL, json=create_request(domains=["Marketing"]), headers=auth_headers)

    by_bot = client.put(SERVICES_URL, json=create_request(domains=["Sales"]), headers=bot_headers)
    by_admin = client.put(
        SERVICES_URL, json=create_request(domains=["Sales"]), headers=auth_headers
    )

    assert [d["name"] for d in by_bot.json()["domains"]] == ["Marketing"]
    assert [d["id"] for d in by_admin.json()["domains"]] == [sales["id"]]


def test_list_filters_by_domain(client, auth_headers, marketing):
    client.put(SERVICES_URL, json=create_request("in", domains=["Marketing"]), headers=auth_headers)
    client.put(SERVICES_URL, json=create_request("out"), headers=auth_headers)

    body = client.get(f"{SERVICES_URL}?domain=Marketing", headers=auth_headers).json()
    missing = client.get(f"{SERVICES_URL}?domain=Nowhere", headers=auth_headers)

    assert [item["name"] for item in body["data"]] == ["in"]
    assert body["paging"]["total"] == 1
    assert missing.status_code == 404
    assert missing.json()["message"] == "domain instance for Nowhere not found"


def test_list_domain_filter_follows_domain_changes(client, auth_headers, marketing):
    _create(
        client,
        auth_headers,
        DOMAINS_URL,
        {"name": "Sales", "description": "s", "domainType": "Aggregate"},
    )
    client.put(
        SERVICES_URL, json=create_request("svc", domains=["Marketing"]), headers=auth_headers
    )

    client.put(SERVICES_URL, json=create_request("svc", domains=["Sales"]), headers=auth_headers)

    assert (
        client.get(f"{SERVICES_URL}?domain=Marketing", headers=auth_headers).json()["paging"][
            "total"
        ]
        == 0
    )
    assert (
        client.get(f"{SERVICES_URL}?domain=Sales", headers=auth_headers).json()["paging"]["total"]
        == 1
    )


def test_bulk_items_get_the_same_checks(client, auth_headers, jane):
    payload = [
        create_request(
            "ok", owners=[{"id": jane["id"], "type": "user"}], tags=[{"tagFQN": "Tier.Tier1"}]
        ),
        create_request("bad", tags=[{"tagFQN": "Nope.Nope"}]),
    ]

    body = client.put(f"{SERVICES_URL}/bulk", json=payload, headers=auth_headers).json()

    assert body["numberOfRowsPassed"] == 1
    assert body["failedRequest"][0]["status"] == 404
    stored = client.get(f"{SERVICES_URL}/name/ok?fields=owners,tags", headers=auth_headers).json()
    assert [o["name"] for o in stored["owners"]] == ["jane"]
    assert [t["tagFQN"] for t in stored["tags"]] == ["Tier.Tier1"]


def test_domain_answers_carry_only_keys_the_client_knows(client, auth_headers, marketing):
    fetched = client.get(f"{DOMAINS_URL}/name/Marketing", headers=auth_headers).json()

    assert "deleted" not in marketing
    assert "deleted" not in fetched
