"""Wire models of the ML model resource, spelled as OpenMetadata's JSON schemas
(entity/data/mlmodel.json, api/data/createMlModel.json)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AnyUrl, Field, TypeAdapter

from mlmodel_emulator.common.api import (
    ApiModel,
    ChangeDescription,
    EntityReference,
    ResponseModel,
    TagLabel,
)
from mlmodel_emulator.common.names import check_entity_name
from mlmodel_emulator.mlmodel_services.connections import MlModelServiceType

EntityName = Annotated[str, AfterValidator(check_entity_name)]
FullyQualifiedName = Annotated[str, Field(min_length=1, max_length=3072)]

_URL: TypeAdapter[AnyUrl] = TypeAdapter(AnyUrl)


def _check_url(value: str) -> str:
    """basic.json#/definitions/href: an absolute URI, kept as written."""
    _URL.validate_python(value)
    return value


Href = Annotated[str, AfterValidator(_check_url)]


class FeatureType(StrEnum):
    numerical = "numerical"
    categorical = "categorical"


class FeatureSourceDataType(StrEnum):
    integer = "integer"
    number = "number"
    string = "string"
    array = "array"
    date = "date"
    timestamp = "timestamp"
    object = "object"
    boolean = "boolean"


class FeatureSource(ApiModel):
    """mlmodel.json#/definitions/featureSource: where a feature's values come from."""

    name: EntityName | None = None
    data_type: FeatureSourceDataType | None = Field(default=None, alias="dataType")
    description: str | None = None
    fully_qualified_name: FullyQualifiedName | None = Field(
        default=None, alias="fullyQualifiedName"
    )
    data_source: EntityReference | None = Field(default=None, alias="dataSource")
    tags: list[TagLabel] | None = None


class MlFeature(ApiModel):
    """mlmodel.json#/definitions/mlFeature: one feature the model was trained on."""

    name: EntityName | None = None
    data_type: FeatureType | None = Field(default=None, alias="dataType")
    description: str | None = None
    fully_qualified_name: FullyQualifiedName | None = Field(
        default=None, alias="fullyQualifiedName"
    )
    feature_sources: list[FeatureSource] | None = Field(default=None, alias="featureSources")
    feature_algorithm: str | None = Field(default=None, alias="featureAlgorithm")
    tags: list[TagLabel] | None = None


class MlHyperParameter(ApiModel):
    """mlmodel.json#/definitions/mlHyperParameter."""

    name: str | None = None
    value: str | None = None
    description: str | None = None


class MlStore(ApiModel):
    """mlmodel.json#/definitions/mlStore: where the model lives."""

    storage: str | None = None
    image_repository: str | None = Field(default=None, alias="imageRepository")


class AccessDetails(ApiModel):
    """lifeCycle.json#/definitions/accessDetails."""

    timestamp: int
    accessed_by: EntityReference | None = Field(default=None, alias="accessedBy")
    accessed_by_a_process: str | None = Field(default=None, alias="accessedByAProcess")


class LifeCycle(ApiModel):
    """type/lifeCycle.json."""

    created: AccessDetails | None = None
    updated: AccessDetails | None = None
    accessed: AccessDetails | None = None


SourceHash = Annotated[str, Field(min_length=1, max_length=32)]


class CreateMlModel(ApiModel):
    """api/data/createMlModel.json."""

    name: EntityName = Field(description="Name of the model, unique within its service.")
    display_name: str | None = Field(default=None, alias="displayName")
    description: str | None = None
    # createMlModel.json: algorithm defaults to "mlmodel".
    algorithm: str = "mlmodel"
    ml_features: list[MlFeature] | None = Field(default=None, alias="mlFeatures")
    target: EntityName | None = None
    ml_hyper_parameters: list[MlHyperParameter] | None = Field(
        default=None, alias="mlHyperParameters"
    )
    dashboard: FullyQualifiedName | None = None
    ml_store: MlStore | None = Field(default=None, alias="mlStore")
    server: Href | None = None
    tags: list[TagLabel] | None = None
    owners: list[EntityReference] | None = None
    service: FullyQualifiedName = Field(description="FQN of the ML model service it is in.")
    extension: Any = None
    source_url: str | None = Field(default=None, alias="sourceUrl")
    domains: list[str] | None = None
    data_products: list[FullyQualifiedName] | None = Field(default=None, alias="dataProducts")
    life_cycle: LifeCycle | None = Field(default=None, alias="lifeCycle")
    source_hash: SourceHash | None = Field(default=None, alias="sourceHash")


class MlModelPatch(ApiModel):
    """The changeable fields of a patched model, validated as a create request's."""

    display_name: str | None = Field(default=None, alias="displayName")
    description: str | None = None
    algorithm: str | None = None
    ml_features: list[MlFeature] | None = Field(default=None, alias="mlFeatures")
    target: EntityName | None = None
    ml_hyper_parameters: list[MlHyperParameter] | None = Field(
        default=None, alias="mlHyperParameters"
    )
    dashboard: EntityReference | None = None
    ml_store: MlStore | None = Field(default=None, alias="mlStore")
    server: Href | None = None
    owners: list[EntityReference] | None = None
    tags: list[TagLabel] | None = None
    extension: Any = None
    source_url: str | None = Field(default=None, alias="sourceUrl")
    domains: list[EntityReference] | None = None
    data_products: list[EntityReference] | None = Field(default=None, alias="dataProducts")
    life_cycle: LifeCycle | None = Field(default=None, alias="lifeCycle")
    source_hash: SourceHash | None = Field(default=None, alias="sourceHash")
    # MlModel has no ingestion runner; the shared checks ask for one.
    ingestion_runner: None = Field(default=None, alias="ingestionRunner", exclude=True)


class MlModel(ResponseModel):
    """entity/data/mlmodel.json, as answered (null fields are left out)."""

    id: str
    name: str
    fullyQualifiedName: str
    displayName: str | None = None
    description: str | None = None
    algorithm: str
    mlFeatures: list[dict[str, Any]] | None = None
    mlHyperParameters: list[dict[str, Any]] | None = None
    target: str | None = None
    dashboard: EntityReference | None = None
    mlStore: dict[str, Any] | None = None
    server: str | None = None
    href: str
    owners: list[EntityReference] | None = None
    followers: list[EntityReference] | None = None
    tags: list[TagLabel] | None = None
    version: float = Field(description="0.1 at creation, +0.1 per change.")
    updatedAt: int = Field(description="Epoch milliseconds.")
    updatedBy: str
    service: EntityReference
    serviceType: MlModelServiceType | None = None
    changeDescription: ChangeDescription | None = None
    deleted: bool
    extension: Any = None
    sourceUrl: str | None = None
    domains: list[EntityReference] | None = None
    dataProducts: list[EntityReference] | None = None
    lifeCycle: dict[str, Any] | None = None
    sourceHash: str | None = None


class Paging(ResponseModel):
    before: str | None = None
    after: str | None = None
    total: int


class MlModelList(ResponseModel):
    data: list[MlModel]
    paging: Paging


class MlModelHistory(ResponseModel):
    """entityHistory.json: every version as JSON text, newest first."""

    entityType: Literal["mlmodel"]
    versions: list[str]


class DeleteStale(ApiModel):
    """What DELETE /deleteStale names: the scope (a service) and the models still seen in
    it; the others are deleted."""

    scope_fqn: FullyQualifiedName = Field(alias="scopeFqn")
    scope_entity_type: Literal["mlmodelService", "service"] = Field(
        default="service", alias="scopeEntityType"
    )
    seen_fqns: list[str] = Field(default_factory=list, alias="seenFqns")
    recursive: bool = False
    hard_delete: bool = Field(default=False, alias="hardDelete")
