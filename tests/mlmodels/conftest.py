"""Fixtures of the ML model tests: a service to put models in."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import MLMODELS_URL, SERVICES_URL, create_request, model_request


@pytest.fixture
def service(client: TestClient, auth_headers: dict[str, str]) -> dict[str, Any]:
    response = client.post(SERVICES_URL, json=create_request("mlflow_svc"), headers=auth_headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def model(
    client: TestClient, auth_headers: dict[str, str], service: dict[str, Any]
) -> dict[str, Any]:
    response = client.post(MLMODELS_URL, json=model_request(), headers=auth_headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
