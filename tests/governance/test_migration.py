"""The governance revision: builds tables that match the models, and undoes itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

# These imports register their tables on Base.metadata.
import mlmodel_emulator.governance.models
import mlmodel_emulator.jobs.models
import mlmodel_emulator.mlmodel_services.models  # noqa: F401
from mlmodel_emulator.cli import alembic_config
from mlmodel_emulator.config import Settings
from mlmodel_emulator.db.base import Base
from mlmodel_emulator.db.engine import make_engine
from tests.databases import fresh_database

GOVERNANCE_TABLES = {"app_user", "team", "team_member", "domain", "classification", "tag"}
PREVIOUS_REVISION = "6dfbfb14fd1f"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path):
    with fresh_database(request.param, tmp_path) as url:
        yield url


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_builds_governance_tables_matching_the_models(empty_database, tmp_path):
    config = alembic_config(Settings(database_url=empty_database, data_dir=tmp_path))

    command.upgrade(config, "head")

    assert _tables(empty_database) >= GOVERNANCE_TABLES
    engine = make_engine(empty_database)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_downgrade_to_previous_revision_drops_only_governance_tables(empty_database, tmp_path):
    config = alembic_config(Settings(database_url=empty_database, data_dir=tmp_path))
    command.upgrade(config, "head")
    everything = _tables(empty_database)

    command.downgrade(config, PREVIOUS_REVISION)
    before = _tables(empty_database)
    command.upgrade(config, "head")

    # Later revisions go too: mlmodel_service_domain, job, the ML model tables, the admin API's.
    later = {"mlmodel_service_domain", "job", "mlmodel", "mlmodel_version", "mlmodel_domain"}
    later |= {"emulator_fault", "emulator_journal", "change_event", "idempotency_key"}
    later |= {"entity_count"}
    later |= {"event_subscription", "event_subscription_version"}
    later |= {"subscription_delivery", "subscription_failed_event"}
    assert before == everything - GOVERNANCE_TABLES - later
    assert _tables(empty_database) == everything
