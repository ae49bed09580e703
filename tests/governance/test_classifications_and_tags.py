"""/api/v1/classifications and /api/v1/tags: FQNs, the tags of a classification, system ones."""

from __future__ import annotations

import pytest

from tests.governance.conftest import (
    CLASSIFICATIONS_URL,
    TAGS_URL,
    classification_request,
    created,
    tag_request,
)


def test_create_classification_returns_201_with_defaults(client, auth_headers):
    response = client.post(
        CLASSIFICATIONS_URL, json=classification_request("Quality"), headers=auth_headers
    )

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "name": "Quality",
        "fullyQualifiedName": "Quality",
        "description": "How good the data is",
        "mutuallyExclusive": False,
        "disabled": False,
        "provider": "user",
        "version": 0.1,
        "updatedAt": body["updatedAt"],
        "updatedBy": "admin",
        "deleted": False,
        "href": f"http://testserver/api/v1/classifications/{body['id']}",
    }


def test_create_classification_without_description_returns_400(client, auth_headers):
    response = client.post(CLASSIFICATIONS_URL, json={"name": "Quality"}, headers=auth_headers)

    assert response.json() == {"code": 400, "message": "[query param description must not be null]"}


def test_create_tag_returns_201_with_fqn_and_classification_reference(client, auth_headers):
    parent = created(client, CLASSIFICATIONS_URL, classification_request("Quality"), auth_headers)

    response = client.post(
        TAGS_URL,
        json=tag_request("Gold", style={"color": "#FFD700"}, displayName="Gold standard"),
        headers=auth_headers,
    )

    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"] == f"http://testserver/api/v1/tags/{body['id']}"
    assert body == {
        "id": body["id"],
        "name": "Gold",
        "fullyQualifiedName": "Quality.Gold",
        "displayName": "Gold standard",
        "description": "Gold data",
        "style": {"color": "#FFD700"},
        "classification": {
            "id": parent["id"],
            "type": "classification",
            "name": "Quality",
            "fullyQualifiedName": "Quality",
            "deleted": False,
            "href": f"http://testserver/api/v1/classifications/{parent['id']}",
        },
        "disabled": False,
        "provider": "user",
        "version": 0.1,
        "updatedAt": body["updatedAt"],
        "updatedBy": "admin",
        "deleted": False,
        "href": f"http://testserver/api/v1/tags/{body['id']}",
    }


@pytest.mark.parametrize(
    ("classification", "tag", "fqn"),
    [
        pytest.param("Quality", "Gold", "Quality.Gold", id="plain"),
        pytest.param("Quality", "v1.2", 'Quality."v1.2"', id="dotted-tag"),
        pytest.param("data.quality", "Gold", '"data.quality".Gold', id="dotted-classification"),
        pytest.param("data.quality", "v1.2", '"data.quality"."v1.2"', id="both-dotted"),
        pytest.param("Quality", '"Gold"', "Quality.Gold", id="quoted-without-dot"),
        pytest.param("Quality", '"v1.2"', 'Quality."v1.2"', id="quoted-with-dot"),
    ],
)
def test_create_tag_fqn_follows_fully_qualified_name_quoting(
    client, auth_headers, make, classification, tag, fqn
):
    body = make("tag", name=tag, classification=classification)

    assert body["fullyQualifiedName"] == fqn
    by_fqn = client.get(f"{TAGS_URL}/name/{fqn}", headers=auth_headers)
    assert by_fqn.json()["id"] == body["id"]


def test_create_tag_name_with_inner_quote_returns_400(client, auth_headers, make):
    make("classification", name="Quality")

    response = client.post(TAGS_URL, json=tag_request('Go"ld'), headers=auth_headers)

    assert response.json() == {"code": 400, "message": 'Invalid name Go"ld'}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param(
            {"name": "Gold", "description": "x"},
            "[query param classification must not be null]",
            id="no-classification",
        ),
        pytest.param(
            {"name": "Gold", "classification": "Quality"},
            "[query param description must not be null]",
            id="no-description",
        ),
        pytest.param(
            {**tag_request(), "style": {"colour": "red"}},
            "[query param style.colour is not a recognized field]",
            id="bad-style",
        ),
    ],
)
def test_create_tag_invalid_request_returns_400(client, auth_headers, payload, message):
    response = client.post(TAGS_URL, json=payload, headers=auth_headers)

    assert response.json() == {"code": 400, "message": message}


def test_create_tag_unknown_or_deleted_classification_returns_404(client, auth_headers, make):
    gone = make("classification", name="Gone")
    client.delete(f"{CLASSIFICATIONS_URL}/{gone['id']}", headers=auth_headers)

    unknown = client.post(TAGS_URL, json=tag_request(classification="Nope"), headers=auth_headers)
    deleted = client.post(TAGS_URL, json=tag_request(classification="Gone"), headers=auth_headers)

    assert unknown.json() == {"code": 404, "message": "classification instance for Nope not found"}
    assert deleted.json() == {"code": 404, "message": "classification instance for Gone not found"}


def test_create_same_tag_name_in_two_classifications(client, auth_headers, make):
    first = make("tag", name="High", classification="Quality")
    second = make("tag", name="High", classification="Priority")

    assert (first["fullyQualifiedName"], second["fullyQualifiedName"]) == (
        "Quality.High",
        "Priority.High",
    )


def test_put_tag_without_style_keeps_it_and_null_display_name_drops_it(client, auth_headers, make):
    make("tag", name="Gold", style={"color": "#FFD700"}, displayName="Gold standard")

    response = client.put(TAGS_URL, json=tag_request("Gold"), headers=auth_headers)

    assert response.status_code == 200
    body = response.json()
    assert body["style"] == {"color": "#FFD700"}
    assert "displayName" not in body
    assert body["changeDescription"]["fieldsDeleted"] == [
        {"name": "displayName", "oldValue": "Gold standard"}
    ]


def test_put_tag_disables_it(client, auth_headers, make):
    make("tag", name="Gold")

    response = client.put(TAGS_URL, json=tag_request("Gold", disabled=True), headers=auth_headers)

    assert response.json()["disabled"] is True
    assert response.json()["version"] == 0.2


def test_list_tags_of_one_classification(client, auth_headers, make):
    make("tag", name="Gold", classification="Quality")
    make("tag", name="Bronze", classification="Quality")
    make("tag", name="Gold", classification="Other")

    mine = client.get(f"{TAGS_URL}?parent=Quality", headers=auth_headers).json()
    none = client.get(f"{TAGS_URL}?parent=Nope", headers=auth_headers).json()

    assert [tag["fullyQualifiedName"] for tag in mine["data"]] == ["Quality.Bronze", "Quality.Gold"]
    assert mine["paging"] == {"total": 2}
    assert none == {"data": [], "paging": {"total": 0}}


def test_soft_delete_classification_soft_deletes_its_tags(client, auth_headers, make):
    parent = make("classification", name="Quality")
    tag = make("tag", name="Gold")

    response = client.delete(f"{CLASSIFICATIONS_URL}/{parent['id']}", headers=auth_headers)

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entitySoftDeleted"
    assert client.get(f"{TAGS_URL}/{tag['id']}", headers=auth_headers).status_code == 404
    deleted = client.get(f"{TAGS_URL}/{tag['id']}?include=deleted", headers=auth_headers).json()
    assert deleted["deleted"] is True
    assert deleted["version"] == 0.2
    assert deleted["classification"]["deleted"] is True


def test_put_soft_deleted_classification_restores_it_and_its_tags(client, auth_headers, make):
    parent = make("classification", name="Quality")
    tag = make("tag", name="Gold")
    client.delete(f"{CLASSIFICATIONS_URL}/{parent['id']}", headers=auth_headers)

    response = client.put(
        CLASSIFICATIONS_URL, json=classification_request("Quality"), headers=auth_headers
    )

    assert response.status_code == 200
    assert response.json()["deleted"] is False
    assert response.json()["version"] == 0.3
    restored = client.get(f"{TAGS_URL}/{tag['id']}", headers=auth_headers).json()
    assert (restored["deleted"], restored["version"]) == (False, 0.3)


def test_hard_delete_classification_removes_its_tags(client, auth_headers, make):
    parent = make("classification", name="Quality")
    tag = make("tag", name="Gold")

    response = client.delete(
        f"{CLASSIFICATIONS_URL}/name/Quality?hardDelete=true", headers=auth_headers
    )

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entityDeleted"
    assert response.json()["id"] == parent["id"]
    assert (
        client.get(f"{TAGS_URL}/{tag['id']}?include=all", headers=auth_headers).status_code == 404
    )


@pytest.mark.parametrize("hard", ["false", "true"])
def test_delete_system_classification_or_tag_returns_400(client, auth_headers, hard):
    pii = client.delete(f"{CLASSIFICATIONS_URL}/name/PII?hardDelete={hard}", headers=auth_headers)
    tier1 = client.delete(f"{TAGS_URL}/name/Tier.Tier1?hardDelete={hard}", headers=auth_headers)

    assert pii.json() == {
        "code": 400,
        "message": "System entity [PII] of type classification can not be deleted.",
    }
    assert tier1.json() == {
        "code": 400,
        "message": "System entity [Tier1] of type tag can not be deleted.",
    }


def test_system_tag_can_be_disabled(client, auth_headers):
    response = client.put(
        TAGS_URL,
        json={"name": "Sensitive", "classification": "PII", "description": "x", "disabled": True},
        headers=auth_headers,
    )

    assert response.status_code == 200
    assert (response.json()["disabled"], response.json()["provider"]) == (True, "system")
