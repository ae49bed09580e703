"""Classifications and their tags: /api/v1/classifications and /api/v1/tags."""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection

from mlmodel_emulator.common.names import add_fqn
from mlmodel_emulator.entities.answers import reference
from mlmodel_emulator.entities.kind import (
    DESCRIPTION,
    DISPLAY_NAME,
    Caller,
    Children,
    Doc,
    Field,
    Kind,
    Prepared,
    Rule,
)
from mlmodel_emulator.errors import BadRequest, EntityNotFound
from mlmodel_emulator.governance import repository
from mlmodel_emulator.governance.schemas import CreateClassification, CreateTag

CLASSIFICATION: Final = "classification"
TAG: Final = "tag"


def tag_fqn(classification_fqn: str, tag_name: str) -> str:
    """FullyQualifiedName.add: the classification's FQN, a dot, the quoted tag name."""
    try:
        return add_fqn(classification_fqn, tag_name)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


# Fields every classification and tag has, with classification.json's and tag.json's defaults.
_FLAGS: Final = (
    Field("disabled", Rule.KEEP, default=False),
    Field("provider", Rule.KEEP, default="user"),
)


class Tags(Kind[CreateTag]):
    entity_type = TAG
    collection = "/v1/tags"
    store = repository.tags
    create_model = CreateTag
    admin_only = True
    keeps_history = False
    fields = (
        DISPLAY_NAME,
        DESCRIPTION,
        Field("style", Rule.KEEP, "json"),
        Field("classification", Rule.KEEP, None),
        *_FLAGS,
    )
    reference_fields = ("classification",)

    def lookup_fqn(self, name: str) -> str:
        # A tag is found by its FQN as given, as TagRepository does (no quoting).
        return name

    def prepare(self, connection: Connection, request: CreateTag, caller: Caller) -> Prepared:
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
            parent=classification,
        )

    def expand(self, connection: Connection, docs: list[Doc], fields: frozenset[str]) -> list[Doc]:
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


TAGS: Final = Tags()


class Classifications(Kind[CreateClassification]):
    entity_type = CLASSIFICATION
    collection = "/v1/classifications"
    store = repository.classifications
    create_model = CreateClassification
    admin_only = True
    keeps_history = False
    fields = (
        DISPLAY_NAME,
        DESCRIPTION,
        Field("mutuallyExclusive", Rule.KEEP, default=False),
        *_FLAGS,
    )
    # ClassificationResource deletes recursively: the tags go with their classification,
    # and a soft delete or a restore takes them along.
    children = (Children(TAG, "classification_id"),)
    deletes_children = True

    def prepare(
        self, connection: Connection, request: CreateClassification, caller: Caller
    ) -> Prepared:
        return self.named(
            request,
            mutuallyExclusive=request.mutually_exclusive,
            disabled=request.disabled,
            provider=request.provider,
        )


CLASSIFICATIONS: Final = Classifications()


def classification_by_name(connection: Connection, name: str) -> Doc:
    """A classification that is not deleted, by its name or FQN (404 otherwise)."""
    fqn = CLASSIFICATIONS.lookup_fqn(name)
    classification = repository.classifications.get_by_fqn(connection, fqn)
    if classification is None or classification["deleted"]:
        raise EntityNotFound(CLASSIFICATION, name)
    return classification
