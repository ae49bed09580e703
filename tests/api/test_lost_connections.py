"""PostgreSQL ends a request's session in the middle of its transaction (a restart does).

Before any statement the request runs again on a new connection and succeeds; before its
COMMIT, which may have taken effect, it is a 503 in OpenMetadata's body, with Retry-After,
and the write is gone with the session. Never a 500; and the events match the writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.engine import make_url

from tests.factories import SERVICES_URL, create_request

EVENTS_URL = "/api/v1/events"
EVERY_EVENT = {"entityCreated": "*", "entityUpdated": "*", "limit": 1000}
COMMIT = "COMMIT"


def _on_postgresql(client: TestClient) -> None:
    if client.app.state.database.engine.dialect.name != "postgresql":  # type: ignore[attr-defined]
        pytest.skip("SQLite has no server to lose")


def _end_session(url: str, pid: int) -> None:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as other:
        ended = other.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,)).fetchone()
    assert ended == (True,)


def _sent(client: TestClient, send: Callable[[], Response], end_before: int | str) -> Response:
    """Send a request; the server ends its session right before its `end_before`th
    statement (counted from 0), or right before its COMMIT."""
    engine = client.app.state.database.engine  # type: ignore[attr-defined]
    url = engine.url.render_as_string(hide_password=False)
    seen = {"statements": 0, "ended": False}

    def end(connection: Any) -> None:
        seen["ended"] = True
        _end_session(url, connection.connection.dbapi_connection.info.backend_pid)

    def before_statement(connection: Any, *_: Any) -> None:
        if not seen["ended"] and seen["statements"] == end_before:
            end(connection)
        seen["statements"] += 1

    def before_commit(connection: Any) -> None:
        if not seen["ended"] and end_before == COMMIT:
            end(connection)

    sqlalchemy_event.listen(engine, "before_cursor_execute", before_statement)
    sqlalchemy_event.listen(engine, "commit", before_commit)
    try:
        response = send()
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", before_statement)
        sqlalchemy_event.remove(engine, "commit", before_commit)
    assert seen["ended"], f"the request ran no statement {end_before}"
    return response


def _statement_count(client: TestClient, send: Callable[[], Response]) -> int:
    engine = client.app.state.database.engine  # type: ignore[attr-defined]
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sqlalchemy_event.listen(engine, "before_cursor_execute", listener)
    try:
        assert send().status_code in (200, 201)
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", listener)
    return len(statements)


def _assert_unavailable(response: Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {
        "code": 503,
        "message": "The database is unavailable; retry shortly",
    }
    assert response.headers["Retry-After"] == "1"


def _events(client: TestClient, headers: dict[str, str]) -> list[tuple[str, str]]:
    response = client.get(EVENTS_URL, params=EVERY_EVENT, headers=headers)
    assert response.status_code == 200, response.text
    return [(e["eventType"], e["entityFullyQualifiedName"]) for e in response.json()["data"]]


def test_a_create_whose_session_ends_runs_again_or_is_a_503(client, auth_headers):
    _on_postgresql(client)

    def create(name: str) -> Callable[[], Response]:
        return lambda: client.post(SERVICES_URL, json=create_request(name), headers=auth_headers)

    # The second: the first also reads the caller, who is then remembered.
    for name in ("first", "counted"):
        count = _statement_count(client, create(name))
    created = ["first", "counted"]
    for n in range(count):
        response = _sent(client, create(f"svc-{n}"), n)
        assert response.status_code == 201, (n, response.text)
        created.append(f"svc-{n}")

    _assert_unavailable(_sent(client, create("lost"), COMMIT))

    lost = client.get(f"{SERVICES_URL}/name/lost", headers=auth_headers)
    assert lost.status_code == 404, lost.text
    assert _events(client, auth_headers) == [("entityCreated", name) for name in created]


def test_a_put_whose_session_ends_runs_again_or_is_a_503(client, auth_headers):
    _on_postgresql(client)
    path = f"{SERVICES_URL}/name/svc"

    def put(description: str) -> Callable[[], Response]:
        body = create_request("svc", description=description)
        return lambda: client.put(SERVICES_URL, json=body, headers=auth_headers)

    # The create, then the update, the form each PUT below takes.
    for description in ("created", "counted"):
        count = _statement_count(client, put(description))
    written = 2
    for n in range(count):
        response = _sent(client, put(f"update {n}"), n)
        assert response.status_code == 200, (n, response.text)
        assert response.json()["description"] == f"update {n}"
        written += 1

    _assert_unavailable(_sent(client, put("lost"), COMMIT))

    stored = client.get(path, headers=auth_headers).json()
    assert stored["description"] == f"update {count - 1}"
    assert stored["version"] == pytest.approx(0.1 * written)
    assert _events(client, auth_headers) == [("entityCreated", "svc")] + [
        ("entityUpdated", "svc")
    ] * (written - 1)


def test_a_put_create_whose_commit_loses_its_session_is_a_503(client, auth_headers):
    _on_postgresql(client)
    body = create_request("svc")

    response = _sent(client, lambda: client.put(SERVICES_URL, json=body, headers=auth_headers), 0)
    assert response.status_code == 201, response.text
    other = create_request("other")
    _assert_unavailable(
        _sent(client, lambda: client.put(SERVICES_URL, json=other, headers=auth_headers), COMMIT)
    )

    assert client.get(f"{SERVICES_URL}/name/other", headers=auth_headers).status_code == 404
    assert _events(client, auth_headers) == [("entityCreated", "svc")]
