"""The pytest plugin (mlmodel_emulator.pytest_plugin), run inside pytest by pytester."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlmodel_emulator import pytest_plugin

REPO_ROOT = Path(__file__).resolve().parents[1]

SERVICE_CREATE = """
SERVICES = "/api/v1/services/mlmodelServices"
SERVICE = {
    "name": "plugin_svc",
    "serviceType": "SageMaker",
    "connection": {
        "config": {
            "type": "SageMaker",
            "awsConfig": {
                "awsRegion": "eu-west-1",
                "awsAccessKeyId": "AKIA0",
                "awsSecretAccessKey": "s3cr3t",
            },
        }
    },
}
"""

LIVE_CALLS = """
import json
import urllib.error
import urllib.request


def call(server, method, path, body=None, token=None):
    headers = {"Authorization": f"Bearer {token or server.admin_token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(server.api_url + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())
"""


def run_inner(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """The suite pytester wrote, run in this process, warnings as errors."""
    return pytester.runpytest("-W", "error", *args)


def fixture_names(module: object) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if type(value).__name__ == "FixtureFunctionDefinition"
        or hasattr(value, "_fixture_function_marker")
    }


# --- how it is loaded ----------------------------------------------------------------------


def test_plugin_is_registered_under_the_pytest11_entry_point() -> None:
    (entry_point,) = [
        entry
        for entry in importlib.metadata.entry_points(group="pytest11")
        if entry.value == "mlmodel_emulator.pytest_plugin"
    ]

    assert entry_point.name == "mlmodel_emulator"
    assert entry_point.load() is pytest_plugin


def test_plugin_import_loads_neither_the_service_nor_its_dependencies() -> None:
    probe = (
        "import sys, mlmodel_emulator.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'fastapi', 'starlette', 'sqlalchemy', 'alembic', 'pydantic', 'cryptography', 'jwt'} "
        "or m.startswith('mlmodel_emulator.') and m != 'mlmodel_emulator.pytest_plugin'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )

    assert result.stdout.strip() == "[]"


def test_plugin_fixture_names_clash_with_no_fixture_of_this_suite() -> None:
    ours = {
        match
        for conftest in (REPO_ROOT / "tests").rglob("conftest.py")
        for match in re.findall(r"^def (\w+)\(", conftest.read_text(), flags=re.MULTILINE)
    }
    plugin = fixture_names(pytest_plugin)

    assert plugin == {
        "emulator_settings_overrides",
        "emulator_settings",
        "emulator_tokens",
        "_emulator_session_client",
        "emulator_client",
        "_emulator_session_server",
        "emulator_live_server",
    }
    assert plugin & ours == set()


def test_plugin_fixtures_are_listed_by_pytest_fixtures(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")

    listed = set(re.findall(r"^(emulator_\w+)", result.stdout.str(), flags=re.MULTILINE))
    assert listed == {
        "emulator_settings_overrides",
        "emulator_settings",
        "emulator_tokens",
        "emulator_client",
        "emulator_live_server",
    }


# --- the in-process client -----------------------------------------------------------------


def test_emulator_client_creates_then_next_test_sees_an_empty_list(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        SERVICE_CREATE
        + """
def test_create(emulator_client):
    response = emulator_client.put(SERVICES, json=SERVICE)
    assert response.status_code == 201, response.text
    assert emulator_client.get(SERVICES).json()["paging"]["total"] == 1


def test_reset_before_each_test(emulator_client):
    assert emulator_client.get(SERVICES).json() == {"data": [], "paging": {"total": 0}}


def test_builtin_users_are_back_after_the_reset(emulator_client):
    names = [user["name"] for user in emulator_client.get("/api/v1/users").json()["data"]]
    assert names == ["admin", "ingestion-bot"]
"""
    )

    run_inner(pytester).assert_outcomes(passed=3)


def test_emulator_client_default_headers_come_back_after_a_test_changes_them(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
def test_drop_the_token(emulator_client):
    emulator_client.headers.pop("Authorization")
    assert emulator_client.get("/api/v1/users").status_code == 401


def test_token_is_back(emulator_client):
    assert emulator_client.get("/api/v1/users").status_code == 200
"""
    )

    run_inner(pytester).assert_outcomes(passed=2)


def test_emulator_tokens_admin_bot_and_registered_user(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SERVICE_CREATE
        + """
SECRET = ("connection", "config", "awsConfig", "awsSecretAccessKey")


def secret(document):
    for key in SECRET:
        document = document[key]
    return document


def test_admin_sees_masked_bot_sees_clear(emulator_client, emulator_tokens):
    assert emulator_client.put(SERVICES, json=SERVICE).status_code == 201
    path = f"{SERVICES}/name/plugin_svc"

    as_admin = emulator_client.get(path)
    as_bot = emulator_client.get(path, headers=emulator_tokens.headers("ingestion-bot", bot=True))

    assert secret(as_admin.json()) == "*********"
    assert secret(as_bot.json()) == "s3cr3t"
    assert emulator_tokens.bot == emulator_tokens.user("ingestion-bot", bot=True)


def test_unknown_user_is_refused_until_registered(emulator_client, emulator_tokens):
    jane = emulator_tokens.headers("jane")
    assert emulator_client.get(SERVICES, headers=jane).status_code == 401

    body = {"name": "jane", "email": "jane@example.com"}
    assert emulator_client.post("/api/v1/users", json=body).status_code == 201

    assert emulator_client.get(SERVICES, headers=jane).status_code == 200
    assert emulator_client.put(SERVICES, json=SERVICE, headers=jane).status_code == 403
"""
    )

    run_inner(pytester).assert_outcomes(passed=2)


def test_emulator_settings_overrides_reach_the_app_and_the_environment_does_not(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLMODEL_EMULATOR_BULK_MAX_ITEMS", "1")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    pytester.makeconftest(
        """
import pytest


@pytest.fixture(scope="session")
def emulator_settings_overrides():
    return {"strict_connection_validation": True}
"""
    )
    pytester.makepyfile(
        LIVE_CALLS
        + """
SERVICES = "/api/v1/services/mlmodelServices"
LENIENT = {"name": "m", "serviceType": "Mlflow", "connection": {"config": {"type": "Mlflow"}}}


def test_strict_validation_from_the_override(emulator_client, emulator_settings):
    response = emulator_client.put(SERVICES, json=LENIENT)

    assert response.status_code == 400
    assert "trackingUri" in response.json()["message"]
    assert emulator_settings.strict_connection_validation is True


def test_environment_ignored(emulator_client, emulator_settings):
    items = [{**LENIENT, "connection": None, "name": f"s{n}"} for n in range(2)]
    items = [{key: value for key, value in item.items() if value} for item in items]
    response = emulator_client.put(f"{SERVICES}/bulk", json=items)

    assert response.status_code == 200, response.text
    assert emulator_settings.bulk_max_items == 100
    assert emulator_settings.database_url.startswith("sqlite:///")


def test_live_server_strict_and_environment_ignored(emulator_live_server):
    status, refused = call(emulator_live_server, "PUT", "/v1/services/mlmodelServices", LENIENT)
    assert status == 400
    assert "trackingUri" in refused["message"]

    items = [{"name": f"s{n}", "serviceType": "SageMaker"} for n in range(2)]
    status, bulk = call(emulator_live_server, "PUT", "/v1/services/mlmodelServices/bulk", items)
    assert (status, bulk["numberOfRowsPassed"]) == (200, 2)
"""
    )

    run_inner(pytester).assert_outcomes(passed=3)


def test_emulator_settings_overrides_of_the_plugin_own_settings_are_refused(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
import pytest


@pytest.fixture(scope="session")
def emulator_settings_overrides():
    return {"admin_api": False}
"""
    )
    pytester.makepyfile("def test_client(emulator_client):\n    pass\n")

    result = run_inner(pytester)

    result.assert_outcomes(errors=1)
    refusal = "*UsageError: emulator_settings_overrides may not set ?'admin_api'?"
    result.stdout.fnmatch_lines([refusal])


# --- the live server -----------------------------------------------------------------------


def test_emulator_live_server_serves_resets_and_shares_the_tokens(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        SERVICE_CREATE
        + LIVE_CALLS
        + """
def test_create(emulator_live_server):
    status, created = call(emulator_live_server, "PUT", "/v1/services/mlmodelServices", SERVICE)
    assert (status, created["fullyQualifiedName"]) == (201, "plugin_svc")
    assert emulator_live_server.api_url.endswith("/api")
    assert emulator_live_server.api_url.startswith("http://127.0.0.1:")


def test_reset_before_each_test(emulator_live_server):
    status, listed = call(emulator_live_server, "GET", "/v1/services/mlmodelServices")
    assert (status, listed["data"]) == (200, [])


def test_bot_token_sees_secrets(emulator_live_server, emulator_tokens):
    call(emulator_live_server, "PUT", "/v1/services/mlmodelServices", SERVICE)
    status, read = call(
        emulator_live_server,
        "GET",
        "/v1/services/mlmodelServices/name/plugin_svc",
        token=emulator_tokens.bot,
    )
    assert status == 200
    assert read["connection"]["config"]["awsConfig"]["awsSecretAccessKey"] == "s3cr3t"


def test_partial_reset_keeps_users(emulator_live_server):
    call(emulator_live_server, "POST", "/v1/users", {"name": "jane", "email": "j@example.com"})
    call(emulator_live_server, "PUT", "/v1/services/mlmodelServices", SERVICE)

    emulator_live_server.reset(scope="mlmodelServices")

    assert call(emulator_live_server, "GET", "/v1/services/mlmodelServices")[1]["data"] == []
    assert call(emulator_live_server, "GET", "/v1/users/name/jane")[0] == 200


def test_separate_from_the_in_process_app(emulator_live_server, emulator_client):
    call(emulator_live_server, "PUT", "/v1/services/mlmodelServices", SERVICE)

    assert emulator_client.get("/api/v1/services/mlmodelServices").json()["data"] == []
"""
    )

    run_inner(pytester).assert_outcomes(passed=5)
