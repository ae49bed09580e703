"""Idempotency-Key on POST, PUT and PUT /bulk: retries replay the first answer, write nothing."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from mlmodel_emulator.idempotency import service as idempotency
from tests.databases import fresh_database
from tests.factories import MLMODELS_URL, SERVICES_URL, create_request, model_request
from tests.live_server import RunningServer, mint_token, run_cli, running_server, server_env

CLOCK_URL = "/api/__emulator/clock"
RESET_URL = "/api/__emulator/reset"
EXPORT_URL = "/api/__emulator/export"
BULK_URL = f"{SERVICES_URL}/bulk"
T = 1_800_000_000_000
# What a replayed answer repeats of the first one.
REPLAYED = ("content-type", "location", "etag", "x-openmetadata-change")

Headers = dict[str, str]


def _keyed(headers: Headers, key: str) -> Headers:
    return {**headers, "Idempotency-Key": key}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _same_answer(first: Any, again: Any) -> None:
    assert again.status_code == first.status_code, again.text
    assert again.content == first.content
    assert {name: again.headers.get(name) for name in REPLAYED} == {
        name: first.headers.get(name) for name in REPLAYED
    }
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"


def _records(engine: Engine) -> list[tuple[str, str, int]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT principal, key, status FROM idempotency_key ORDER BY principal, key")
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def _versions(client: TestClient, headers: Headers, entity_id: str) -> int:
    body = _ok(client.get(f"{SERVICES_URL}/{entity_id}/versions", headers=headers))
    return len(body["versions"])


# ---------------------------------------------------------------------------- replays


def test_post_retried_with_same_key_replays_first_answer_and_writes_nothing(
    client: TestClient, auth_headers: Headers, engine: Engine
) -> None:
    headers = _keyed(auth_headers, "create-svc-1")
    first = client.post(SERVICES_URL, json=create_request("svc"), headers=headers)
    created = _ok(first, 201)
    changed = create_request("svc", description="changed since")
    _ok(client.put(SERVICES_URL, json=changed, headers=auth_headers))

    again = client.post(SERVICES_URL, json=create_request("svc"), headers=headers)

    _same_answer(first, again)
    assert again.json()["version"] == 0.1
    now = _ok(client.get(f"{SERVICES_URL}/{created['id']}", headers=auth_headers))
    assert (now["version"], now["description"]) == (0.2, "changed since")
    assert _versions(client, auth_headers, created["id"]) == 2
    assert _records(engine) == [("admin", "create-svc-1", 201)]


def test_put_retried_with_same_key_replays_201_not_200(
    client: TestClient, auth_headers: Headers
) -> None:
    headers = _keyed(auth_headers, "put-svc")
    first = client.put(SERVICES_URL, json=create_request("svc"), headers=headers)
    _ok(first, 201)

    again = client.put(SERVICES_URL, json=create_request("svc"), headers=headers)
    unkeyed = client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers)

    _same_answer(first, again)
    assert unkeyed.status_code == 200
    assert _versions(client, auth_headers, first.json()["id"]) == 1


def test_put_update_retried_with_same_key_does_not_undo_a_later_change(
    client: TestClient, auth_headers: Headers
) -> None:
    service = _ok(client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers), 201)
    headers = _keyed(auth_headers, "describe")
    described = create_request("svc", description="first")
    first = client.put(SERVICES_URL, json=described, headers=headers)
    _ok(
        client.put(
            SERVICES_URL, json=create_request("svc", description="later"), headers=auth_headers
        )
    )

    again = client.put(SERVICES_URL, json=described, headers=headers)

    _same_answer(first, again)
    assert again.json()["description"] == "first"
    now = _ok(client.get(f"{SERVICES_URL}/{service['id']}", headers=auth_headers))
    assert (now["version"], now["description"]) == (0.3, "later")


def test_bulk_retried_with_same_key_replays_result_and_writes_nothing(
    client: TestClient, auth_headers: Headers
) -> None:
    headers = _keyed(auth_headers, "bulk-1")
    items = [create_request("a"), create_request("b", description="b")]
    first = client.put(BULK_URL, json=items, headers=headers)
    _ok(first)
    _ok(
        client.put(
            SERVICES_URL, json=create_request("a", description="since"), headers=auth_headers
        )
    )

    again = client.put(BULK_URL, json=items, headers=headers)

    _same_answer(first, again)
    assert again.json()["numberOfRowsPassed"] == 2
    now = _ok(client.get(f"{SERVICES_URL}/name/a", headers=auth_headers))
    assert (now["version"], now["description"]) == (0.2, "since")


def test_post_of_a_governance_kind_with_same_key_replays(
    client: TestClient, auth_headers: Headers
) -> None:
    headers = _keyed(auth_headers, "user-alice")
    body = {"name": "alice", "email": "alice@example.com"}
    first = client.post("/api/v1/users", json=body, headers=headers)
    _ok(first, 201)

    again = client.post("/api/v1/users", json=body, headers=headers)
    unkeyed = client.post("/api/v1/users", json=body, headers=auth_headers)

    _same_answer(first, again)
    assert unkeyed.status_code == 409


def test_post_of_a_model_with_same_key_replays(client: TestClient, auth_headers: Headers) -> None:
    _ok(client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers), 201)
    headers = _keyed(auth_headers, "model-m")
    first = client.post(MLMODELS_URL, json=model_request("m", service="svc"), headers=headers)
    _ok(first, 201)

    again = client.post(MLMODELS_URL, json=model_request("m", service="svc"), headers=headers)

    _same_answer(first, again)


# ---------------------------------------------------------------------------- other requests


def test_same_key_with_another_body_is_409_and_writes_nothing(
    client: TestClient, auth_headers: Headers, engine: Engine
) -> None:
    headers = _keyed(auth_headers, "k")
    _ok(client.post(SERVICES_URL, json=create_request("svc"), headers=headers), 201)

    response = client.post(SERVICES_URL, json=create_request("other"), headers=headers)

    assert response.status_code == 409
    assert response.json() == {
        "code": 409,
        "message": (
            "Idempotency-Key 'k' was already used for another request; "
            "send a new key for a new request"
        ),
    }
    missing = client.get(f"{SERVICES_URL}/name/other", headers=auth_headers)
    assert missing.status_code == 404
    assert _records(engine) == [("admin", "k", 201)]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("PUT", "/api/v1/teams"),
        ("POST", "/api/v1/classifications"),
        ("POST", "/api/v1/teams?fields=owners"),
    ],
)
def test_same_key_and_body_on_another_method_or_path_is_409(
    client: TestClient, auth_headers: Headers, method: str, url: str
) -> None:
    headers = _keyed(auth_headers, "k")
    body = {"name": "t", "description": "d"}
    _ok(client.post("/api/v1/teams", json=body, headers=headers), 201)

    response = client.request(method, url, json=body, headers=headers)

    assert response.status_code == 409
    assert "was already used for another request" in response.json()["message"]
    assert client.get("/api/v1/classifications/name/t", headers=auth_headers).status_code == 404


def test_same_key_of_another_caller_is_its_own(
    client: TestClient, auth_headers: Headers, bot_headers: Headers
) -> None:
    first = _ok(
        client.post(SERVICES_URL, json=create_request("a"), headers=_keyed(auth_headers, "k")), 201
    )

    other = client.post(SERVICES_URL, json=create_request("b"), headers=_keyed(bot_headers, "k"))

    assert _ok(other, 201)["id"] != first["id"]
    assert "idempotent-replayed" not in other.headers


def test_failed_request_is_not_kept_and_may_be_sent_again_under_its_key(
    client: TestClient, auth_headers: Headers, engine: Engine
) -> None:
    headers = _keyed(auth_headers, "k")
    taken = _ok(client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers), 201)
    refused = client.post(SERVICES_URL, json=create_request("svc"), headers=headers)
    invalid = client.post(SERVICES_URL, json={"name": "svc"}, headers=headers)
    assert (refused.status_code, invalid.status_code) == (409, 400)
    assert _records(engine) == []
    url = f"{SERVICES_URL}/{taken['id']}?hardDelete=true"
    _ok(client.delete(url, headers=auth_headers))

    response = client.post(SERVICES_URL, json=create_request("svc"), headers=headers)

    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers


def test_request_without_key_keeps_no_record(
    client: TestClient, auth_headers: Headers, engine: Engine
) -> None:
    _ok(client.post(SERVICES_URL, json=create_request("a"), headers=auth_headers), 201)
    _ok(client.put(SERVICES_URL, json=create_request("b"), headers=auth_headers), 201)
    _ok(client.put(BULK_URL, json=[create_request("c")], headers=auth_headers))

    assert _records(engine) == []


# ---------------------------------------------------------------------------- the header


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9".encode("latin-1"), "tab\there"])
def test_malformed_key_is_400(client: TestClient, auth_headers: Headers, key: str | bytes) -> None:
    headers = [*auth_headers.items(), ("Idempotency-Key", key)]

    response = client.post(SERVICES_URL, json=create_request("svc"), headers=headers)

    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "message": "Idempotency-Key must be 1 to 255 printable ASCII characters",
    }
    assert client.get(f"{SERVICES_URL}/name/svc", headers=auth_headers).status_code == 404


def test_two_key_headers_are_400(client: TestClient, auth_headers: Headers) -> None:
    headers = [*auth_headers.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]

    response = client.put(SERVICES_URL, json=create_request("svc"), headers=headers)

    assert response.status_code == 400
    assert response.json()["message"] == "Send one Idempotency-Key header, not several"


def test_longest_key_with_spaces_and_punctuation_is_accepted(
    client: TestClient, auth_headers: Headers
) -> None:
    key = ("a b~!" * 51)[:255]

    first = client.post(SERVICES_URL, json=create_request("svc"), headers=_keyed(auth_headers, key))
    again = client.post(SERVICES_URL, json=create_request("svc"), headers=_keyed(auth_headers, key))

    assert first.status_code == 201
    _same_answer(first, again)


# ---------------------------------------------------------------------------- lifetime


def test_key_past_its_ttl_is_a_new_request(make_client: Any, auth_headers: Headers) -> None:
    client = make_client(admin_api=True, idempotency_ttl_seconds=60)
    headers = _keyed(auth_headers, "k")
    _ok(client.put(CLOCK_URL, json={"now": T}, headers=auth_headers))
    _ok(client.post(SERVICES_URL, json=create_request("a"), headers=headers), 201)
    _ok(client.put(CLOCK_URL, json={"advanceMs": 59_999}, headers=auth_headers))
    within = client.post(SERVICES_URL, json=create_request("b"), headers=headers)
    _ok(client.put(CLOCK_URL, json={"advanceMs": 1}, headers=auth_headers))

    after = client.post(SERVICES_URL, json=create_request("b"), headers=headers)

    assert within.status_code == 409
    assert after.status_code == 201
    assert after.json()["name"] == "b"
    again = client.post(SERVICES_URL, json=create_request("b"), headers=headers)
    _same_answer(after, again)


def test_purge_deletes_only_expired_records(
    make_client: Any, auth_headers: Headers, engine: Engine
) -> None:
    client = make_client(admin_api=True, idempotency_ttl_seconds=60)
    _ok(client.put(CLOCK_URL, json={"now": T}, headers=auth_headers))
    _ok(
        client.post(SERVICES_URL, json=create_request("a"), headers=_keyed(auth_headers, "old")),
        201,
    )
    _ok(client.put(CLOCK_URL, json={"advanceMs": 30_000}, headers=auth_headers))
    _ok(
        client.post(SERVICES_URL, json=create_request("b"), headers=_keyed(auth_headers, "new")),
        201,
    )

    with engine.begin() as connection:
        purged = idempotency.purge(connection, T + 60_000)

    assert purged == 1
    assert _records(engine) == [("admin", "new", 201)]


def test_reset_forgets_keys_and_export_leaves_them_out(
    make_client: Any, auth_headers: Headers
) -> None:
    client = make_client(admin_api=True)
    headers = _keyed(auth_headers, "k")
    _ok(client.post(SERVICES_URL, json=create_request("a"), headers=headers), 201)

    document = _ok(client.get(EXPORT_URL, headers=auth_headers))
    _ok(client.post(RESET_URL, headers=auth_headers), 204)
    after = client.post(SERVICES_URL, json=create_request("b"), headers=headers)

    assert "idempotency_key" not in document["tables"]
    assert after.status_code == 201
    assert "idempotent-replayed" not in after.headers


# ---------------------------------------------------------------------------- two workers

ROUNDS = 10
WRITERS = 4


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with fresh_database(request.param, tmp_path) as database_url:
        if request.param == "postgresql":
            run_cli(["migrate"], server_env(data_dir, database_url))
        with running_server(data_dir, request.param, database_url, workers=2) as running:
            yield running


def _post(url: str, token: str, key: str, body: object) -> tuple[int, bytes, str | None]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read(), response.headers.get("Location")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), None


def _race(url: str, token: str, key: str, body: object) -> list[tuple[int, bytes, str | None]]:
    """Send the same request WRITERS times at once, one thread each, released together."""
    results: list[tuple[int, bytes, str | None]] = [(0, b"", None)] * WRITERS
    barrier = threading.Barrier(WRITERS)

    def send(index: int) -> None:
        barrier.wait()
        results[index] = _post(url, token, key, body)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_same_keyed_post_racing_on_two_workers_creates_once_and_answers_alike(
    server: RunningServer,
) -> None:
    token = mint_token("admin", server.env)
    url = server.base_url + SERVICES_URL

    outcomes = [
        _race(url, token, f"race-{round_}", create_request(f"race-{round_}"))
        for round_ in range(ROUNDS)
    ]

    for results in outcomes:
        assert {status for status, _, _ in results} == {201}, (results, server.log_tail())
        assert len(set(results)) == 1, results
    request = urllib.request.Request(f"{url}?limit=0", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert json.loads(response.read())["paging"]["total"] == ROUNDS


def test_a_key_on_an_async_bulk_is_a_400_and_starts_no_job(client, auth_headers):
    headers = {**auth_headers, "Idempotency-Key": "async-1"}
    items = [{"name": "async-keyed", "serviceType": "Sklearn"}]

    response = client.put(f"{SERVICES_URL}/bulk?async=true", json=items, headers=headers)

    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("Idempotency-Key is not supported with async")
    assert client.get(f"{SERVICES_URL}/name/async-keyed", headers=auth_headers).status_code == 404
