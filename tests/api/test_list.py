"""GET /api/v1/services/mlmodelServices: paging with before/after cursors."""

from __future__ import annotations

import base64
import json

import pytest

from tests.factories import SERVICES_URL, create_request

NAMES = ["svc-a", "svc-b", "svc-c", "svc-d", "svc-e"]


@pytest.fixture
def five(client, auth_headers):
    for name in reversed(NAMES):
        client.post(SERVICES_URL, json=create_request(name), headers=auth_headers)


def _names(body):
    return [item["name"] for item in body["data"]]


def test_list_default_returns_all_in_name_order_with_total(client, auth_headers, five):
    response = client.get(SERVICES_URL, headers=auth_headers)

    assert response.status_code == 200
    body = response.json()
    assert _names(body) == NAMES
    assert body["paging"] == {"total": 5}


def test_list_pages_forward_then_back(client, auth_headers, five):
    first = client.get(f"{SERVICES_URL}?limit=2", headers=auth_headers).json()
    second = client.get(
        f"{SERVICES_URL}?limit=2&after={first['paging']['after']}", headers=auth_headers
    ).json()
    third = client.get(
        f"{SERVICES_URL}?limit=2&after={second['paging']['after']}", headers=auth_headers
    ).json()
    back = client.get(
        f"{SERVICES_URL}?limit=2&before={third['paging']['before']}", headers=auth_headers
    ).json()
    start = client.get(
        f"{SERVICES_URL}?limit=2&before={back['paging']['before']}", headers=auth_headers
    ).json()

    assert (_names(first), _names(second), _names(third)) == (NAMES[:2], NAMES[2:4], NAMES[4:])
    assert "before" not in first["paging"]
    assert "after" not in third["paging"]
    assert {first["paging"]["total"], second["paging"]["total"], third["paging"]["total"]} == {5}
    assert _names(back) == NAMES[2:4]
    assert _names(start) == NAMES[:2]
    assert "before" not in start["paging"]
    assert start["paging"]["after"] == first["paging"]["after"]


def test_list_cursor_is_urlsafe_base64_of_name_and_id(client, auth_headers, five):
    body = client.get(f"{SERVICES_URL}?limit=1", headers=auth_headers).json()

    cursor = body["paging"]["after"]
    decoded = json.loads(base64.urlsafe_b64decode(cursor))
    assert decoded == {"name": "svc-a", "id": body["data"][0]["id"]}
    assert cursor == base64.urlsafe_b64encode(base64.urlsafe_b64decode(cursor)).decode()


def test_list_limit_zero_returns_only_total(client, auth_headers, five):
    response = client.get(f"{SERVICES_URL}?limit=0", headers=auth_headers)

    assert response.json() == {"data": [], "paging": {"total": 5}}


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("-1", "[query param limit must be greater than or equal to 0]"),
        ("1000001", "[query param limit must be less than or equal to 1000000]"),
        ("ten", "[query param limit must be an integer]"),
    ],
)
def test_list_invalid_limit_returns_400(client, auth_headers, limit, message):
    response = client.get(f"{SERVICES_URL}?limit={limit}", headers=auth_headers)

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": message}


def test_list_before_and_after_together_returns_400(client, auth_headers):
    response = client.get(f"{SERVICES_URL}?before=&after=", headers=auth_headers)

    assert response.status_code == 400
    assert response.json()["message"] == "Only one of before or after query parameter allowed"


def test_list_garbage_cursor_returns_400(client, auth_headers):
    response = client.get(f"{SERVICES_URL}?after=%%%", headers=auth_headers)

    assert response.status_code == 400
    assert response.json()["message"] == "Invalid paging cursor %%%"


def test_list_fields_adds_relationships_to_every_item(client, auth_headers, five):
    body = client.get(f"{SERVICES_URL}?fields=owners,tags&limit=2", headers=auth_headers).json()

    assert [(item["owners"], item["tags"]) for item in body["data"]] == [([], []), ([], [])]


def test_list_unusual_names_round_trip(client, auth_headers):
    names = ["a.b", "with space", "x/y", "Ünïcødé"]
    for name in names:
        client.post(SERVICES_URL, json=create_request(name), headers=auth_headers)

    body = client.get(SERVICES_URL, headers=auth_headers).json()

    assert sorted(_names(body)) == sorted(names)


def test_list_every_page_size_walks_the_whole_list_without_duplicates(client, auth_headers, five):
    for limit in range(1, 7):
        seen, after = [], None
        while True:
            query = f"?limit={limit}" + (f"&after={after}" if after else "")
            body = client.get(SERVICES_URL + query, headers=auth_headers).json()
            seen += _names(body)
            after = body["paging"].get("after")
            if not after:
                break
        assert seen == NAMES, limit


def test_list_include_all_pages_interleave_deleted_and_live_in_name_order(
    client, auth_headers, five
):
    # The page merges the deleted and the live rows (two ranges of one index): every page
    # size, forward and back, walks one name order across both.
    listed = client.get(SERVICES_URL, headers=auth_headers).json()["data"]
    for item in listed[1::2]:
        client.delete(f"{SERVICES_URL}/{item['id']}", headers=auth_headers)
    for limit in range(1, 7):
        seen, after, pages = [], None, []
        while True:
            query = f"?include=all&limit={limit}" + (f"&after={after}" if after else "")
            body = client.get(SERVICES_URL + query, headers=auth_headers).json()
            assert body["paging"]["total"] == 5
            seen += _names(body)
            pages.append(body)
            after = body["paging"].get("after")
            if not after:
                break
        assert seen == NAMES, limit
        back, before = [], pages[-1]["paging"].get("before")
        while before:
            query = f"?include=all&limit={limit}&before={before}"
            body = client.get(SERVICES_URL + query, headers=auth_headers).json()
            back = _names(body) + back
            before = body["paging"].get("before")
        assert back + _names(pages[-1]) == NAMES, limit
    deleted = client.get(f"{SERVICES_URL}?include=deleted", headers=auth_headers).json()
    assert _names(deleted) == NAMES[1::2]
