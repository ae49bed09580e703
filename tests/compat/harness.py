"""The official client's virtual environment: found, or made once and cached."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from tests.live_server import run_checked

CLIENT_PACKAGE = "openmetadata-ingestion"
CLIENT_VERSION = "2.0.7.0"
CLIENT_REQUIREMENTS = (f"{CLIENT_PACKAGE}=={CLIENT_VERSION}", "dbt-core<1.12")
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


def installed_client_version(venv: Path) -> str | None:
    """Version of the client installed in ``venv``, or None if it is not usable."""
    python = _venv_python(venv)
    if not python.is_file():
        return None
    probe = subprocess.run(
        [
            str(python),
            "-c",
            f"import importlib.metadata as m; print(m.version({CLIENT_PACKAGE!r}))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def ensure_client_python() -> Path:
    """Return the python of a venv with the pinned client, creating the venv if needed."""
    venv = client_venv_dir()
    if installed_client_version(venv) == CLIENT_VERSION:
        return _venv_python(venv)
    if os.environ.get(SKIP_INSTALL_ENV) == "1":
        raise ClientUnavailableError(
            f"{CLIENT_PACKAGE}=={CLIENT_VERSION} is not installed in {venv} and "
            f"{SKIP_INSTALL_ENV}=1 forbids installing it; unset it or point "
            f"{CLIENT_VENV_ENV} at a venv that has the client"
        )
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / f"{venv.name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Another session may have finished the install while this one waited for the lock.
        if installed_client_version(venv) != CLIENT_VERSION:
            _install_client(venv)
    version = installed_client_version(venv)
    if version != CLIENT_VERSION:
        raise RuntimeError(f"client install in {venv} reports version {version!r}")
    return _venv_python(venv)


def _install_client(venv: Path) -> None:
    if not _venv_python(venv).is_file():
        run_checked([sys.executable, "-m", "venv", str(venv)], timeout=300)
    run_checked(
        [str(venv / "bin" / "pip"), "install", "--disable-pip-version-check", *CLIENT_REQUIREMENTS],
        timeout=CLIENT_INSTALL_TIMEOUT_S,
    )
