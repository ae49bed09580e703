"""Built-in users and tags, the bootstrap file, and starts that race on one database."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from mlmodel_emulator.config import Settings
from mlmodel_emulator.governance.seed import BootstrapError
from mlmodel_emulator.main import create_app
from tests.conftest import TABLES_CHILD_FIRST
from tests.governance.conftest import (
    CLASSIFICATIONS_URL,
    DOMAINS_URL,
    TAGS_URL,
    TEAMS_URL,
    USERS_URL,
)

BOOTSTRAP_YAML = """\
classifications:
  - name: Quality
    description: How good the data is
    mutuallyExclusive: true
tags:
  - {name: Gold, classification: Quality, description: The best}
  - {name: Bronze, classification: Quality, description: Good enough}
domains:
  - {name: Marketing, domainType: Aggregate, description: Marketing data}
teams:
  - name: data-science
    users: [jane]
  - {name: platform, teamType: Department}
users:
  - name: jane
    email: jane@example.com
    isAdmin: true
  - name: john
    email: john@example.com
    teams: [data-science]
"""


def _all(client, url, headers):
    return client.get(f"{url}?limit=1000&include=all", headers=headers).json()["data"]


def _names(client, url, headers):
    return [item["fullyQualifiedName"] for item in _all(client, url, headers)]


def _write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- built-ins


def test_first_start_has_built_in_users(client, auth_headers):
    users = {user["name"]: user for user in _all(client, USERS_URL, auth_headers)}

    assert sorted(users) == ["admin", "ingestion-bot"]
    admin, bot = users["admin"], users["ingestion-bot"]
    assert (admin["email"], admin["isAdmin"], admin["isBot"]) == (
        "admin@open-metadata.org",
        True,
        False,
    )
    assert (bot["email"], bot["isAdmin"], bot["isBot"]) == (
        "ingestion-bot@open-metadata.org",
        False,
        True,
    )


def test_first_start_has_openmetadata_classifications_and_tags(client, auth_headers):
    classifications = _all(client, CLASSIFICATIONS_URL, auth_headers)
    tags = _names(client, TAGS_URL, auth_headers)

    assert [
        (item["name"], item["mutuallyExclusive"], item["provider"]) for item in classifications
    ] == [("PII", True, "system"), ("PersonalData", True, "system"), ("Tier", True, "system")]
    assert sorted(tags) == [
        "PII.NonSensitive",
        "PII.None",
        "PII.Sensitive",
        "PersonalData.Personal",
        "PersonalData.SpecialCategory",
        "Tier.Tier1",
        "Tier.Tier2",
        "Tier.Tier3",
        "Tier.Tier4",
        "Tier.Tier5",
    ]
    tier1 = client.get(f"{TAGS_URL}/name/Tier.Tier1", headers=auth_headers).json()
    assert tier1["description"].startswith(
        "**Critical Source of Truth business data assets of an organization**\n\n"
    )


def test_second_start_changes_nothing(client, make_client, auth_headers):
    before = [_all(client, url, auth_headers) for url in (USERS_URL, TAGS_URL)]

    again = make_client()

    assert [_all(again, url, auth_headers) for url in (USERS_URL, TAGS_URL)] == before


def test_start_recreates_a_hard_deleted_built_in_but_keeps_changes(
    client, make_client, auth_headers
):
    bot = client.get(f"{USERS_URL}/name/ingestion-bot", headers=auth_headers).json()
    client.delete(f"{USERS_URL}/{bot['id']}?hardDelete=true", headers=auth_headers)
    client.put(
        TAGS_URL,
        json={"name": "Tier1", "classification": "Tier", "description": "Ours"},
        headers=auth_headers,
    )

    again = make_client()

    recreated = again.get(f"{USERS_URL}/name/ingestion-bot", headers=auth_headers).json()
    assert recreated["id"] != bot["id"]
    tier1 = again.get(f"{TAGS_URL}/name/Tier.Tier1", headers=auth_headers).json()
    assert tier1["description"] == "Ours"


def test_starts_at_once_on_one_database_all_succeed(make_client, settings, engine, auth_headers):
    with engine.begin() as connection:
        for table in TABLES_CHILD_FIRST:
            connection.execute(text(f"DELETE FROM {table}"))
    # Apps are built here, one after the other: FastAPI silences a pydantic warning while it
    # builds routes with warnings.catch_warnings, which threads would interleave. Only the
    # startups, which seed the database, run at once.
    clients = [TestClient(create_app(settings)) for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    started: list[TestClient] = []
    errors: list[BaseException] = []

    def start(client: TestClient) -> None:
        barrier.wait()
        try:
            started.append(client.__enter__())
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        client = started[0]
        assert _names(client, USERS_URL, auth_headers) == ["admin", "ingestion-bot"]
        assert len(_names(client, CLASSIFICATIONS_URL, auth_headers)) == 3
        assert len(_names(client, TAGS_URL, auth_headers)) == 10
    finally:
        for client in started:
            client.__exit__(None, None, None)


# ---------------------------------------------------------------------------- bootstrap file


def test_bootstrap_yaml_creates_its_entities(make_client, tmp_path, auth_headers):
    client = make_client(bootstrap_file=_write(tmp_path, "seed.yaml", BOOTSTRAP_YAML))

    assert _names(client, USERS_URL, auth_headers) == ["admin", "ingestion-bot", "jane", "john"]
    assert _names(client, TEAMS_URL, auth_headers) == ["data-science", "platform"]
    assert _names(client, DOMAINS_URL, auth_headers) == ["Marketing"]
    assert _names(client, TAGS_URL, auth_headers)[:2] == ["Quality.Bronze", "Quality.Gold"]
    quality = client.get(f"{CLASSIFICATIONS_URL}/name/Quality", headers=auth_headers).json()
    assert quality["mutuallyExclusive"] is True
    team = client.get(f"{TEAMS_URL}/name/data-science", headers=auth_headers).json()
    assert [user["name"] for user in team["users"]] == ["jane", "john"]
    platform = client.get(f"{TEAMS_URL}/name/platform", headers=auth_headers).json()
    assert (platform["teamType"], platform["users"]) == ("Department", [])
    jane = client.get(f"{USERS_URL}/name/jane", headers=auth_headers).json()
    assert (jane["isAdmin"], jane["updatedBy"]) == (True, "admin")


def test_bootstrap_json_is_read_too(make_client, tmp_path, auth_headers):
    content = json.dumps(
        {"domains": [{"name": "Sales", "domainType": "Aggregate", "description": "x"}]}
    )

    client = make_client(bootstrap_file=_write(tmp_path, "seed.json", content))

    assert _names(client, DOMAINS_URL, auth_headers) == ["Sales"]


def test_bootstrap_second_start_changes_nothing(make_client, tmp_path, auth_headers):
    path = _write(tmp_path, "seed.yaml", BOOTSTRAP_YAML)
    first = make_client(bootstrap_file=path)
    jane = first.get(f"{USERS_URL}/name/jane", headers=auth_headers).json()
    first.put(
        USERS_URL,
        json={"name": "jane", "email": "jane@example.com", "displayName": "Jane"},
        headers=auth_headers,
    )
    first.put(TEAMS_URL, json={"name": "data-science", "users": []}, headers=auth_headers)
    urls = (USERS_URL, TEAMS_URL, DOMAINS_URL, CLASSIFICATIONS_URL, TAGS_URL)
    before = [_all(first, url, auth_headers) for url in urls]

    second = make_client(bootstrap_file=path)

    assert [_all(second, url, auth_headers) for url in urls] == before
    assert second.get(f"{USERS_URL}/name/jane", headers=auth_headers).json()["id"] == jane["id"]


def test_bootstrap_members_may_be_ids_of_existing_entities(make_client, tmp_path, auth_headers):
    client = make_client()
    admin = client.get(f"{USERS_URL}/name/admin", headers=auth_headers).json()
    content = f"teams:\n  - name: admins\n    users: ['{admin['id']}']\n"

    again = make_client(bootstrap_file=_write(tmp_path, "seed.yml", content))

    team = again.get(f"{TEAMS_URL}/name/admins", headers=auth_headers).json()
    assert [user["id"] for user in team["users"]] == [admin["id"]]


def test_bootstrap_empty_file_adds_nothing(make_client, tmp_path, auth_headers):
    client = make_client(bootstrap_file=_write(tmp_path, "seed.yaml", ""))

    assert _names(client, DOMAINS_URL, auth_headers) == []


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        pytest.param("seed.toml", "", "must end in .yaml, .yml or .json", id="extension"),
        pytest.param("seed.yaml", "users: [", "is not valid YAML", id="yaml-syntax"),
        pytest.param("seed.json", "{", "is not valid JSON", id="json-syntax"),
        pytest.param(
            "seed.yaml",
            "- name: x",
            "must hold a mapping of classifications, tags, domains, teams, users",
            id="not-a-mapping",
        ),
        pytest.param(
            "seed.yaml",
            "glossaries: []",
            "has unknown sections ['glossaries']",
            id="unknown-section",
        ),
        pytest.param("seed.yaml", "users: {name: x}", ": users must be a list", id="not-a-list"),
        pytest.param("seed.yaml", "users: [jane]", ": users[0] must be a mapping", id="not-item"),
        pytest.param(
            "seed.yaml",
            "users:\n  - name: jane\n",
            ": users[0]: [query param email must not be null]",
            id="invalid-item",
        ),
        pytest.param(
            "seed.yaml",
            "domains:\n  - {name: d, domainType: Aggregate, description: x, colour: red}\n",
            ": domains[0]: [query param colour is not a recognized field]",
            id="unknown-field",
        ),
        pytest.param(
            "seed.yaml",
            "teams:\n  - {name: t, users: jane}\n",
            ": teams[0].users must be a list of names or ids",
            id="members-not-list",
        ),
        pytest.param(
            "seed.yaml",
            "tags:\n  - {name: Gold, classification: Nope, description: x}\n",
            ": tags[0]: classification instance for Nope not found",
            id="unknown-classification",
        ),
        pytest.param(
            "seed.yaml",
            "users:\n  - {name: jane, email: jane@example.com, teams: [nope]}\n",
            ": users[0]: team nope not found",
            id="unknown-team",
        ),
    ],
)
def test_bootstrap_malformed_file_stops_startup_naming_file_and_problem(
    make_client, tmp_path, name, content, problem
):
    path = _write(tmp_path, name, content)

    with pytest.raises(BootstrapError) as failed:
        make_client(bootstrap_file=path)

    assert str(failed.value).startswith(f"Bootstrap file {path}")
    assert problem in str(failed.value)


def test_bootstrap_missing_file_stops_startup(make_client, tmp_path):
    path = tmp_path / "absent.yaml"

    with pytest.raises(BootstrapError, match="cannot be read"):
        make_client(bootstrap_file=path)


def test_bootstrap_failure_leaves_the_database_untouched(make_client, tmp_path, auth_headers):
    content = "domains:\n  - {name: d, domainType: Aggregate, description: x}\n"
    content += "tags:\n  - {name: Gold, classification: Nope, description: x}\n"

    with pytest.raises(BootstrapError):
        make_client(bootstrap_file=_write(tmp_path, "seed.yaml", content))
    client = make_client()

    assert _names(client, DOMAINS_URL, auth_headers) == []


def test_bootstrap_file_env_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("MLMODEL_EMULATOR_BOOTSTRAP_FILE", str(tmp_path / "seed.yaml"))

    assert Settings().bootstrap_file == tmp_path / "seed.yaml"


def test_start_on_unmigrated_database_warns_and_seeds_nothing(private_key_pem, tmp_path, caplog):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'bare.db'}",
        data_dir=tmp_path,
        jwt_private_key=private_key_pem,
    )

    with TestClient(create_app(settings)) as client:
        response = client.get("/api/v1/system/version")

    assert response.status_code == 200
    assert "The database schema is not up to date" in caplog.text


def test_start_on_unmigrated_database_with_bootstrap_file_fails(private_key_pem, tmp_path):
    path = _write(tmp_path, "seed.yaml", "")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'bare.db'}",
        data_dir=tmp_path,
        jwt_private_key=private_key_pem,
        bootstrap_file=path,
    )

    with pytest.raises(BootstrapError, match="the database schema is not up to date"):
        TestClient(create_app(settings)).__enter__()
