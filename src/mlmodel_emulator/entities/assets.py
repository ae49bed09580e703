"""What ML model services and ML models share: owners, tags, domains and followers, the
governance entities they name, checked on the way in and refreshed on the way out."""

from __future__ import annotations

from typing import Any, ClassVar, Final, TypeVar

from pydantic import BaseModel
from sqlalchemy import Connection

from mlmodel_emulator.entities.kind import DOMAINS, OWNERS, TAGS, Caller, Doc, Field, Kind, Rule
from mlmodel_emulator.errors import EntityNotFound
from mlmodel_emulator.governance import references

R = TypeVar("R", bound=BaseModel)

# Data products and ingestion runners cannot be registered here: any named is unknown.
DATA_PRODUCTS: Final = Field("dataProducts", Rule.KEEP, "list", default=[])
INGESTION_RUNNER: Final = Field("ingestionRunner", Rule.KEEP, "json")
STYLE: Final = Field("style", Rule.KEEP, "json")
GOVERNED: Final = (OWNERS, TAGS, DOMAINS)


class AssetKind(Kind[R]):
    """An entity that users own, tag, put in domains and follow."""

    relation_fields: ClassVar[tuple[str, ...]] = (
        "owners",
        "tags",
        "domains",
        "followers",
        "dataProducts",
    )
    reference_fields: ClassVar[tuple[str, ...]] = ("owners", "domains", "followers")
    write_response_fields = frozenset({"owners", "tags", "domains"})
    initial_lists: ClassVar[tuple[str, ...]] = ("followers",)

    def expand(self, connection: Connection, docs: list[Doc], fields: frozenset[str]) -> list[Doc]:
        return hydrate(connection, docs, fields)

    def check_patched(self, fields: Any) -> None:
        for product in fields.data_products or []:
            raise EntityNotFound("dataProduct", product.id)
        if fields.ingestion_runner is not None:
            raise EntityNotFound(fields.ingestion_runner.type, fields.ingestion_runner.id)

    def patched_value(
        self, connection: Connection, key: str, fields: Any, original: Doc, caller: Caller
    ) -> Any:
        """Owners, tags and domains resolved as a create request's are (PATCH replaces them)."""
        if key == "owners":
            return references.patched_owners(connection, fields.owners)
        if key == "tags":
            labels = [label.to_json_dict() for label in fields.tags or []]
            return references.resolve_tags(connection, labels) if labels else []
        if key == "domains":
            return references.patched_domains(connection, fields.domains)
        if key == "dataProducts":
            return []
        return super().patched_value(connection, key, fields, original, caller)


def governed_fields(connection: Connection, request: Any) -> Doc:
    """Owners, domains and tags of a create request, checked against the catalog as
    OpenMetadata checks them (om-api §2.6); None where the request gives none. Data
    products and ingestion runners, which cannot exist here, are not found."""
    owners = (
        references.resolve_owners(connection, [o.to_json_dict() for o in request.owners])
        if request.owners
        else None
    )
    domains = references.resolve_domains(connection, request.domains) if request.domains else None
    tags = (
        references.resolve_tags(connection, [t.to_json_dict() for t in request.tags])
        if request.tags
        else None
    )
    for product in getattr(request, "data_products", None) or []:
        raise EntityNotFound("dataProduct", product)
    runner = getattr(request, "ingestion_runner", None)
    if runner is not None:
        raise EntityNotFound(runner.type, runner.id)
    return {"owners": owners, "domains": domains, "tags": tags}


def hydrate(connection: Connection, docs: list[Doc], fields: frozenset[str]) -> list[Doc]:
    """Refresh the references asked for: names, display names and deleted flags change.

    One statement per entity type for the whole page, whatever the number of documents.
    """
    ref_fields = [name for name in ("owners", "domains", "followers") if name in fields]
    refs = [ref for doc in docs for name in ref_fields for ref in doc.get(name, [])]
    labels = [label for doc in docs for label in doc.get("tags", [])] if "tags" in fields else []
    if not refs and not labels:
        return docs
    fresh = {
        (ref["type"], ref["id"]): ref for ref in references.refresh_references(connection, refs)
    }
    fresh_tags = {label["tagFQN"]: label for label in references.refresh_tags(connection, labels)}
    hydrated = []
    for doc in docs:
        doc = dict(doc)
        for name in ref_fields:
            doc[name] = [
                fresh[key]
                for ref in doc.get(name, [])
                if (key := (ref["type"], ref["id"])) in fresh
            ]
        if labels:
            doc["tags"] = [
                fresh_tags[label["tagFQN"]]
                for label in doc.get("tags", [])
                if label["tagFQN"] in fresh_tags
            ]
        hydrated.append(doc)
    return hydrated
