"""Classifications and their tags: /api/v1/classifications and /api/v1/tags."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar, Final

from sqlalchemy import Connection

from mlmodel_emulator.common.paging import Page
from mlmodel_emulator.common.versioning import FieldSpec
from mlmodel_emulator.errors import BadRequest, EntityNotFound
from mlmodel_emulator.governance import repository
from mlmodel_emulator.governance.entities import (
    COMMON_TRACKED,
    Caller,
    Doc,
    Kind,
    ListQuery,
    Prepared,
    apply_change,
    list_page,
    reference,
)
from mlmodel_emulator.governance.schemas import CreateClassification, CreateTag

CLASSIFICATION: Final = "classification"
TAG: Final = "tag"

# FullyQualifiedName.namePattern: a whole name in double quotes, or anything else.
_QUOTED = re.compile(r'^"([^"]+)"$')


def quote_fqn_part(name: str) -> str:
    """FullyQualifiedName.quoteName, stricter than the one services use.

    A quoted name is unquoted unless it holds a dot; an unquoted name holding a dot is
    quoted; an unquoted name holding a quote is refused.
    """
    quoted = _QUOTED.match(name)
    if quoted:
        return name if "." in quoted.group(1) else quoted.group(1)
    if '"' in name:
        raise BadRequest(f"Invalid name {name}")
    return f'"{name}"' if "." in name else name


def tag_fqn(classification_fqn: str, tag_name: str) -> str:
    """FullyQualifiedName.add: the classification's FQN, a dot, the quoted tag name."""
    return f"{classification_fqn}.{quote_fqn_part(tag_name)}"


# Fields every classification and tag has, with classification.json's and tag.json's defaults.
_FLAG_DEFAULTS: Final[Mapping[str, Any]] = {"disabled": False, "provider": "user"}


class Classifications(Kind[CreateClassification]):
    entity_type = CLASSIFICATION
    collection = "/v1/classifications"
    store = repository.classifications
    tracked = (
        *COMMON_TRACKED,
        FieldSpec("mutuallyExclusive", "scalar"),
        FieldSpec("disabled", "scalar"),
        FieldSpec("provider", "scalar"),
    )
    defaults: ClassVar[Mapping[str, Any]] = {"mutuallyExclusive": False, **_FLAG_DEFAULTS}

    def prepare(self, connection: Connection, request: CreateClassification) -> Prepared:
        return Prepared(
            name=request.name,
            fqn=self.lookup_fqn(request.name),
            fields={
                "displayName": request.display_name,
                "description": request.description,
                "mutuallyExclusive": request.mutually_exclusive,
                "disabled": request.disabled,
                "provider": request.provider,
            },
        )

    def remove(self, connection: Connection, doc: Doc) -> None:
        # ClassificationResource deletes recursively: the tags go with their classification.
        repository.delete_tags_of_classification(connection, doc["id"])
        self.store.hard_delete(connection, doc["id"])

    def after_soft_delete(self, connection: Connection, doc: Doc, caller: Caller) -> None:
        _set_tags_deleted(connection, doc["id"], True, caller)

    def after_restore(self, connection: Connection, doc: Doc, caller: Caller) -> None:
        _set_tags_deleted(connection, doc["id"], False, caller)


def _set_tags_deleted(
    connection: Connection, classification_id: str, deleted: bool, caller: Caller
) -> None:
    """Soft-delete or restore every tag of a classification, each as a new version."""
    changed = []
    for tag in repository.tags_of_classification(connection, classification_id):
        updated = apply_change(TAGS, tag, {**tag, "deleted": deleted}, caller)
        if updated is not None:
            changed.append(updated)
    repository.tags.replace_many(connection, changed)


class Tags(Kind[CreateTag]):
    entity_type = TAG
    collection = "/v1/tags"
    store = repository.tags
    tracked = (
        *COMMON_TRACKED,
        FieldSpec("style", "json"),
        FieldSpec("disabled", "scalar"),
        FieldSpec("provider", "scalar"),
    )
    defaults = _FLAG_DEFAULTS
    kept_when_null = frozenset({"style"})
    reference_fields = ("classification",)

    def lookup_fqn(self, name: str) -> str:
        # A tag is found by its FQN as given, as TagRepository does (no quoting).
        return name

    def prepare(self, connection: Connection, request: CreateTag) -> Prepared:
        classification = classification_by_name(connection, request.classification)
        return Prepared(
            name=request.name,
            fqn=tag_fqn(classification["fullyQualifiedName"], request.name),
            fields={
                "displayName": request.display_name,
                "description": request.description,
                "style": request.style.to_json_dict() if request.style else None,
                "classification": reference(classification, CLASSIFICATION),
                "disabled": request.disabled,
                "provider": request.provider,
            },
        )

    def expand(self, connection: Connection, docs: list[Doc]) -> list[Doc]:
        """Tags with their classification's reference as it is now (displayName, deleted)."""
        ids = {doc["classification"]["id"] for doc in docs}
        parents = repository.classifications.get_many_by_id(connection, ids)
        return [
            {
                **doc,
                "classification": reference(parents[doc["classification"]["id"]], CLASSIFICATION),
            }
            for doc in docs
        ]


def classification_by_name(connection: Connection, name: str) -> Doc:
    """A classification that is not deleted, by its name or FQN (404 otherwise)."""
    fqn = CLASSIFICATIONS.lookup_fqn(name)
    classification = repository.classifications.get_by_fqn(connection, fqn)
    if classification is None or classification["deleted"]:
        raise EntityNotFound(CLASSIFICATION, name)
    return classification


def list_tags(connection: Connection, parent: str | None, query: ListQuery) -> Page:
    """GET /tags: all tags, or those of the classification `parent` names (none if unknown)."""
    if parent is not None:
        classification = repository.classifications.get_by_fqn(
            connection, CLASSIFICATIONS.lookup_fqn(parent)
        )
        in_parent = repository.in_classification(classification["id"] if classification else "")
        query = replace(query, filters=[*query.filters, in_parent])
    return list_page(connection, TAGS, query)


CLASSIFICATIONS: Final = Classifications()
TAGS: Final = Tags()
