"""Registers small models, with versions, params and signatures, in a running MLflow server.

Runs inside the venv that holds openmetadata-ingestion[mlflow] and mlflow; prints a JSON
summary of what it registered.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema
from sklearn.linear_model import LinearRegression, LogisticRegression, RidgeClassifier


@dataclass(frozen=True)
class Spec:
    """One registered model: its versions' params, and the columns of its signature."""

    name: str
    description: str
    make: type
    # Each version's params, logged in its own run.
    versions: tuple[dict[str, float | int], ...]
    # (column, MLflow type): "string" columns become categorical features.
    inputs: tuple[tuple[str, str], ...]


MODELS = (
    Spec(
        name="churn-classifier",
        description="Predicts which customers leave within a month.",
        make=LogisticRegression,
        versions=({"C": 1.0, "max_iter": 100}, {"C": 0.5, "max_iter": 200}),
        inputs=(("tenure_months", "double"), ("monthly_fee", "double"), ("plan", "string")),
    ),
    Spec(
        name="house-prices",
        description="Sale price of a house from its size and rooms.",
        make=LinearRegression,
        versions=({"fit_intercept": 1}, {"fit_intercept": 0}, {"fit_intercept": 1}),
        inputs=(("area_m2", "double"), ("rooms", "long")),
    ),
    Spec(
        name="fraud-ridge",
        description="",
        make=RidgeClassifier,
        versions=({"alpha": 0.3},),
        inputs=(("amount", "double"), ("country", "string"), ("hour", "long")),
    ),
    Spec(
        name="spam.filter",
        description="A name holding a dot.",
        make=LogisticRegression,
        versions=({"C": 2.0}, {"C": 4.0}),
        inputs=(("length", "long"), ("links", "long")),
    ),
)


def _fit(spec: Spec, params: dict[str, float | int]) -> object:
    rng = np.random.default_rng(7)
    features = rng.normal(size=(40, 2))
    target = (features[:, 0] > 0).astype(int)
    if spec.make is LinearRegression:
        return LinearRegression(fit_intercept=bool(params["fit_intercept"])).fit(features, target)
    return spec.make(**params).fit(features, target)


def register(tracking_uri: str) -> dict[str, object]:
    """Log every version of every model and register it; return what was registered."""
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = mlflow.set_experiment("compat-ingestion")
    registered: dict[str, object] = {}
    for spec in MODELS:
        signature = ModelSignature(
            inputs=Schema([ColSpec(kind, name) for name, kind in spec.inputs]),
            outputs=Schema([ColSpec("double", "prediction")]),
        )
        versions = []
        for params in spec.versions:
            with mlflow.start_run(experiment_id=experiment.experiment_id):
                mlflow.log_params(params)
                mlflow.log_metric("score", 0.9)
                info = mlflow.sklearn.log_model(
                    _fit(spec, params),
                    name="model",
                    signature=signature,
                    registered_model_name=spec.name,
                    # Named, so that MLflow does not infer them in a subprocess per model.
                    pip_requirements=["scikit-learn"],
                )
                versions.append(info.registered_model_version)
        if spec.description:
            client.update_registered_model(spec.name, description=spec.description)
        registered[spec.name] = {
            "versions": versions,
            "params": {key: str(value) for key, value in spec.versions[-1].items()},
            "features": [name for name, _ in spec.inputs],
            "categorical": [name for name, kind in spec.inputs if kind == "string"],
            "description": spec.description or None,
        }
    return registered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tracking-uri", required=True)
    args = parser.parse_args()
    sys.stdout.write(json.dumps(register(args.tracking_uri)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
