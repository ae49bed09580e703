"""MLMODEL_EMULATOR_SEED_SERVICES: ML model services and models created at start when missing."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from mlmodel_emulator.config import Settings
from mlmodel_emulator.main import create_app
from mlmodel_emulator.mlmodel_services.seed import SeedError
from tests.conftest import TABLES_CHILD_FIRST
from tests.factories import MLMODELS_URL, SERVICES_URL

SECRET = "aws-s3cr3t-value"
SERVICES_YAML = f"""\
- name: mlflow_prod
  serviceType: Mlflow
  description: Production tracking server
  connection:
    config: {{trackingUri: "http://mlflow:5000", registryUri: "http://mlflow:5000"}}
- name: sagemaker_prod
  serviceType: SageMaker
  connection:
    config:
      awsConfig: {{awsRegion: eu-west-1, awsSecretAccessKey: {SECRET}}}
"""
SECTIONS_YAML = """\
mlmodelServices:
  - {name: sklearn_svc, serviceType: Sklearn}
mlmodels:
  - {name: churn, service: sklearn_svc, algorithm: xgboost}
  - name: fraud
    service: mlflow_single
    mlFeatures: [{name: amount, dataType: numerical}]
"""
SINGLE_JSON = json.dumps(
    {"name": "mlflow_single", "serviceType": "Mlflow", "connection": {"config": {}}}
)

Headers = dict[str, str]


def _write(folder: Path, name: str, content: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(content, encoding="utf-8")
    return path


def _all(client: TestClient, url: str, headers: Headers) -> list[dict[str, Any]]:
    listing = client.get(url, params={"include": "all", "limit": 1000}, headers=headers)
    assert listing.status_code == 200, listing.text
    data: list[dict[str, Any]] = listing.json()["data"]
    return data


def _names(client: TestClient, url: str, headers: Headers) -> list[str]:
    return [entity["fullyQualifiedName"] for entity in _all(client, url, headers)]


def test_seed_file_creates_its_services_as_post_would(
    make_client: Any, tmp_path: Path, auth_headers: Headers, bot_headers: Headers, engine: Any
) -> None:
    client = make_client(seed_services=_write(tmp_path, "services.yaml", SERVICES_YAML))

    services = _all(client, SERVICES_URL, auth_headers)

    assert [s["name"] for s in services] == ["mlflow_prod", "sagemaker_prod"]
    assert [(s["version"], s["updatedBy"], s["deleted"]) for s in services] == [
        (0.1, "admin", False),
        (0.1, "admin", False),
    ]
    assert services[0]["description"] == "Production tracking server"
    # The connection config is validated and completed as a request's: type filled in.
    assert services[0]["connection"]["config"]["type"] == "Mlflow"
    sagemaker = client.get(f"{SERVICES_URL}/name/sagemaker_prod", headers=bot_headers).json()
    assert sagemaker["connection"]["config"]["awsConfig"]["awsSecretAccessKey"] == SECRET
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT doc FROM mlmodel_service")).all()
    assert SECRET not in json.dumps([str(row[0]) for row in stored])


def test_seed_folder_reads_its_files_in_name_order_with_models(
    make_client: Any, tmp_path: Path, auth_headers: Headers
) -> None:
    folder = tmp_path / "seeds"
    _write(folder, "a.json", SINGLE_JSON)
    _write(folder, "b.yml", SECTIONS_YAML)
    _write(folder, "README.md", "not a seed")

    client = make_client(seed_services=folder)

    assert _names(client, SERVICES_URL, auth_headers) == ["mlflow_single", "sklearn_svc"]
    models = _all(client, MLMODELS_URL, auth_headers)
    assert [(m["fullyQualifiedName"], m["algorithm"]) for m in models] == [
        ("sklearn_svc.churn", "xgboost"),
        ("mlflow_single.fraud", "mlmodel"),
    ]
    fraud = client.get(f"{MLMODELS_URL}/name/mlflow_single.fraud", headers=auth_headers).json()
    assert fraud["mlFeatures"][0]["fullyQualifiedName"] == "mlflow_single.fraud.amount"


def test_seed_second_start_keeps_what_users_changed_or_deleted(
    make_client: Any, tmp_path: Path, auth_headers: Headers
) -> None:
    folder = tmp_path / "seeds"
    _write(folder, "a.json", SINGLE_JSON)
    _write(folder, "b.yaml", SECTIONS_YAML)
    first = make_client(seed_services=folder)
    single = first.get(f"{SERVICES_URL}/name/mlflow_single", headers=auth_headers).json()
    changed = {"name": "mlflow_single", "serviceType": "Mlflow", "description": "ours"}
    assert first.put(SERVICES_URL, json=changed, headers=auth_headers).status_code == 200
    sklearn = first.get(f"{SERVICES_URL}/name/sklearn_svc", headers=auth_headers).json()
    deleted = first.delete(
        f"{SERVICES_URL}/{sklearn['id']}", params={"recursive": "true"}, headers=auth_headers
    )
    assert deleted.status_code == 200, deleted.text

    again = make_client(seed_services=folder)

    kept = again.get(f"{SERVICES_URL}/name/mlflow_single", headers=auth_headers).json()
    assert (kept["id"], kept["version"], kept["description"]) == (single["id"], 0.2, "ours")
    services = _all(again, SERVICES_URL, auth_headers)
    assert [(s["name"], s["deleted"]) for s in services] == [
        ("mlflow_single", False),
        ("sklearn_svc", True),
    ]
    assert len(_all(again, MLMODELS_URL, auth_headers)) == 2


def test_seed_hard_deleted_service_comes_back_at_the_next_start(
    make_client: Any, tmp_path: Path, auth_headers: Headers
) -> None:
    path = _write(tmp_path, "a.json", SINGLE_JSON)
    first = make_client(seed_services=path)
    single = first.get(f"{SERVICES_URL}/name/mlflow_single", headers=auth_headers).json()
    first.delete(f"{SERVICES_URL}/{single['id']}?hardDelete=true", headers=auth_headers)

    again = make_client(seed_services=path)

    back = again.get(f"{SERVICES_URL}/name/mlflow_single", headers=auth_headers).json()
    assert back["version"] == 0.1
    assert back["id"] != single["id"]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        pytest.param("s.yaml", "- name: [unclosed", "is not valid YAML", id="yaml"),
        pytest.param("s.json", '"just text"', "must hold an ML model service's", id="shape"),
        pytest.param("s.txt", "[]", "must end in .yaml, .yml or .json", id="suffix"),
        pytest.param(
            "s.yaml",
            SERVICES_YAML + "- {name: odd, serviceType: Mlflow, colour: blue}\n",
            ": mlmodelServices[2] (odd): [query param colour is not a recognized field]",
            id="unknown-field",
        ),
        pytest.param(
            "s.yaml",
            SERVICES_YAML
            + "- {name: bad, serviceType: Mlflow, connection: {config: {trackingUri: 5}}}\n",
            ": mlmodelServices[2] (bad): [query param connection.config.trackingUri must be",
            id="bad-config",
        ),
        pytest.param(
            "s.yaml",
            "mlmodels:\n  - {name: m, service: nowhere}\n",
            ": mlmodels[0] (m): mlmodelService instance for nowhere not found",
            id="unknown-service",
        ),
        pytest.param(
            "s.yaml",
            "mlmodelServices: {name: x}\n",
            ": mlmodelServices must be a list",
            id="section-not-a-list",
        ),
    ],
)
def test_seed_malformed_file_stops_startup_naming_file_and_entry(
    make_client: Any, tmp_path: Path, auth_headers: Headers, name: str, content: str, problem: str
) -> None:
    path = _write(tmp_path, name, content)

    with pytest.raises(SeedError) as failed:
        make_client(seed_services=path)

    assert str(failed.value).startswith(f"Seed file {path}")
    assert problem in str(failed.value)
    # Nothing of the file was created, the valid entries before the bad one included.
    assert _names(make_client(), SERVICES_URL, auth_headers) == []


def test_seed_missing_file_stops_startup(make_client: Any, tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="cannot be read"):
        make_client(seed_services=tmp_path / "absent.yaml")


def test_seed_follows_strict_connection_validation(make_client: Any, tmp_path: Path) -> None:
    path = _write(tmp_path, "a.json", SINGLE_JSON)

    with pytest.raises(SeedError, match=r"a.json: mlmodelServices\[0\] \(mlflow_single\)"):
        make_client(seed_services=path, strict_connection_validation=True)


def test_seed_starts_at_once_on_one_database_all_succeed(
    settings: Settings, engine: Any, tmp_path: Path, auth_headers: Headers
) -> None:
    with engine.begin() as connection:
        for table in TABLES_CHILD_FIRST:
            connection.execute(text(f"DELETE FROM {table}"))
    folder = tmp_path / "seeds"
    _write(folder, "a.json", SINGLE_JSON)
    _write(folder, "b.yaml", SECTIONS_YAML)
    seeded = settings.model_copy(update={"seed_services": folder})
    # Built one after the other (see the governance seed's test); only the starts race.
    clients = [TestClient(create_app(seeded)) for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    started: list[TestClient] = []
    errors: list[BaseException] = []

    def start(client: TestClient) -> None:
        barrier.wait()
        try:
            started.append(client.__enter__())
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        client = started[0]
        assert _names(client, SERVICES_URL, auth_headers) == ["mlflow_single", "sklearn_svc"]
        assert len(_names(client, MLMODELS_URL, auth_headers)) == 2
    finally:
        for client in started:
            client.__exit__(None, None, None)
        with engine.begin() as connection:
            for table in TABLES_CHILD_FIRST:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.mark.parametrize("scope", ["all", "mlmodelServices"])
def test_reset_brings_the_seeded_services_back(
    make_client: Any, tmp_path: Path, auth_headers: Headers, scope: str
) -> None:
    path = _write(tmp_path, "s.yaml", SECTIONS_YAML.replace("mlflow_single", "sklearn_svc"))
    client = make_client(admin_api=True, seed_services=path)
    extra = {"name": "extra", "serviceType": "Mlflow"}
    assert client.put(SERVICES_URL, json=extra, headers=auth_headers).status_code == 201

    response = client.post("/api/__emulator/reset", params={"scope": scope}, headers=auth_headers)

    assert response.status_code == 204, response.text
    assert _names(client, SERVICES_URL, auth_headers) == ["sklearn_svc"]
    assert _names(client, MLMODELS_URL, auth_headers) == ["sklearn_svc.churn", "sklearn_svc.fraud"]


def test_seed_services_env_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLMODEL_EMULATOR_SEED_SERVICES", str(tmp_path / "seeds"))

    assert Settings().seed_services == tmp_path / "seeds"
