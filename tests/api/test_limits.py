"""Request bodies over the configured size are refused with 413, before being read whole."""

from __future__ import annotations

from tests.factories import SERVICES_URL, create_request


def test_body_over_the_limit_with_content_length_returns_413(make_client, auth_headers):
    client = make_client(max_body_bytes=1000)

    response = client.post(
        SERVICES_URL, json=create_request(description="x" * 2000), headers=auth_headers
    )

    assert response.status_code == 413
    assert response.json() == {"code": 413, "message": "Request body is larger than 1000 bytes"}


def test_streamed_body_over_the_limit_returns_413_in_openmetadata_form(make_client, auth_headers):
    client = make_client(max_body_bytes=1000)

    def chunks():
        yield b'{"name": "svc", "serviceType": "Mlflow", "description": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}'

    response = client.post(
        SERVICES_URL, content=chunks(), headers={**auth_headers, "Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json()["code"] == 413
    assert client.get(SERVICES_URL, headers=auth_headers).json()["paging"]["total"] == 0


def test_body_under_the_limit_is_accepted(make_client, auth_headers):
    client = make_client(max_body_bytes=1000)

    response = client.post(SERVICES_URL, json=create_request(), headers=auth_headers)

    assert response.status_code == 201
