"""The official client's virtual environment: found, or made once and cached."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.live_server import run_checked

CLIENT_PACKAGE = "openmetadata-ingestion"
CLIENT_VERSION = "2.0.7.0"
# The MLflow extra is the connector the ingestion test runs; the full mlflow package (whose
# mlflow-skinny the extra asks for) adds the tracking server and scikit-learn, which make
# the models that test registers. dbt-core<1.12 keeps the resolver off a long backtrack.
MLFLOW_VERSION = "3.14.0"
CLIENT_REQUIREMENTS = (
    f"{CLIENT_PACKAGE}[mlflow]=={CLIENT_VERSION}",
    "dbt-core<1.12",
    f"mlflow=={MLFLOW_VERSION}",
)
# What a usable venv reports: a venv made before the MLflow extra was asked for is topped up.
EXPECTED_VERSIONS = {CLIENT_PACKAGE: CLIENT_VERSION, "mlflow": MLFLOW_VERSION}
CLIENT_VENV_ENV = "MLMODEL_EMULATOR_CLIENT_VENV"
SKIP_INSTALL_ENV = "MLMODEL_EMULATOR_SKIP_CLIENT_INSTALL"
DEFAULT_CLIENT_VENV = Path.home() / ".cache" / "mlmodel-emulator" / f"om-client-{CLIENT_VERSION}"
CLIENT_INSTALL_TIMEOUT_S = 1200.0


class ClientUnavailableError(RuntimeError):
    """The client venv is missing and installing it is not allowed."""


def client_venv_dir() -> Path:
    """Directory of the venv that holds the official client."""
    configured = os.environ.get(CLIENT_VENV_ENV)
    return Path(configured).expanduser() if configured else DEFAULT_CLIENT_VENV


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def installed_versions(venv: Path) -> dict[str, str | None]:
    """Versions of the expected packages installed in ``venv`` (None: missing)."""
    python = _venv_python(venv)
    if not python.is_file():
        return dict.fromkeys(EXPECTED_VERSIONS)
    script = (
        "import importlib.metadata as m, json, sys\n"
        "def version(name):\n"
        "    try:\n"
        "        return m.version(name)\n"
        "    except m.PackageNotFoundError:\n"
        "        return None\n"
        "print(json.dumps({name: version(name) for name in sys.argv[1:]}))"
    )
    probe = subprocess.run(
        [str(python), "-c", script, *EXPECTED_VERSIONS],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if probe.returncode != 0:
        return dict.fromkeys(EXPECTED_VERSIONS)
    versions: dict[str, str | None] = json.loads(probe.stdout)
    return versions


def _usable(venv: Path) -> bool:
    return installed_versions(venv) == EXPECTED_VERSIONS


def ensure_client_python() -> Path:
    """Return the python of a venv with the pinned client, creating the venv if needed."""
    venv = client_venv_dir()
    if _usable(venv):
        return _venv_python(venv)
    if os.environ.get(SKIP_INSTALL_ENV) == "1":
        raise ClientUnavailableError(
            f"{' '.join(CLIENT_REQUIREMENTS)} is not installed in {venv} and "
            f"{SKIP_INSTALL_ENV}=1 forbids installing it; unset it or point "
            f"{CLIENT_VENV_ENV} at a venv that has the client"
        )
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / f"{venv.name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Another session may have finished the install while this one waited for the lock.
        if not _usable(venv):
            _install_client(venv)
    versions = installed_versions(venv)
    if versions != EXPECTED_VERSIONS:
        raise RuntimeError(f"client install in {venv} reports versions {versions}")
    return _venv_python(venv)


def _install_client(venv: Path) -> None:
    if not _venv_python(venv).is_file():
        run_checked([sys.executable, "-m", "venv", str(venv)], timeout=300)
    run_checked(
        [str(venv / "bin" / "pip"), "install", "--disable-pip-version-check", *CLIENT_REQUIREMENTS],
        timeout=CLIENT_INSTALL_TIMEOUT_S,
    )
