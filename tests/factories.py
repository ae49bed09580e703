"""Builders of request bodies for tests."""

from __future__ import annotations

from typing import Any

SERVICES_URL = "/api/v1/services/mlmodelServices"


def mlflow_config(**overrides: Any) -> dict[str, Any]:
    return {
        "trackingUri": "http://localhost:5000",
        "registryUri": "http://localhost:8080",
        **overrides,
    }


def create_request(name: str = "mlflow_svc", **overrides: Any) -> dict[str, Any]:
    """A create request as the official client sends it: no `type` in the config."""
    body: dict[str, Any] = {
        "name": name,
        "serviceType": "Mlflow",
        "connection": {"config": mlflow_config()},
    }
    body.update(overrides)
    return body


MLMODELS_URL = "/api/v1/mlmodels"


def model_request(
    name: str = "churn", service: str = "mlflow_svc", **overrides: Any
) -> dict[str, Any]:
    """A create request for an ML model, as MLflow's ingestion sends one."""
    body: dict[str, Any] = {
        "name": name,
        "service": service,
        "algorithm": "xgboost",
        "mlFeatures": [
            {"name": "age", "dataType": "numerical"},
            {"name": "plan", "dataType": "categorical"},
        ],
        "mlHyperParameters": [{"name": "learning_rate", "value": "0.1"}],
        "mlStore": {"storage": "s3://models/churn"},
        "server": "http://serving:8080/churn",
        "sourceUrl": "http://mlflow:5000/#/models/churn",
    }
    body.update(overrides)
    return body


def subscription(endpoint: str = "http://127.0.0.1:9/hook", **overrides: Any) -> dict[str, Any]:
    """A CreateEventSubscription with one webhook destination; `config` adds to its config."""
    config = overrides.pop("config", {})
    body: dict[str, Any] = {
        "name": "hook",
        "alertType": "Notification",
        "resources": ["mlmodelService"],
        "destinations": [
            {
                "category": "External",
                "type": "Webhook",
                "config": {"endpoint": endpoint, **config},
            }
        ],
    }
    body.update(overrides)
    return body
