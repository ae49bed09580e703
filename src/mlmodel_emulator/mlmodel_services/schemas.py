"""Wire models of the ML model service resource, spelled as OpenMetadata's JSON schemas."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from mlmodel_emulator.common.api import (
    ApiModel,
    ChangeDescription,
    EntityReference,
    ResponseModel,
    Style,
    TagLabel,
)
from mlmodel_emulator.common.names import check_entity_name
from mlmodel_emulator.mlmodel_services.connections import (
    MlModelConnectionConfig,
    MlModelServiceType,
)

EntityName = Annotated[str, AfterValidator(check_entity_name)]


class MlModelConnectionRequest(ApiModel):
    """mlmodelService.json#/definitions/mlModelConnection, as a request carries it.

    `config` stays a plain object here: its class follows the request's serviceType, which
    the service layer applies (connections.parse_config).
    """

    config: dict[str, Any] | None = Field(
        default=None,
        description="One of the connection configs; `type` may be left out.",
    )


class CreateMlModelService(ApiModel):
    """api/services/createMlModelService.json."""

    name: EntityName = Field(description="Unique name; 1 to 256 characters, without '::'.")
    display_name: str | None = Field(default=None, alias="displayName")
    description: str | None = None
    service_type: MlModelServiceType = Field(alias="serviceType")
    connection: MlModelConnectionRequest | None = None
    tags: list[TagLabel] | None = None
    style: Style | None = None
    owners: list[EntityReference] | None = None
    data_products: list[str] | None = Field(default=None, alias="dataProducts")
    domains: list[str] | None = None
    ingestion_runner: EntityReference | None = Field(default=None, alias="ingestionRunner")


class MlModelServicePatch(ApiModel):
    """The changeable fields of a patched service, validated as a create request's."""

    display_name: str | None = Field(default=None, alias="displayName")
    description: str | None = None
    connection: MlModelConnectionRequest | None = None
    style: Style | None = None
    owners: list[EntityReference] | None = None
    tags: list[TagLabel] | None = None
    domains: list[EntityReference] | None = None
    data_products: list[EntityReference] | None = Field(default=None, alias="dataProducts")
    ingestion_runner: EntityReference | None = Field(default=None, alias="ingestionRunner")


class TestConnectionStepResult(ApiModel):
    """testConnectionResult.json#/definitions/testConnectionStepResult."""

    name: str
    mandatory: bool
    passed: bool
    message: str | None = None
    error_log: str | None = Field(default=None, alias="errorLog")


class TestConnectionResult(ApiModel):
    """connections/testConnectionResult.json: `steps` is required."""

    last_updated_at: int | None = Field(default=None, alias="lastUpdatedAt")
    status: Literal["Successful", "Failed", "Running"] | None = None
    steps: list[TestConnectionStepResult]


class MlModelConnection(ResponseModel):
    config: MlModelConnectionConfig | None = None


class MlModelService(ResponseModel):
    """entity/services/mlmodelService.json, as answered (null fields are left out)."""

    id: str
    name: str
    fullyQualifiedName: str
    serviceType: MlModelServiceType
    displayName: str | None = None
    description: str | None = None
    connection: MlModelConnection | None = None
    version: float = Field(description="0.1 at creation, +0.1 per change.")
    updatedAt: int = Field(description="Epoch milliseconds.")
    updatedBy: str
    href: str
    deleted: bool
    changeDescription: ChangeDescription | None = None
    style: Style | None = None
    owners: list[EntityReference] | None = None
    tags: list[TagLabel] | None = None
    domains: list[EntityReference] | None = None
    followers: list[EntityReference] | None = None
    dataProducts: list[EntityReference] | None = None
    pipelines: list[EntityReference] | None = None
    ingestionRunner: EntityReference | None = None
    testConnectionResult: dict[str, Any] | None = None


class Paging(ResponseModel):
    before: str | None = None
    after: str | None = None
    total: int


class MlModelServiceList(ResponseModel):
    data: list[MlModelService]
    paging: Paging


class EntityHistory(ResponseModel):
    """entityHistory.json: every version as JSON text, newest first."""

    entityType: Literal["mlmodelService"]
    versions: list[str]


class BulkResponse(ResponseModel):
    """bulkOperationResult.json#/definitions/response.

    For a success, `request` is the FQN, `status` 201 (created) or 200, and `message` one of
    entityCreated, entityUpdated, entityNoChange. For a failure, `request` is the item as
    sent, with the error's status and message.
    """

    request: Any = None
    message: str | None = None
    status: int | None = None


class BulkOperationResult(ResponseModel):
    """bulkOperationResult.json."""

    status: Literal["success", "partialSuccess", "failure", "running"] = Field(
        description="running only in the 202 answer of async=true, before any item is done."
    )
    numberOfRowsProcessed: int
    numberOfRowsPassed: int
    numberOfRowsFailed: int
    successRequest: list[BulkResponse] = []
    failedRequest: list[BulkResponse] = []


class ErrorMessage(ResponseModel):
    """Every error: the HTTP status again, and a message."""

    code: int
    message: str


class ChangeEvent(ResponseModel):
    """type/changeEvent.json, as a follower change answers it."""

    id: str
    eventType: Literal["entityUpdated"]
    entityType: Literal["mlmodelService"]
    entityId: str
    entityFullyQualifiedName: str
    previousVersion: float
    currentVersion: float
    userName: str
    timestamp: int = Field(description="Epoch milliseconds.")
    changeDescription: ChangeDescription
    incrementalChangeDescription: ChangeDescription
    entity: dict[str, Any] = Field(
        description="The service, without relationship fields, carrying this change."
    )


class DeleteEntityResponse(ResponseModel):
    """What DELETE /async/{id} answers with (202); poll /v1/jobs/{jobId} for the outcome."""

    jobId: str
    message: str
    entityName: str
    hardDelete: bool
    recursive: bool


class RestoreEntityResponse(ResponseModel):
    """What PUT /restore?async=true answers with (202); poll /v1/jobs/{jobId} for the outcome."""

    jobId: str
    message: str
