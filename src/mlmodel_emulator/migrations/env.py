"""Alembic environment: the service's own engine and metadata, batch mode on SQLite."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

# Imported for their side effect: they register the tables on the metadata.
import mlmodel_emulator.admin.models
import mlmodel_emulator.entities.models
import mlmodel_emulator.governance.models
import mlmodel_emulator.idempotency.models
import mlmodel_emulator.jobs.models
import mlmodel_emulator.mlmodel_services.models
import mlmodel_emulator.mlmodels.models  # noqa: F401
from mlmodel_emulator.config import Settings
from mlmodel_emulator.db.base import Base
from mlmodel_emulator.db.engine import make_engine
from mlmodel_emulator.db.statements import migration_lock

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("database_url") or Settings().sqlalchemy_url
    engine = make_engine(url)
    try:
        with engine.connect() as connection, migration_lock(connection):
            _run(connection)
    finally:
        engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run against a database.")
run_migrations()
