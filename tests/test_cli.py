"""The mlmodel-emulator command: token, migrate and serve, checked against the app itself."""

from __future__ import annotations

import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import jwt
import pytest
import uvicorn
from alembic.script import ScriptDirectory
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

import mlmodel_emulator.mlmodel_services.models  # noqa: F401  (registers the tables)
from mlmodel_emulator.auth.keys import PRIVATE_KEY_FILE
from mlmodel_emulator.cli import alembic_config, main
from mlmodel_emulator.config import DEFAULT_SQLITE_FILE, Settings
from mlmodel_emulator.db.base import Base
from mlmodel_emulator.db.engine import make_engine
from mlmodel_emulator.main import create_app
from tests.live_server import free_port
from tests.test_deploy_files import clear_settings_env

KEY_ID = "cli-test-kid"
ISSUER = Settings.model_fields["jwt_issuer"].default
SERVICES_URL = "/api/v1/services/mlmodelServices"
JWKS_URL = "/api/v1/system/config/jwks"
EXPIRY_ERROR = (
    "mlmodel-emulator token: error: argument --expires-in: a number of seconds, or 'unlimited'"
)

# Every table the models declare, plus Alembic's own record of the revision.
MIGRATED_TABLES = set(Base.metadata.tables) | {"alembic_version"}

RunCli = Callable[..., str]


@pytest.fixture(autouse=True)
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Each test's own data dir, and no setting leaking in from the outer environment."""
    clear_settings_env(monkeypatch)
    directory = tmp_path / "data"
    monkeypatch.setenv("MLMODEL_EMULATOR_DATA_DIR", str(directory))
    return directory


@pytest.fixture
def configured_key(monkeypatch: pytest.MonkeyPatch, private_key_pem: str) -> rsa.RSAPublicKey:
    """Sign with the suite's key (no key generation) under a kid of our own; its public half."""
    monkeypatch.setenv("MLMODEL_EMULATOR_JWT_PRIVATE_KEY", private_key_pem)
    monkeypatch.setenv("MLMODEL_EMULATOR_JWT_KEY_ID", KEY_ID)
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.public_key()


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run the command in-process; its stdout, after checking it wrote nothing to stderr."""

    def run(*argv: str) -> str:
        capsys.readouterr()
        main(list(argv))
        out, err = capsys.readouterr()
        assert err == ""
        return out

    return run


@pytest.fixture
def sqlite_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite:///{(tmp_path / 'cli.db').as_posix()}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def mint(run_cli: RunCli, *argv: str) -> str:
    out = run_cli("token", *argv)
    assert out.endswith("\n")
    assert out.count("\n") == 1
    return out.strip()


def verified_claims(token: str, public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, public_key, algorithms=["RS256"], issuer=ISSUER)
    return claims


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def schema_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            revision: str | None = connection.execute(
                text("SELECT version_num FROM alembic_version")
            ).scalar_one()
            return revision
    finally:
        engine.dispose()


# --- token ---------------------------------------------------------------------------------


def test_token_admin_prints_user_jwt_with_configured_kid_and_one_day_expiry(
    run_cli: RunCli, configured_key: rsa.RSAPublicKey
) -> None:
    before = int(time.time())
    token = mint(run_cli, "admin")
    after = int(time.time())

    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": KEY_ID, "typ": "JWT"}
    claims = verified_claims(token, configured_key)
    assert claims == {
        "sub": "admin",
        "email": "admin@open-metadata.org",
        "isBot": False,
        "iss": "open-metadata.org",
        "iat": claims["iat"],
        "exp": claims["iat"] + 86400,
    }
    assert before <= claims["iat"] <= after


def test_token_ingestion_bot_is_marked_bot(
    run_cli: RunCli, configured_key: rsa.RSAPublicKey
) -> None:
    claims = verified_claims(mint(run_cli, "ingestion-bot"), configured_key)

    assert claims["sub"] == "ingestion-bot"
    assert claims["isBot"] is True


def test_token_bot_flag_marks_any_user_bot(
    run_cli: RunCli, configured_key: rsa.RSAPublicKey
) -> None:
    claims = verified_claims(mint(run_cli, "pipeline", "--bot"), configured_key)

    assert (claims["sub"], claims["isBot"]) == ("pipeline", True)


def test_token_email_flag_sets_email_claim(
    run_cli: RunCli, configured_key: rsa.RSAPublicKey
) -> None:
    claims = verified_claims(mint(run_cli, "admin", "--email", "root@example.com"), configured_key)

    assert claims["email"] == "root@example.com"


def test_token_expires_in_unlimited_has_no_exp(
    run_cli: RunCli, configured_key: rsa.RSAPublicKey
) -> None:
    claims = verified_claims(mint(run_cli, "admin", "--expires-in", "unlimited"), configured_key)

    assert "exp" not in claims
    assert set(claims) == {"sub", "email", "isBot", "iss", "iat"}


def test_token_expires_in_seconds_sets_exp(
    run_cli: RunCli, configured_key: rsa.RSAPublicKey
) -> None:
    claims = verified_claims(mint(run_cli, "admin", "--expires-in", "60"), configured_key)

    assert claims["exp"] == claims["iat"] + 60


def test_token_issuer_follows_settings(
    run_cli: RunCli, configured_key: rsa.RSAPublicKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLMODEL_EMULATOR_JWT_ISSUER", "catalog.example.com")

    token = mint(run_cli, "admin")

    claims = jwt.decode(token, configured_key, algorithms=["RS256"], issuer="catalog.example.com")
    assert claims["iss"] == "catalog.example.com"


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "soon", "", "86400s"])
def test_token_bad_expires_in_exits_with_usage_error(
    value: str, configured_key: rsa.RSAPublicKey, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["token", "admin", f"--expires-in={value}"])

    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1] == EXPIRY_ERROR


def test_token_verifies_against_the_jwks_the_app_publishes(
    run_cli: RunCli, configured_key: rsa.RSAPublicKey, sqlite_url: str
) -> None:
    token = mint(run_cli, "admin")

    with TestClient(create_app(Settings())) as client:
        response = client.get(JWKS_URL)

    assert response.status_code == 200
    (published,) = response.json()["keys"]
    assert published["kid"] == KEY_ID
    claims = jwt.decode(token, jwt.PyJWK(published), algorithms=["RS256"], issuer=ISSUER)
    assert claims["sub"] == "admin"


def test_token_from_fresh_data_dir_is_accepted_by_app_on_same_data_dir(
    run_cli: RunCli, sqlite_url: str
) -> None:
    run_cli("migrate")
    token = mint(run_cli, "admin")

    with TestClient(create_app(Settings())) as client:
        response = client.get(SERVICES_URL, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json() == {"data": [], "paging": {"total": 0}}


def test_token_from_fresh_data_dir_writes_key_file_readable_by_owner_only(
    run_cli: RunCli, data_dir: Path
) -> None:
    mint(run_cli, "admin")

    key_file = data_dir / PRIVATE_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_token_signed_by_another_key_is_refused_by_app(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, private_key_pem: str, sqlite_url: str
) -> None:
    run_cli("migrate")
    with monkeypatch.context() as patch:
        patch.setenv("MLMODEL_EMULATOR_JWT_PRIVATE_KEY", private_key_pem)
        foreign = mint(run_cli, "admin")

    # No configured key now: the app makes and uses the data dir's own.
    with TestClient(create_app(Settings())) as client:
        response = client.get(SERVICES_URL, headers={"Authorization": f"Bearer {foreign}"})

    assert response.status_code == 401


# --- migrate -------------------------------------------------------------------------------


def test_migrate_fresh_sqlite_file_creates_every_table_at_head(
    run_cli: RunCli, sqlite_url: str
) -> None:
    assert run_cli("migrate") == ""

    assert table_names(sqlite_url) == MIGRATED_TABLES
    head = ScriptDirectory.from_config(alembic_config(Settings())).get_current_head()
    assert schema_revision(sqlite_url) == head


def test_migrate_twice_leaves_schema_unchanged(run_cli: RunCli, sqlite_url: str) -> None:
    run_cli("migrate")
    tables, revision = table_names(sqlite_url), schema_revision(sqlite_url)

    run_cli("migrate")

    assert (table_names(sqlite_url), schema_revision(sqlite_url)) == (tables, revision)


def test_migrate_without_database_url_creates_sqlite_file_in_missing_data_dir(
    run_cli: RunCli, data_dir: Path
) -> None:
    assert not data_dir.exists()

    run_cli("migrate")

    database = data_dir / DEFAULT_SQLITE_FILE
    assert database.is_file()
    assert table_names(f"sqlite:///{database.as_posix()}") == MIGRATED_TABLES


# --- serve and the parser ------------------------------------------------------------------


def test_serve_migrates_sqlite_then_runs_uvicorn_with_settings(
    monkeypatch: pytest.MonkeyPatch,
    configured_key: rsa.RSAPublicKey,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLMODEL_EMULATOR_ACCESS_LOG", "true")
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))

    main(["serve", "--host", "0.0.0.0", "--port", "8599", "--workers", "2"])

    assert calls == [
        (
            ("mlmodel_emulator.main:create_app",),
            {
                "factory": True,
                "host": "0.0.0.0",
                "port": 8599,
                "workers": 2,
                "access_log": True,
                "log_level": "info",
                "log_config": ANY,
            },
        )
    ]
    log_config = calls[0][1]["log_config"]
    assert log_config["loggers"]["mlmodel_emulator"]["handlers"] == ["default"]
    assert log_config["loggers"]["uvicorn"] == uvicorn.config.LOGGING_CONFIG["loggers"]["uvicorn"]
    assert table_names(sqlite_url) == MIGRATED_TABLES
    assert capsys.readouterr().err.startswith("Serving http://0.0.0.0:8599/api")


@pytest.mark.parametrize("argv", [[], ["token"], ["launch"], ["serve", "--port", "http"]])
def test_main_bad_arguments_exit_with_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)

    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["serve"], ["migrate"], ["token", "admin"]])
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+asyncpg://u@db/x", "names the driver 'postgresql+asyncpg', not supported"),
        ("mysql+pymysql://u@db/x", "names the driver 'mysql+pymysql', not supported"),
        ("not a url", "is not a database URL"),
    ],
)
def test_an_unsupported_database_url_ends_with_the_supported_drivers_named(
    command: list[str], url: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)

    with pytest.raises(SystemExit) as exited:
        main(command)

    message = str(exited.value.code)
    assert message.startswith("mlmodel-emulator: invalid settings\n  DATABASE_URL: ")
    assert expected in message
    assert "postgresql+psycopg://" in message
    assert "sqlite:///" in message


def test_a_bad_setting_is_named_by_its_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLMODEL_EMULATOR_BULK_MAX_ITEMS", "many")

    with pytest.raises(SystemExit) as exited:
        main(["migrate"])

    assert "  MLMODEL_EMULATOR_BULK_MAX_ITEMS: " in str(exited.value.code)


@pytest.mark.parametrize(
    "url", ["postgres://u@db/x", "postgresql://u@db/x", "postgresql+psycopg://u@db/x"]
)
def test_postgresql_urls_without_a_driver_use_psycopg(url: str) -> None:
    assert Settings(database_url=url).sqlalchemy_url == "postgresql+psycopg://u@db/x"


def test_migrate_of_a_database_that_does_not_answer_ends_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{port}/x")

    with pytest.raises(SystemExit) as exited:
        main(["migrate"])

    message = str(exited.value.code)
    assert message.startswith("mlmodel-emulator: cannot migrate the database: ")
    assert str(port) in message
