"""Replicas of the compose service on one PostgreSQL database, reproduced without Docker:
the image's start command, several times at once, with the compose file's environment."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.databases import fresh_database
from tests.live_server import (
    SERVER_START_TIMEOUT_S,
    emulator_command,
    free_port,
    mint_token,
    stop_process_group,
    version_ready,
)
from tests.test_deploy_files import (
    SERVED_PORT,
    app_environment,
    dockerfile_shell_command,
    settings_env_names,
)

REPLICAS = 3
SERVICES = "/v1/services/mlmodelServices"
SECRET_SERVICE = {
    "name": "replicated_sagemaker",
    "serviceType": "SageMaker",
    "connection": {
        "config": {
            "type": "SageMaker",
            "awsConfig": {
                "awsRegion": "eu-west-1",
                "awsAccessKeyId": "AKIA0",
                "awsSecretAccessKey": "replicated-secret",
            },
        }
    },
}


def replica_env(database_url: str, data_dir: Path, keys: dict[str, str]) -> dict[str, str]:
    """The compose file's app environment (defaults) for one replica, on this machine."""
    environment = {name: value for name, value in app_environment().items() if value != ""}
    environment.update(DATABASE_URL=database_url, MLMODEL_EMULATOR_DATA_DIR=str(data_dir))
    environment.update(keys)
    assert set(environment) <= set(settings_env_names())
    bin_dir = Path(emulator_command()[0]).parent
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", **environment}


def start_command(port: int) -> list[str]:
    """The image's CMD, listening on `port` of the loopback interface."""
    migrate, serve = dockerfile_shell_command()
    served = serve.replace("--host 0.0.0.0", "--host 127.0.0.1")
    served = served.replace(f"--port {SERVED_PORT}", f"--port {port}")
    return ["sh", "-c", f"{migrate} && {served}"]


@contextlib.contextmanager
def replicas(envs: list[dict[str, str]], log_dir: Path) -> Iterator[list[str]]:
    """Start every replica at once, as `docker compose up --scale` does; their base URLs."""
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for index, env in enumerate(envs):
            port = free_port()
            with (log_dir / f"replica-{index}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        start_command(port),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=env,
                        start_new_session=True,
                    )
                )
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        for index, (process, url) in enumerate(zip(processes, urls, strict=True)):
            while not version_ready(url):
                log = (log_dir / f"replica-{index}.log").read_text(errors="replace")
                assert process.poll() is None, f"replica {index} stopped:\n{log[-4000:]}"
                assert time.monotonic() < deadline, f"replica {index} did not start:\n{log}"
                time.sleep(0.2)
        yield urls
    finally:
        for process in processes:
            stop_process_group(process)


def call(url: str, method: str, path: str, token: str, body: object = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}/api{path}", data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database("postgresql", tmp_path) as url:
        yield url


def secret_of(document: dict) -> str:
    return document["connection"]["config"]["awsConfig"]["awsSecretAccessKey"]


def assert_replicas_agree(urls: list[str], env: dict[str, str]) -> None:
    """A token from any replica's keys works on all; a secret one stores, all decrypt."""
    admin = mint_token("admin", env)
    bot = mint_token("ingestion-bot", env)

    status, created = call(urls[0], "PUT", SERVICES, admin, SECRET_SERVICE)
    assert status == 201, created

    for url in urls:
        status, read = call(url, "GET", f"{SERVICES}/name/replicated_sagemaker", bot)
        assert (status, secret_of(read)) == (200, "replicated-secret")
        status, masked = call(url, "GET", f"{SERVICES}/name/replicated_sagemaker", admin)
        assert (status, secret_of(masked)) == (200, "*********")


def test_replicas_on_a_shared_volume_migrate_together_and_share_the_keys(
    postgres_url: str, tmp_path: Path
) -> None:
    shared_volume = tmp_path / "app-data"
    envs = [replica_env(postgres_url, shared_volume, {}) for _ in range(REPLICAS)]

    with replicas(envs, tmp_path) as urls:
        assert_replicas_agree(urls, envs[-1])

    assert sorted(path.name for path in shared_volume.iterdir()) == [
        "jwt-private-key.pem",
        "secrets-key",
    ]


def test_replicas_with_keys_from_the_environment_share_them_without_a_volume(
    postgres_url: str, tmp_path: Path, private_key_pem: str
) -> None:
    keys = {
        "MLMODEL_EMULATOR_JWT_PRIVATE_KEY": private_key_pem,
        "MLMODEL_EMULATOR_SECRETS_KEY": Fernet.generate_key().decode(),
    }
    envs = [
        replica_env(postgres_url, tmp_path / f"volume-{index}", keys) for index in range(REPLICAS)
    ]

    with replicas(envs, tmp_path) as urls:
        assert_replicas_agree(urls, envs[0])
