"""OpenMetadata's own MLflow ingestion (`metadata ingest`) against a live server.

A real MLflow tracking server (SQLite backend store) holds a few registered models with
versions, params and signatures. The workflow runs four times against one emulator server:
in full, in full again (nothing changes), with one model filtered out (it is soft-deleted)
and in full once more (it is restored). After each run every model is read back with the
official client's MlModel model.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from tests.compat.mlflow_tracking import running_tracking_server, venv_env
from tests.live_server import RunningServer, mint_token

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
REGISTRY_SCRIPT = HERE / "mlflow_registry.py"
READER_SCRIPT = HERE / "mlflow_reader.py"
# A name holding a dot: every FQN the workflow builds and sends (the service read, each
# model's, the deleteStale scope) has to quote it, as OpenMetadata's quoteName does.
SERVICE = "compat.mlflow"
SERVICE_FQN = '"compat.mlflow"'
# The model the third run leaves out.
FILTERED = "fraud-ridge"
SCRIPT_TIMEOUT_S = 300.0
INGEST_TIMEOUT_S = 600.0
# The workflow's summary lines, once for the source and once for the sink.
SUMMARY_COUNT = re.compile(r"(Errors|Warnings): (\d+)")


@dataclass(frozen=True)
class Registry:
    """The MLflow server and what mlflow_registry.py registered in it."""

    uri: str
    models: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def mlflow_registry(
    client_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    """One tracking server with its models for every database the test runs on: the
    ingestion only reads it."""
    workdir = tmp_path_factory.mktemp("mlflow")
    with running_tracking_server(client_python, workdir) as server:
        completed = subprocess.run(
            [str(client_python), str(REGISTRY_SCRIPT), "--tracking-uri", server.uri],
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_S,
            env=venv_env(),
            cwd=workdir,
            check=False,
        )
        assert completed.returncode == 0, (
            f"registering the models failed\n{completed.stderr[-6000:]}\n{server.log_tail()}"
        )
        yield Registry(server.uri, json.loads(completed.stdout.splitlines()[-1]))


def model_fqn(name: str) -> str:
    """FullyQualifiedName.build(service, name): a part holding a dot is quoted."""
    return f'{SERVICE_FQN}."{name}"' if "." in name else f"{SERVICE_FQN}.{name}"


def workflow_config(
    registry: Registry, server: RunningServer, token: str, excludes: list[str] | None = None
) -> dict[str, Any]:
    """The YAML of `metadata ingest`, as OpenMetadata documents it for MLflow."""
    source_config: dict[str, Any] = {"type": "MlModelMetadata"}
    if excludes:
        source_config["mlModelFilterPattern"] = {"excludes": excludes}
    return {
        "source": {
            "type": "mlflow",
            "serviceName": SERVICE,
            "serviceConnection": {
                "config": {
                    "type": "Mlflow",
                    "trackingUri": registry.uri,
                    "registryUri": registry.uri,
                }
            },
            "sourceConfig": {"config": source_config},
        },
        "sink": {"type": "metadata-rest", "config": {}},
        "workflowConfig": {
            "loggerLevel": "INFO",
            "openMetadataServerConfig": {
                "hostPort": server.host_port,
                "authProvider": "openmetadata",
                "securityConfig": {"jwtToken": token},
            },
        },
    }


@dataclass
class Runs:
    """Runs `metadata ingest` and reads the models back, keeping the figures."""

    client_python: Path
    server: RunningServer
    workdir: Path
    admin_token: str
    figures: list[dict[str, Any]] = field(default_factory=list)
    # What the last read found: the state before the next run.
    last: dict[str, Any] = field(default_factory=lambda: {"models": {}, "live": []})

    def ingest(self, label: str, config: dict[str, Any]) -> dict[str, Any]:
        """One workflow run; it must end well, with no error and no warning."""
        config_path = self.workdir / f"{label}.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        before = self.last
        started = time.monotonic()
        completed = subprocess.run(
            [str(self.client_python.parent / "metadata"), "ingest", "-c", str(config_path)],
            capture_output=True,
            text=True,
            timeout=INGEST_TIMEOUT_S,
            env=venv_env(),
            cwd=self.workdir,
            check=False,
        )
        seconds = time.monotonic() - started
        output = completed.stdout + completed.stderr
        (self.workdir / f"{label}.log").write_text(output)
        context = f"{label}: `metadata ingest` output\n{output[-12000:]}\n{self.server.log_tail()}"
        assert completed.returncode == 0, context
        counts = SUMMARY_COUNT.findall(output)
        assert counts, context
        assert {(kind, int(number)) for kind, number in counts} <= {
            ("Errors", 0),
            ("Warnings", 0),
        }, context
        after = self.last = self.read()
        self.figures.append(
            {
                "run": label,
                "seconds": round(seconds, 2),
                "models": len(after["models"]),
                "versions_before": _versions(before),
                "versions_after": _versions(after),
            }
        )
        return after

    def read(self) -> dict[str, Any]:
        """Every model of the service, deleted ones too, as the official client parses it."""
        completed = subprocess.run(
            [
                str(self.client_python),
                str(READER_SCRIPT),
                "--host-port",
                self.server.host_port,
                "--service",
                SERVICE,
            ],
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_S,
            env=venv_env({"MLMODEL_EMULATOR_TOKEN": self.admin_token}),
            check=False,
        )
        assert completed.returncode == 0, (
            f"reading the models with the official client failed\n{completed.stderr[-8000:]}\n"
            f"{self.server.log_tail()}"
        )
        state: dict[str, Any] = json.loads(completed.stdout.splitlines()[-1])
        return state


def _versions(state: dict[str, Any]) -> dict[str, str]:
    return {
        fqn: f"{model['version']}{' (deleted)' if model['deleted'] else ''}"
        for fqn, model in state["models"].items()
    }


def _check_models(registry: Registry, state: dict[str, Any]) -> None:
    """What the workflow made of each registered model: its latest version's run."""
    for name, registered in registry.models.items():
        model = state["models"][model_fqn(name)]
        categorical = set(registered["categorical"])
        assert model["features"] == [
            [feature, "categorical" if feature in categorical else "numerical"]
            for feature in registered["features"]
        ], name
        assert model["params"] == registered["params"], name
        assert model["description"] == registered["description"], name
        assert model["algorithm"] == "mlmodel", name
        assert model["sourceUrl"] == f"{registry.uri}/#/models/{name}", name
        assert model["store"].startswith("mlflow-artifacts:/"), name
        assert (model["service"], model["serviceType"]) == (SERVICE, "Mlflow"), name
        assert model["sourceHash"], name


@pytest.mark.compat
def test_mlflow_ingestion_runs_twice_then_filtered_then_full(
    client_python: Path,
    mlflow_registry: Registry,
    emulator_server: RunningServer,
    tmp_path: Path,
) -> None:
    bot_token = mint_token("ingestion-bot", emulator_server.env)
    runs = Runs(client_python, emulator_server, tmp_path, mint_token("admin", emulator_server.env))
    full = workflow_config(mlflow_registry, emulator_server, bot_token)
    filtered = workflow_config(
        mlflow_registry, emulator_server, bot_token, excludes=[f"^{re.escape(FILTERED)}$"]
    )
    every_fqn = sorted(model_fqn(name) for name in mlflow_registry.models)
    gone = model_fqn(FILTERED)

    try:
        first = runs.ingest("1-full", full)
        second = runs.ingest("2-full-again", full)
        third = runs.ingest("3-filtered", filtered)
        fourth = runs.ingest("4-full", full)
    finally:
        logger.info("MLflow ingestion figures (%s): %s", emulator_server.database, runs.figures)
        (tmp_path / "figures.json").write_text(json.dumps(runs.figures, indent=2))

    # (1) Every registered model, as its latest version describes it.
    assert sorted(first["models"]) == every_fqn
    assert sorted(first["live"]) == every_fqn
    assert {m["version"] for m in first["models"].values()} == {0.1}
    assert not any(m["deleted"] or m["readableAsDeleted"] for m in first["models"].values())
    _check_models(mlflow_registry, first)
    # (a) The same source again changes nothing: versions, ids, content.
    assert second == first
    # (b) The model left out is soft-deleted (a new version), readable with include=deleted.
    assert third["models"][gone] == {
        **first["models"][gone],
        "version": 0.2,
        "deleted": True,
        "readableAsDeleted": True,
    }
    assert sorted(third["live"]) == [fqn for fqn in every_fqn if fqn != gone]
    assert {fqn: m for fqn, m in third["models"].items() if fqn != gone} == {
        fqn: m for fqn, m in first["models"].items() if fqn != gone
    }
    # (c) In full again, the PUT restores it, as OpenMetadata's EntityUpdater.updateDeleted
    # does: the same entity (same id), deleted false, one more version.
    assert fourth["models"][gone] == {**first["models"][gone], "version": 0.3}
    assert sorted(fourth["live"]) == every_fqn
    assert {fqn: m for fqn, m in fourth["models"].items() if fqn != gone} == {
        fqn: m for fqn, m in first["models"].items() if fqn != gone
    }
