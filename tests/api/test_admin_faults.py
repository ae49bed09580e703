"""/api/__emulator/faults: rules that delay requests or answer them with an error."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlmodel_emulator.admin import faults
from mlmodel_emulator.admin.middleware import AdminMiddleware
from mlmodel_emulator.config import Settings
from mlmodel_emulator.main import create_app
from tests.factories import SERVICES_URL, create_request

FAULTS_URL = "/api/__emulator/faults"
VERSION_URL = "/api/v1/system/version"


def _add(client: TestClient, headers: dict[str, str], **rule: Any) -> dict[str, Any]:
    response = client.post(FAULTS_URL, json=rule, headers=headers)
    assert response.status_code == 201, response.text
    added: dict[str, Any] = response.json()
    return added


def _rules(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get(FAULTS_URL, headers=headers)
    assert response.status_code == 200, response.text
    rules: list[dict[str, Any]] = response.json()["data"]
    return rules


def _statuses(client: TestClient, headers: dict[str, str], n: int) -> list[int]:
    return [client.get(SERVICES_URL, headers=headers).status_code for _ in range(n)]


def test_faults_are_not_served_unless_enabled(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = client.post(FAULTS_URL, json={"path": "/*", "status": 503}, headers=auth_headers)

    assert response.status_code == 404
    assert response.json()["code"] == 404


def test_admin_api_off_leaves_requests_untouched(settings: Settings) -> None:
    # Nothing to pay per request: the middleware is not in the stack at all.
    off = create_app(settings)
    on = create_app(settings.model_copy(update={"admin_api": True}))

    assert AdminMiddleware not in [middleware.cls for middleware in off.user_middleware]
    assert AdminMiddleware in [middleware.cls for middleware in on.user_middleware]


def test_add_fault_answers_matching_requests_with_the_error(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)

    rule = _add(
        client,
        auth_headers,
        method="get",
        path="/api/v1/services/mlmodelServices*",
        status=503,
        message="try again later",
    )

    assert rule == {
        "id": rule["id"],
        "method": "GET",
        "path": "/api/v1/services/mlmodelServices*",
        "status": 503,
        "message": "try again later",
        "createdAt": rule["createdAt"],
        "fired": 0,
    }
    response = client.get(SERVICES_URL + "/name/svc", headers=auth_headers)
    assert response.status_code == 503
    assert response.json() == {"code": 503, "message": "try again later"}
    # Another method, another path: served as usual.
    assert (
        client.put(SERVICES_URL, json=create_request("svc"), headers=auth_headers).status_code
        == 201
    )
    assert client.get(VERSION_URL).status_code == 200
    assert _rules(client, auth_headers)[0]["fired"] == 1


def test_add_fault_without_a_message_answers_the_reason_phrase(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    _add(client, auth_headers, path=VERSION_URL, status=429)

    response = client.get(VERSION_URL)

    assert response.status_code == 429
    assert response.json() == {"code": 429, "message": "Too Many Requests"}


def test_add_fault_of_a_status_without_a_phrase_answers_a_fallback(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    _add(client, auth_headers, path=VERSION_URL, status=599)

    response = client.get(VERSION_URL)

    assert response.status_code == 599
    assert response.json() == {"code": 599, "message": "Injected fault"}


def test_add_fault_of_an_auth_status_carries_openmetadata_header(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    _add(client, auth_headers, path=VERSION_URL, status=401)

    response = client.get(VERSION_URL)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "om-auth"


def test_fault_with_times_fires_that_many_times_then_stops(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    rule = _add(client, auth_headers, path=SERVICES_URL, status=500, times=3)
    assert rule["remaining"] == 3

    statuses = _statuses(client, auth_headers, 5)

    assert statuses == [500, 500, 500, 200, 200]
    [listed] = _rules(client, auth_headers)
    assert (listed["fired"], listed["remaining"], listed["times"]) == (3, 0, 3)


def test_fault_rules_apply_in_every_app_on_the_database(
    make_client: Any, auth_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two apps on one database stand for two worker processes, each with its own view of
    # the rules, read again only after REFRESH_S: longer here than any request here takes.
    monkeypatch.setattr(faults, "REFRESH_S", 0.5)
    first, second = make_client(admin_api=True), make_client(admin_api=True)
    assert _statuses(second, auth_headers, 1) == [200]  # its view is now loaded

    rule = _add(first, auth_headers, path=SERVICES_URL, status=503, times=3)

    # Seen at once by the other app, and `times` counted across both.
    assert _statuses(second, auth_headers, 2) == [503, 503]
    assert _statuses(first, auth_headers, 2) == [503, 200]
    assert _statuses(second, auth_headers, 1) == [200]
    assert _rules(second, auth_headers)[0]["fired"] == 3

    # A rule removed through one app no longer fires in the other.
    other = _add(first, auth_headers, path=SERVICES_URL, status=502)
    assert _statuses(second, auth_headers, 1) == [502]
    assert first.delete(f"{FAULTS_URL}/{other['id']}", headers=auth_headers).status_code == 204
    assert _statuses(second, auth_headers, 1) == [200]
    assert rule["id"] in {listed["id"] for listed in _rules(second, auth_headers)}


def test_fault_with_probability_zero_never_fires_and_one_always_does(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    never = _add(client, auth_headers, path=SERVICES_URL, status=500, probability=0)
    assert _statuses(client, auth_headers, 3) == [200, 200, 200]

    _add(client, auth_headers, path=SERVICES_URL, status=503, probability=1)

    assert _statuses(client, auth_headers, 3) == [503, 503, 503]
    fired = {rule["id"]: rule["fired"] for rule in _rules(client, auth_headers)}
    assert fired[never["id"]] == 0


def test_faults_are_tried_oldest_first(make_client: Any, auth_headers: dict[str, str]) -> None:
    client = make_client(admin_api=True)
    _add(client, auth_headers, path="/api/v1/*", status=502, times=1)
    _add(client, auth_headers, path=SERVICES_URL, status=504)

    assert _statuses(client, auth_headers, 3) == [502, 504, 504]


def test_fault_with_only_a_delay_serves_the_request(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    _add(client, auth_headers, path=SERVICES_URL, delayMs=1, times=1)

    response = client.get(SERVICES_URL, headers=auth_headers)

    assert response.status_code == 200
    assert response.json()["data"] == []
    assert _rules(client, auth_headers)[0]["fired"] == 1


def _scope(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")]
        + [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }


async def _call(app: Any, method: str, path: str, headers: dict[str, str]) -> int:
    status = 0
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(method, path, headers), receive, send)
    return status


def test_delayed_request_does_not_hold_up_other_requests(
    make_client: Any, settings: Settings, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    _add(client, auth_headers, path=VERSION_URL, delayMs=600_000)
    app = create_app(settings.model_copy(update={"admin_api": True}))

    async def scenario() -> tuple[int, bool]:
        async with app.router.lifespan_context(app):
            delayed = asyncio.create_task(_call(app, "GET", VERSION_URL, {}))
            # The delayed request is inside its delay once its rule has fired (the count is
            # written by a transaction of its own, in a thread on PostgreSQL: cancelling the
            # request before that would leave the write running past the lifespan's end).
            for _ in range(3000):
                if await asyncio.to_thread(lambda: _rules(client, auth_headers)[0]["fired"]):
                    break
                await asyncio.sleep(0.01)
            status = await _call(app, "GET", SERVICES_URL, auth_headers)
            still_waiting = not delayed.done()
            delayed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delayed
            return status, still_waiting

    status, still_waiting = asyncio.run(scenario())

    assert status == 200
    assert still_waiting
    assert _rules(client, auth_headers)[0]["fired"] == 1


def test_faults_never_apply_to_the_admin_routes(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    _add(client, auth_headers, path="*", status=500)

    assert client.get(VERSION_URL).status_code == 500
    assert client.get(FAULTS_URL, headers=auth_headers).status_code == 200
    assert client.get("/api/__emulator/journal", headers=auth_headers).status_code == 200
    assert client.delete(FAULTS_URL, headers=auth_headers).status_code == 204
    assert client.get(VERSION_URL).status_code == 200


def test_delete_fault_removes_that_rule_only(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    gone = _add(client, auth_headers, path=SERVICES_URL, status=500)
    kept = _add(client, auth_headers, path=VERSION_URL, status=503)

    response = client.delete(f"{FAULTS_URL}/{gone['id']}", headers=auth_headers)

    assert response.status_code == 204
    assert [rule["id"] for rule in _rules(client, auth_headers)] == [kept["id"]]
    assert _statuses(client, auth_headers, 1) == [200]
    assert client.get(VERSION_URL).status_code == 503


def test_delete_fault_of_an_unknown_id_is_404(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    unknown = "6f1d7c1e-0000-4000-8000-000000000000"

    response = client.delete(f"{FAULTS_URL}/{unknown}", headers=auth_headers)

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": f"fault instance for {unknown} not found"}


def test_clear_faults_and_reset_remove_every_rule(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)
    _add(client, auth_headers, path=SERVICES_URL, status=500)
    _add(client, auth_headers, path=VERSION_URL, status=500)

    assert client.delete(FAULTS_URL, headers=auth_headers).status_code == 204
    assert _rules(client, auth_headers) == []
    assert _statuses(client, auth_headers, 1) == [200]

    _add(client, auth_headers, path=SERVICES_URL, status=500)
    assert client.post("/api/__emulator/reset", headers=auth_headers).status_code == 204
    assert _rules(client, auth_headers) == []
    assert _statuses(client, auth_headers, 1) == [200]


ANY = "/api/*"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"status": 500}, "[query param path must not be null]"),
        ({"path": ANY}, "A fault needs a status, a delayMs, or both"),
        ({"path": ANY, "delayMs": 5, "message": "m"}, "A fault's message needs a status"),
        (
            {"path": "api/*", "status": 500},
            "A fault's path is a glob on the request path: it starts with / or *",
        ),
        ({"path": ANY, "status": 302}, "[query param status must be greater than or equal to 400]"),
        ({"path": ANY, "status": 600}, "[query param status must be less than or equal to 599]"),
        ({"path": ANY, "status": "soon"}, "[query param status must be an integer]"),
        (
            {"path": ANY, "status": 500, "times": 0},
            "[query param times must be greater than or equal to 1]",
        ),
        ({"path": ANY, "delayMs": -1}, "[query param delayMs must be greater than or equal to 0]"),
        (
            {"path": ANY, "status": 500, "probability": 1.5},
            "[query param probability must be less than or equal to 1.0]",
        ),
        (
            {"path": ANY, "status": 500, "when": "now"},
            "[query param when is not a recognized field]",
        ),
    ],
)
def test_add_fault_refuses_a_bad_rule_with_400(
    make_client: Any, auth_headers: dict[str, str], rule: dict[str, Any], message: str
) -> None:
    client = make_client(admin_api=True)

    response = client.post(FAULTS_URL, json=rule, headers=auth_headers)

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": message}
    assert _rules(client, auth_headers) == []


def test_add_fault_refuses_an_unknown_method(
    make_client: Any, auth_headers: dict[str, str]
) -> None:
    client = make_client(admin_api=True)

    response = client.post(
        FAULTS_URL, json={"method": "FETCH", "path": "/*", "status": 500}, headers=auth_headers
    )

    assert response.status_code == 400
    assert response.json()["message"].startswith("[query param method must be 'GET', 'HEAD'")


def test_faults_are_for_admins_only(
    make_client: Any, auth_headers: dict[str, str], bot_headers: dict[str, str], user_headers: Any
) -> None:
    client = make_client(admin_api=True)
    rule = {"path": "/*", "status": 500}

    assert client.post(FAULTS_URL, json=rule).status_code == 401
    for headers in (bot_headers, user_headers("bob")):
        for response in (
            client.post(FAULTS_URL, json=rule, headers=headers),
            client.get(FAULTS_URL, headers=headers),
            client.delete(FAULTS_URL, headers=headers),
        ):
            assert response.status_code == 403, response.text
    assert _rules(client, auth_headers) == []
