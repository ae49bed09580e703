"""Fixtures: each test runs on SQLite and on PostgreSQL, against a migrated schema."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from mlmodel_emulator.auth import tokens
from mlmodel_emulator.auth.keys import SigningKeys
from mlmodel_emulator.cli import migrate
from mlmodel_emulator.config import Settings
from mlmodel_emulator.db.engine import make_engine
from mlmodel_emulator.main import create_app
from tests.databases import fresh_database

TABLES_CHILD_FIRST = (
    "subscription_failed_event",
    "subscription_delivery",
    "event_subscription_version",
    "event_subscription",
    "mlmodel_domain",
    "mlmodel_version",
    "mlmodel",
    "mlmodel_service_domain",
    "mlmodel_service_version",
    "mlmodel_service",
    "team_member",
    "tag",
    "app_user",
    "team",
    "domain",
    "classification",
    "job",
    "emulator_fault",
    "emulator_journal",
    "change_event",
    "idempotency_key",
)


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One migrated database per kind for the whole run."""
    with fresh_database(request.param, tmp_path_factory.mktemp("db")) as url:
        migrate(Settings(database_url=url, data_dir=tmp_path_factory.mktemp("data")))
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url: str, private_key_pem: str, tmp_path: Path) -> Settings:
    # No delivery task in the apps of tests that do not ask for one (make_client(
    # subscription_delivery=True)): its polls would share the database and the threadpool
    # with what the test measures.
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        jwt_private_key=private_key_pem,
        subscription_delivery=False,
    )


@pytest.fixture
def make_client(settings: Settings, engine: Engine) -> Iterator[object]:
    """Build a client for the app under given settings; the tables are emptied afterwards."""
    clients: list[TestClient] = []

    def build(**overrides: object) -> TestClient:
        client = TestClient(create_app(Settings(**{**settings.model_dump(), **overrides})))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)
    with engine.begin() as connection:
        for table in TABLES_CHILD_FIRST:
            connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def client(make_client: object) -> TestClient:
    return make_client()  # type: ignore[operator,no-any-return]


@pytest.fixture
def keys(private_key_pem: str, settings: Settings) -> SigningKeys:
    return SigningKeys(
        private_key=serialization.load_pem_private_key(private_key_pem.encode(), password=None),  # type: ignore[arg-type]
        key_id=settings.jwt_key_id,
    )


@pytest.fixture
def token_for(keys: SigningKeys, settings: Settings) -> object:
    def mint(user: str, *, is_bot: bool = False, expires_in: int | None = 3600) -> str:
        return tokens.mint(
            keys,
            issuer=settings.jwt_issuer,
            user=user,
            is_bot=is_bot,
            now=int(time.time()),
            expires_in=expires_in,
        )

    return mint


@pytest.fixture
def auth_headers(token_for: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for('admin')}"}  # type: ignore[operator]


@pytest.fixture
def bot_headers(token_for: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for('ingestion-bot', is_bot=True)}"}  # type: ignore[operator]


@pytest.fixture
def user_headers(client: TestClient, auth_headers: dict[str, str], token_for: object) -> object:
    """Register a user (as the admin) and return the headers of a token for it."""

    def register(name: str, **fields: object) -> dict[str, str]:
        body = {"name": name, "email": f"{name}@example.com", **fields}
        response = client.post("/api/v1/users", json=body, headers=auth_headers)
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {token_for(name)}"}  # type: ignore[operator]

    return register
