"""OpenMetadata's test connection definitions of the ML model service types, as static data.

OpenMetadata loads them from json/data/testConnections/mlmodel/*.json when it starts
(TestConnectionDefinitionResource.initialize); `definitions.json` holds those files'
content. They are never written through the API.
"""

from __future__ import annotations

import json
import uuid
from importlib import resources
from typing import Any, Final

from mlmodel_emulator.common.paging import Cursor, Page, assemble_page, decode_cursor
from mlmodel_emulator.errors import BadRequest, EntityNotFound

ENTITY_TYPE: Final = "testConnectionDefinition"
COLLECTION: Final = "/v1/services/testConnectionDefinitions"
# TestConnectionDefinitionRepository.setFullyQualifiedName: the name, then this suffix.
FQN_SUFFIX: Final = ".testConnectionDefinition"
# OpenMetadata gives each definition a random id when it starts; here each gets one derived
# from its FQN, so that an id stays valid across restarts and worker processes.
ID_NAMESPACE: Final = uuid.uuid5(
    uuid.NAMESPACE_URL,
    "https://open-metadata.org/schema/entity/services/connections/testConnectionDefinition.json",
)
# OpenMetadata stamps them with its start time; here with the build time of OpenMetadata
# 2.0.7's generated schemas (2026-10-27T07:26:41Z), so that every answer is the same.
UPDATED_AT_MS: Final = 1_793_086_001_000
UPDATED_BY: Final = "admin"
FIELDS: Final = frozenset({"owners"})

Doc = dict[str, Any]


def _load() -> tuple[Doc, ...]:
    raw = resources.files(__package__).joinpath("definitions.json").read_text("utf-8")
    docs = []
    for source in json.loads(raw):
        fqn = source["name"] + FQN_SUFFIX
        docs.append(
            {
                "id": str(uuid.uuid5(ID_NAMESPACE, fqn)),
                "name": source["name"],
                "displayName": source["displayName"],
                "description": source["description"],
                "fullyQualifiedName": fqn,
                "steps": source["steps"],
                "version": 0.1,
                "updatedAt": UPDATED_AT_MS,
                "updatedBy": UPDATED_BY,
            }
        )
    # Lists are in (name, id) order, as every list is.
    return tuple(sorted(docs, key=lambda doc: (doc["name"], doc["id"])))


DEFINITIONS: Final = _load()
_BY_FQN: Final = {doc["fullyQualifiedName"]: doc for doc in DEFINITIONS}
_BY_ID: Final = {doc["id"]: doc for doc in DEFINITIONS}


def check_fields(fields: str | None) -> None:
    """A `fields` parameter may name only the definition's relation fields (none is kept)."""
    names = {name.strip() for name in (fields or "").split(",") if name.strip()} - {"*"}
    for name in sorted(names):
        if name not in FIELDS:
            raise BadRequest(f"Invalid field name {name}")


def _visible(include: str) -> tuple[Doc, ...]:
    # None is ever deleted: `include=deleted` finds nothing.
    return () if include == "deleted" else DEFINITIONS


def get_by_name(fqn: str, include: str) -> Doc:
    """The definition of this FQN (`Mlflow.testConnectionDefinition`); 404 otherwise."""
    doc = _BY_FQN.get(fqn)
    if doc is None or include == "deleted":
        raise EntityNotFound(ENTITY_TYPE, fqn)
    return doc


def get_by_id(entity_id: str, include: str) -> Doc:
    """The definition of this id; 404 otherwise."""
    doc = _BY_ID.get(entity_id)
    if doc is None or include == "deleted":
        raise EntityNotFound(ENTITY_TYPE, entity_id)
    return doc


def _key(cursor: Cursor) -> tuple[str, str]:
    return (cursor.name, cursor.id)


def list_page(limit: int, before: str | None, after: str | None, include: str) -> Page:
    """One page in (name, id) order, with the cursors every list has (om-api §2.9)."""
    if before is not None and after is not None:
        raise BadRequest("Only one of before or after query parameter allowed")
    before_at, after_at = decode_cursor(before), decode_cursor(after)
    docs = _visible(include)
    if limit == 0:
        return Page(docs=[], paging={"total": len(docs)})
    if before_at is not None:
        # Nearest first, as a backward page is fetched.
        rows = [doc for doc in reversed(docs) if (doc["name"], doc["id"]) < _key(before_at)]
    elif after_at is not None:
        rows = [doc for doc in docs if (doc["name"], doc["id"]) > _key(after_at)]
    else:
        rows = list(docs)
    return assemble_page(
        rows[: limit + 1], limit=limit, total=len(docs), after=after_at, before=before_at
    )


def render(doc: Doc, base_url: str) -> Doc:
    """The definition as answered: its href under this server's /api."""
    return {**doc, "href": f"{base_url}{COLLECTION}/{doc['id']}", "deleted": False}
