"""ML model services, and ML models in them, created at start from seed files when missing
(Settings.seed_services), through the create path of the API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, inspect

from mlmodel_emulator.auth.secrets import SecretCipher
from mlmodel_emulator.clock import RANDOM_IDS, Ids
from mlmodel_emulator.config import Settings
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.entities import core
from mlmodel_emulator.entities.kind import Caller, Kind
from mlmodel_emulator.errors import ApiError, describe_errors
from mlmodel_emulator.governance.seed import SEEDER, SUFFIXES, read_file
from mlmodel_emulator.mlmodel_services.kind import MLMODEL_SERVICES
from mlmodel_emulator.mlmodel_services.schemas import CreateMlModelService
from mlmodel_emulator.mlmodels.kind import MLMODELS
from mlmodel_emulator.mlmodels.schemas import CreateMlModel

WHAT: Final = "Seed file"

# Sections in the order they are applied: services before the models they hold.
SECTIONS: Final[Mapping[str, tuple[Kind[Any], type[BaseModel]]]] = {
    "mlmodelServices": (MLMODEL_SERVICES, CreateMlModelService),
    "mlmodels": (MLMODELS, CreateMlModel),
}


class SeedError(Exception):
    """A seed file cannot be read or applied; the message names the file, the entry and why."""


@dataclass(frozen=True, slots=True)
class Seed:
    """One create request of a seed file, validated, with where it came from."""

    where: str
    section: str
    request: BaseModel


def seed_files(path: Path) -> list[Path]:
    """The file itself, or a folder's YAML and JSON files in name order (others are left)."""
    if not path.is_dir():
        return [path]
    return sorted(
        item
        for item in path.iterdir()
        if item.is_file() and item.suffix.lower() in SUFFIXES and not item.name.startswith(".")
    )


def _sections(path: Path, data: Any) -> Mapping[str, Any]:
    """A file holds a service's create request, a list of them, or a mapping of sections."""
    if data is None:
        return {}
    if isinstance(data, list):
        return {"mlmodelServices": data}
    if isinstance(data, dict) and data and set(data) <= set(SECTIONS):
        return data
    if isinstance(data, dict):
        return {"mlmodelServices": [data]}
    raise SeedError(
        f"{WHAT} {path} must hold an ML model service's create request, a list of them, "
        f"or a mapping of {' and '.join(SECTIONS)}"
    )


def load_seeds(path: Path) -> list[Seed]:
    """Every create request of the seed file or folder, validated as the API validates a
    request body: services first, then models, each in file and list order."""
    seeds: dict[str, list[Seed]] = {section: [] for section in SECTIONS}
    for file in seed_files(path):
        for section, items in _sections(file, read_file(file, WHAT, SeedError)).items():
            if not isinstance(items, list):
                raise SeedError(f"{WHAT} {file}: {section} must be a list")
            model = SECTIONS[section][1]
            for index, item in enumerate(items):
                where = f"{WHAT} {file}: {section}[{index}]"
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    where += f" ({item['name']})"
                try:
                    request = model.model_validate(item)
                except ValidationError as exc:
                    raise SeedError(f"{where}: {describe_errors(exc.errors())}") from None
                seeds[section].append(Seed(where=where, section=section, request=request))
    return [seed for section in SECTIONS for seed in seeds[section]]


def _in_deleted_service(connection: Connection, seed: Seed) -> bool:
    """Whether a model's service is soft-deleted: the model is left out, as its service is."""
    if seed.section != "mlmodels":
        return False
    service_fqn = getattr(seed.request, "service", "")
    service = MLMODEL_SERVICES.store.get_by_fqn(
        connection, MLMODEL_SERVICES.lookup_fqn(service_fqn)
    )
    return service is not None and bool(service["deleted"])


def apply(connection: Connection, seeds: Sequence[Seed], *, caller: Caller) -> list[str]:
    """Create the seeds whose names are free, as POST would (validation, secrets encrypted,
    version 0.1); return the FQNs created. An entity of that name, even soft-deleted or made
    by another worker starting at the same time, is left as it is."""
    created: list[str] = []
    for seed in seeds:
        kind = SECTIONS[seed.section][0]
        try:
            if _in_deleted_service(connection, seed):
                continue
            doc = core.create_if_missing(connection, kind, seed.request, caller=caller)
        except ApiError as exc:
            raise SeedError(f"{seed.where}: {exc.message}") from None
        if doc is not None:
            created.append(doc["fullyQualifiedName"])
    return created


def _schema_ready(connection: Connection) -> bool:
    return all(
        inspect(connection).has_table(kind.store.table.name) for kind, _ in SECTIONS.values()
    )


def seed_services(
    database: Database,
    settings: Settings,
    cipher: SecretCipher,
    *,
    now_ms: int,
    ids: Ids = RANDOM_IDS,
) -> list[str]:
    """Apply Settings.seed_services in one transaction, in the name of the built-in admin:
    all of it, or nothing and a SeedError that names the file and the entry."""
    if settings.seed_services is None:
        return []
    seeds = load_seeds(settings.seed_services)
    if not database.read(_schema_ready):
        raise SeedError(
            f"{WHAT} {settings.seed_services} cannot be applied: the database schema is not "
            "up to date (run: mlmodel-emulator migrate)"
        )
    caller = Caller(
        principal=SEEDER,
        now_ms=now_ms,
        cipher=cipher,
        strict=settings.strict_connection_validation,
        ids=ids,
    )
    return database.write(apply, seeds, caller=caller)
