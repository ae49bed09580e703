"""A real server in a subprocess, on a free loopback port, for tests that need one."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 10.0
CLI_TIMEOUT_S = 120.0
VERSION_PATH = "/api/v1/system/version"
# Inherited settings that would change what the server under test does (database, href base,
# reported version, ...) are dropped: DATABASE_URL and every MLMODEL_EMULATOR_* variable.
SERVER_ENV_PREFIX = "MLMODEL_EMULATOR_"


def run_checked(
    argv: list[str], *, timeout: float, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command; raise with its output if it fails."""
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


def run_cli(
    args: list[str], env: Mapping[str, str], *, command: Sequence[str] | None = None
) -> str:
    """Run one emulator CLI command and return its stdout.

    `command` is the CLI to run (default: the one beside the interpreter running the tests)."""
    argv = [*(command or emulator_command()), *args]
    return run_checked(argv, timeout=CLI_TIMEOUT_S, env=env).stdout


def mint_token(user: str, env: Mapping[str, str], *, command: Sequence[str] | None = None) -> str:
    """A JWT for ``user`` from ``mlmodel-emulator token``."""
    printed = run_cli(["token", user], env, command=command)
    lines = [line.strip() for line in printed.splitlines() if line.strip()]
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


def version_ready(base_url: str) -> bool:
    """Whether a server at `base_url` answers the version route."""
    try:
        with urllib.request.urlopen(base_url + VERSION_PATH, timeout=2) as response:
            body = json.loads(response.read())
    except (OSError, ValueError):
        return False
    return isinstance(body, dict) and isinstance(body.get("version"), str)


def send(
    url: str, token: str, method: str = "GET", body: object | None = None, timeout: float = 60
) -> tuple[int, Any]:
    """One JSON request as an admin or user token; the status and the decoded answer, errors
    included."""
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@contextlib.contextmanager
def running_server(
    data_dir: Path,
    database: str,
    database_url: str | None,
    *,
    workers: int = 1,
    extra_env: Mapping[str, str] | None = None,
    command: Sequence[str] | None = None,
) -> Iterator[RunningServer]:
    """Start ``mlmodel-emulator serve`` on a free port and stop it on exit, whatever happens.

    `extra_env` sets more of the server's environment (MLMODEL_EMULATOR_* settings);
    `command` is the CLI to run, as for `run_cli`."""
    env = {**server_env(data_dir, database_url), **(extra_env or {})}
    port = free_port()
    argv = [
        *(command or emulator_command()),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with serving(argv, env, port, data_dir / "server.log", database) as server:
        yield server


@contextlib.contextmanager
def serving(
    argv: Sequence[str],
    env: Mapping[str, str],
    port: int,
    log_path: Path,
    database: str = "sqlite",
    *,
    cwd: Path | None = None,
) -> Iterator[RunningServer]:
    """Run `argv`, a server that listens on `port` of 127.0.0.1, until the block ends.

    Yields once the server answers the version route; stops it (its whole process group)
    on exit, whatever happens."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    server = RunningServer(process, base_url, dict(env), log_path, database)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not version_ready(server.base_url):
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


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started in its own session, then whatever it left in its group."""
    _stop(process)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
