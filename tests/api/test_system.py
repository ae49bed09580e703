"""The open system routes (version, JWKS) and the answers to unknown routes and methods."""

from __future__ import annotations

import base64
from collections.abc import Callable

import jwt
import pytest
from fastapi.testclient import TestClient

from mlmodel_emulator.auth.keys import SigningKeys
from mlmodel_emulator.config import Settings

VERSION_URL = "/api/v1/system/version"
JWKS_URL = "/api/v1/system/config/jwks"

TokenFor = Callable[..., str]


def _b64_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


# ---------------------------------------------------------------------------- version


def test_get_version_without_token_returns_version_revision_timestamp(
    client: TestClient,
) -> None:
    response = client.get(VERSION_URL)

    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"version", "revision", "timestamp"}
    assert body["version"] == "2.0.7"
    assert isinstance(body["revision"], str)
    assert body["revision"] != ""
    assert type(body["timestamp"]) is int
    # Epoch milliseconds, as OpenMetadataServerVersion carries it.
    assert body["timestamp"] > 1_500_000_000_000


def test_get_version_twice_returns_same_answer(client: TestClient) -> None:
    first = client.get(VERSION_URL).json()

    second = client.get(VERSION_URL).json()

    assert second == first


def test_get_version_configured_version_is_reported(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(server_version="2.0.9")

    response = client.get(VERSION_URL)

    assert response.status_code == 200
    assert response.json()["version"] == "2.0.9"


def test_get_version_with_invalid_token_still_returns_200(client: TestClient) -> None:
    response = client.get(VERSION_URL, headers={"Authorization": "Bearer not-a-token"})

    assert response.status_code == 200


# ---------------------------------------------------------------------------- jwks


def test_get_jwks_without_token_describes_signing_key(
    client: TestClient, settings: Settings, keys: SigningKeys
) -> None:
    response = client.get(JWKS_URL)

    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"keys"}
    assert len(body["keys"]) == 1
    key = body["keys"][0]
    assert set(key) == {"kty", "kid", "n", "e", "alg", "use"}
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert key["kid"] == settings.jwt_key_id
    numbers = keys.public_key.public_numbers()
    assert (_b64_int(key["n"]), _b64_int(key["e"])) == (numbers.n, numbers.e)


def test_get_jwks_key_verifies_minted_token(
    client: TestClient, settings: Settings, token_for: TokenFor
) -> None:
    token = token_for("admin")

    jwk = jwt.PyJWK(client.get(JWKS_URL).json()["keys"][0])
    claims = jwt.decode(token, jwk.key, algorithms=["RS256"], issuer=settings.jwt_issuer)

    assert jwk.key_id == settings.jwt_key_id
    assert jwt.get_unverified_header(token)["kid"] == settings.jwt_key_id
    assert (claims["sub"], claims["email"], claims["isBot"]) == (
        "admin",
        "admin@open-metadata.org",
        False,
    )


def test_get_jwks_configured_key_id_is_published(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(jwt_key_id="rotated-key-2")

    response = client.get(JWKS_URL)

    assert response.json()["keys"][0]["kid"] == "rotated-key-2"


# ---------------------------------------------------------------------------- routing errors


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/v1/nowhere", id="under_api"),
        pytest.param("/nowhere", id="outside_api"),
        pytest.param("/api/v1/system", id="system_root"),
        pytest.param("/api/v1/services/mlmodelServices/a/b/c/d", id="too_deep"),
    ],
)
def test_unknown_route_returns_404_code_and_message(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "Not Found"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("DELETE", VERSION_URL, id="delete_version"),
        pytest.param("POST", VERSION_URL, id="post_version"),
        pytest.param("PUT", JWKS_URL, id="put_jwks"),
        pytest.param("PATCH", "/api/v1/services/mlmodelServices", id="patch_collection"),
    ],
)
def test_wrong_method_returns_405_code_and_message(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(method, path)

    assert response.status_code == 405
    assert response.json() == {"code": 405, "message": "Method Not Allowed"}


def test_wrong_method_names_allowed_methods(client: TestClient) -> None:
    # RFC 9110 §15.5.6: a 405 answer must carry an Allow header.
    response = client.delete(VERSION_URL)

    assert response.status_code == 405
    assert response.headers.get("Allow") == "GET"
