"""A real MLflow tracking server, from the client's venv, on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.live_server import free_port, stop_process_group

MLFLOW_START_TIMEOUT_S = 120.0
# Every MLflow process of the test: no telemetry (the machine reaches no outside host), and
# no background job runners in the server, seven more processes that the test never uses.
MLFLOW_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
# Variables of the test interpreter's environment that must not leak into the client venv.
CLIENT_ENV_EXCLUDE = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")


def venv_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a program of the client venv."""
    env = {key: value for key, value in os.environ.items() if key not in CLIENT_ENV_EXCLUDE}
    env.update(MLFLOW_ENV)
    env.update(extra or {})
    return env


@dataclass
class TrackingServer:
    """A running MLflow server and where its data lives."""

    uri: str
    log_path: Path

    def log_tail(self, limit: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError as exc:
            return f"<mlflow log unreadable: {exc}>"


def _healthy(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def running_tracking_server(client_python: Path, workdir: Path) -> Iterator[TrackingServer]:
    """`mlflow server` with a SQLite backend store and served artifacts under ``workdir``."""
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    log_path = workdir / "mlflow-server.log"
    argv = [
        str(client_python.parent / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--artifacts-destination",
        str(workdir / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=venv_env(),
            cwd=workdir,
            start_new_session=True,
        )
    server = TrackingServer(uri, log_path)
    try:
        deadline = time.monotonic() + MLFLOW_START_TIMEOUT_S
        while not _healthy(uri):
            if process.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited with code {process.returncode}\n{server.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"mlflow server did not answer within {MLFLOW_START_TIMEOUT_S:.0f} s\n"
                    f"{server.log_tail()}"
                )
            time.sleep(0.5)
        yield server
    finally:
        stop_process_group(process)
