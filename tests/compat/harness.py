"""Client-venv provisioning, database provisioning and server process control for compat tests."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

CLIENT_PACKAGE = "openmetadata-ingestion"
CLIENT_VERSION = "2.0.7.0"
CLIENT_REQUIREMENTS = (f"{CLIENT_PACKAGE}=={CLIENT_VERSION}", "dbt-core<1.12")
CLIENT_VENV_ENV = "MLMODEL_EMULATOR_CLIENT_VENV"
SKIP_INSTALL_ENV = "MLMODEL_EMULATOR_SKIP_CLIENT_INSTALL"
TEST_DATABASE_URL_ENV = "TEST_DATABASE_URL"
DEFAULT_CLIENT_VENV = Path.home() / ".cache" / "mlmodel-emulator" / f"om-client-{CLIENT_VERSION}"
CLIENT_INSTALL_TIMEOUT_S = 1200.0
SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 10.0
CLI_TIMEOUT_S = 120.0
VERSION_PATH = "/api/v1/system/version"
# Inherited settings that would change what the server under test does (database, href base,
# reported version, ...) are dropped: DATABASE_URL and every MLMODEL_EMULATOR_* variable.
SERVER_ENV_PREFIX = "MLMODEL_EMULATOR_"


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
        _run_checked([sys.executable, "-m", "venv", str(venv)], timeout=300)
    _run_checked(
        [str(venv / "bin" / "pip"), "install", "--disable-pip-version-check", *CLIENT_REQUIREMENTS],
        timeout=CLIENT_INSTALL_TIMEOUT_S,
    )


def _run_checked(
    argv: list[str], *, timeout: float, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"command failed with exit code {result.returncode}: {' '.join(argv)}\n"
            f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
        )
    return result


def emulator_command() -> list[str]:
    """argv prefix that runs the emulator CLI from the interpreter running the tests."""
    script = Path(sys.executable).parent / "mlmodel-emulator"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "mlmodel_emulator.cli"]


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    """Environment for every emulator command of one test server."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "DATABASE_URL" and not key.startswith(SERVER_ENV_PREFIX)
    }
    env["MLMODEL_EMULATOR_DATA_DIR"] = str(data_dir)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """Create a uniquely named database on ``server_url``, yield its URL, drop it afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin_url = make_url(server_url)
    name = f"mlme_compat_{os.getpid()}_{secrets.token_hex(6)}"
    libpq_admin = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_cli(args: list[str], env: Mapping[str, str]) -> str:
    """Run one emulator CLI command and return its stdout."""
    return _run_checked([*emulator_command(), *args], timeout=CLI_TIMEOUT_S, env=env).stdout


def mint_token(user: str, env: Mapping[str, str]) -> str:
    """A JWT for ``user`` from ``mlmodel-emulator token``."""
    lines = [line.strip() for line in run_cli(["token", user], env).splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(f"`mlmodel-emulator token {user}` printed nothing")
    return lines[-1]


@dataclass
class RunningServer:
    """A server subprocess and what a client needs to reach it."""

    process: subprocess.Popen[bytes]
    base_url: str
    env: dict[str, str]
    log_path: Path
    database: str

    @property
    def host_port(self) -> str:
        """The ``hostPort`` value for ``OpenMetadataConnection`` (ends in ``/api``)."""
        return f"{self.base_url}/api"

    def log_tail(self, limit: int = 6000) -> str:
        """The end of the server's combined stdout and stderr."""
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError as exc:
            return f"<server log unreadable: {exc}>"


def _version_ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + VERSION_PATH, timeout=2) as response:
            body = json.loads(response.read())
    except (OSError, ValueError):
        return False
    return isinstance(body, dict) and isinstance(body.get("version"), str)


@contextlib.contextmanager
def running_server(
    data_dir: Path, database: str, database_url: str | None
) -> Iterator[RunningServer]:
    """Start ``mlmodel-emulator serve`` on a free port and stop it on exit, whatever happens."""
    env = server_env(data_dir, database_url)
    port = free_port()
    log_path = data_dir / "server.log"
    argv = [
        *emulator_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = RunningServer(process, f"http://127.0.0.1:{port}", env, log_path, database)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _version_ready(server.base_url):
            if process.poll() is not None:
                raise RuntimeError(
                    f"server exited with code {process.returncode} before answering "
                    f"{VERSION_PATH}\n{server.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"server did not answer {VERSION_PATH} within {SERVER_START_TIMEOUT_S:.0f} s\n"
                    f"{server.log_tail()}"
                )
            time.sleep(0.2)
        yield server
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=SERVER_STOP_TIMEOUT_S)
    else:
        # Reap any worker the server left behind in its own session.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
