"""Bearer JWT authentication of the ML model service routes: 401 texts, principal, bot secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx2
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from mlmodel_emulator.auth.keys import SigningKeys
from mlmodel_emulator.config import Settings
from tests.factories import SERVICES_URL, create_request

TokenFor = Callable[..., str]

TOKEN_NOT_PRESENT = {"code": 401, "message": "Not Authorized! Token not present"}
INVALID_TOKEN = {"code": 401, "message": "Invalid token"}
EXPIRED_TOKEN = {"code": 401, "message": "Expired token!"}
NO_PRINCIPAL_CLAIM = {
    "code": 401,
    "message": (
        "Invalid JWT token, none of the following claims are present "
        "[email, preferred_username, sub]"
    ),
}

SAGEMAKER_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _segment(value: Any) -> str:
    return _b64(orjson.dumps(value))


def _claims(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """The claims tokens.mint writes for admin, valid for an hour."""
    now = int(time.time())
    claims = {
        "sub": "admin",
        "email": "admin@open-metadata.org",
        "isBot": False,
        "iss": settings.jwt_issuer,
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(overrides)
    return claims


def _sign(claims: dict[str, Any], key: rsa.RSAPrivateKey, kid: str | None) -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims, key, algorithm="RS256", headers=headers)


def _list(client: TestClient, authorization: str | bytes | None) -> httpx2.Response:
    if authorization is None:
        return client.get(SERVICES_URL)
    value = authorization if isinstance(authorization, bytes) else authorization.encode()
    return client.get(SERVICES_URL, headers={b"Authorization": value})


def _assert_401(response: httpx2.Response, body: dict[str, Any]) -> None:
    assert response.status_code == 401
    assert response.json() == body
    assert response.headers["WWW-Authenticate"] == "om-auth"


# ---------------------------------------------------------------------------- token missing


def test_list_without_authorization_returns_401_token_not_present(client: TestClient) -> None:
    response = _list(client, None)

    _assert_401(response, TOKEN_NOT_PRESENT)


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("", id="empty_header"),
        pytest.param("Basic xyz", id="basic"),
        pytest.param("Basic YWRtaW46YWRtaW4=", id="basic_credentials"),
        pytest.param("Token abc", id="other_scheme"),
        pytest.param("bearer abc", id="lower_case_scheme"),
    ],
)
def test_list_not_a_bearer_header_returns_401_token_not_present(
    client: TestClient, authorization: str
) -> None:
    response = _list(client, authorization)

    _assert_401(response, TOKEN_NOT_PRESENT)


def test_every_service_route_without_token_returns_401(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    values = {"id": str(uuid.uuid4()), "fqn": "svc", "version": "0.1", "userId": str(uuid.uuid4())}
    calls = [
        (method.upper(), re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path))
        for path, operations in paths.items()
        if path.startswith(SERVICES_URL)
        for method in operations
    ]

    answers = {(method, url): client.request(method, url) for method, url in calls}

    assert len(calls) >= 7
    for call, response in answers.items():
        assert (call, response.status_code, response.json()) == (call, 401, TOKEN_NOT_PRESENT)


# ---------------------------------------------------------------------------- bad tokens


def test_list_token_of_random_bytes_returns_401_invalid_token(client: TestClient) -> None:
    noise = random.Random(3).randbytes(64)

    response = _list(client, b"Bearer " + noise)

    _assert_401(response, INVALID_TOKEN)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("garbage", id="garbage"),
        pytest.param("a.b.c", id="three_garbage_parts"),
        pytest.param("..", id="three_empty_parts"),
        pytest.param("a.b.c.d.e", id="five_parts"),
        pytest.param(_segment([1]) + ".e30.sig", id="header_not_object"),
        pytest.param(_segment({"alg": "RS256"}) + ".e30.sig", id="header_without_kid"),
        pytest.param(_segment({"kid": {"x": 1}, "alg": "RS256"}) + ".e30.sig", id="kid_object"),
        pytest.param("é.é.é", id="non_ascii"),
    ],
)
def test_list_malformed_token_returns_401_invalid_token(client: TestClient, token: str) -> None:
    response = _list(client, f"Bearer {token}")

    _assert_401(response, INVALID_TOKEN)


def test_list_token_with_right_kid_and_broken_segments_returns_401_invalid_token(
    client: TestClient, settings: Settings
) -> None:
    header = _segment({"alg": "RS256", "typ": "JWT", "kid": settings.jwt_key_id})
    tokens = [
        f"{header}.!!!.sig",
        f"{header}.{_segment([1, 2])}.sig",
        f"{header}.{_b64(b'not json')}.sig",
        f"{header}.{_segment(_claims(settings))}",
        f"{header}.{_segment(_claims(settings))}.!!!",
    ]

    responses = [_list(client, f"Bearer {token}") for token in tokens]

    for response in responses:
        _assert_401(response, INVALID_TOKEN)


def test_list_alg_none_token_returns_401_invalid_token(
    client: TestClient, settings: Settings
) -> None:
    header = _segment({"alg": "none", "typ": "JWT", "kid": settings.jwt_key_id})
    token = f"{header}.{_segment(_claims(settings))}."

    response = _list(client, f"Bearer {token}")

    _assert_401(response, INVALID_TOKEN)


def test_list_hs256_token_keyed_with_public_pem_returns_401_invalid_token(
    client: TestClient, settings: Settings, keys: SigningKeys
) -> None:
    public_pem = keys.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _segment({"alg": "HS256", "typ": "JWT", "kid": settings.jwt_key_id})
    signing_input = f"{header}.{_segment(_claims(settings))}"
    signature = hmac.new(public_pem, signing_input.encode("ascii"), hashlib.sha256).digest()

    response = _list(client, f"Bearer {signing_input}.{_b64(signature)}")

    _assert_401(response, INVALID_TOKEN)


def test_list_token_signed_by_other_key_with_right_kid_returns_401_invalid_token(
    client: TestClient, settings: Settings
) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = _sign(_claims(settings), stranger, settings.jwt_key_id)

    response = _list(client, f"Bearer {token}")

    _assert_401(response, INVALID_TOKEN)


@pytest.mark.parametrize(
    "kid",
    [
        pytest.param("some-other-key", id="wrong_kid"),
        pytest.param("", id="empty_kid"),
        pytest.param(None, id="no_kid"),
    ],
)
def test_list_token_with_unknown_kid_returns_401_invalid_token(
    client: TestClient, settings: Settings, keys: SigningKeys, kid: str | None
) -> None:
    token = _sign(_claims(settings), keys.private_key, kid)

    response = _list(client, f"Bearer {token}")

    _assert_401(response, INVALID_TOKEN)


def test_list_token_from_other_issuer_returns_401_invalid_token(
    client: TestClient, settings: Settings, keys: SigningKeys
) -> None:
    token = _sign(_claims(settings, iss="evil.example"), keys.private_key, keys.key_id)

    response = _list(client, f"Bearer {token}")

    _assert_401(response, INVALID_TOKEN)


def test_list_tampered_payload_returns_401_invalid_token(
    client: TestClient, settings: Settings, token_for: TokenFor
) -> None:
    header, _, signature = token_for("jdoe").split(".")
    forged = _segment(_claims(settings, sub="admin", email="admin@open-metadata.org"))

    response = _list(client, f"Bearer {header}.{forged}.{signature}")

    _assert_401(response, INVALID_TOKEN)


@pytest.mark.parametrize(
    "claim",
    [
        pytest.param({"exp": "tomorrow"}, id="exp_not_a_number"),
        pytest.param({"iat": "today"}, id="iat_not_a_number"),
        pytest.param({"nbf": int(time.time()) + 3600}, id="not_yet_valid"),
    ],
)
def test_list_signed_token_with_bad_time_claim_returns_401_invalid_token(
    client: TestClient, settings: Settings, keys: SigningKeys, claim: dict[str, Any]
) -> None:
    token = _sign(_claims(settings, **claim), keys.private_key, keys.key_id)

    response = _list(client, f"Bearer {token}")

    _assert_401(response, INVALID_TOKEN)


def test_list_expired_token_returns_401_expired(client: TestClient, token_for: TokenFor) -> None:
    token = token_for("admin", expires_in=-60)

    response = _list(client, f"Bearer {token}")

    _assert_401(response, EXPIRED_TOKEN)


def test_list_token_without_principal_claim_returns_401_naming_the_claims(
    client: TestClient, settings: Settings, keys: SigningKeys
) -> None:
    claims = _claims(settings, name="Jane Doe")
    del claims["sub"], claims["email"]
    token = _sign(claims, keys.private_key, keys.key_id)

    response = _list(client, f"Bearer {token}")

    _assert_401(response, NO_PRINCIPAL_CLAIM)


# ---------------------------------------------------------------------------- good tokens


def test_list_valid_token_returns_200(client: TestClient, token_for: TokenFor) -> None:
    response = _list(client, f"Bearer {token_for('admin')}")

    assert response.status_code == 200
    assert response.json() == {"data": [], "paging": {"total": 0}}


def test_list_token_without_expiry_returns_200(client: TestClient, token_for: TokenFor) -> None:
    response = _list(client, f"Bearer {token_for('admin', expires_in=None)}")

    assert response.status_code == 200


def test_list_token_with_configured_kid_returns_200(
    make_client: Callable[..., TestClient], settings: Settings, keys: SigningKeys
) -> None:
    client = make_client(jwt_key_id="rotated-key-2")
    token = _sign(_claims(settings), keys.private_key, "rotated-key-2")

    response = _list(client, f"Bearer {token}")

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("principal_claims", "updated_by"),
    [
        pytest.param(
            {"email": "jane.doe@example.com", "preferred_username": "jd", "sub": "u-1"},
            "jane.doe",
            id="email_first",
        ),
        pytest.param(
            {"preferred_username": "pat@corp.io", "sub": "u-2"}, "pat", id="preferred_username"
        ),
        pytest.param({"sub": "sam"}, "sam", id="sub"),
        pytest.param({"sub": "ingestion-bot@open-metadata.org"}, "ingestion-bot", id="sub_email"),
    ],
)
def test_create_principal_claim_cut_at_at_sign_becomes_updated_by(
    client: TestClient,
    settings: Settings,
    keys: SigningKeys,
    user_headers: Callable[..., dict[str, str]],
    principal_claims: dict[str, str],
    updated_by: str,
) -> None:
    if updated_by != "ingestion-bot":
        user_headers(updated_by, isAdmin=True)
    claims = _claims(settings)
    del claims["sub"], claims["email"]
    token = _sign({**claims, **principal_claims}, keys.private_key, keys.key_id)
    headers = {"Authorization": f"Bearer {token}"}

    created = client.post(SERVICES_URL, json=create_request("by_claim"), headers=headers)
    fetched = client.get(f"{SERVICES_URL}/{created.json()['id']}", headers=headers)

    assert created.status_code == 201
    assert created.json()["updatedBy"] == updated_by
    assert fetched.json()["updatedBy"] == updated_by


# ---------------------------------------------------------------------------- bots and secrets


def _sagemaker_request() -> dict[str, Any]:
    return create_request(
        "sagemaker_svc",
        serviceType="SageMaker",
        connection={
            "config": {
                "awsConfig": {"awsRegion": "eu-west-1", "awsSecretAccessKey": SAGEMAKER_SECRET}
            }
        },
    )


def _secret_of(body: dict[str, Any]) -> str:
    secret: str = body["connection"]["config"]["awsConfig"]["awsSecretAccessKey"]
    return secret


def test_create_sagemaker_as_admin_returns_masked_secret(
    client: TestClient, token_for: TokenFor
) -> None:
    headers = {"Authorization": f"Bearer {token_for('admin')}"}

    created = client.post(SERVICES_URL, json=_sagemaker_request(), headers=headers)
    fetched = client.get(f"{SERVICES_URL}/{created.json()['id']}", headers=headers)

    assert created.status_code == 201
    assert _secret_of(created.json()) == "*********"
    assert _secret_of(fetched.json()) == "*********"
    assert created.json()["connection"]["config"]["awsConfig"]["awsRegion"] == "eu-west-1"


def test_create_sagemaker_as_bot_returns_secret_in_clear(
    client: TestClient, token_for: TokenFor
) -> None:
    headers = {"Authorization": f"Bearer {token_for('ingestion-bot', is_bot=True)}"}

    created = client.post(SERVICES_URL, json=_sagemaker_request(), headers=headers)

    assert created.status_code == 201
    assert _secret_of(created.json()) == SAGEMAKER_SECRET
    assert created.json()["updatedBy"] == "ingestion-bot"


@pytest.mark.parametrize(
    ("is_bot", "shown"),
    [
        pytest.param(True, SAGEMAKER_SECRET, id="bot_true"),
        pytest.param(False, "*********", id="bot_false"),
        pytest.param("true", "*********", id="bot_string"),
        pytest.param(1, "*********", id="bot_number"),
        pytest.param(None, "*********", id="bot_null"),
    ],
)
def test_get_sagemaker_is_bot_claim_decides_masking(
    client: TestClient,
    settings: Settings,
    keys: SigningKeys,
    token_for: TokenFor,
    user_headers: Callable[..., dict[str, str]],
    is_bot: object,
    shown: str,
) -> None:
    user_headers("reader")
    admin = {"Authorization": f"Bearer {token_for('admin')}"}
    created = client.post(SERVICES_URL, json=_sagemaker_request(), headers=admin)
    token = _sign(
        _claims(settings, sub="reader", email="reader@example.com", isBot=is_bot),
        keys.private_key,
        keys.key_id,
    )

    fetched = client.get(
        f"{SERVICES_URL}/{created.json()['id']}", headers={"Authorization": f"Bearer {token}"}
    )

    assert fetched.status_code == 200
    assert _secret_of(fetched.json()) == shown


# ---------------------------------------------------------------------------- before all else

_MALFORMED_BODIES = [
    pytest.param(b"{not json", "application/json", id="malformed_json"),
    pytest.param(b'{"name": 5}', "application/json", id="invalid_body"),
    pytest.param(b"name=x", "application/x-www-form-urlencoded", id="not_json"),
    pytest.param(b'[{"op": 1}]', "application/json-patch+json", id="malformed_patch"),
]
_WRITES = [
    ("PUT", SERVICES_URL),
    ("POST", SERVICES_URL),
    ("PUT", f"{SERVICES_URL}/bulk"),
    ("PATCH", f"{SERVICES_URL}/name/svc"),
    ("PATCH", f"{SERVICES_URL}/6a2bdfc4-1a31-4b16-9cf0-3d8e0c0d1f77"),
    ("PUT", "/api/v1/mlmodels"),
    ("POST", "/api/v1/mlmodels"),
    ("PUT", "/api/v1/mlmodels/bulk"),
    ("PATCH", "/api/v1/mlmodels/name/svc.model"),
    ("POST", "/api/v1/users"),
    ("PUT", "/api/v1/teams"),
    ("DELETE", "/api/v1/mlmodels/deleteStale"),
]


@pytest.mark.parametrize(("method", "url"), _WRITES)
@pytest.mark.parametrize(("content", "content_type"), _MALFORMED_BODIES)
def test_no_token_is_a_401_whatever_the_body(
    client: TestClient, method: str, url: str, content: bytes, content_type: str
) -> None:
    """OpenMetadata's authentication filter runs before the body is read."""
    response = client.request(method, url, content=content, headers={"Content-Type": content_type})

    _assert_401(response, TOKEN_NOT_PRESENT)


@pytest.mark.parametrize(
    "url",
    [
        f"{SERVICES_URL}?limit=abc",
        f"{SERVICES_URL}/not-a-uuid",
        f"{SERVICES_URL}/name/svc?include=nope",
        "/api/v1/mlmodels?fields=nope",
        "/api/v1/jobs/not-a-uuid",
    ],
)
def test_no_token_is_a_401_whatever_the_parameters(client: TestClient, url: str) -> None:
    _assert_401(client.get(url), TOKEN_NOT_PRESENT)


def test_an_invalid_token_is_a_401_before_a_malformed_body(client: TestClient) -> None:
    response = client.put(
        SERVICES_URL,
        content=b"{not json",
        headers={"Content-Type": "application/json", "Authorization": "Bearer abc"},
    )

    _assert_401(response, INVALID_TOKEN)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/services/testConnectionDefinitions?limit=abc",
        "/api/v1/services/testConnectionDefinitions/not-a-uuid",
    ],
)
def test_no_token_is_a_401_on_test_connection_definitions(client: TestClient, url: str) -> None:
    _assert_401(client.get(url), TOKEN_NOT_PRESENT)
