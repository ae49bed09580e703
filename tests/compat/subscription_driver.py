"""Drives /v1/events/subscriptions of a running server with the official openmetadata-ingestion
client, inside its venv: a webhook subscription made, read, listed and updated through
OpenMetadata(...), the ChangeEvent it delivers read with the client's model, then deleted.

The webhook receiver (tests/webhook_receiver.py, standard library only) runs in this process,
so the delivered body is parsed by the client's own ChangeEvent."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import importlib.metadata
import importlib.util
import json
import logging
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from client_driver import (
    ADMIN,
    BOT_TOKEN_ENV,
    TOKEN_ENV,
    Recorder,
    StepSkippedError,
    check,
    connection_config,
    expect_equal,
    mlflow_request,
)
from metadata.generated.schema.entity.events.authentication.webhookBearerAuth import (
    BearerAuth,
)
from metadata.generated.schema.entity.events.authentication.webhookBearerAuth import (
    Type as BearerType,
)
from metadata.generated.schema.entity.events.webhook import HttpMethod, Webhook
from metadata.generated.schema.entity.services.mlmodelService import MlModelService
from metadata.generated.schema.events.api.createEventSubscription import (
    CreateEventSubscription,
)
from metadata.generated.schema.events.eventSubscription import (
    AlertType,
    Destination,
    EventSubscription,
    SubscriptionCategory,
    SubscriptionType,
    Trigger,
    TriggerType,
)
from metadata.generated.schema.events.subscriptionStatus import Status, SubscriptionStatus
from metadata.generated.schema.type.basic import ProviderType
from metadata.generated.schema.type.changeEvent import ChangeEvent
from metadata.generated.schema.type.changeEventType import EventType
from metadata.ingestion.ometa.client import APIError
from metadata.ingestion.ometa.ometa_api import OpenMetadata

SUBSCRIPTION = "compat-webhook"
DESCRIPTION = "Webhook of the compatibility run"
UPDATED_DESCRIPTION = "Webhook of the compatibility run, updated"
SERVICE = "compat-subscribed"
MINIMAL = "compat-minimal"
LEGACY = "compat-legacy-secret"
STAKEHOLDERS = "compat-stakeholders-off"
RESOURCES = ["mlmodelService"]
HOOK_HEADERS = {"X-Compat": "subscriptions"}
HOOK_SECRET = "compat-secret"
HOOK_QUERY = {"source": "compat"}
DELIVERY_TIMEOUT_S = 60.0


def _load_receiver() -> Any:
    """tests/webhook_receiver.py, loaded by path: this interpreter does not have the project."""
    path = Path(__file__).resolve().parent.parent / "webhook_receiver.py"
    spec = importlib.util.spec_from_file_location("webhook_receiver", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Context:
    """State shared by the steps of one run."""

    host_port: str
    token: str
    receiver: Any
    recorder: Recorder
    om: OpenMetadata | None = None
    created: EventSubscription | None = None
    minimal: EventSubscription | None = None
    service: MlModelService | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def client(self) -> OpenMetadata:
        if self.om is None:
            raise StepSkippedError("the client was not constructed")
        return self.om

    def minimal_subscription(self) -> EventSubscription:
        if self.minimal is None:
            raise StepSkippedError(f"subscription {MINIMAL!r} was not created")
        return self.minimal

    def subscription(self) -> EventSubscription:
        if self.created is None:
            raise StepSkippedError(f"subscription {SUBSCRIPTION!r} was not created")
        return self.created


def create_request(endpoint: str, description: str) -> CreateEventSubscription:
    """A real-time webhook on ML model services, built from the client's own models."""
    return CreateEventSubscription(
        name=SUBSCRIPTION,
        displayName="Compat webhook",
        description=description,
        alertType=AlertType.Notification,
        trigger=Trigger(triggerType=TriggerType.RealTime),
        resources=RESOURCES,
        destinations=[
            Destination(
                category=SubscriptionCategory.External,
                type=SubscriptionType.Webhook,
                timeout=5,
                config=Webhook(
                    endpoint=endpoint,
                    headers=HOOK_HEADERS,
                    queryParams=HOOK_QUERY,
                    httpMethod=HttpMethod.POST,
                    authType=BearerAuth(type=BearerType.bearer, secretKey=HOOK_SECRET),
                ),
            )
        ],
        provider=ProviderType.user,
        retries=2,
        pollInterval=10,
    )


def check_subscription(ctx: Context, entity: EventSubscription, description: str) -> None:
    """What every read of the subscription must carry, in the client's types."""
    check(isinstance(entity, EventSubscription), f"not an EventSubscription: {type(entity)}")
    expect_equal(entity.name.root, SUBSCRIPTION, "name")
    fqn = entity.fullyQualifiedName.root if entity.fullyQualifiedName else None
    expect_equal(fqn, SUBSCRIPTION, "fullyQualifiedName")
    expect_equal(entity.displayName, "Compat webhook", "displayName")
    expect_equal(entity.description and entity.description.root, description, "description")
    expect_equal(entity.alertType, AlertType.Notification, "alertType")
    check(entity.trigger is not None, "trigger is missing")
    assert entity.trigger is not None
    expect_equal(entity.trigger.triggerType, TriggerType.RealTime, "trigger.triggerType")
    check(entity.filteringRules is not None, "filteringRules is missing")
    assert entity.filteringRules is not None
    expect_equal(entity.filteringRules.resources, RESOURCES, "filteringRules.resources")
    expect_equal(entity.enabled, True, "enabled")
    expect_equal(entity.provider, ProviderType.user, "provider")
    expect_equal(entity.retries, 2, "retries")
    expect_equal(entity.pollInterval, 10, "pollInterval")
    # Not sent: the server keeps createEventSubscription.json's default.
    expect_equal(entity.batchSize, 10, "batchSize")
    expect_equal(entity.updatedBy, ADMIN, "updatedBy")
    expected_href = f"{ctx.host_port}/v1/events/subscriptions/{entity.id.root}"
    expect_equal(str(entity.href.root) if entity.href else None, expected_href, "href")
    expect_equal(len(entity.destinations), 1, "number of destinations")
    destination = entity.destinations[0]
    check(destination.id is not None, "the destination has no id")
    expect_equal(destination.category, SubscriptionCategory.External, "destination.category")
    expect_equal(destination.type, SubscriptionType.Webhook, "destination.type")
    expect_equal(destination.timeout, 5, "destination.timeout")
    expect_equal(destination.readTimeout, 12, "destination.readTimeout")
    expect_equal(destination.enabled, True, "destination.enabled")
    config = destination.config
    check(isinstance(config, Webhook), f"destination.config is not a Webhook: {config!r}")
    assert isinstance(config, Webhook)
    expect_equal(str(config.endpoint), ctx.receiver.url, "destination.config.endpoint")
    expect_equal(config.headers, HOOK_HEADERS, "destination.config.headers")
    expect_equal(config.queryParams, HOOK_QUERY, "destination.config.queryParams")
    expect_equal(config.httpMethod, HttpMethod.POST, "destination.config.httpMethod")
    expect_equal(
        config.authType,
        BearerAuth(type=BearerType.bearer, secretKey=HOOK_SECRET),
        "destination.config.authType",
    )
    status = destination.statusDetails
    check(
        isinstance(status, SubscriptionStatus),
        f"destination.statusDetails is not a SubscriptionStatus: {status!r}",
    )
    assert isinstance(status, SubscriptionStatus)
    check(status.status in (Status.active, Status.awaitingRetry), f"status {status.status!r}")


def step_construct(ctx: Context) -> None:
    ctx.om = OpenMetadata(connection_config(ctx.host_port, ctx.token))
    check(ctx.om.health_check(), "health_check is False")


def step_create(ctx: Context) -> None:
    entity = ctx.client.create_or_update(create_request(ctx.receiver.url, DESCRIPTION))
    check_subscription(ctx, entity, DESCRIPTION)
    version = entity.version.root if entity.version else None
    expect_equal(version, 0.1, "version")
    exchange = ctx.recorder.exchanges[-1]
    expect_equal((exchange.method, exchange.status), ("PUT", 201), "create's method and status")
    ctx.created = entity


def step_get_by_name(ctx: Context) -> None:
    created = ctx.subscription()
    entity = ctx.client.get_by_name(EventSubscription, SUBSCRIPTION)
    check(entity is not None, f"get_by_name({SUBSCRIPTION!r}) is None")
    assert entity is not None
    check_subscription(ctx, entity, DESCRIPTION)
    expect_equal(entity.id, created.id, "id")
    expect_equal(
        entity.destinations[0].id, created.destinations[0].id, "destination id after a read"
    )


def step_get_by_id(ctx: Context) -> None:
    created = ctx.subscription()
    entity = ctx.client.get_by_id(EventSubscription, created.id)
    check(entity is not None, f"get_by_id({created.id.root}) is None")
    assert entity is not None
    check_subscription(ctx, entity, DESCRIPTION)
    expect_equal(entity.name.root, SUBSCRIPTION, "name")


def step_list_entities(ctx: Context) -> None:
    created = ctx.subscription()
    listed = ctx.client.list_entities(EventSubscription, limit=10)
    names = [entity.name.root for entity in listed.entities]
    expect_equal(names, [SUBSCRIPTION], "names listed")
    check_subscription(ctx, listed.entities[0], DESCRIPTION)
    expect_equal(listed.entities[0].id, created.id, "id listed")
    expect_equal(listed.total, 1, "paging.total")
    every = list(ctx.client.list_all_entities(EventSubscription, limit=1))
    expect_equal([entity.id for entity in every], [created.id], "list_all_entities")


def step_update(ctx: Context) -> None:
    created = ctx.subscription()
    entity = ctx.client.create_or_update(create_request(ctx.receiver.url, UPDATED_DESCRIPTION))
    check_subscription(ctx, entity, UPDATED_DESCRIPTION)
    expect_equal(entity.id, created.id, "id after the update")
    expect_equal(
        entity.destinations[0].id, created.destinations[0].id, "destination id after the update"
    )
    version = entity.version.root if entity.version else None
    expect_equal(version, 0.2, "version after the update")
    change = entity.changeDescription
    check(change is not None, "changeDescription is missing after the update")
    assert change is not None
    updated = [
        (item.name.root, item.oldValue, item.newValue) for item in change.fieldsUpdated or []
    ]
    expect_equal(updated, [("description", DESCRIPTION, UPDATED_DESCRIPTION)], "fieldsUpdated")
    exchange = ctx.recorder.exchanges[-1]
    expect_equal((exchange.method, exchange.status), ("PUT", 200), "update's method and status")
    ctx.created = entity


def step_delivers_change_event(ctx: Context) -> None:
    ctx.subscription()
    service = ctx.client.create_or_update(mlflow_request(SERVICE, "subscribed"))
    ctx.service = service
    received = ctx.receiver.wait_for_events(1, timeout=DELIVERY_TIMEOUT_S)
    expect_equal(len(received), 1, "number of events delivered")
    request = ctx.receiver.received[0]
    expect_equal(request.method, "POST", "webhook method")
    expect_equal(request.path, "/hook?source=compat", "webhook path and query")
    expect_equal(request.headers.get("X-Compat"), "subscriptions", "custom header")
    digest = hmac.new(HOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    expect_equal(request.headers.get("X-OM-Signature"), f"sha256={digest}", "signature")
    event = ChangeEvent.model_validate_json(request.body)
    expect_equal(event.eventType, EventType.entityCreated, "eventType")
    expect_equal(event.entityType, "mlmodelService", "entityType")
    expect_equal(event.entityId, service.id, "entityId")
    expect_equal(event.entityFullyQualifiedName, SERVICE, "entityFullyQualifiedName")
    expect_equal(event.userName, ADMIN, "userName")


def step_status_after_delivery(ctx: Context) -> None:
    created = ctx.subscription()
    entity = ctx.client.get_by_id(EventSubscription, created.id)
    check(entity is not None, "the subscription is gone")
    assert entity is not None
    status = entity.destinations[0].statusDetails
    check(isinstance(status, SubscriptionStatus), f"statusDetails {status!r}")
    assert isinstance(status, SubscriptionStatus)
    expect_equal(status.status, Status.active, "status after a delivery")
    check(status.lastSuccessfulAt is not None, "lastSuccessfulAt is missing after a delivery")


def step_delete(ctx: Context) -> None:
    created = ctx.subscription()
    ctx.client.delete(EventSubscription, created.id, hard_delete=True)
    exchange = ctx.recorder.exchanges[-1]
    expect_equal((exchange.method, exchange.status), ("DELETE", 200), "delete's status")
    expect_equal(ctx.client.get_by_id(EventSubscription, created.id), None, "get_by_id after")
    expect_equal(ctx.client.get_by_name(EventSubscription, SUBSCRIPTION), None, "by name after")
    listed = ctx.client.list_entities(EventSubscription)
    expect_equal(listed.entities, [], "listed after the delete")


def step_create_minimal(ctx: Context) -> None:
    """POST with only what the client's models require: every default left out is answered
    as the client's models give it."""
    request = CreateEventSubscription(
        name=MINIMAL,
        alertType=AlertType.Notification,
        resources=["all"],
        destinations=[
            Destination(
                category=SubscriptionCategory.External,
                type=SubscriptionType.Webhook,
                config=Webhook(endpoint=ctx.receiver.url),
            )
        ],
    )
    entity = ctx.client.create(request)
    exchange = ctx.recorder.exchanges[-1]
    expect_equal((exchange.method, exchange.status), ("POST", 201), "create's method and status")
    expect_equal(entity.enabled, request.enabled, "enabled")
    expect_equal(entity.batchSize, request.batchSize, "batchSize")
    expect_equal(entity.retries, request.retries, "retries")
    expect_equal(entity.pollInterval, request.pollInterval, "pollInterval")
    expect_equal(entity.provider, request.provider, "provider")
    check(entity.trigger is not None, "trigger is missing")
    assert entity.trigger is not None
    expect_equal(entity.trigger.triggerType, TriggerType.RealTime, "trigger.triggerType")
    destination = entity.destinations[0]
    template = Destination(category=SubscriptionCategory.External, type=SubscriptionType.Webhook)
    expect_equal(destination.timeout, template.timeout, "destination.timeout")
    expect_equal(destination.readTimeout, template.readTimeout, "destination.readTimeout")
    expect_equal(destination.enabled, template.enabled, "destination.enabled")
    config = destination.config
    check(isinstance(config, Webhook), f"destination.config is not a Webhook: {config!r}")
    assert isinstance(config, Webhook)
    expect_equal(config.httpMethod, HttpMethod.POST, "destination.config.httpMethod")
    expect_equal(config.authType, None, "destination.config.authType")
    ctx.minimal = entity


def step_patch(ctx: Context) -> None:
    """OpenMetadata.patch: the JSON patch the client computes disables the subscription."""
    source = ctx.minimal_subscription()
    destination = source.model_copy(deep=True)
    destination.enabled = False
    destination.description = None
    patched = ctx.client.patch(EventSubscription, source=source, destination=destination)
    check(patched is not None, "patch answered None")
    assert patched is not None
    expect_equal(patched.enabled, False, "enabled after the patch")
    version = patched.version.root if patched.version else None
    expect_equal(version, 0.2, "version after the patch")
    status = patched.destinations[0].statusDetails
    check(isinstance(status, SubscriptionStatus), f"statusDetails {status!r}")
    assert isinstance(status, SubscriptionStatus)
    expect_equal(status.status, Status.disabled, "status of a disabled subscription")
    ctx.minimal = patched


def step_versions(ctx: Context) -> None:
    """get_list_entity_versions and get_entity_version parse as the client's models."""
    entity = ctx.minimal_subscription()
    history = ctx.client.get_list_entity_versions(entity.id, EventSubscription)
    check(not isinstance(history, requests.Response), f"versions answered {history!r}")
    assert not isinstance(history, requests.Response)
    # Each version is the entity's JSON as a string, as OpenMetadata answers them.
    versions = [EventSubscription.model_validate_json(doc) for doc in history.versions]
    expect_equal([v.version.root if v.version else None for v in versions], [0.2, 0.1], "versions")
    expect_equal(versions[1].enabled, True, "enabled at 0.1")
    old = ctx.client.get_entity_version(EventSubscription, entity.id, "0.1")
    check(old is not None, "get_entity_version(0.1) is None")
    assert old is not None
    expect_equal(old.enabled, True, "enabled at 0.1")


def step_delete_default(ctx: Context) -> None:
    """delete() with the client's default hardDelete=false still removes it for good."""
    entity = ctx.minimal_subscription()
    ctx.client.delete(EventSubscription, entity.id)
    exchange = ctx.recorder.exchanges[-1]
    expect_equal((exchange.method, exchange.status), ("DELETE", 200), "delete's status")
    expect_equal(ctx.client.get_by_id(EventSubscription, entity.id), None, "get_by_id after")
    found = ctx.client.get_by_name(EventSubscription, MINIMAL, include="all")
    expect_equal(found, None, "get_by_name(include=all) after")


def step_legacy_secret_key(ctx: Context) -> None:
    """A body in the pre-1.9 shape (config.secretKey, which the client's Webhook cannot
    carry), sent through the client's REST layer: the answer still parses config as the
    client's Webhook, the secret in its bearer authType."""
    body = {
        "name": LEGACY,
        "alertType": "Notification",
        "resources": RESOURCES,
        "destinations": [
            {
                "category": "External",
                "type": "Webhook",
                "config": {"endpoint": ctx.receiver.url, "secretKey": HOOK_SECRET},
            }
        ],
    }
    answer = ctx.client.client.post("/events/subscriptions", data=json.dumps(body))
    entity = EventSubscription.model_validate(answer)
    config = entity.destinations[0].config
    check(isinstance(config, Webhook), f"destination.config is not a Webhook: {config!r}")
    assert isinstance(config, Webhook)
    expect_equal(
        config.authType,
        BearerAuth(type=BearerType.bearer, secretKey=HOOK_SECRET),
        "destination.config.authType",
    )
    ctx.client.delete(EventSubscription, entity.id, hard_delete=True)


def step_stakeholder_options_off(ctx: Context) -> None:
    """The client's stakeholder options, set to off, are taken (and read back as off)."""
    request = CreateEventSubscription(
        name=STAKEHOLDERS,
        alertType=AlertType.Notification,
        resources=RESOURCES,
        destinations=[
            Destination(
                category=SubscriptionCategory.External,
                type=SubscriptionType.Webhook,
                notifyDownstream=False,
                config=Webhook(
                    endpoint=ctx.receiver.url,
                    receivers=[],
                    sendToAdmins=False,
                    sendToOwners=False,
                    sendToFollowers=False,
                ),
            )
        ],
    )
    entity = ctx.client.create_or_update(request)
    destination = entity.destinations[0]
    expect_equal(destination.notifyDownstream, False, "notifyDownstream")
    config = destination.config
    check(isinstance(config, Webhook), f"destination.config is not a Webhook: {config!r}")
    assert isinstance(config, Webhook)
    expect_equal(
        (config.sendToAdmins, config.sendToOwners, config.sendToFollowers),
        (False, False, False),
        "sendToAdmins, sendToOwners, sendToFollowers",
    )
    ctx.client.delete(EventSubscription, entity.id, hard_delete=True)


def step_delete_missing(ctx: Context) -> None:
    try:
        ctx.client.delete(EventSubscription, uuid.uuid4(), hard_delete=True)
    except APIError as err:
        expect_equal(err.status_code, 404, "status of deleting a missing subscription")
    else:
        raise AssertionError("deleting a missing subscription did not raise")


STEPS: list[tuple[str, Callable[[Context], None]]] = [
    ("construct", step_construct),
    ("create_or_update_creates", step_create),
    ("get_by_name", step_get_by_name),
    ("get_by_id", step_get_by_id),
    ("list_entities", step_list_entities),
    ("create_or_update_updates", step_update),
    ("delivers_change_event", step_delivers_change_event),
    ("status_after_delivery", step_status_after_delivery),
    ("delete", step_delete),
    ("create_minimal_defaults", step_create_minimal),
    ("patch_disables", step_patch),
    ("versions", step_versions),
    ("delete_default_hard_delete_false", step_delete_default),
    ("legacy_secret_key_reads_as_bearer", step_legacy_secret_key),
    ("stakeholder_options_off", step_stakeholder_options_off),
    ("delete_missing_raises", step_delete_missing),
]


def run(host_port: str, token: str) -> dict[str, Any]:
    """Run every step and return the summary."""
    recorder = Recorder()
    recorder.install()
    receiver_module = _load_receiver()
    hook: AbstractContextManager[Any] = receiver_module.webhook_receiver()
    results: list[dict[str, Any]] = []
    with hook as receiver:
        ctx = Context(host_port=host_port, token=token, receiver=receiver, recorder=recorder)
        for name, step in STEPS:
            first = recorder.mark()
            outcome: dict[str, Any] = {"name": name}
            started = time.monotonic()
            try:
                step(ctx)
            except StepSkippedError as exc:
                outcome.update(status="skipped", error=str(exc))
            except Exception as exc:
                outcome.update(
                    status="error",
                    error=f"{type(exc).__name__}: {exc}",
                    traceback=traceback.format_exc(),
                )
            else:
                outcome["status"] = "ok"
            outcome["seconds"] = round(time.monotonic() - started, 3)
            if outcome["status"] == "error":
                outcome["http"] = [vars(e) for e in recorder.since(first)]
            results.append(outcome)
    return {
        "client_version": importlib.metadata.version("openmetadata-ingestion"),
        "host_port": host_port,
        "ok": all(r["status"] == "ok" for r in results),
        "steps": results,
    }


def main() -> int:
    """Parse arguments, run the steps, print and save the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host-port", required=True, help="hostPort, ending in /api")
    parser.add_argument("--summary", help="also write the JSON summary to this file")
    args = parser.parse_args()
    token = os.environ.get(TOKEN_ENV)
    if not token:
        parser.error(f"{TOKEN_ENV} must hold an admin's JWT")
    if not os.environ.get(BOT_TOKEN_ENV):
        parser.error(f"{BOT_TOKEN_ENV} must be set, as for client_driver.py")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    summary = run(args.host_port, token)
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as handle:
            handle.write(text)
    sys.stdout.write(text + "\n")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
