"""The hot writes (create, PUT, bulk) skip FastAPI's matching and solving, answer alike,
and leave to FastAPI every request they do not recognise as the simple case."""

from __future__ import annotations

import fastapi.routing
import pytest
from fastapi import APIRouter

from mlmodel_emulator import hot_paths
from tests.factories import SERVICES_URL, create_request


@pytest.fixture
def solved(monkeypatch):
    """How many requests FastAPI solved the parameters of."""
    calls = []
    original = fastapi.routing.solve_dependencies

    async def counting(*args, **kwargs):
        calls.append(1)
        return await original(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    return calls


def test_create_put_and_bulk_are_served_without_fastapi_solving(client, auth_headers, solved):
    created = client.post(SERVICES_URL, json=create_request("hot_a"), headers=auth_headers)
    updated = client.put(
        SERVICES_URL, json={**create_request("hot_a"), "description": "x"}, headers=auth_headers
    )
    bulk = client.put(f"{SERVICES_URL}/bulk", json=[create_request("hot_b")], headers=auth_headers)

    assert (created.status_code, updated.status_code, bulk.status_code) == (201, 200, 200)
    assert bulk.json()["numberOfRowsPassed"] == 1
    assert solved == []
    # A read still goes through FastAPI: the counter does count.
    assert client.get(f"{SERVICES_URL}/name/hot_a", headers=auth_headers).status_code == 200
    assert solved == [1]


def test_bulk_with_a_query_string_goes_through_fastapi(client, auth_headers, solved):
    answer = client.put(
        f"{SERVICES_URL}/bulk?overrideMetadata=true",
        json=[create_request("hot_c")],
        headers=auth_headers,
    )

    assert answer.status_code == 200
    assert answer.json()["numberOfRowsPassed"] == 1
    assert solved == [1]


@pytest.mark.parametrize("body", [b"{not json", b'{"name": "x"}', b"", b"[1, 2"])
def test_bulk_body_fastapi_refuses_is_handed_on_unchanged(client, auth_headers, body):
    headers = {**auth_headers, "Content-Type": "application/json"}

    handed_on = client.put(f"{SERVICES_URL}/bulk", content=body, headers=headers)
    # With a query string, FastAPI reads the body itself from the start.
    direct = client.put(f"{SERVICES_URL}/bulk?async=false", content=body, headers=headers)

    assert handed_on.status_code == 400
    assert set(handed_on.json()) == {"code", "message"}
    assert (handed_on.status_code, handed_on.json()) == (direct.status_code, direct.json())


def test_hot_create_refuses_a_bad_token_before_reading_the_body(client):
    answer = client.post(
        SERVICES_URL, content=b"{not json", headers={"Authorization": "Bearer nope"}
    )

    assert answer.status_code == 401
    assert set(answer.json()) == {"code", "message"}


def test_a_route_declared_earlier_for_the_path_cannot_be_bypassed():
    router = APIRouter(prefix="/things")

    async def earlier(name: str) -> None:
        return None

    async def later() -> None:
        return None

    async def handler(request):
        return None

    router.add_api_route("/{name}", earlier, methods=["PUT"])
    router.add_api_route("/bulk", later, methods=["PUT"])

    with pytest.raises(ValueError, match="PUT /things/bulk is not served by"):
        hot_paths.register(router, "PUT", "/bulk", later, handler)
