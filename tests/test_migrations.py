"""The Alembic history: builds the schema from nothing, tears it down, and matches the models."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

# Imported for their side effect: they register the tables on the metadata.
import mlmodel_emulator.admin.models
import mlmodel_emulator.events.models
import mlmodel_emulator.governance.models
import mlmodel_emulator.idempotency.models
import mlmodel_emulator.jobs.models
import mlmodel_emulator.mlmodel_services.models
import mlmodel_emulator.mlmodels.models
import mlmodel_emulator.subscriptions.models  # noqa: F401
from mlmodel_emulator.cli import alembic_config
from mlmodel_emulator.config import Settings
from mlmodel_emulator.db.base import Base
from mlmodel_emulator.db.engine import make_engine
from tests.databases import fresh_database
from tests.live_server import run_checked, server_env

TABLES = {
    "alembic_version",
    "mlmodel_service",
    "mlmodel_service_version",
    "app_user",
    "team",
    "team_member",
    "mlmodel_service_domain",
    "domain",
    "classification",
    "tag",
    "job",
    "mlmodel",
    "mlmodel_version",
    "mlmodel_domain",
    "emulator_fault",
    "emulator_journal",
    "change_event",
    "idempotency_key",
    "entity_count",
    "event_subscription",
    "event_subscription_version",
    "subscription_delivery",
    "subscription_failed_event",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path):
    with fresh_database(request.param, tmp_path) as url:
        yield url


def test_upgrade_from_empty_builds_every_table_and_matches_the_models(empty_database, tmp_path):
    config = alembic_config(Settings(database_url=empty_database, data_dir=tmp_path))

    command.upgrade(config, "head")

    engine = make_engine(empty_database)
    try:
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == TABLES
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_downgrade_to_base_then_upgrade_again(empty_database, tmp_path):
    config = alembic_config(Settings(database_url=empty_database, data_dir=tmp_path))
    command.upgrade(config, "head")

    command.downgrade(config, "base")
    engine = make_engine(empty_database)
    try:
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()
    command.upgrade(config, "head")

    engine = make_engine(empty_database)
    try:
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == TABLES
    finally:
        engine.dispose()


def test_request_journal_is_unlogged_on_postgresql(tmp_path):
    # Written on every request with the admin API on: no WAL flush at each commit.
    with fresh_database("postgresql", tmp_path) as url:
        command.upgrade(alembic_config(Settings(database_url=url, data_dir=tmp_path)), "head")
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                persistence = connection.exec_driver_sql(
                    "SELECT relpersistence FROM pg_class WHERE relname = 'emulator_journal'"
                ).scalar_one()
        finally:
            engine.dispose()

    assert persistence == "u"


def test_checkout_alembic_ini_runs_the_packaged_scripts(tmp_path):
    # The development entry point: `alembic` in a checkout, the URL from the settings.
    ini = Path(__file__).resolve().parents[1] / "alembic.ini"
    url = f"sqlite:///{(tmp_path / 'dev.db').as_posix()}"
    env = {**server_env(tmp_path, url), "PYTHONPATH": ""}
    argv = [sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head"]

    run_checked(argv, timeout=120, env=env)

    packaged = alembic_config(Settings(database_url=url, data_dir=tmp_path))
    checkout = ScriptDirectory.from_config(Config(str(ini)))
    assert Path(checkout.dir).resolve() == Path(packaged.get_main_option("script_location"))
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == TABLES
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    assert revision == ScriptDirectory.from_config(packaged).get_current_head()


def test_count_follows_updates_by_a_row_trigger_on_deleted_on_postgresql(tmp_path):
    # A statement trigger ran on every UPDATE (every PUT); only a flip of `deleted` moves a
    # count, and an UPDATE that leaves `deleted` out of its SET list fires nothing.
    with fresh_database("postgresql", tmp_path) as url:
        command.upgrade(alembic_config(Settings(database_url=url, data_dir=tmp_path)), "head")
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                triggers = connection.exec_driver_sql(
                    "SELECT t.action_orientation, t.action_condition, c.event_object_column"
                    " FROM information_schema.triggers AS t"
                    " JOIN information_schema.triggered_update_columns AS c"
                    " ON c.trigger_name = t.trigger_name"
                    " WHERE t.trigger_name = 'mlmodel_service_count_update'"
                ).all()
        finally:
            engine.dispose()

    assert [tuple(row) for row in triggers] == [
        ("ROW", "(old.deleted IS DISTINCT FROM new.deleted)", "deleted")
    ]


def test_list_index_drop_downgrades_to_the_indexes_it_dropped(empty_database, tmp_path):
    # a6c3e9d2f104 drops what no query uses; its downgrade gives the earlier schema back.
    config = alembic_config(Settings(database_url=empty_database, data_dir=tmp_path))
    dropped = {
        "mlmodel_service": {"ix_mlmodel_service_name_id", "ix_mlmodel_service_service_type"},
        "mlmodel": {"ix_mlmodel_name_id"},
    }

    def indexes() -> dict[str, set[str]]:
        engine = make_engine(empty_database)
        try:
            with engine.connect() as connection:
                found = inspect(connection)
                return {t: {i["name"] for i in found.get_indexes(t)} for t in dropped}
        finally:
            engine.dispose()

    command.upgrade(config, "head")
    at_head = indexes()
    command.downgrade(config, "4f2d8b6c1e97")
    before = indexes()
    command.upgrade(config, "head")

    for table, names in dropped.items():
        assert not names & at_head[table]
        assert names <= before[table]
        assert f"ix_{table}_deleted_name_id" in at_head[table]
    assert indexes() == at_head
