"""Event subscriptions: /api/v1/events/subscriptions (EventSubscriptionResource), webhook
destinations only, delivered by subscriptions.dispatcher."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, cast
from urllib.parse import urlsplit

from sqlalchemy import Connection, Table

from mlmodel_emulator.auth.secrets import SecretCipher
from mlmodel_emulator.entities.kind import (
    DESCRIPTION,
    DISPLAY_NAME,
    DOMAINS,
    KINDS,
    OWNERS,
    Caller,
    Doc,
    Field,
    Kind,
    Prepared,
)
from mlmodel_emulator.entities.store import Store
from mlmodel_emulator.errors import BadRequest, ServerMisconfigured
from mlmodel_emulator.governance import references
from mlmodel_emulator.subscriptions import delivery, filters
from mlmodel_emulator.subscriptions.models import (
    EventSubscriptionRecord,
    EventSubscriptionVersionRecord,
)
from mlmodel_emulator.subscriptions.schemas import (
    CreateEventSubscription,
    Destination,
    EventSubscriptionPatch,
    WebhookAuth,
)

ENTITY_TYPE: Final = "eventSubscription"

STORE: Final = Store(
    cast(Table, EventSubscriptionRecord.__table__),
    versions=cast(Table, EventSubscriptionVersionRecord.__table__),
    any_conflict=True,
)

# createEventSubscription.json's defaults, which OpenMetadata stores when a request leaves
# them out (eventSubscription.json's own batchSize default, 100, is never used).
DEFAULT_BATCH_SIZE: Final = 10
DEFAULT_RETRIES: Final = 3
DEFAULT_POLL_INTERVAL: Final = 10


def _check_destination(destination: Destination) -> None:
    """What this server cannot deliver is refused, never accepted silently."""
    if destination.category != "External":
        raise BadRequest(
            f"Destination category {destination.category} is not supported: "
            "only External destinations are delivered"
        )
    if destination.type != "Webhook":
        raise BadRequest(
            f"Destination type {destination.type} is not supported: "
            "only Webhook destinations are delivered"
        )
    _check_no_others(destination)
    auth = destination.config.auth_type if destination.config else None
    if auth is not None:
        _check_auth(auth)
    endpoint = destination.config.endpoint if destination.config else None
    if not endpoint:
        raise BadRequest("A Webhook destination needs config.endpoint")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequest(f"config.endpoint {endpoint} is not an http or https URL")


# Stakeholder options of the client's models that a webhook has no use for.
_NOT_STORED: Final = ("notifyDownstream", "downstreamDepth")
_NOT_STORED_CONFIG: Final = ("receivers", "sendToAdmins", "sendToOwners", "sendToFollowers")


def _check_no_others(destination: Destination) -> None:
    """Taken when off: a webhook is sent to its endpoint and no one else."""
    config = destination.config
    asked = {
        "notifyDownstream": bool(destination.notify_downstream),
        "downstreamDepth": destination.downstream_depth is not None,
        "receivers": bool(config and config.receivers),
        "sendToAdmins": bool(config and config.send_to_admins),
        "sendToOwners": bool(config and config.send_to_owners),
        "sendToFollowers": bool(config and config.send_to_followers),
    }
    for name, on in asked.items():
        if on:
            raise BadRequest(
                f"Destination {name} is not supported: a Webhook destination is sent to its "
                "endpoint only"
            )


def _check_auth(auth: WebhookAuth) -> None:
    if auth.type == "oauth2":
        raise BadRequest(
            "Webhook authType oauth2 is not supported: only none and bearer are delivered"
        )
    if auth.type == "bearer" and not auth.secret_key:
        raise BadRequest("Webhook authType bearer needs secretKey")
    oauth2 = (auth.token_url, auth.client_id, auth.client_secret, auth.scope)
    if any(value is not None for value in oauth2) or (
        auth.type == "none" and auth.secret_key is not None
    ):
        raise BadRequest(f"Webhook authType {auth.type} takes no other field")


def _destinations(
    connection: Connection,
    requested: Sequence[Destination],
    stored: Doc | None,
    caller: Caller,
) -> list[Doc]:
    """The destinations as stored, each with its id: the one given, else the stored one at
    the same place when it sends to the same endpoint (so its delivery state carries on),
    else a new one. Status details are the delivery's, never the request's."""
    before_all = (stored or {}).get("destinations", [])
    result = []
    for index, destination in enumerate(requested):
        _check_destination(destination)
        doc = _bearer(destination.to_json_dict())
        for key in ("statusDetails", *_NOT_STORED):
            doc.pop(key, None)
        if "config" in doc:
            doc["config"] = {k: v for k, v in doc["config"].items() if k not in _NOT_STORED_CONFIG}
        if destination.id is None:
            before = before_all[index] if index < len(before_all) else None
            same = (
                before is not None
                and (before.get("config") or {}).get("endpoint") == (doc["config"]["endpoint"])
            )
            doc["id"] = before["id"] if before is not None and same else caller.ids.new()
        result.append(doc)
    ids = [doc["id"] for doc in result]
    if len(set(ids)) != len(ids):
        raise BadRequest("Destination ids must be unique")
    taken = delivery.taken_elsewhere(connection, ids, stored["id"] if stored else None)
    if taken:
        raise BadRequest(f"Destination id {taken[0]} belongs to another subscription")
    return result


def _checked_input(value: Any) -> Doc:
    doc: Doc = value.to_json_dict() if value is not None else {}
    filters.check_filters(doc.get("filters", []), doc.get("actions", []))
    return {"filters": doc.get("filters", [])}


def _checked_trigger(value: Any) -> Doc:
    trigger: Doc = value.to_json_dict() if value is not None else {"triggerType": "RealTime"}
    if trigger["triggerType"] != "RealTime":
        raise BadRequest(
            f"Trigger type {trigger['triggerType']} is not supported: only RealTime "
            "subscriptions are delivered"
        )
    return trigger


def _bearer(destination: Doc) -> Doc:
    """The pre-1.9 config.secretKey as the authType bearer that carries it since: the answer
    is then the webhook.json of the client, which has no secretKey."""
    config = destination.get("config") or {}
    if "secretKey" not in config:
        return destination
    if "authType" in config:
        raise BadRequest("Give a webhook's secret key in config.authType or config.secretKey")
    secret = config["secretKey"]
    rest = {key: value for key, value in config.items() if key != "secretKey"}
    return {**destination, "config": {**rest, "authType": {"type": "bearer", "secretKey": secret}}}


def _with_secrets(doc: Doc, transform: Any) -> Doc:
    destinations = []
    for destination in doc.get("destinations", []):
        config = destination.get("config") or {}
        if config.get("secretKey"):
            config = {**config, "secretKey": transform(config["secretKey"])}
        auth = config.get("authType") or {}
        if auth.get("secretKey"):
            config = {**config, "authType": {**auth, "secretKey": transform(auth["secretKey"])}}
        if config is not destination.get("config"):
            destination = {**destination, "config": config}
        destinations.append(destination)
    return {**doc, "destinations": destinations} if "destinations" in doc else doc


class EventSubscriptions(Kind[CreateEventSubscription]):
    entity_type = ENTITY_TYPE
    collection = "/v1/events/subscriptions"
    store = STORE
    create_model = CreateEventSubscription
    patch_model = EventSubscriptionPatch
    admin_only = True
    # EventSubscriptionResource deletes subscriptions outright (hardDelete=true).
    hard_delete_only = True
    fields = (
        DISPLAY_NAME,
        DESCRIPTION,
        OWNERS,
        Field("enabled"),
        Field("batchSize"),
        Field("alertType"),
        Field("trigger", record="json"),
        Field("filteringRules", record="json"),
        # Recorded as placeholders: the webhooks' secret keys never reach a changeDescription.
        Field("destinations", record="secret"),
        Field("provider"),
        Field("retries"),
        Field("pollInterval"),
        Field("input", record="json"),
        DOMAINS,
    )
    reference_fields = ("owners", "domains")
    # eventSubscription.json has no `deleted`.
    unanswered_fields = ("deleted",)

    def prepare(
        self, connection: Connection, request: CreateEventSubscription, caller: Caller
    ) -> Prepared:
        stored = self.store.get_by_fqn(connection, self.lookup_fqn(request.name))
        resources = request.resources or []
        filters.check_resources(resources, KINDS)
        destinations = _destinations(connection, request.destinations or [], stored, caller)
        owners = [owner.to_json_dict() for owner in request.owners or []]
        return self.named(
            request,
            links=[{"id": doc["id"]} for doc in destinations],
            owners=references.resolve_owners(connection, owners) if owners else None,
            enabled=True if request.enabled is None else request.enabled,
            batchSize=request.batch_size or DEFAULT_BATCH_SIZE,
            alertType=request.alert_type,
            trigger=_checked_trigger(request.trigger),
            filteringRules={"resources": resources},
            destinations=destinations,
            provider=request.provider or "user",
            retries=DEFAULT_RETRIES if request.retries is None else request.retries,
            pollInterval=(
                DEFAULT_POLL_INTERVAL if request.poll_interval is None else request.poll_interval
            ),
            input=_checked_input(request.input),
            domains=references.resolve_domains(connection, request.domains)
            if request.domains
            else None,
        )

    def save_links(self, connection: Connection, entity_id: str, links: list[Doc]) -> None:
        """Each new destination starts after the newest event, in this transaction."""
        delivery.sync_destinations(connection, entity_id, [link["id"] for link in links])

    def remove_links(self, connection: Connection, entity_ids: Sequence[str]) -> None:
        delivery.forget(connection, entity_ids)

    def expand(self, connection: Connection, docs: list[Doc], fields: frozenset[str]) -> list[Doc]:
        """Each destination with its delivery's status details; `disabled` while it or its
        subscription is (nothing is sent then)."""
        if not docs:
            return docs
        found = delivery.statuses(connection, [doc["id"] for doc in docs])
        return [
            {
                **doc,
                "destinations": [
                    _with_status(d, found.get(d["id"]), doc.get("enabled", True))
                    for d in doc.get("destinations", [])
                ],
            }
            for doc in docs
        ]

    def patched_value(
        self, connection: Connection, key: str, fields: Any, original: Doc, caller: Caller
    ) -> Any:
        if key == "owners":
            return references.patched_owners(connection, fields.owners)
        if key == "domains":
            return references.patched_domains(connection, fields.domains)
        if key == "destinations":
            result = _destinations(connection, fields.destinations or [], original, caller)
            self.save_links(connection, original["id"], [{"id": d["id"]} for d in result])
            return result
        if key == "trigger":
            return _checked_trigger(fields.trigger)
        if key == "input":
            return _checked_input(fields.input)
        if key == "filteringRules":
            resources = (fields.filtering_rules or {}).get("resources") or []
            if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
                raise BadRequest("filteringRules.resources must be a list of entity types")
            filters.check_resources(resources, KINDS)
            return {"resources": resources}
        return super().patched_value(connection, key, fields, original, caller)

    # The webhooks' secret keys: encrypted at rest, answered as given (OpenMetadata answers
    # them to whoever may read the subscription).

    def seal(self, doc: Doc, cipher: SecretCipher | None) -> Doc:
        assert cipher is not None
        return _with_secrets(_without_status(doc), cipher.encrypt)

    def open(self, doc: Doc, cipher: SecretCipher | None) -> Doc:
        assert cipher is not None
        try:
            opened = _with_secrets(_without_status(doc), cipher.decrypt)
        except ValueError as exc:
            raise ServerMisconfigured(str(exc)) from None
        # Documents written before authType (an imported state) answer in today's shape.
        if "destinations" not in opened:
            return opened
        return {**opened, "destinations": [_bearer(d) for d in opened["destinations"]]}

    def present(self, doc: Doc, cipher: SecretCipher | None, *, reveal: bool) -> Doc:
        """In clear, each destination with its status details: the delivery's (see
        expand), or, in a write's answer, what a new destination starts with."""
        initial = {"status": delivery.ACTIVE if doc.get("enabled", True) else delivery.DISABLED}
        found = {d["id"]: d.get("statusDetails") for d in doc.get("destinations", [])}
        opened = self.open(doc, cipher)
        return {
            **opened,
            "destinations": [
                {**d, "statusDetails": found.get(d["id"]) or initial}
                for d in opened.get("destinations", [])
            ],
        }


def _with_status(destination: Doc, status: Doc | None, enabled: bool) -> Doc:
    if status is None:
        return destination
    if not (enabled and destination.get("enabled", True)):
        status = {**status, "status": delivery.DISABLED}
    return {**destination, "statusDetails": status}


def _without_status(doc: Doc) -> Doc:
    """The delivery's status details live in its own table, never in the document."""
    if "destinations" not in doc:
        return doc
    return {
        **doc,
        "destinations": [
            {k: v for k, v in d.items() if k != "statusDetails"} for d in doc["destinations"]
        ],
    }


EVENT_SUBSCRIPTIONS: Final = EventSubscriptions()
