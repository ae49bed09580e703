"""The built wheel, installed into a fresh venv, and the Dockerfile's install steps, reproduced
outside Docker: each migrates and serves the API with nothing of the checkout around."""

from __future__ import annotations

import configparser
import json
import os
import shlex
import shutil
import subprocess
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.databases import fresh_database
from tests.live_server import (
    RunningServer,
    free_port,
    mint_token,
    run_checked,
    run_cli,
    running_server,
    server_env,
    serving,
)
from tests.packaging import (
    PIP_TIMEOUT_S,
    REPO_ROOT,
    build_wheel,
    fresh_venv,
    offline_pip_env,
    wheelhouse,
)
from tests.test_deploy_files import SERVED_PORT, dockerfile_instructions, dockerfile_shell_command

pytestmark = pytest.mark.packaging

MIGRATION_FILES = sorted(
    path.relative_to(REPO_ROOT / "src").as_posix()
    for path in (REPO_ROOT / "src" / "mlmodel_emulator" / "migrations").rglob("*")
    if path.is_file() and "__pycache__" not in path.parts
)
SERVICE = {
    "name": "packaged_mlflow",
    "serviceType": "Mlflow",
    "connection": {"config": {"type": "Mlflow", "trackingUri": "http://mlflow:5000"}},
}


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def wheel_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel and its dependencies, installed without an index."""
    bin_dir = fresh_venv(tmp_path_factory.mktemp("venv") / "venv")
    env = {**os.environ, **offline_pip_env(wheelhouse())}
    run_checked([str(bin_dir / "pip"), "install", str(wheel)], timeout=PIP_TIMEOUT_S, env=env)
    return bin_dir


def request(
    server: RunningServer, method: str, path: str, token: str | None = None, body: object = None
) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    call = urllib.request.Request(server.host_port + path, data, headers, method=method)
    with urllib.request.urlopen(call, timeout=30) as response:
        return response.status, json.loads(response.read())


def assert_serves_the_api(server: RunningServer, token: str) -> None:
    status, version = request(server, "GET", "/v1/system/version")
    assert status == 200
    assert version["version"] == "2.0.7"

    status, created = request(server, "PUT", "/v1/services/mlmodelServices", token, SERVICE)
    assert status == 201
    assert (created["name"], created["serviceType"], created["version"]) == (
        "packaged_mlflow",
        "Mlflow",
        0.1,
    )

    path = "/v1/services/mlmodelServices/name/packaged_mlflow"
    status, read = request(server, "GET", path, token)
    assert (status, read["id"]) == (200, created["id"])


# --- the wheel -----------------------------------------------------------------------------


def test_wheel_carries_every_migration_file(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()

    packaged = sorted(name for name in names if name.startswith("mlmodel_emulator/migrations/"))
    assert packaged == MIGRATION_FILES
    assert "mlmodel_emulator/migrations/versions/" not in names
    assert any(name.endswith("script.py.mako") for name in packaged)


def test_wheel_declares_the_cli_and_the_pytest_plugin(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (name,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
        entry_points = configparser.ConfigParser()
        entry_points.read_string(archive.read(name).decode())

    scripts = dict(entry_points["console_scripts"])
    assert scripts == {"mlmodel-emulator": "mlmodel_emulator.cli:main"}
    plugins = dict(entry_points["pytest11"])
    assert plugins == {"mlmodel_emulator": "mlmodel_emulator.pytest_plugin"}


def test_wheel_venv_imports_the_installed_package_not_the_checkout(
    wheel_venv: Path, tmp_path: Path
) -> None:
    probe = "import mlmodel_emulator; print(mlmodel_emulator.__file__)"
    out = run_checked([str(wheel_venv / "python"), "-c", probe], timeout=60).stdout.strip()

    assert Path(out).is_relative_to(wheel_venv.parent)
    assert "site-packages" in Path(out).parts


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_wheel_venv_migrates_and_serves(wheel_venv: Path, database: str, tmp_path: Path) -> None:
    command = [str(wheel_venv / "mlmodel-emulator")]
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with fresh_database(database, tmp_path) as database_url:
        env = server_env(data_dir, database_url)
        run_cli(["migrate"], env, command=command)

        with running_server(data_dir, database, database_url, command=command) as server:
            assert_serves_the_api(server, mint_token("admin", env, command=command))


# --- the Dockerfile's steps ----------------------------------------------------------------


class DockerfileSteps:
    """Plays the Dockerfile's WORKDIR, ENV, COPY and RUN steps into a folder standing for the
    image's root, with a fresh venv standing for the image's Python."""

    def __init__(self, root: Path, bin_dir: Path, pip_env: dict[str, str]) -> None:
        self.root = root
        self.env = {
            **{
                name: value
                for name, value in os.environ.items()
                if name != "DATABASE_URL" and not name.startswith(("MLMODEL_EMULATOR_", "PIP_"))
            },
            **pip_env,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        }
        self.cwd = root
        self.skipped: list[str] = []

    def inside(self, path: str) -> Path:
        return self.root / path.lstrip("/") if path.startswith("/") else self.cwd / path

    def play(self, keyword: str, arguments: str) -> None:
        if keyword == "WORKDIR":
            self.cwd = self.inside(arguments)
            self.cwd.mkdir(parents=True, exist_ok=True)
        elif keyword == "ENV":
            for assignment in shlex.split(arguments):
                name, _, value = assignment.partition("=")
                # PIP_* settings of the image stay; the offline ones come from pip_env.
                if not name.startswith("PIP_"):
                    self.env[name] = str(self.inside(value)) if value.startswith("/") else value
        elif keyword == "COPY":
            source, target = shlex.split(arguments)
            destination = self.inside(target)
            if (REPO_ROOT / source).is_dir():
                ignored = shutil.ignore_patterns("__pycache__", "*.egg-info")
                shutil.copytree(REPO_ROOT / source, destination, ignore=ignored)
            else:
                destination.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO_ROOT / source, destination / Path(source).name)
        elif keyword == "RUN":
            if "useradd" in arguments:
                # Making a system user needs root and changes this machine: not played.
                self.skipped.append(arguments)
                return
            argv = ["sh", "-c", arguments]
            subprocess.run(argv, cwd=self.cwd, env=self.env, check=True, timeout=PIP_TIMEOUT_S)


@pytest.fixture(scope="module")
def dockerfile_image(tmp_path_factory: pytest.TempPathFactory) -> DockerfileSteps:
    """The image's build steps, played once for this module."""
    directory = tmp_path_factory.mktemp("docker")
    bin_dir = fresh_venv(directory / "python")
    steps = DockerfileSteps(directory / "image", bin_dir, offline_pip_env(wheelhouse()))
    (steps.root / "data").mkdir(parents=True)
    instructions = dockerfile_instructions()
    assert instructions[0][0] == "FROM"
    for keyword, arguments in instructions[1:]:
        steps.play(keyword, arguments)
    return steps


def test_dockerfile_steps_install_non_editable_and_remove_the_build_folder(
    dockerfile_image: DockerfileSteps,
) -> None:
    assert len(dockerfile_image.skipped) == 1
    assert not (dockerfile_image.root / "build").exists()
    assert dockerfile_image.cwd == dockerfile_image.root / "data"


def test_dockerfile_steps_then_cmd_migrate_and_serve(dockerfile_image: DockerfileSteps) -> None:
    port = free_port()
    migrate, serve = dockerfile_shell_command()
    served = serve.replace("--host 0.0.0.0", "--host 127.0.0.1").replace(
        f"--port {SERVED_PORT}", f"--port {port}"
    )
    assert served != serve
    env = dockerfile_image.env
    log = dockerfile_image.root / "server.log"

    argv = ["sh", "-c", f"{migrate} && {served}"]
    with serving(argv, env, port, log, cwd=dockerfile_image.cwd) as server:
        token = run_checked(["mlmodel-emulator", "token", "admin"], timeout=60, env=env).stdout
        assert_serves_the_api(server, token.strip())

    assert (dockerfile_image.root / "data" / "mlmodel-emulator.db").is_file()
