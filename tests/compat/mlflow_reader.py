"""Reads every ML model of one service with the official client's MlModel model.

Runs inside the venv that holds openmetadata-ingestion; prints, as JSON, each model as the
client parsed it (listed with include=all, then read again by FQN). Any answer the client's
model refuses ends the run with a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from metadata.generated.schema.entity.data.mlmodel import MlModel
from metadata.generated.schema.entity.services.connections.metadata.openMetadataConnection import (
    AuthProvider,
    OpenMetadataConnection,
)
from metadata.generated.schema.security.client.openMetadataJWTClientConfig import (
    OpenMetadataJWTClientConfig,
)
from metadata.ingestion.ometa.ometa_api import OpenMetadata

TOKEN_ENV = "MLMODEL_EMULATOR_TOKEN"


def describe(model: MlModel) -> dict[str, Any]:
    """What the test checks of one model, from the client's parsed model."""
    return {
        "id": str(model.id.root),
        "fqn": model.fullyQualifiedName.root if model.fullyQualifiedName else None,
        "version": model.version.root if model.version else None,
        "deleted": model.deleted,
        "description": model.description.root if model.description else None,
        "algorithm": model.algorithm,
        "features": [
            [feature.name.root, feature.dataType.value if feature.dataType else None]
            for feature in model.mlFeatures or []
        ],
        "params": {param.name: param.value for param in model.mlHyperParameters or []},
        "store": model.mlStore.storage if model.mlStore else None,
        "sourceUrl": model.sourceUrl.root if model.sourceUrl else None,
        "sourceHash": model.sourceHash,
        "service": model.service.name,
        "serviceType": model.serviceType.value if model.serviceType else None,
    }


def read(host_port: str, token: str, service: str) -> dict[str, Any]:
    om = OpenMetadata(
        OpenMetadataConnection(
            hostPort=host_port,
            authProvider=AuthProvider.openmetadata,
            securityConfig=OpenMetadataJWTClientConfig(jwtToken=token),
        )
    )
    listed = list(
        om.list_all_entities(
            entity=MlModel, fields=["*"], params={"service": service}, include="all", limit=2
        )
    )
    models = {}
    for model in listed:
        fqn = model.fullyQualifiedName.root
        # `include` needs `fields`, or the client sends `&include=` without a `?`.
        again = om.get_by_name(MlModel, fqn, fields=["*"], include="all")
        if again is None:
            raise RuntimeError(f"get_by_name({fqn!r}) returned None")
        by_id = om.get_by_id(MlModel, model.id, fields=["*"])
        if not model.deleted and by_id is None:
            raise RuntimeError(f"get_by_id({model.id.root}) returned None")
        models[fqn] = describe(again)
        if describe(model) != models[fqn]:
            raise RuntimeError(f"{fqn}: the list and get_by_name disagree")
        as_deleted = om.get_by_name(MlModel, fqn, fields=["*"], include="deleted")
        models[fqn]["readableAsDeleted"] = as_deleted is not None
    live = om.list_all_entities(MlModel, params={"service": service})
    return {"models": models, "live": [model.fullyQualifiedName.root for model in live]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host-port", required=True, help="hostPort, ending in /api")
    parser.add_argument("--service", required=True)
    args = parser.parse_args()
    token = os.environ[TOKEN_ENV]
    sys.stdout.write(json.dumps(read(args.host_port, token, args.service)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
