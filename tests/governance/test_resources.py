"""What every governance resource does alike: create, read, list and page, delete."""

from __future__ import annotations

import base64
import json

import pytest

from tests.governance.conftest import RESOURCES

UNKNOWN_ID = "3f2a1c7e-0000-4000-8000-000000000000"
KINDS = list(RESOURCES)
# What each list holds from the first start, before a test adds anything.
BUILT_IN_COUNT = {"user": 2, "team": 0, "domain": 0, "classification": 3, "tag": 10}


def _url(kind):
    return RESOURCES[kind][0]


def _names(body):
    return [item["name"] for item in body["data"]]


def _mine(kind, body):
    """The names a list answer holds, without the built-in users, classifications, tags."""
    builtin = {"admin", "ingestion-bot", "PII", "Tier", "PersonalData"}
    return [
        item["name"]
        for item in body["data"]
        if item["name"] not in builtin and item.get("provider") != "system"
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_post_then_get_by_id_and_by_name_agree(client, auth_headers, make, kind):
    entity = make(kind, name="first")

    by_id = client.get(f"{_url(kind)}/{entity['id']}", headers=auth_headers)
    by_name = client.get(f"{_url(kind)}/name/{entity['fullyQualifiedName']}", headers=auth_headers)

    assert by_id.status_code == by_name.status_code == 200
    assert by_id.json() == by_name.json() == entity
    assert entity["href"] == f"http://testserver{_url(kind)}/{entity['id']}"
    assert (entity["version"], entity["updatedBy"], entity.get("deleted", False)) == (
        0.1,
        "admin",
        False,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_post_taken_name_returns_409(client, auth_headers, make, kind):
    make(kind, name="first")
    body = RESOURCES[kind][1](name="first")

    response = client.post(_url(kind), json=body, headers=auth_headers)

    assert response.status_code == 409
    assert response.json() == {"code": 409, "message": "Entity already exists"}


@pytest.mark.parametrize("kind", KINDS)
def test_put_creates_then_updates_with_change_header(client, auth_headers, make, kind):
    if kind == "tag":
        make("classification", name="Quality")
    body = RESOURCES[kind][1](name="first")

    created = client.put(_url(kind), json=body, headers=auth_headers)
    updated = client.put(_url(kind), json={**body, "description": "new"}, headers=auth_headers)

    assert (created.status_code, created.headers["X-OpenMetadata-Change"]) == (201, "entityCreated")
    assert (updated.status_code, updated.headers["X-OpenMetadata-Change"]) == (200, "entityUpdated")
    assert updated.json()["id"] == created.json()["id"]
    assert (updated.json()["description"], updated.json()["version"]) == ("new", 0.2)


@pytest.mark.parametrize("kind", KINDS)
def test_get_unknown_returns_404_naming_type_and_key(client, auth_headers, kind):
    by_id = client.get(f"{_url(kind)}/{UNKNOWN_ID}", headers=auth_headers)
    by_name = client.get(f"{_url(kind)}/name/nothing", headers=auth_headers)

    assert by_id.status_code == by_name.status_code == 404
    assert by_id.json()["message"] == f"{kind} instance for {UNKNOWN_ID} not found"
    assert by_name.json()["message"] == f"{kind} instance for nothing not found"


@pytest.mark.parametrize("kind", KINDS)
def test_get_by_id_not_a_uuid_returns_400(client, auth_headers, kind):
    response = client.get(f"{_url(kind)}/not-a-uuid", headers=auth_headers)

    assert response.json() == {"code": 400, "message": "[query param id must be a UUID]"}


@pytest.mark.parametrize("kind", KINDS)
def test_list_first_start_holds_only_the_built_ins(client, auth_headers, kind):
    response = client.get(f"{_url(kind)}?limit=100", headers=auth_headers)

    assert response.status_code == 200
    assert response.json()["paging"] == {"total": BUILT_IN_COUNT[kind]}


@pytest.mark.parametrize("kind", KINDS)
def test_list_pages_forward_then_back_in_name_order(client, auth_headers, make, kind):
    for name in ["p-e", "p-d", "p-c", "p-b", "p-a"]:
        make(kind, name=name)
    total = BUILT_IN_COUNT[kind] + 5
    everything = client.get(f"{_url(kind)}?limit=100", headers=auth_headers).json()

    pages = [client.get(f"{_url(kind)}?limit=2", headers=auth_headers).json()]
    while "after" in pages[-1]["paging"]:
        cursor = pages[-1]["paging"]["after"]
        pages.append(
            client.get(f"{_url(kind)}?limit=2&after={cursor}", headers=auth_headers).json()
        )
    cursor = pages[-1]["paging"]["before"]
    back = client.get(f"{_url(kind)}?limit=2&before={cursor}", headers=auth_headers).json()

    assert everything["paging"] == {"total": total}
    assert _names(everything) == sorted(_names(everything))
    assert [name for page in pages for name in _names(page)] == _names(everything)
    assert "before" not in pages[0]["paging"]
    assert {page["paging"]["total"] for page in pages} == {total}
    assert _names(back) == _names(pages[-2])
    assert back["paging"]["after"] == pages[-2]["paging"]["after"]


def test_list_cursor_is_urlsafe_base64_of_name_and_id(client, auth_headers, make):
    make("domain", name="d-a")
    make("domain", name="d-b")

    body = client.get(f"{_url('domain')}?limit=1", headers=auth_headers).json()

    assert json.loads(base64.urlsafe_b64decode(body["paging"]["after"])) == {
        "name": "d-a",
        "id": body["data"][0]["id"],
    }


@pytest.mark.parametrize("kind", KINDS)
def test_list_limit_zero_and_cursor_errors(client, auth_headers, kind):
    zero = client.get(f"{_url(kind)}?limit=0", headers=auth_headers)
    both = client.get(f"{_url(kind)}?before=&after=", headers=auth_headers)
    bad = client.get(f"{_url(kind)}?after=%%%", headers=auth_headers)
    limit = client.get(f"{_url(kind)}?limit=-1", headers=auth_headers)

    assert zero.json() == {"data": [], "paging": {"total": BUILT_IN_COUNT[kind]}}
    assert both.json() == {
        "code": 400,
        "message": "Only one of before or after query parameter allowed",
    }
    assert bad.json() == {"code": 400, "message": "Invalid paging cursor %%%"}
    assert limit.json() == {
        "code": 400,
        "message": "[query param limit must be greater than or equal to 0]",
    }


@pytest.mark.parametrize("kind", KINDS)
def test_soft_delete_hides_then_include_shows(client, auth_headers, make, kind):
    entity = make(kind, name="gone")
    make(kind, name="kept")

    response = client.delete(f"{_url(kind)}/{entity['id']}", headers=auth_headers)

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entitySoftDeleted"
    body = response.json()
    assert (body.get("deleted", True), body["version"]) == (True, 0.2)
    assert body["changeDescription"] == {
        "fieldsAdded": [],
        "fieldsUpdated": [{"name": "deleted", "oldValue": False, "newValue": True}],
        "fieldsDeleted": [],
        "previousVersion": 0.1,
    }
    url = _url(kind)
    assert client.get(f"{url}/{entity['id']}", headers=auth_headers).status_code == 404
    assert client.get(f"{url}/{entity['id']}?include=deleted", headers=auth_headers).json() == body
    assert (
        client.get(
            f"{url}/name/{entity['fullyQualifiedName']}?include=all", headers=auth_headers
        ).json()
        == body
    )
    listed = {
        include: _mine(
            kind, client.get(f"{url}?limit=100&include={include}", headers=auth_headers).json()
        )
        for include in ("non-deleted", "deleted", "all")
    }
    assert listed == {"non-deleted": ["kept"], "deleted": ["gone"], "all": ["gone", "kept"]}


@pytest.mark.parametrize("kind", KINDS)
def test_soft_delete_twice_changes_nothing_more(client, auth_headers, make, kind):
    entity = make(kind, name="gone")
    first = client.delete(f"{_url(kind)}/{entity['id']}", headers=auth_headers)

    second = client.delete(f"{_url(kind)}/{entity['id']}", headers=auth_headers)

    assert second.status_code == 200
    assert second.json() == first.json()


@pytest.mark.parametrize("kind", KINDS)
def test_put_soft_deleted_restores_it(client, auth_headers, make, kind):
    entity = make(kind, name="back")
    client.delete(f"{_url(kind)}/{entity['id']}", headers=auth_headers)
    body = RESOURCES[kind][1](name="back")

    response = client.put(_url(kind), json=body, headers=auth_headers)

    assert response.status_code == 200
    assert (response.json().get("deleted", False), response.json()["version"]) == (False, 0.3)
    assert response.json()["changeDescription"]["fieldsUpdated"] == [
        {"name": "deleted", "oldValue": True, "newValue": False}
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_hard_delete_by_name_removes_the_row(client, auth_headers, make, kind):
    entity = make(kind, name="gone")

    response = client.delete(
        f"{_url(kind)}/name/{entity['fullyQualifiedName']}?hardDelete=true", headers=auth_headers
    )

    assert response.status_code == 200
    assert response.headers["X-OpenMetadata-Change"] == "entityDeleted"
    assert response.json() == entity
    gone = client.get(f"{_url(kind)}/{entity['id']}?include=all", headers=auth_headers)
    assert gone.status_code == 404
    again = client.post(_url(kind), json=RESOURCES[kind][1](name="gone"), headers=auth_headers)
    assert again.status_code == 201


@pytest.mark.parametrize("kind", KINDS)
def test_hard_delete_soft_deleted_by_id_removes_it(client, auth_headers, make, kind):
    entity = make(kind, name="gone")
    client.delete(f"{_url(kind)}/{entity['id']}", headers=auth_headers)

    response = client.delete(f"{_url(kind)}/{entity['id']}?hardDelete=true", headers=auth_headers)

    assert response.status_code == 200
    assert response.json().get("deleted", True) is True
    assert (
        client.get(f"{_url(kind)}/{entity['id']}?include=all", headers=auth_headers).status_code
        == 404
    )


@pytest.mark.parametrize("kind", KINDS)
def test_delete_unknown_returns_404(client, auth_headers, kind):
    by_id = client.delete(f"{_url(kind)}/{UNKNOWN_ID}", headers=auth_headers)
    by_name = client.delete(f"{_url(kind)}/name/nothing", headers=auth_headers)

    assert by_id.json() == {"code": 404, "message": f"{kind} instance for {UNKNOWN_ID} not found"}
    assert by_name.json() == {"code": 404, "message": f"{kind} instance for nothing not found"}


@pytest.mark.parametrize("kind", KINDS)
def test_requests_without_token_return_401(client, kind):
    assert client.get(_url(kind)).json() == {
        "code": 401,
        "message": "Not Authorized! Token not present",
    }


@pytest.mark.parametrize("kind", KINDS)
def test_create_nul_character_returns_400(client, auth_headers, make, kind):
    if kind == "tag":
        make("classification", name="Quality")
    body = RESOURCES[kind][1](name="first", displayName="a\x00b")

    response = client.post(_url(kind), json=body, headers=auth_headers)

    assert response.json() == {
        "code": 400,
        "message": "[query param displayName must not contain the NUL character]",
    }
