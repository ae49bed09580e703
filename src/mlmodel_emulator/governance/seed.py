"""What every database holds from the first start: built-in users and tags, the bootstrap file."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

import yaml  # type: ignore[import-untyped]
from pydantic import ValidationError
from sqlalchemy import Connection

from mlmodel_emulator.auth.tokens import Principal
from mlmodel_emulator.clock import RANDOM_IDS, Ids
from mlmodel_emulator.common.api import ApiModel
from mlmodel_emulator.config import Settings
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.entities.core import new_doc, stored_form
from mlmodel_emulator.entities.kind import Caller, Doc, Kind
from mlmodel_emulator.errors import ApiError, describe_errors
from mlmodel_emulator.governance import repository
from mlmodel_emulator.governance.classifications import CLASSIFICATIONS, TAGS
from mlmodel_emulator.governance.domains import DOMAINS
from mlmodel_emulator.governance.schemas import (
    CreateClassification,
    CreateDomain,
    CreateTag,
    CreateTeam,
    CreateUser,
    ProviderType,
)
from mlmodel_emulator.governance.users import TEAMS, USERS

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=ApiModel)

# Seeds are written in the name of the built-in admin, as OpenMetadata's are.
SEEDER: Final = Principal(name="admin", is_bot=False)

BUILTIN_USERS: Final = (
    CreateUser(name="admin", email="admin@open-metadata.org", is_admin=True),
    CreateUser(name="ingestion-bot", email="ingestion-bot@open-metadata.org", is_bot=True),
)

# openmetadata-service/src/main/resources/json/data/tags/{piiTags,tierTags,personalDataTags}.json
_PII = (
    "Personally Identifiable Information information that, when used alone or with other "
    "relevant data, can identify an individual.<br/><br/>_Note to Legal - This tag category "
    "is provided as a starting point. Please review and update the tags based on your "
    "company policy. Also, add a reference to your PII policy document in this description._"
)
_TIER = (
    "Tags related to tiering of the data. Tiers capture the business importance of data. "
    "When a data asset is tagged with `Tier` tag, all the upstream data assets used for "
    "producing it will also be labeled with the same tag. This will help upstream data "
    "asset owners to understand the critical purposes their data is being used."
)
_PERSONAL_DATA = (
    "Tags related classifying **Personal data** as defined by **GDPR.**<br/><br/>_Note to "
    "Legal - This tag category is provided as a starting point. Please review and update "
    "the tags based on your company policy. Also, add a reference to your GDPR policy "
    "document in this description._"
)
BUILTIN_CLASSIFICATIONS: Final = tuple(
    CreateClassification(
        name=name, description=text, mutually_exclusive=True, provider=ProviderType.system
    )
    for name, text in (("PII", _PII), ("Tier", _TIER), ("PersonalData", _PERSONAL_DATA))
)
_TAGS: Final[Mapping[str, Mapping[str, str]]] = {
    "PII": {
        "None": "Non PII",
        "NonSensitive": (
            "PII which is easily accessible from public sources and can include zip code, "
            "race, gender, and date of birth."
        ),
        "Sensitive": (
            "PII which if lost, compromised, or disclosed without authorization, could result "
            "in substantial harm, embarrassment, inconvenience, or unfairness to an individual."
        ),
    },
    "Tier": {
        "Tier1": (
            "**Critical Source of Truth business data assets of an organization**\n\n"
            "- Used in critical metrics and dashboards to drive business and product "
            "decisions\n\n"
            "- Used in critical compliance reporting to regulators, govt entities, and third "
            "party\n\n"
            "- Used in brand or revenue impacting online user-facing experiences (search "
            "results, advertisement, promotions, and experimentation)\n\n"
            "- Other high impact use, such as ML models and fraud detection\n\n"
            "- Source used to derive other critical Tier-1 datasets"
        ),
        "Tier2": (
            "**Important business datasets for your company (not as critical as Tier 1)**\n\n"
            "- Used in important business metrics, product metrics, and dashboards to drive "
            "internal decisions\n\n"
            "- Used in important compliance reporting to major regulators, govt entities, and "
            "third party\n\n"
            "- Used for less critical online user-facing experiences (user activity, user "
            "behavior)\n\n"
            "- Source used to derive other critical Tier-2 datasets"
        ),
        "Tier3": (
            "**Department/group level datasets that are typically non-business and general "
            "internal system**\n\n"
            "- Used in product metrics, and dashboards to drive product decisions\n\n"
            "- Used to track operational metrics of internal systems\n\n"
            "- Source used to derive other critical Tier-3 datasets"
        ),
        "Tier4": (
            "**Team level datasets that are typically non-business and general internal "
            "system**\n\n"
            "- Used in product metrics, and dashboards to drive team decisions\n\n"
            "- Used to track operational metrics of internal systems owned by the team\n\n"
            "- Source used to derive other critical Tier-4 datasets"
        ),
        "Tier5": (
            "**Private/Unused data assets - No impact beyond individual users**\n\n"
            "- Data assets without any ownership with no usage in the last 60 days\n\n"
            "- Data assets owned by individuals without team ownership\n\n"
        ),
    },
    "PersonalData": {
        "Personal": "Data that can be used to directly or indirectly identify a person.",
        "SpecialCategory": (
            "GDPR special category data is personal information of data subjects that is "
            "especially sensitive, the exposure of which could significantly impact the rights "
            "and freedoms of data subjects and potentially be used against them for unlawful "
            "discrimination."
        ),
    },
}
BUILTIN_TAGS: Final = tuple(
    CreateTag(name=name, classification=parent, description=text, provider=ProviderType.system)
    for parent, tags in _TAGS.items()
    for name, text in tags.items()
)


class BootstrapError(Exception):
    """The bootstrap file cannot be read or applied; the message names the file and why."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One validated item of the bootstrap file, with where it came from."""

    where: str
    request: ApiModel
    # team.users or user.teams, by name or id; the file cannot know the ids beforehand.
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """The bootstrap file, validated; empty when there is none."""

    path: Path | None = None
    sections: Mapping[str, tuple[Entry, ...]] = field(default_factory=dict)

    def entries(self, section: str) -> tuple[Entry, ...]:
        return self.sections.get(section, ())


# Sections in the order they are applied: what others refer to comes first.
_SECTIONS: Final[Mapping[str, tuple[type[ApiModel], str | None]]] = {
    "classifications": (CreateClassification, None),
    "tags": (CreateTag, None),
    "domains": (CreateDomain, None),
    "teams": (CreateTeam, "users"),
    "users": (CreateUser, "teams"),
}


SUFFIXES: Final = (".yaml", ".yml", ".json")


def read_file(path: Path, what: str, error: type[Exception]) -> Any:
    """The content of a YAML or JSON file, by its suffix; `error` names `what` and the file."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise error(f"{what} {path} must end in .yaml, .yml or .json, to say how to read it")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{what} {path} cannot be read: {exc}") from None
    language = "JSON" if suffix == ".json" else "YAML"
    try:
        return json.loads(text) if language == "JSON" else yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise error(f"{what} {path} is not valid {language}: {exc}") from None


def load_bootstrap(path: Path) -> Bootstrap:
    """Read and validate the bootstrap file: a mapping of sections, each of create requests.

    In `teams[].users` and `users[].teams`, names may stand for ids.
    """
    data = read_file(path, "Bootstrap file", BootstrapError)
    if data is None:
        return Bootstrap(path=path)
    if not isinstance(data, dict):
        raise BootstrapError(f"Bootstrap file {path} must hold a mapping of {', '.join(_SECTIONS)}")
    unknown = sorted(str(key) for key in data if key not in _SECTIONS)
    if unknown:
        raise BootstrapError(
            f"Bootstrap file {path} has unknown sections {unknown}; "
            f"expected some of {', '.join(_SECTIONS)}"
        )
    sections: dict[str, tuple[Entry, ...]] = {}
    for section, (model, member_field) in _SECTIONS.items():
        items = data.get(section) or []
        if not isinstance(items, list):
            raise BootstrapError(f"Bootstrap file {path}: {section} must be a list")
        sections[section] = tuple(
            _entry(path, f"{section}[{index}]", item, model, member_field)
            for index, item in enumerate(items)
        )
    return Bootstrap(path=path, sections=sections)


def _entry(
    path: Path, where: str, item: Any, model: type[ApiModel], member_field: str | None
) -> Entry:
    if not isinstance(item, dict):
        raise BootstrapError(f"Bootstrap file {path}: {where} must be a mapping")
    item = dict(item)
    members = item.pop(member_field, None) if member_field else None
    if members is not None and not (
        isinstance(members, list) and all(isinstance(member, str) for member in members)
    ):
        raise BootstrapError(
            f"Bootstrap file {path}: {where}.{member_field} must be a list of names or ids"
        )
    try:
        request = model.model_validate(item)
    except ValidationError as exc:
        raise BootstrapError(
            f"Bootstrap file {path}: {where}: {describe_errors(exc.errors())}"
        ) from None
    return Entry(where=where, request=request, members=tuple(members or ()))


# ---------------------------------------------------------------------------- applying


def seed(database: Database, settings: Settings, *, now_ms: int, ids: Ids = RANDOM_IDS) -> None:
    """Create the built-ins and the bootstrap file's entities that are missing.

    Safe to run by several workers at once: every insert skips what another has made
    (INSERT ... ON CONFLICT DO NOTHING), so a second start changes nothing.
    """
    bootstrap = Bootstrap()
    if settings.bootstrap_file is not None:
        bootstrap = load_bootstrap(settings.bootstrap_file)
    if not database.read(repository.schema_ready):
        if bootstrap.path is not None:
            raise BootstrapError(
                f"Bootstrap file {bootstrap.path} cannot be applied: the database schema is "
                "not up to date (run: mlmodel-emulator migrate)"
            )
        logger.warning(
            "The database schema is not up to date: no built-in users or tags were created. "
            "Run: mlmodel-emulator migrate"
        )
        return
    database.write(apply, bootstrap, caller=Caller(principal=SEEDER, now_ms=now_ms, ids=ids))


def apply(connection: Connection, bootstrap: Bootstrap, *, caller: Caller) -> None:
    """The built-ins, then the bootstrap file, in one transaction; one INSERT per table."""

    def entries(section: str, builtins: Sequence[ApiModel] = ()) -> list[Entry]:
        made = [Entry(where=f"built-in {section}", request=request) for request in builtins]
        return [*made, *bootstrap.entries(section)]

    _create_missing(
        connection,
        bootstrap,
        CLASSIFICATIONS,
        entries("classifications", BUILTIN_CLASSIFICATIONS),
        caller,
    )
    _create_missing(connection, bootstrap, TAGS, entries("tags", BUILTIN_TAGS), caller)
    _create_missing(connection, bootstrap, DOMAINS, entries("domains"), caller)
    new_teams = _create_missing(connection, bootstrap, TEAMS, entries("teams"), caller)
    new_users = _create_missing(
        connection, bootstrap, USERS, entries("users", BUILTIN_USERS), caller
    )
    _add_members(connection, bootstrap, new_teams, new_users)


def _fail(bootstrap: Bootstrap, where: str, message: str) -> BootstrapError:
    return BootstrapError(f"Bootstrap file {bootstrap.path}: {where}: {message}")


def _create_missing(
    connection: Connection,
    bootstrap: Bootstrap,
    kind: Kind[Any],
    entries: Sequence[Entry],
    caller: Caller,
) -> dict[str, tuple[Entry, str]]:
    """Insert the entities not there yet; return the new ones' entries and ids, by FQN."""
    docs: dict[str, tuple[Entry, Doc]] = {}
    for entry in entries:
        try:
            prepared = kind.prepare(connection, entry.request, caller)
        except ApiError as exc:
            raise _fail(bootstrap, entry.where, exc.message) from None
        # The first of two entries with one name wins, as the first of two requests would.
        docs.setdefault(prepared.fqn, (entry, new_doc(kind, prepared, caller)))
    inserted = kind.store.add_many(connection, [stored_form(kind, doc) for _, doc in docs.values()])
    return {fqn: (entry, doc["id"]) for fqn, (entry, doc) in docs.items() if fqn in inserted}


def _add_members(
    connection: Connection,
    bootstrap: Bootstrap,
    new_teams: Mapping[str, tuple[Entry, str]],
    new_users: Mapping[str, tuple[Entry, str]],
) -> None:
    """Memberships the file gives for the teams and users this start created."""
    pairs: list[tuple[str, str]] = []
    for entry, team_id in new_teams.values():
        for user_id in _ids(connection, bootstrap, entry, USERS, repository.user_fqn):
            pairs.append((team_id, user_id))
    for entry, user_id in new_users.values():
        for team_id in _ids(connection, bootstrap, entry, TEAMS, TEAMS.lookup_fqn):
            pairs.append((team_id, user_id))
    repository.add_members(connection, pairs)


def _ids(
    connection: Connection,
    bootstrap: Bootstrap,
    entry: Entry,
    kind: Kind[Any],
    fqn_of: Callable[[str], str],
) -> list[str]:
    """The ids of the entities an entry's members name, by id or by name."""
    ids = []
    for member in entry.members:
        try:
            doc = kind.store.get_by_id(connection, str(uuid.UUID(member)))
        except ValueError:
            doc = kind.store.get_by_fqn(connection, fqn_of(member))
        if doc is None:
            raise _fail(bootstrap, entry.where, f"{kind.entity_type} {member} not found")
        ids.append(doc["id"])
    return ids
