"""Wire models of event subscriptions (OpenMetadata 1.4+: events/api/createEventSubscription.json,
events/eventSubscription.json, entity/events/webhook.json), the subset this server delivers."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from mlmodel_emulator.common.api import ApiModel, ChangeDescription, EntityReference, ResponseModel
from mlmodel_emulator.common.names import check_entity_name
from mlmodel_emulator.governance.schemas import ProviderType

EntityName = Annotated[str, AfterValidator(check_entity_name)]


class AlertType(StrEnum):
    """eventSubscription.json#/definitions/alertType, the kinds that send change events."""

    Notification = "Notification"
    Observability = "Observability"


class TriggerType(StrEnum):
    """eventSubscription.json#/definitions/triggerType: Scheduled is parsed to be refused."""

    RealTime = "RealTime"
    Scheduled = "Scheduled"


class SubscriptionCategory(StrEnum):
    """eventSubscription.json#/definitions/subscriptionCategory."""

    Users = "Users"
    Teams = "Teams"
    Admins = "Admins"
    Assignees = "Assignees"
    Owners = "Owners"
    Mentions = "Mentions"
    Followers = "Followers"
    External = "External"


class SubscriptionType(StrEnum):
    """eventSubscription.json#/definitions/subscriptionType; only Webhook is delivered."""

    Webhook = "Webhook"
    Slack = "Slack"
    MsTeams = "MsTeams"
    GChat = "GChat"
    Email = "Email"
    ActivityFeed = "ActivityFeed"
    GovernanceWorkflowChangeEvent = "GovernanceWorkflowChangeEvent"


class HttpMethod(StrEnum):
    """webhook.json#/properties/httpMethod."""

    POST = "POST"
    PUT = "PUT"


class Effect(StrEnum):
    """eventFilterRule.json#/definitions/effect."""

    include = "include"
    exclude = "exclude"


class WebhookAuthType(StrEnum):
    """entity/events/authentication/*.json#/properties/type; oauth2 is parsed to be refused."""

    none = "none"
    bearer = "bearer"
    oauth2 = "oauth2"


class WebhookAuth(ApiModel):
    """webhook.json#/properties/authType (OpenMetadata 1.9+): webhookNoAuth.json,
    webhookBearerAuth.json or webhookOAuth2Config.json, told apart by `type`."""

    type: WebhookAuthType
    secret_key: str | None = Field(
        default=None,
        alias="secretKey",
        description="bearer: signs each body, X-OM-Signature: sha256=<hex HMAC-SHA256>.",
    )
    token_url: str | None = Field(default=None, alias="tokenUrl")
    client_id: str | None = Field(default=None, alias="clientId")
    client_secret: str | None = Field(default=None, alias="clientSecret")
    scope: str | None = None


class Webhook(ApiModel):
    """entity/events/webhook.json: where and how events are sent."""

    endpoint: str | None = Field(default=None, description="The URL each event is sent to.")
    secret_key: str | None = Field(
        default=None,
        alias="secretKey",
        description="Before OpenMetadata 1.9: signs each body, as authType bearer does.",
    )
    auth_type: WebhookAuth | None = Field(
        default=None,
        alias="authType",
        description='{"type": "bearer", "secretKey": ...} signs each body; {"type": "none"}.',
    )
    headers: dict[str, str] | None = Field(default=None, description="Added to every request.")
    query_params: dict[str, str | int | float | bool] | None = Field(
        default=None,
        alias="queryParams",
        description="Added to the endpoint's query string on every request.",
    )
    http_method: HttpMethod = Field(default=HttpMethod.POST, alias="httpMethod")
    # Who else is told, for the destinations of other categories: taken when off or empty
    # (the client's models carry them), refused otherwise, never stored.
    receivers: list[str] | None = None
    send_to_admins: bool | None = Field(default=None, alias="sendToAdmins")
    send_to_owners: bool | None = Field(default=None, alias="sendToOwners")
    send_to_followers: bool | None = Field(default=None, alias="sendToFollowers")


class Trigger(ApiModel):
    """eventSubscription.json#/definitions/trigger."""

    trigger_type: TriggerType = Field(alias="triggerType")
    schedule_info: str | None = Field(default=None, alias="scheduleInfo")
    cron_expression: str | None = Field(default=None, alias="cronExpression")


class SubscriptionStatus(ApiModel):
    """eventSubscription.json#/definitions/subscriptionStatus: kept by the delivery, never set
    by a request (a request that echoes it back is accepted and the value ignored)."""

    status: str | None = None
    last_successful_at: int | None = Field(default=None, alias="lastSuccessfulAt")
    last_failed_at: int | None = Field(default=None, alias="lastFailedAt")
    last_failed_status_code: int | None = Field(default=None, alias="lastFailedStatusCode")
    last_failed_reason: str | None = Field(default=None, alias="lastFailedReason")
    next_attempt: int | None = Field(default=None, alias="nextAttempt")
    timestamp: int | None = None


class Destination(ApiModel):
    """eventSubscription.json#/definitions/destination."""

    id: uuid.UUID | None = Field(
        default=None, description="Kept across updates; given when missing."
    )
    category: SubscriptionCategory
    type: SubscriptionType
    status_details: SubscriptionStatus | None = Field(default=None, alias="statusDetails")
    timeout: int = Field(default=10, ge=1, description="Connection timeout in seconds.")
    read_timeout: int = Field(default=12, ge=1, alias="readTimeout")
    enabled: bool = True
    config: Webhook | None = None
    # Lineage stakeholders (OpenMetadata 1.10+): taken when off, refused otherwise, never
    # stored.
    notify_downstream: bool | None = Field(default=None, alias="notifyDownstream")
    downstream_depth: int | None = Field(default=None, ge=1, alias="downstreamDepth")


class Argument(ApiModel):
    """eventSubscription.json#/definitions/argumentsInput/arguments."""

    name: str
    input: list[str] = []


class FilterInput(ApiModel):
    """eventSubscription.json#/definitions/argumentsInput."""

    name: str
    effect: Effect = Effect.include
    arguments: list[Argument] = []


class AlertFilteringInput(ApiModel):
    """eventSubscription.json#/definitions/alertFilteringInput."""

    filters: list[FilterInput] = []
    actions: list[FilterInput] = []


class _SubscriptionFields(ApiModel):
    display_name: str | None = Field(default=None, alias="displayName")
    description: str | None = None
    owners: list[EntityReference] | None = None
    enabled: bool | None = None
    batch_size: int | None = Field(default=None, ge=1, alias="batchSize")
    alert_type: AlertType | None = Field(default=None, alias="alertType")
    trigger: Trigger | None = None
    destinations: list[Destination] | None = None
    provider: ProviderType | None = None
    retries: int | None = Field(default=None, ge=0)
    poll_interval: int | None = Field(default=None, ge=0, alias="pollInterval")
    input: AlertFilteringInput | None = None
    domains: list[str] | None = None


class CreateEventSubscription(_SubscriptionFields):
    """events/api/createEventSubscription.json: the fields this server keeps."""

    name: EntityName
    alert_type: AlertType = Field(alias="alertType")
    resources: list[str] | None = Field(
        default=None, description='Entity types whose events are sent, or ["all"].'
    )


class EventSubscriptionPatch(_SubscriptionFields):
    """The changeable fields of a patched subscription, validated as a create request's."""

    domains: list[EntityReference] | None = None  # type: ignore[assignment]
    filtering_rules: dict[str, Any] | None = Field(default=None, alias="filteringRules")


# ---------------------------------------------------------------------------- responses


class SubscriptionStatusAnswer(ResponseModel):
    status: str
    lastSuccessfulAt: int | None = None
    lastFailedAt: int | None = None
    lastFailedStatusCode: int | None = None
    lastFailedReason: str | None = None
    nextAttempt: int | None = None
    timestamp: int | None = None


class WebhookAuthAnswer(ResponseModel):
    type: WebhookAuthType
    secretKey: str | None = None


class WebhookAnswer(ResponseModel):
    endpoint: str
    secretKey: str | None = None
    authType: WebhookAuthAnswer | None = None
    queryParams: dict[str, str | int | float | bool] | None = None
    headers: dict[str, str] | None = None
    httpMethod: HttpMethod


class DestinationAnswer(ResponseModel):
    id: str
    category: SubscriptionCategory
    type: SubscriptionType
    statusDetails: SubscriptionStatusAnswer
    timeout: int
    readTimeout: int
    enabled: bool
    config: WebhookAnswer


class FilteringRules(ResponseModel):
    resources: list[str]


class EventSubscription(ResponseModel):
    """events/eventSubscription.json, as answered."""

    id: str
    name: str
    fullyQualifiedName: str
    displayName: str | None = None
    description: str | None = None
    owners: list[EntityReference]
    enabled: bool
    batchSize: int
    alertType: AlertType
    trigger: dict[str, Any]
    filteringRules: FilteringRules
    destinations: list[DestinationAnswer]
    provider: ProviderType
    retries: int
    pollInterval: int
    input: dict[str, Any]
    domains: list[EntityReference]
    version: float = Field(description="0.1 at creation, +0.1 per change.")
    updatedAt: int = Field(description="Epoch milliseconds.")
    updatedBy: str
    href: str
    changeDescription: ChangeDescription | None = None


class Paging(ResponseModel):
    before: str | None = None
    after: str | None = None
    total: int


class EventSubscriptionList(ResponseModel):
    data: list[EventSubscription]
    paging: Paging


class FailedEvent(ResponseModel):
    """events/failedEvent.json: an event whose delivery used up its retries."""

    failingSubscriptionId: str
    changeEvent: dict[str, Any]
    reason: str
    source: str
    timestamp: int
