"""Fixtures and request builders of the governance tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine

USERS_URL = "/api/v1/users"
TEAMS_URL = "/api/v1/teams"
DOMAINS_URL = "/api/v1/domains"
CLASSIFICATIONS_URL = "/api/v1/classifications"
TAGS_URL = "/api/v1/tags"


def user_request(name: str = "jane", **overrides: Any) -> dict[str, Any]:
    return {"name": name, "email": f"{name}@example.com", **overrides}


def team_request(name: str = "data-science", **overrides: Any) -> dict[str, Any]:
    return {"name": name, **overrides}


def domain_request(name: str = "Marketing", **overrides: Any) -> dict[str, Any]:
    return {"name": name, "domainType": "Aggregate", "description": "Marketing data", **overrides}


def classification_request(name: str = "Quality", **overrides: Any) -> dict[str, Any]:
    return {"name": name, "description": "How good the data is", **overrides}


def tag_request(
    name: str = "Gold", classification: str = "Quality", **overrides: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "classification": classification,
        "description": f"{name} data",
        **overrides,
    }


# Each resource with a builder of valid create requests, for the tests that hold for all.
RESOURCES = {
    "user": (USERS_URL, user_request),
    "team": (TEAMS_URL, team_request),
    "domain": (DOMAINS_URL, domain_request),
    "classification": (CLASSIFICATIONS_URL, classification_request),
    "tag": (TAGS_URL, tag_request),
}


def created(client: TestClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    """POST a create request that must succeed; the entity answered."""
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def make(client: TestClient, auth_headers: dict[str, str]) -> Callable[..., Any]:
    """Create an entity as admin: make("tag", name="Gold"). Tags get their classification."""

    def build(kind: str, **overrides: Any) -> Any:
        url, request = RESOURCES[kind]
        body = request(**overrides)
        if kind == "tag":
            parent = body["classification"]
            if client.get(f"{CLASSIFICATIONS_URL}/name/{parent}", headers=auth_headers).is_error:
                created(client, CLASSIFICATIONS_URL, classification_request(parent), auth_headers)
        return created(client, url, body, auth_headers)

    return build


@pytest.fixture
def jane_headers(client: TestClient, auth_headers, token_for) -> dict[str, str]:
    """A user who exists and is no admin."""
    created(client, USERS_URL, user_request("jane"), auth_headers)
    return {"Authorization": f"Bearer {token_for('jane')}"}


@pytest.fixture
def connection(client: TestClient, engine: Engine) -> Iterator[Connection]:
    """A connection to the test database, once the app has started (and seeded it)."""
    with engine.connect() as connection:
        yield connection
