"""The deployment files (Dockerfile, docker-compose.yml, .env.example) agree with the code."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from types import NoneType
from typing import Any, get_args

import pytest
import yaml  # type: ignore[import-untyped]
from pydantic import AliasChoices, AliasPath, SecretStr
from sqlalchemy.engine import make_url

from mlmodel_emulator import cli
from mlmodel_emulator.config import Settings
from mlmodel_emulator.main import create_app
from tests.databases import fresh_database
from tests.live_server import run_cli, running_server

REPO_ROOT = Path(__file__).resolve().parents[1]
APP_SERVICE = "mlmodel-emulator"
SERVED_PORT = "8585"
# ${NAME}, ${NAME:-default} and ${NAME-default}, or $$ (a literal $ for the container).
COMPOSE_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?::?-(?P<default>[^}]*))?\}")
# An assignment in .env.example, commented out or not: the name must touch the "=".
ENV_FILE_ASSIGNMENT = re.compile(r"^#?\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")


def _alias_names(alias: str | AliasPath | AliasChoices | None) -> list[str]:
    """The environment variables a validation alias reads: each choice, or a path's head."""
    if alias is None:
        return []
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasPath):
        return [str(alias.path[0])]
    return [name for choice in alias.choices for name in _alias_names(choice)]


def settings_env_names() -> dict[str, str]:
    """Every environment variable the settings read, mapped to the field it sets."""
    prefix = Settings.model_config.get("env_prefix", "")
    by_name = bool(
        Settings.model_config.get("populate_by_name")
        or Settings.model_config.get("validate_by_name")
    )
    names: dict[str, str] = {}
    for field_name, field in Settings.model_fields.items():
        aliases = _alias_names(field.validation_alias)
        # As pydantic-settings does: the prefixed field name counts when no alias replaces it.
        if not aliases or by_name:
            names[f"{prefix}{field_name}".upper()] = field_name
        for alias in aliases:
            names[alias.upper()] = field_name
    return names


def unknown_settings_env(environment: Mapping[str, object] | Iterable[str]) -> list[str]:
    """Names in a compose-style environment (mapping or KEY=VALUE list) no setting reads.

    Names are compared as written: the settings would read lower case too, but these files
    spell them upper case, and a lower-case name is most likely a mistake.
    """
    if isinstance(environment, Mapping):
        names = list(environment)
    else:
        names = [entry.split("=", 1)[0] for entry in environment]
    known = settings_env_names()
    return sorted(name for name in names if name not in known)


def interpolate(value: str) -> str:
    """A compose value with every variable at its default, as on a machine that sets none."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return match.group("default") or ""

    return COMPOSE_VARIABLE.sub(substitute, value)


def load_compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def app_environment() -> dict[str, str]:
    environment = load_compose()["services"][APP_SERVICE]["environment"]
    assert isinstance(environment, dict), "keep the app's environment a mapping"
    return {name: interpolate(str(value)) for name, value in environment.items()}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (REPO_ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def arguments_of(keyword: str) -> list[str]:
    return [arguments for name, arguments in dockerfile_instructions() if name == keyword]


def dockerfile_env() -> dict[str, str]:
    """ENV assignments in their KEY=VALUE form (the only form the Dockerfile uses)."""
    env: dict[str, str] = {}
    for arguments in arguments_of("ENV"):
        for assignment in shlex.split(arguments):
            name, separator, value = assignment.partition("=")
            assert separator, f"ENV {arguments!r}: write KEY=VALUE"
            env[name] = value
    return env


def dockerfile_shell_command() -> list[str]:
    """The container's start command, split at its && into single commands."""
    assert arguments_of("ENTRYPOINT") == []
    (cmd,) = arguments_of("CMD")
    shell, flag, script = json.loads(cmd)
    assert (shell, flag) == ("sh", "-c")
    return [command.strip() for command in script.split("&&")]


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps a path out of the build context (the last match decides)."""
    parts = path.strip("/").split("/")
    # A pattern that matches a directory excludes everything below it.
    prefixes = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    ignored = False
    for raw in (REPO_ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        anywhere = pattern.startswith("**/")
        pattern = pattern.removeprefix("**/")
        for prefix in prefixes:
            candidates = [prefix]
            if anywhere:
                pieces = prefix.split("/")
                candidates = ["/".join(pieces[start:]) for start in range(len(pieces))]
            if any(fnmatchcase(candidate, pattern) for candidate in candidates):
                ignored = not negated
                break
    return ignored


def env_example_entries() -> list[tuple[str, str]]:
    entries = []
    for line in (REPO_ROOT / ".env.example").read_text().splitlines():
        match = ENV_FILE_ASSIGNMENT.match(line)
        if match:
            entries.append((match["name"], match["value"]))
    return entries


def sample_env_value(field_name: str) -> str:
    """A valid environment value for a setting that differs from its default."""
    field = Settings.model_fields[field_name]
    kinds = [
        kind for kind in get_args(field.annotation) or [field.annotation] if kind is not NoneType
    ]
    (kind,) = kinds
    if kind is bool:
        return str(not field.default).lower()
    if kind is int:
        return str((field.default or 0) + 1)
    if kind is Path:
        return "/sample/dir"
    if field_name == "database_url":
        return "sqlite:////sample/dir/sample.db"
    if kind in (str, SecretStr):
        return f"sample-{field_name}"
    raise AssertionError(f"give a sample value for {field_name}: {kind}")


def clear_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset every variable the settings would read, whatever its case."""
    known = settings_env_names()
    for name in list(os.environ):
        if name.upper() in known:
            monkeypatch.delenv(name)


@pytest.fixture
def clean_settings_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A process environment in which no variable reaches the settings."""
    clear_settings_env(monkeypatch)
    return monkeypatch


# --- the settings' environment names -------------------------------------------------------


def test_settings_env_names_cover_prefix_and_aliases() -> None:
    names = settings_env_names()

    assert names["DATABASE_URL"] == "database_url"
    assert names["MLMODEL_EMULATOR_DATABASE_URL"] == "database_url"
    assert names["MLMODEL_EMULATOR_DATA_DIR"] == "data_dir"
    assert set(names.values()) == set(Settings.model_fields)


def test_settings_env_names_each_set_their_field(clean_settings_env: pytest.MonkeyPatch) -> None:
    for name, field in settings_env_names().items():
        default = Settings.model_fields[field].default
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(name, sample_env_value(field))
            value = getattr(Settings(), field)

        assert value != default, f"{name} did not set {field}"


# --- docker-compose.yml --------------------------------------------------------------------


def test_compose_file_parses_with_db_and_app_services() -> None:
    compose = load_compose()

    assert set(compose["services"]) == {"db", APP_SERVICE}
    assert set(compose["volumes"]) == {"db-data", "app-data"}


def test_compose_db_is_postgres_15_with_pg_isready_healthcheck_and_volume() -> None:
    db = load_compose()["services"]["db"]

    assert db["image"] == "postgres:15"
    test = db["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert shlex.split(interpolate(test[1])) == [
        "pg_isready",
        "-U",
        "${POSTGRES_USER}",
        "-d",
        "${POSTGRES_DB}",
    ]
    assert db["volumes"] == ["db-data:/var/lib/postgresql/data"]


def test_compose_db_credentials_have_defaults() -> None:
    environment = load_compose()["services"]["db"]["environment"]

    assert environment == {
        "POSTGRES_USER": "${POSTGRES_USER:-mlmodel}",
        "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:-mlmodel}",
        "POSTGRES_DB": "${POSTGRES_DB:-mlmodel_emulator}",
    }


def test_compose_app_waits_for_healthy_db() -> None:
    app = load_compose()["services"][APP_SERVICE]

    assert app["depends_on"] == {"db": {"condition": "service_healthy"}}


def test_compose_app_builds_here_and_publishes_a_host_port_range() -> None:
    app = load_compose()["services"][APP_SERVICE]
    (published,) = app["ports"]

    assert app["build"] == "."
    host, container = interpolate(published).split(":")
    first, last = (int(port) for port in host.split("-"))
    assert first == int(SERVED_PORT)
    # Room for `docker compose up --scale mlmodel-emulator=3`, and more.
    assert last - first + 1 >= 3
    assert container == SERVED_PORT


def test_compose_app_can_be_scaled() -> None:
    app = load_compose()["services"][APP_SERVICE]

    # A fixed name or a single host port would stop the second replica.
    assert "container_name" not in app
    assert "-" in interpolate(app["ports"][0]).split(":")[0]


def test_compose_app_shares_the_keys_between_replicas() -> None:
    environment = load_compose()["services"][APP_SERVICE]["environment"]
    keys = (
        "MLMODEL_EMULATOR_JWT_PRIVATE_KEY",
        "MLMODEL_EMULATOR_SECRETS_KEY",
        "MLMODEL_EMULATOR_SECRETS_PREVIOUS_KEY",
    )

    # Passed on from the shell or .env; empty, they fall back to the shared volume.
    assert {name: environment[name] for name in keys} == {name: f"${{{name}:-}}" for name in keys}
    assert all(app_environment()[name] == "" for name in keys)


def test_compose_app_data_dir_is_a_named_volume() -> None:
    app = load_compose()["services"][APP_SERVICE]

    assert app["volumes"] == ["app-data:/data"]
    assert app_environment()["MLMODEL_EMULATOR_DATA_DIR"] == "/data"


def test_compose_app_environment_names_only_settings() -> None:
    assert unknown_settings_env(load_compose()["services"][APP_SERVICE]["environment"]) == []


@pytest.mark.parametrize(
    ("extra", "unknown"),
    [
        ({"MLMODEL_EMULATOR_PORT": "8585"}, ["MLMODEL_EMULATOR_PORT"]),
        ({"MLMODEL_EMULATOR_ACESS_LOG": "true"}, ["MLMODEL_EMULATOR_ACESS_LOG"]),
        ({"PUBLIC_URL": "http://x/api"}, ["PUBLIC_URL"]),
        ({"DATABASE_URI": "sqlite://"}, ["DATABASE_URI"]),
        ({"mlmodel_emulator_access_log": "true"}, ["mlmodel_emulator_access_log"]),
    ],
)
def test_unknown_settings_env_with_doctored_mapping_reports_the_name(
    extra: dict[str, str], unknown: list[str]
) -> None:
    doctored = {**load_compose()["services"][APP_SERVICE]["environment"], **extra}

    assert unknown_settings_env(doctored) == unknown


def test_unknown_settings_env_with_doctored_list_reports_the_name() -> None:
    doctored = ["DATABASE_URL=sqlite://", "MLMODEL_EMULATOR_DATA_DIRECTORY=/data"]

    assert unknown_settings_env(doctored) == ["MLMODEL_EMULATOR_DATA_DIRECTORY"]


def test_compose_app_environment_with_defaults_validates_as_settings(
    clean_settings_env: pytest.MonkeyPatch,
) -> None:
    for name, value in app_environment().items():
        clean_settings_env.setenv(name, value)

    settings = Settings()

    assert (
        settings.sqlalchemy_url == "postgresql+psycopg://mlmodel:mlmodel@db:5432/mlmodel_emulator"
    )
    assert settings.data_dir == Path("/data")
    assert settings.strict_connection_validation is False
    assert settings.access_log is False
    assert settings.jwt_private_key is None
    assert settings.secrets_key is None


def test_compose_database_url_uses_the_installed_psycopg_driver() -> None:
    db_environment = {
        name: interpolate(value)
        for name, value in load_compose()["services"]["db"]["environment"].items()
    }

    url = make_url(app_environment()["DATABASE_URL"])

    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port) == ("db", 5432)
    assert (url.username, url.password, url.database) == (
        db_environment["POSTGRES_USER"],
        db_environment["POSTGRES_PASSWORD"],
        db_environment["POSTGRES_DB"],
    )
    assert url.get_dialect().import_dbapi().__name__ == "psycopg"
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    requirements = {
        re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
        for requirement in pyproject["project"]["dependencies"]
    }
    assert "psycopg" in requirements


def compose_command() -> list[str] | None:
    """`docker compose` (the CLI plugin), else the standalone `docker-compose`, else None.

    Neither needs a Docker engine to render `config`."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=60, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone is not None else None


def compose_config(**env: str) -> dict[str, Any]:
    """`docker compose config`: the file checked and interpolated by compose itself, with
    only `env` set (and no .env file read)."""
    command = compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    clean = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    with tempfile.NamedTemporaryFile("w", suffix=".env") as no_env_file:
        result = subprocess.run(
            [*command, "--env-file", no_env_file.name, "--file", "docker-compose.yml", "config"],
            cwd=REPO_ROOT,
            env={**clean, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    assert isinstance(rendered, dict)
    return rendered


def published_ports(rendered: dict[str, Any]) -> list[tuple[str, str]]:
    """(host, container) of the app's ports, as compose renders them."""
    return [
        (str(port["published"]), str(port["target"]))
        for port in rendered["services"][APP_SERVICE]["ports"]
    ]


def test_compose_config_accepts_the_file_with_its_defaults() -> None:
    rendered = compose_config()

    assert set(rendered["services"]) == {"db", APP_SERVICE}
    assert published_ports(rendered) == [("8585-8594", SERVED_PORT)]
    environment = rendered["services"][APP_SERVICE]["environment"]
    assert environment["DATABASE_URL"] == (
        "postgresql+psycopg://mlmodel:mlmodel@db:5432/mlmodel_emulator"
    )
    assert environment["MLMODEL_EMULATOR_SECRETS_KEY"] in ("", None)


def test_compose_config_takes_the_keys_and_the_port_range_from_the_environment() -> None:
    rendered = compose_config(
        EMULATOR_HOST_PORTS="9100-9102",
        MLMODEL_EMULATOR_SECRETS_KEY="shared-fernet-key",
        MLMODEL_EMULATOR_JWT_PRIVATE_KEY="shared-pem",
    )

    assert published_ports(rendered) == [("9100-9102", SERVED_PORT)]
    environment = rendered["services"][APP_SERVICE]["environment"]
    assert environment["MLMODEL_EMULATOR_SECRETS_KEY"] == "shared-fernet-key"
    assert environment["MLMODEL_EMULATOR_JWT_PRIVATE_KEY"] == "shared-pem"


# --- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_base_image_is_python_311_slim() -> None:
    assert arguments_of("FROM") == ["python:3.11-slim"]


def test_dockerfile_cmd_migrates_then_execs_serve() -> None:
    migrate, serve = dockerfile_shell_command()

    assert migrate == "mlmodel-emulator migrate"
    assert serve == f"exec mlmodel-emulator serve --host 0.0.0.0 --port {SERVED_PORT}"
    # The same words must parse as the CLI's own commands.
    parser = cli.build_parser()
    assert parser.parse_args(shlex.split(migrate)[1:]).command == "migrate"
    parsed = parser.parse_args(shlex.split(serve)[2:])
    assert (parsed.command, parsed.host, parsed.port) == ("serve", "0.0.0.0", int(SERVED_PORT))


def test_dockerfile_user_is_non_root_and_created() -> None:
    instructions = dockerfile_instructions()
    (user,) = arguments_of("USER")
    user_at = instructions.index(("USER", user))
    cmd_at = [name for name, _ in instructions].index("CMD")

    assert user.split(":")[0] not in {"root", "0"}
    assert user_at < cmd_at
    created = [
        arguments
        for name, arguments in instructions[:user_at]
        if name == "RUN" and "useradd" in arguments
    ]
    assert len(created) == 1
    useradd = shlex.split(created[0].split("&&")[0])
    assert useradd[0] == "useradd"
    assert useradd[-1] == user


def test_dockerfile_data_dir_is_a_volume_owned_by_the_user() -> None:
    (user,) = arguments_of("USER")

    assert dockerfile_env()["MLMODEL_EMULATOR_DATA_DIR"] == "/data"
    assert arguments_of("VOLUME") == ["/data"]
    assert any(f"chown {user}:{user} /data" in run for run in arguments_of("RUN"))


def test_dockerfile_python_env_is_unbuffered_without_bytecode() -> None:
    env = dockerfile_env()

    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"


def test_dockerfile_settings_env_names_only_settings() -> None:
    names = [name for name in dockerfile_env() if not name.startswith(("PYTHON", "PIP_"))]

    assert names == ["MLMODEL_EMULATOR_DATA_DIR"]
    assert unknown_settings_env(names) == []


def test_dockerfile_exposes_the_served_port() -> None:
    assert arguments_of("EXPOSE") == [SERVED_PORT]


def test_dockerfile_dependency_layer_is_keyed_on_pyproject_only() -> None:
    instructions = dockerfile_instructions()
    first_install = next(
        at for at, (name, arguments) in enumerate(instructions) if "pip install" in arguments
    )

    copied_before = [
        arguments for name, arguments in instructions[:first_install] if name == "COPY"
    ]
    assert copied_before == ["pyproject.toml ./"]
    # The dependencies alone, read out of pyproject.toml: no package, no stub of one.
    assert instructions[first_install][1].endswith("pip install -r requirements.txt")


def test_dockerfile_installs_the_package_non_editable_then_drops_its_sources() -> None:
    assert arguments_of("COPY") == ["pyproject.toml ./", "README.md ./", "src/ src/"]
    runs = [run for run in arguments_of("RUN") if "pip install" in run]
    assert [run.split("&&")[-1].strip() for run in runs] == [
        "pip install -r requirements.txt",
        'rm -rf "$PWD"',
    ]
    assert runs[-1].startswith("pip install --no-deps . ")
    assert all(" -e " not in f"{run} " for run in runs)
    # The service runs from site-packages, not from the folder the build used.
    workdirs = arguments_of("WORKDIR")
    assert workdirs == ["/build", "/data"]


def test_cli_migrations_are_the_package_own() -> None:
    location = Path(cli.alembic_config(Settings()).get_main_option("script_location") or "")

    assert location == Path(cli.__file__).resolve().parent / "migrations"
    assert (location / "env.py").is_file()


def test_dockerfile_copy_sources_exist_and_are_not_dockerignored() -> None:
    for arguments in arguments_of("COPY"):
        source = arguments.split()[0]
        assert (REPO_ROOT / source).exists(), source
        assert not dockerignored(source), source


@pytest.mark.parametrize("path", [".git", ".venv", ".env", "data", "src/mlmodel_emulator.egg-info"])
def test_dockerignore_keeps_local_state_out_of_the_context(path: str) -> None:
    assert dockerignored(path)


READY_PATH = "/api/v1/system/ready"


def _healthcheck_command(url: str) -> list[str]:
    return ["python", "-c", f"import urllib.request; urllib.request.urlopen('{url}', timeout=4)"]


def test_dockerfile_healthcheck_requests_readiness() -> None:
    (healthcheck,) = arguments_of("HEALTHCHECK")

    options, _, command = healthcheck.partition(" CMD ")
    assert options.startswith("--")
    assert json.loads(command) == _healthcheck_command(
        f"http://127.0.0.1:{SERVED_PORT}{READY_PATH}"
    )
    assert "get" in create_app(Settings()).openapi()["paths"][READY_PATH]


def test_compose_app_healthcheck_is_the_dockerfile_one() -> None:
    app = load_compose()["services"][APP_SERVICE]

    (healthcheck,) = arguments_of("HEALTHCHECK")
    assert app["healthcheck"]["test"] == ["CMD", *json.loads(healthcheck.partition(" CMD ")[2])]


def test_healthcheck_fails_until_the_database_is_migrated(tmp_path: Path) -> None:
    """The image's own command, run against a live server on PostgreSQL: unhealthy while the
    schema is missing, healthy once `mlmodel-emulator migrate` has run, no restart between."""
    (healthcheck,) = arguments_of("HEALTHCHECK")
    command = json.loads(healthcheck.partition(" CMD ")[2])
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with (
        fresh_database("postgresql", tmp_path) as database_url,
        running_server(data_dir, "postgresql", database_url) as server,
    ):
        argv = [sys.executable, *command[1:]]
        argv[-1] = argv[-1].replace(f"http://127.0.0.1:{SERVED_PORT}", server.base_url)
        unready = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        run_cli(["migrate"], server.env)
        ready = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)

    assert unready.returncode != 0
    assert "503" in unready.stderr
    assert ready.returncode == 0, ready.stderr


# --- .env.example --------------------------------------------------------------------------


def test_env_example_names_every_setting_exactly_once() -> None:
    names = [name for name, _ in env_example_entries()]
    known = settings_env_names()

    assert unknown_settings_env(names) == []
    assert Counter(known[name] for name in names) == Counter(list(Settings.model_fields))


def test_env_example_values_are_the_defaults(clean_settings_env: pytest.MonkeyPatch) -> None:
    known = settings_env_names()
    for name, value in env_example_entries():
        field = known.get(name)
        if field is None:
            continue  # reported by test_env_example_names_every_setting_exactly_once
        default = Settings.model_fields[field].default
        if default is None:
            # Unset by default, and no secret or address to copy by mistake.
            assert value == "", name
            continue
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(name, value)
            assert getattr(Settings(), field) == default, name


def test_env_example_is_entirely_commented_out() -> None:
    lines = (REPO_ROOT / ".env.example").read_text().splitlines()

    assert [line for line in lines if line.strip() and not line.startswith("#")] == []


def test_package_data_ships_every_data_file_of_the_package() -> None:
    """A file the package reads besides its modules (importlib.resources) goes into a wheel
    only when pyproject's package-data names it."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["mlmodel_emulator"]
    package = REPO_ROOT / "src" / "mlmodel_emulator"
    data_files = sorted(
        path.relative_to(package).as_posix()
        for path in package.rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc", ".typed"}
    )

    assert data_files == ["migrations/script.py.mako", "test_connections/definitions.json"]
    assert all(any(fnmatchcase(name, pattern) for pattern in patterns) for name in data_files)
