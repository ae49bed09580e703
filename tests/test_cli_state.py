"""mlmodel-emulator export FILE and serve --import FILE, on SQLite files of their own."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from mlmodel_emulator.auth import tokens
from mlmodel_emulator.auth.keys import load_signing_keys
from mlmodel_emulator.cli import import_file, main
from mlmodel_emulator.config import Settings
from mlmodel_emulator.main import create_app
from tests.test_deploy_files import clear_settings_env

SERVICES_URL = "/api/v1/services/mlmodelServices"
SAGEMAKER = {
    "name": "sm",
    "serviceType": "SageMaker",
    "connection": {
        "config": {"awsConfig": {"awsRegion": "eu-west-1", "awsSecretAccessKey": "s3cr3t"}}
    },
}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, private_key_pem: str) -> None:
    clear_settings_env(monkeypatch)
    monkeypatch.setenv("MLMODEL_EMULATOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MLMODEL_EMULATOR_JWT_PRIVATE_KEY", private_key_pem)
    monkeypatch.setenv("MLMODEL_EMULATOR_SECRETS_KEY", Fernet.generate_key().decode())
    use_database(monkeypatch, tmp_path / "first.db")


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """uvicorn.run replaced: each call records the services stored when it was made."""
    calls: list[list[str]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(service_names()))
    return calls


def use_database(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path.as_posix()}")


def headers(user: str = "admin") -> dict[str, str]:
    settings = Settings()
    token = tokens.mint(
        load_signing_keys(settings),
        issuer=settings.jwt_issuer,
        user=user,
        is_bot=user == "ingestion-bot",
        now=int(time.time()),
        expires_in=3600,
    )
    return {"Authorization": f"Bearer {token}"}


def reads() -> dict[str, Any]:
    """What the API answers about the service `sm`, as a user and as a bot."""
    with TestClient(create_app(Settings())) as client:
        answers: dict[str, Any] = {}
        for who, auth in (("user", headers()), ("bot", headers("ingestion-bot"))):
            service = client.get(f"{SERVICES_URL}/name/sm?fields=*", headers=auth).json()
            versions = client.get(f"{SERVICES_URL}/{service['id']}/versions", headers=auth)
            answers[who] = (service, versions.json())
        return answers


def service_names() -> list[str]:
    with TestClient(create_app(Settings())) as client:
        listing = client.get(SERVICES_URL, params={"include": "all"}, headers=headers()).json()
        return [service["name"] for service in listing["data"]]


def build_state() -> None:
    main(["migrate"])
    with TestClient(create_app(Settings())) as client:
        for description in ("first", "second"):
            body = {**SAGEMAKER, "description": description}
            assert client.put(SERVICES_URL, json=body, headers=headers()).is_success


def test_export_writes_the_state_readable_by_its_owner_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_state()
    target = tmp_path / "out" / "state.json"

    main(["export", str(target)])

    document = json.loads(target.read_text())
    assert document["formatVersion"] == 1
    assert [row["name"] for row in document["tables"]["mlmodel_service"]] == ["sm"]
    assert len(document["tables"]["mlmodel_service_version"]) == 1
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    rows = sum(len(rows) for rows in document["tables"].values())
    assert capsys.readouterr().err == f"Exported {rows} rows to {target}\n"
    assert os.listdir(target.parent) == ["state.json"]


def test_serve_import_replaces_the_state_before_serving(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    no_server: list[list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    build_state()
    before = reads()
    target = tmp_path / "state.json"
    main(["export", str(target)])
    use_database(monkeypatch, tmp_path / "second.db")

    main(["serve", "--import", str(target)])

    # Migrated, imported, and only then served.
    assert no_server == [["sm"]]
    assert reads() == before
    assert f"rows from {target}\n" in capsys.readouterr().err


def test_serve_import_of_a_document_of_another_version_stops_before_serving(
    tmp_path: Path, no_server: list[list[str]]
) -> None:
    build_state()
    target = tmp_path / "state.json"
    main(["export", str(target)])
    document = json.loads(target.read_text())
    document["formatVersion"] = 2
    target.write_text(json.dumps(document))

    with pytest.raises(SystemExit) as exited:
        main(["serve", "--import", str(target)])

    assert str(exited.value) == (
        f"Cannot import {target}: The state document cannot be imported: its format version "
        "is 2; this server reads version 1"
    )
    assert no_server == []
    assert service_names() == ["sm"]


@pytest.mark.parametrize(
    ("content", "problem"), [(None, "No such file or directory"), ("{", "not valid JSON")]
)
def test_serve_import_of_an_unreadable_file_stops_naming_it(
    tmp_path: Path, no_server: list[list[str]], content: str | None, problem: str
) -> None:
    target = tmp_path / "state.json"
    if content is not None:
        target.write_text(content)

    with pytest.raises(SystemExit) as exited:
        main(["serve", "--import", str(target)])

    assert str(exited.value).startswith(f"Cannot import {target}: {problem}")
    assert no_server == []


def test_export_that_fails_leaves_the_former_file_whole(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    build_state()
    target = tmp_path / "out" / "state.json"
    target.parent.mkdir()
    target.write_text("former")

    def fail(*_: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        main(["export", str(target)])

    assert target.read_text() == "former"
    assert os.listdir(target.parent) == ["state.json"]


def test_export_without_a_database_stops_and_creates_none(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["export", str(tmp_path / "state.json")])

    assert str(exited.value) == f"Cannot export: there is no database at {tmp_path / 'first.db'}"
    assert not (tmp_path / "first.db").exists()
    assert not (tmp_path / "state.json").exists()


def test_serve_with_an_id_seed_refuses_several_workers(
    monkeypatch: pytest.MonkeyPatch, no_server: list[list[str]]
) -> None:
    monkeypatch.setenv("MLMODEL_EMULATOR_ID_SEED", "42")

    with pytest.raises(SystemExit) as exited:
        main(["serve", "--workers", "2"])

    assert str(exited.value) == "MLMODEL_EMULATOR_ID_SEED needs one worker process (--workers 1)"
    assert no_server == []


def test_import_into_a_database_never_migrated_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    build_state()
    target = tmp_path / "state.json"
    main(["export", str(target)])
    use_database(monkeypatch, tmp_path / "empty.db")

    with pytest.raises(SystemExit) as exited:
        import_file(Settings(), target)

    assert str(exited.value) == (
        f"Cannot import {target}: The state document cannot be imported: the database was "
        "never migrated (run: mlmodel-emulator migrate)"
    )
