"""The OpenAPI document: every route listed, and any change to the contract made on purpose."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mlmodel_emulator.config import Settings
from mlmodel_emulator.main import create_app

SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi.json"


def current_spec() -> dict[str, object]:
    spec: dict[str, object] = create_app(Settings()).openapi()
    return spec


def render(spec: dict[str, object]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_openapi_matches_the_committed_snapshot():
    assert render(current_spec()) == SNAPSHOT.read_text(), (
        "the API contract changed: if on purpose, run `make openapi` and commit the snapshot"
    )


def test_openapi_lists_every_service_route_and_the_connection_union():
    spec = current_spec()
    paths = spec["paths"]
    assert isinstance(paths, dict)

    assert {
        "/api/v1/services/mlmodelServices",
        "/api/v1/services/mlmodelServices/bulk",
        "/api/v1/services/mlmodelServices/restore",
        "/api/v1/services/mlmodelServices/{id}",
        "/api/v1/services/mlmodelServices/name/{fqn}",
        "/api/v1/services/mlmodelServices/{id}/versions",
        "/api/v1/services/mlmodelServices/{id}/versions/{version}",
        "/api/v1/services/mlmodelServices/{id}/testConnectionResult",
        "/api/v1/system/version",
        "/api/v1/system/config/jwks",
    } <= set(paths)
    schemas = spec["components"]["schemas"]  # type: ignore[index]
    assert {
        "MlflowConnection",
        "SklearnConnection",
        "CustomMlModelConnection",
        "SageMakerConnection",
        "VertexAIConnection",
    } <= set(schemas)


if __name__ == "__main__":
    # `make openapi`: rewrite the snapshot after a deliberate change.
    SNAPSHOT.write_text(render(current_spec()))
    sys.stdout.write(f"wrote {SNAPSHOT}\n")
