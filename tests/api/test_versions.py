"""GET /api/v1/services/mlmodelServices/{id}/versions and /versions/{version}."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import event

from tests.factories import MLMODELS_URL, SERVICES_URL, create_request, model_request


@pytest.fixture
def three_versions(client, auth_headers):
    for description in ("v1", "v2", "v3"):
        body = client.put(
            SERVICES_URL, json=create_request(description=description), headers=auth_headers
        ).json()
    return body


def test_list_versions_newest_first_as_json_text(client, auth_headers, three_versions):
    response = client.get(f"{SERVICES_URL}/{three_versions['id']}/versions", headers=auth_headers)

    assert response.status_code == 200
    body = response.json()
    assert body["entityType"] == "mlmodelService"
    assert all(isinstance(item, str) for item in body["versions"])
    versions = [json.loads(item) for item in body["versions"]]
    assert [(v["version"], v["description"]) for v in versions] == [
        (0.3, "v3"),
        (0.2, "v2"),
        (0.1, "v1"),
    ]
    assert versions[0]["changeDescription"]["previousVersion"] == 0.2


def test_get_version_returns_that_version(client, auth_headers, three_versions):
    response = client.get(
        f"{SERVICES_URL}/{three_versions['id']}/versions/0.2", headers=auth_headers
    )

    assert response.status_code == 200
    assert (response.json()["version"], response.json()["description"]) == (0.2, "v2")


def test_get_version_current_returns_current_entity(client, auth_headers, three_versions):
    response = client.get(
        f"{SERVICES_URL}/{three_versions['id']}/versions/0.3", headers=auth_headers
    )

    assert response.json()["description"] == "v3"


def test_get_version_unknown_returns_404_with_version(client, auth_headers, three_versions):
    entity_id = three_versions["id"]

    response = client.get(f"{SERVICES_URL}/{entity_id}/versions/0.9", headers=auth_headers)

    assert response.status_code == 404
    assert (
        response.json()["message"]
        == f"mlmodelService instance for {entity_id} and version 0.9 not found"
    )


@pytest.mark.parametrize("version", ["abc", "0.15", "-1"])
def test_get_version_invalid_returns_400(client, auth_headers, three_versions, version):
    response = client.get(
        f"{SERVICES_URL}/{three_versions['id']}/versions/{version}", headers=auth_headers
    )

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": f"Invalid version {version}"}


def test_list_versions_unknown_entity_returns_404(client, auth_headers):
    missing = uuid.uuid4()

    response = client.get(f"{SERVICES_URL}/{missing}/versions", headers=auth_headers)

    assert response.status_code == 404
    assert response.json()["message"] == f"mlmodelService instance for {missing} not found"


def test_versions_mask_secrets_for_non_bots(client, auth_headers, bot_headers):
    payload = {
        "name": "sm",
        "serviceType": "SageMaker",
        "connection": {"config": {"awsConfig": {"awsRegion": "r", "awsSecretAccessKey": "s3cr3t"}}},
    }
    created = client.put(SERVICES_URL, json=payload, headers=auth_headers).json()
    client.put(SERVICES_URL, json={**payload, "description": "d"}, headers=auth_headers)

    as_admin = client.get(f"{SERVICES_URL}/{created['id']}/versions", headers=auth_headers).json()
    as_bot = client.get(f"{SERVICES_URL}/{created['id']}/versions", headers=bot_headers).json()

    admin_keys = [
        json.loads(v)["connection"]["config"]["awsConfig"]["awsSecretAccessKey"]
        for v in as_admin["versions"]
    ]
    bot_keys = [
        json.loads(v)["connection"]["config"]["awsConfig"]["awsSecretAccessKey"]
        for v in as_bot["versions"]
    ]
    assert admin_keys == ["*********", "*********"]
    assert bot_keys == ["s3cr3t", "s3cr3t"]


# ---------------------------------------------------------------------------- pages


def _versions(response):
    return [json.loads(item)["version"] for item in response.json()["versions"]]


@pytest.fixture
def five_versions(client, auth_headers):
    for description in ("v1", "v2", "v3", "v4", "v5"):
        body = client.put(
            SERVICES_URL, json=create_request(description=description), headers=auth_headers
        ).json()
    return f"{SERVICES_URL}/{body['id']}/versions"


def test_list_versions_without_paging_sends_no_paging_headers(client, auth_headers, five_versions):
    response = client.get(five_versions, headers=auth_headers)

    assert _versions(response) == [0.5, 0.4, 0.3, 0.2, 0.1]
    assert set(response.json()) == {"entityType", "versions"}
    assert "X-Paging-After" not in response.headers
    assert "X-Paging-Before" not in response.headers
    assert "Link" not in response.headers


def test_list_versions_limit_pages_forward_to_the_oldest(client, auth_headers, five_versions):
    first = client.get(five_versions, params={"limit": 2}, headers=auth_headers)
    second = client.get(
        five_versions,
        params={"limit": 2, "after": first.headers["X-Paging-After"]},
        headers=auth_headers,
    )
    third = client.get(
        five_versions,
        params={"limit": 2, "after": second.headers["X-Paging-After"]},
        headers=auth_headers,
    )

    assert [_versions(r) for r in (first, second, third)] == [[0.5, 0.4], [0.3, 0.2], [0.1]]
    assert set(first.json()) == {"entityType", "versions"}
    assert first.json()["entityType"] == "mlmodelService"
    assert "X-Paging-Before" not in first.headers
    assert "X-Paging-Before" in second.headers
    assert "X-Paging-After" not in third.headers


def test_list_versions_before_pages_back_to_the_newest(client, auth_headers, five_versions):
    first = client.get(five_versions, params={"limit": 2}, headers=auth_headers)
    second = client.get(
        five_versions,
        params={"limit": 2, "after": first.headers["X-Paging-After"]},
        headers=auth_headers,
    )
    third = client.get(
        five_versions,
        params={"limit": 2, "after": second.headers["X-Paging-After"]},
        headers=auth_headers,
    )

    back = client.get(
        five_versions,
        params={"limit": 2, "before": third.headers["X-Paging-Before"]},
        headers=auth_headers,
    )
    newest = client.get(
        five_versions,
        params={"limit": 2, "before": back.headers["X-Paging-Before"]},
        headers=auth_headers,
    )

    assert _versions(back) == [0.3, 0.2]
    assert _versions(newest) == [0.5, 0.4]
    assert "X-Paging-Before" not in newest.headers
    assert "X-Paging-After" in newest.headers


def test_list_versions_link_header_names_next_and_previous_pages(
    client, auth_headers, five_versions
):
    first = client.get(five_versions, params={"limit": 2}, headers=auth_headers)
    second = client.get(
        five_versions,
        params={"limit": 2, "after": first.headers["X-Paging-After"]},
        headers=auth_headers,
    )

    links = _links(second.headers["Link"])
    following = client.get(links["next"], headers=auth_headers)
    preceding = client.get(links["prev"], headers=auth_headers)

    assert _versions(following) == [0.1]
    assert _versions(preceding) == [0.5, 0.4]


def _links(header):
    """{rel: url} of a Link header."""
    links = {}
    for part in header.split(", "):
        url, rel = part.split("; ")
        links[rel.removeprefix('rel="').removesuffix('"')] = url.strip("<>")
    return links


def test_list_versions_limit_beyond_count_returns_all_without_cursor(
    client, auth_headers, five_versions
):
    response = client.get(five_versions, params={"limit": 5}, headers=auth_headers)

    assert _versions(response) == [0.5, 0.4, 0.3, 0.2, 0.1]
    assert "X-Paging-After" not in response.headers


def test_list_versions_cursor_without_limit_returns_the_rest(client, auth_headers, five_versions):
    first = client.get(five_versions, params={"limit": 1}, headers=auth_headers)

    rest = client.get(
        five_versions, params={"after": first.headers["X-Paging-After"]}, headers=auth_headers
    )

    assert _versions(rest) == [0.4, 0.3, 0.2, 0.1]
    assert "X-Paging-After" not in rest.headers


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1000001"])
def test_list_versions_bad_limit_returns_400(client, auth_headers, five_versions, limit):
    response = client.get(five_versions, params={"limit": limit}, headers=auth_headers)

    assert response.status_code == 400
    assert set(response.json()) == {"code", "message"}
    assert response.json()["code"] == 400
    assert "limit" in response.json()["message"]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJuYW1lIjogIngifQ==", "eyJ2ZXJzaW9uIjoiMSJ9"])
def test_list_versions_bad_cursor_returns_400(client, auth_headers, five_versions, cursor):
    response = client.get(five_versions, params={"limit": 2, "after": cursor}, headers=auth_headers)

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": f"Invalid paging cursor {cursor}"}


def test_list_versions_before_and_after_returns_400(client, auth_headers, five_versions):
    cursor = client.get(five_versions, params={"limit": 2}, headers=auth_headers).headers[
        "X-Paging-After"
    ]

    response = client.get(
        five_versions,
        params={"limit": 2, "after": cursor, "before": cursor},
        headers=auth_headers,
    )

    assert response.json() == {
        "code": 400,
        "message": "Only one of before or after query parameter allowed",
    }


def test_list_versions_paged_unknown_entity_returns_404(client, auth_headers):
    missing = uuid.uuid4()

    response = client.get(
        f"{SERVICES_URL}/{missing}/versions", params={"limit": 2}, headers=auth_headers
    )

    assert response.status_code == 404


def test_list_model_versions_pages_too(client, auth_headers):
    client.put(SERVICES_URL, json=create_request(), headers=auth_headers)
    for description in ("m1", "m2", "m3"):
        model = client.put(
            MLMODELS_URL, json=model_request(description=description), headers=auth_headers
        ).json()
    url = f"{MLMODELS_URL}/{model['id']}/versions"

    first = client.get(url, params={"limit": 2}, headers=auth_headers)
    second = client.get(
        url, params={"limit": 2, "after": first.headers["X-Paging-After"]}, headers=auth_headers
    )

    assert first.json()["entityType"] == "mlmodel"
    assert [_versions(first), _versions(second)] == [[0.3, 0.2], [0.1]]


def test_list_versions_page_reads_a_bounded_keyset_range(client, auth_headers, five_versions):
    first = client.get(five_versions, params={"limit": 2}, headers=auth_headers)
    app_engine = client.app.state.database.engine
    statements: list[tuple[str, object]] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(app_engine, "before_cursor_execute", listener)
    try:
        client.get(
            five_versions,
            params={"limit": 2, "after": first.headers["X-Paging-After"]},
            headers=auth_headers,
        )
    finally:
        event.remove(app_engine, "before_cursor_execute", listener)

    [(history, parameters)] = [s for s in statements if "mlmodel_service_version" in s[0]]
    assert "LIMIT" in history.upper()
    assert "version_tenths <" in history
    values = list(parameters.values()) if isinstance(parameters, dict) else list(parameters)
    # Below version 0.4 (tenths), limit + 1 rows.
    assert 4 in values
    assert 3 in values
