"""pytest fixtures for suites that test their code against the emulator (entry point pytest11).

Installed with the package, the plugin offers:

- ``emulator_client``: an in-process ``TestClient`` authenticated as ``admin``;
- ``emulator_live_server``: a real server on a free loopback port, for clients that use
  ``requests`` (the official OpenMetadata client);
- ``emulator_tokens``: tokens for ``admin``, ``ingestion-bot`` and any user;
- ``emulator_settings_overrides``: settings for both, to override in a conftest.py.

Each backend is started once a session and migrated once; the function-scoped fixtures
reset its state (``POST /api/__emulator/reset``) before every test that uses them.

Loading the plugin imports nothing but the standard library and pytest: the service and
its dependencies are imported by the first fixture that needs them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from mlmodel_emulator.auth.keys import SigningKeys
    from mlmodel_emulator.config import Settings

ADMIN = "admin"
BOT = "ingestion-bot"
RESET_PATH = "/api/__emulator/reset"
VERSION_PATH = "/api/v1/system/version"
# What the plugin sets for both backends; emulator_settings_overrides may change the rest
# (and the database: a PostgreSQL URL is migrated once, then shared by both backends).
OWN_SETTINGS = frozenset({"data_dir", "jwt_private_key", "admin_api"})
SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 10.0
ENV_PREFIX = "MLMODEL_EMULATOR_"


@dataclass
class EmulatorTokens:
    """Tokens the emulator accepts, signed with the session's key.

    A token names a user; the server refuses (401) one whose user does not exist, so
    register other users first (``POST /api/v1/users`` as ``admin``)."""

    keys: SigningKeys
    issuer: str
    _minted: dict[tuple[str, bool], str] = field(default_factory=dict, repr=False)

    def user(self, name: str, *, bot: bool = False) -> str:
        """A token for the user ``name`` (a bot's when ``bot``), valid for the session."""
        from mlmodel_emulator.auth import tokens

        key = (name, bot)
        if key not in self._minted:
            self._minted[key] = tokens.mint(
                self.keys,
                issuer=self.issuer,
                user=name,
                is_bot=bot,
                now=int(time.time()),
                expires_in=None,
            )
        return self._minted[key]

    @property
    def admin(self) -> str:
        """The built-in admin's token: may do anything, sees secrets masked."""
        return self.user(ADMIN)

    @property
    def bot(self) -> str:
        """The built-in ``ingestion-bot``'s token: sees connection secrets in clear."""
        return self.user(BOT, bot=True)

    def headers(self, name: str = ADMIN, *, bot: bool = False) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for the user ``name``."""
        return {"Authorization": f"Bearer {self.user(name, bot=bot)}"}


@dataclass
class EmulatorServer:
    """A running ``mlmodel-emulator serve``: where it listens and how to reset it."""

    url: str
    """``http://127.0.0.1:<port>``."""
    tokens: EmulatorTokens
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def api_url(self) -> str:
        """The API's base, ``<url>/api``: ``OpenMetadataConnection(hostPort=...)``."""
        return f"{self.url}/api"

    @property
    def admin_token(self) -> str:
        return self.tokens.admin

    def reset(self, scope: str = "all") -> None:
        """Empty the server's state (``scope="mlmodelServices"``: only ML model services)."""
        request = urllib.request.Request(
            f"{self.url}{RESET_PATH}?scope={scope}",
            method="POST",
            headers=self.tokens.headers(),
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            if response.status != 204:
                raise RuntimeError(f"reset answered {response.status}")

    def log_tail(self, limit: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError as exc:
            return f"<server log unreadable: {exc}>"


# --- settings, shared by both backends -----------------------------------------------------


@pytest.fixture(scope="session")
def emulator_settings_overrides() -> dict[str, Any]:
    """Settings (``Settings`` field names) for the in-process app and the live server.

    Override it in a conftest.py, e.g. ``{"strict_connection_validation": True}``. The
    process environment does not reach either backend: only these values do."""
    return {}


@pytest.fixture(scope="session")
def emulator_settings(
    emulator_settings_overrides: Mapping[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """The in-process app's settings: SQLite in a session temp dir, admin API on."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    owned = OWN_SETTINGS & set(emulator_settings_overrides)
    if owned:
        raise pytest.UsageError(f"emulator_settings_overrides may not set {sorted(owned)}")
    data_dir = tmp_path_factory.mktemp("emulator")
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return _isolated_settings(
        {
            "database_url": f"sqlite:///{(data_dir / 'emulator.db').as_posix()}",
            **emulator_settings_overrides,
            "data_dir": data_dir,
            "jwt_private_key": pem,
            "admin_api": True,
        }
    )


def _isolated_settings(values: Mapping[str, Any]) -> Settings:
    """Settings from `values` alone, whatever the process environment holds."""
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

    from mlmodel_emulator.config import Settings

    class PluginSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings,)

    return PluginSettings(**values)


@pytest.fixture(scope="session")
def emulator_tokens(emulator_settings: Settings) -> EmulatorTokens:
    """Tokens for both backends: ``.admin``, ``.bot``, ``.user(name)``, ``.headers(name)``."""
    from mlmodel_emulator.auth.keys import load_signing_keys

    return EmulatorTokens(load_signing_keys(emulator_settings), emulator_settings.jwt_issuer)


# --- the in-process app --------------------------------------------------------------------


@pytest.fixture(scope="session")
def _emulator_session_client(emulator_settings: Settings) -> Iterator[TestClient]:
    """The app, migrated and started once a session, behind one TestClient."""
    from fastapi.testclient import TestClient

    from mlmodel_emulator.cli import migrate
    from mlmodel_emulator.main import create_app

    migrate(emulator_settings)
    with TestClient(create_app(emulator_settings)) as client:
        yield client


@pytest.fixture
def emulator_client(
    _emulator_session_client: TestClient, emulator_tokens: EmulatorTokens
) -> TestClient:
    """A TestClient on the in-process app, its state reset, sending the admin's token.

    Paths start with ``/api`` (``client.get("/api/v1/services/mlmodelServices")``); pass
    ``headers=emulator_tokens.headers("ingestion-bot", bot=True)`` to call as someone else.
    """
    client = _emulator_session_client
    client.headers = {"user-agent": "testclient", **emulator_tokens.headers()}
    client.cookies.clear()
    response = client.post(RESET_PATH)
    if response.status_code != 204:
        raise RuntimeError(f"reset answered {response.status_code}: {response.text}")
    return client


# --- the live server -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(item) for item in value)
    if hasattr(value, "get_secret_value"):
        return str(value.get_secret_value())
    return str(value)


def _server_env(settings: Settings, overrides: Mapping[str, Any], data_dir: Path) -> dict[str, str]:
    """The environment of the server process: the inherited one without any setting, then
    the same settings as the in-process app, but its own data dir."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "DATABASE_URL" and not name.startswith(ENV_PREFIX)
    }
    values = {name: getattr(settings, name) for name in overrides}
    if "database_url" not in overrides:
        values["database_url"] = f"sqlite:///{(data_dir / 'emulator.db').as_posix()}"
    values.update(jwt_private_key=settings.jwt_private_key, admin_api=True, data_dir=data_dir)
    for name, value in values.items():
        if value is not None:
            env[f"{ENV_PREFIX}{name.upper()}"] = _env_value(value)
    return env


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + VERSION_PATH, timeout=2) as response:
            return isinstance(json.loads(response.read()).get("version"), str)
    except (OSError, ValueError, AttributeError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=SERVER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=SERVER_STOP_TIMEOUT_S)


@pytest.fixture(scope="session")
def _emulator_session_server(
    emulator_settings: Settings,
    emulator_settings_overrides: Mapping[str, Any],
    emulator_tokens: EmulatorTokens,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EmulatorServer]:
    """``mlmodel-emulator serve`` in a subprocess, started once a session."""
    from mlmodel_emulator.cli import migrate

    data_dir = tmp_path_factory.mktemp("emulator-server")
    env = _server_env(emulator_settings, emulator_settings_overrides, data_dir)
    # Migrated from here, which costs less than one more process.
    database_url = env[f"{ENV_PREFIX}DATABASE_URL"]
    migrate(_isolated_settings({"database_url": database_url, "data_dir": data_dir}))
    command = [sys.executable, "-m", "mlmodel_emulator.cli"]
    port = _free_port()
    log_path = data_dir / "server.log"
    argv = [*command, "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = EmulatorServer(
        f"http://127.0.0.1:{port}", emulator_tokens, data_dir, log_path, process
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _answers(server.url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not start:\n{server.log_tail()}")
            time.sleep(0.1)
        yield server
    finally:
        _stop(process)


@pytest.fixture
def emulator_live_server(_emulator_session_server: EmulatorServer) -> EmulatorServer:
    """A real server on a free loopback port, its state reset: ``.api_url`` is the
    ``hostPort`` of ``OpenMetadataConnection``, ``.admin_token`` its JWT."""
    _emulator_session_server.reset()
    return _emulator_session_server
