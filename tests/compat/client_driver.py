"""Drives a running server with the official openmetadata-ingestion client, inside its venv."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import math
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from metadata.generated.schema.api.domains.createDomain import CreateDomainRequest
from metadata.generated.schema.api.services.createMlModelService import (
    CreateMlModelServiceRequest,
)
from metadata.generated.schema.api.teams.createUser import CreateUserRequest
from metadata.generated.schema.entity.domains.domain import Domain, DomainType
from metadata.generated.schema.entity.services.connections.metadata.openMetadataConnection import (
    AuthProvider,
    OpenMetadataConnection,
)
from metadata.generated.schema.entity.services.connections.mlmodel.mlflowConnection import (
    MlflowConnection,
)
from metadata.generated.schema.entity.services.connections.mlmodel.sageMakerConnection import (
    SageMakerConnection,
)
from metadata.generated.schema.entity.services.connections.mlmodel.sklearnConnection import (
    SklearnConnection,
)
from metadata.generated.schema.entity.services.connections.serviceConnection import (
    ServiceConnection,
)
from metadata.generated.schema.entity.services.connections.testConnectionDefinition import (
    TestConnectionDefinition,
)
from metadata.generated.schema.entity.services.mlmodelService import (
    MlModelConnection,
    MlModelService,
    MlModelServiceType,
)
from metadata.generated.schema.entity.teams.user import User
from metadata.generated.schema.metadataIngestion.mlmodelServiceMetadataPipeline import (
    MlModelServiceMetadataPipeline,
)
from metadata.generated.schema.metadataIngestion.workflow import (
    Source as WorkflowSource,
)
from metadata.generated.schema.metadataIngestion.workflow import SourceConfig
from metadata.generated.schema.security.client.openMetadataJWTClientConfig import (
    OpenMetadataJWTClientConfig,
)
from metadata.generated.schema.security.credentials.awsCredentials import AWSCredentials
from metadata.generated.schema.type.basic import Status
from metadata.generated.schema.type.bulkOperationResult import BulkOperationResult
from metadata.generated.schema.type.changeEvent import ChangeEvent
from metadata.generated.schema.type.entityHistory import EntityVersionHistory
from metadata.generated.schema.type.entityReference import EntityReference
from metadata.generated.schema.type.entityReferenceList import EntityReferenceList
from metadata.generated.schema.type.tagLabel import LabelType, State, TagLabel, TagSource
from metadata.ingestion.connections.test_connections import test_connection_steps
from metadata.ingestion.ometa.client import APIError
from metadata.ingestion.ometa.mixins.patch_mixin_utils import PatchOperation
from metadata.ingestion.ometa.ometa_api import OpenMetadata
from metadata.sdk import configure
from metadata.sdk.entities.base import AsyncJobResponse, BaseEntity

TOKEN_ENV = "MLMODEL_EMULATOR_TOKEN"
BOT_TOKEN_ENV = "MLMODEL_EMULATOR_BOT_TOKEN"
ADMIN = "admin"
BOT = "ingestion-bot"
BODY_LIMIT = 3000
RECORDED_HEADERS = ("Content-type", "If-Match")
# The answer headers steps check.
RECORDED_RESPONSE_HEADERS = ("Location",)
# What the server is expected to return for a password field read by a non-bot user.
PASSWORD_MASK = "*********"

MLFLOW = "compat-mlflow"
DOTTED = "compat.dotted"
SPECIAL = "compat spaced/slash Ünïcødé 模型"
SAGEMAKER = "compat-sagemaker"
SKLEARN = "compat-sklearn"
BULK_NEW = ("compat-bulk-1", "compat-bulk-2")
SAGEMAKER_SECRET = "not-a-real-secret"

OWNER = "compat-owner"
OWNER_EMAIL = "compat-owner@example.com"
DOMAIN = "compat-domain"
DOMAIN_DESCRIPTION = "Domain of the compatibility run"
GOVERNED = "compat-governed"
PII_SENSITIVE = "PII.Sensitive"
TIER1 = "Tier.Tier1"

WORKFLOW = "compat-workflow"
LIFECYCLE = "compat-lifecycle"
PATCHED = "compat-patched"
UNDESCRIBED = "compat-undescribed"
BACKGROUND = "compat-background"
BULK_BACKGROUND = "compat-bulk-background"
# The name in the Python example of Collate's "Create an ML Model Service" page.
SDK_NAME = "mlflow_svc"
# EntityRepository's text for a stale If-Match (PreconditionFailedException).
STALE_ENTITY = "The entity has been modified by another user. Please refresh and retry."

# The service types OpenMetadata has test connection definitions for, in name order.
TEST_CONNECTION_TYPES = ("Mlflow", "SageMaker", "VertexAI")

# The server's report on a background job (delete_async, restore_async), read with plain
# requests: the client has no method for it.
JOB_PATH = "/v1/jobs/{job_id}"
JOB_SUCCEEDED = "completed"
JOB_FINISHED = frozenset({JOB_SUCCEEDED, "failed"})
JOB_TIMEOUT_S = 30.0


class StepSkippedError(Exception):
    """A step cannot run because a step it depends on did not pass."""


@dataclass
class Exchange:
    """One HTTP request the client sent and the answer it got."""

    method: str
    url: str
    request_body: str
    status: int | None
    response_body: str
    # Only the headers steps check; the Authorization header stays out of the summary.
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorder:
    """Records every HTTP exchange made through ``requests`` while installed."""

    exchanges: list[Exchange] = field(default_factory=list)

    def mark(self) -> int:
        """A position to pass to ``since``."""
        return len(self.exchanges)

    def since(self, mark: int) -> list[Exchange]:
        """The exchanges recorded after ``mark``."""
        return self.exchanges[mark:]

    def install(self) -> None:
        """Wrap ``requests.Session.send`` so every exchange is recorded."""
        original = requests.Session.send
        recorder = self

        def send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
            body = request.body
            if isinstance(body, bytes):
                body = body.decode("utf-8", errors="replace")
            headers = {
                name: request.headers[name] for name in RECORDED_HEADERS if name in request.headers
            }
            try:
                response = original(session, request, **kwargs)
            except Exception as exc:
                recorder.exchanges.append(
                    Exchange(request.method, request.url, _clip(body), None, f"<{exc!r}>", headers)
                )
                raise
            recorder.exchanges.append(
                Exchange(
                    request.method,
                    request.url,
                    _clip(body),
                    response.status_code,
                    _clip(response.text),
                    headers,
                    {
                        name: response.headers[name]
                        for name in RECORDED_RESPONSE_HEADERS
                        if name in response.headers
                    },
                )
            )
            return response

        requests.Session.send = send  # type: ignore[method-assign]


def _clip(text: str | None) -> str:
    if text is None:
        return ""
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "...<clipped>"


@dataclass
class Context:
    """State shared by the steps of one run."""

    host_port: str
    token: str
    bot_token: str
    recorder: Recorder = field(default_factory=Recorder)
    om: OpenMetadata | None = None
    bot: OpenMetadata | None = None
    created: dict[str, MlModelService] = field(default_factory=dict)
    mlflow_v2: MlModelService | None = None
    owner: User | None = None
    domain_id: uuid.UUID | None = None
    governed: MlModelService | None = None
    lifecycle: MlModelService | None = None
    patched: MlModelService | None = None
    background: MlModelService | None = None
    sdk_service: MlModelService | None = None

    @property
    def client(self) -> OpenMetadata:
        """The constructed client; steps that need it depend on ``construct``."""
        if self.om is None:
            raise StepSkippedError("the client was not constructed")
        return self.om

    def bot_client(self) -> OpenMetadata:
        """A second client that signs in as ``ingestion-bot`` (it sees secrets in clear)."""
        if self.bot is None:
            self.bot = OpenMetadata(connection_config(self.host_port, self.bot_token))
        return self.bot

    def job_url(self, job_id: str) -> str:
        """Where the server reports on a background job."""
        return f"{self.host_port}{JOB_PATH.format(job_id=job_id)}"

    def governance(self) -> tuple[User, uuid.UUID]:
        """The user created by ``create_user`` and the id of the domain ``create_domain`` made.

        When ``create_domain`` failed only because its answer did not parse into the client's
        ``Domain`` model (that step reports it), the domain still exists: its id is then read
        from the raw JSON through the client's REST layer, so the service steps still run.
        """
        if self.owner is None:
            raise StepSkippedError(f"user {OWNER!r} was not created")
        if self.domain_id is None:
            try:
                raw = self.client.client.get(f"/domains/name/{quote(DOMAIN)}")
            except APIError as err:
                raise StepSkippedError(f"domain {DOMAIN!r} was not created: {err}") from err
            self.domain_id = uuid.UUID(raw["id"])
        return self.owner, self.domain_id

    def governed_service(self) -> MlModelService:
        """The service with owners, domains and tags created by ``governed_create``."""
        if self.governed is None:
            raise StepSkippedError(f"service {GOVERNED!r} was not created")
        return self.governed

    def entity(self, name: str) -> MlModelService:
        """A service created by an earlier step."""
        if name not in self.created:
            raise StepSkippedError(f"service {name!r} was not created")
        return self.created[name]


def connection_config(host_port: str, token: str) -> OpenMetadataConnection:
    """What an ingestion workflow gives ``OpenMetadata``: the API root and a JWT."""
    return OpenMetadataConnection(
        hostPort=host_port,
        authProvider=AuthProvider.openmetadata,
        securityConfig=OpenMetadataJWTClientConfig(jwtToken=token),
    )


def check(condition: bool, message: str) -> None:
    """Fail the current step with ``message`` unless ``condition`` holds."""
    if not condition:
        raise AssertionError(message)


def expect_equal(actual: Any, expected: Any, what: str) -> None:
    """Fail the current step unless ``actual == expected``."""
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def mlflow_request(name: str, description: str) -> CreateMlModelServiceRequest:
    """Create request for an Mlflow service with a fixed connection."""
    return CreateMlModelServiceRequest(
        name=name,
        serviceType=MlModelServiceType.Mlflow,
        description=description,
        connection=MlModelConnection(
            config=MlflowConnection(
                trackingUri="http://localhost:5000", registryUri="http://localhost:8080"
            )
        ),
    )


def sklearn_request(name: str) -> CreateMlModelServiceRequest:
    """Create request for a Sklearn service whose config is sent as ``{}``."""
    return CreateMlModelServiceRequest(
        name=name,
        serviceType=MlModelServiceType.Sklearn,
        connection=MlModelConnection(config=SklearnConnection()),
    )


def check_new_entity(ctx: Context, entity: MlModelService, name: str, fqn: str) -> None:
    """Assertions every freshly created service must satisfy."""
    expect_equal(entity.name.root, name, "name")
    fully_qualified = entity.fullyQualifiedName.root if entity.fullyQualifiedName else None
    expect_equal(fully_qualified, fqn, "fullyQualifiedName")
    expect_equal(entity.version and entity.version.root, 0.1, "version")
    expect_equal(entity.updatedBy, ADMIN, "updatedBy")
    expect_equal(entity.deleted, False, "deleted")
    check(isinstance(entity.id.root, uuid.UUID), f"id is not a UUID: {entity.id!r}")
    now_ms = int(time.time() * 1000)
    updated_at = entity.updatedAt.root if entity.updatedAt else None
    check(
        updated_at is not None and abs(now_ms - updated_at) < 120_000,
        f"updatedAt {updated_at!r} is not close to now ({now_ms})",
    )
    expected_href = f"{ctx.host_port}/v1/services/mlmodelServices/{entity.id.root}"
    expect_equal(str(entity.href.root) if entity.href else None, expected_href, "href")


def dump(entity: MlModelService | None) -> dict[str, Any] | None:
    """JSON-compatible dump used to compare two reads of the same entity."""
    if entity is None:
        return None
    return entity.model_dump(mode="json", exclude_none=True, mask_secrets=False)


def tag_label(tag_fqn: str) -> TagLabel:
    """A manually applied, confirmed classification tag, as a create request carries it."""
    return TagLabel(
        tagFQN=tag_fqn,
        source=TagSource.Classification,
        labelType=LabelType.Manual,
        state=State.Confirmed,
    )


def governed_request(owner: User, tag_fqns: list[str]) -> CreateMlModelServiceRequest:
    """Create request for an Mlflow service with a user owner, the domain and tags."""
    request = mlflow_request(GOVERNED, "governed")
    request.owners = EntityReferenceList([EntityReference(id=owner.id, type="user")])
    request.domains = [DOMAIN]
    request.tags = [tag_label(fqn) for fqn in tag_fqns]
    return request


def check_owners(entity: MlModelService, owner: User, what: str) -> None:
    """``owners`` is exactly the one user reference, resolved."""
    refs = entity.owners.root if entity.owners else None
    check(refs is not None, f"{what}: owners is missing")
    assert refs is not None
    expect_equal(
        [(ref.id, ref.type, ref.name) for ref in refs],
        [(owner.id, "user", OWNER)],
        f"{what}: owners (id, type, name)",
    )
    expect_equal(refs[0].fullyQualifiedName, OWNER, f"{what}: owners[0].fullyQualifiedName")
    expect_equal(refs[0].deleted, False, f"{what}: owners[0].deleted")


def check_domains(entity: MlModelService, domain_id: uuid.UUID, what: str) -> None:
    """``domains`` is exactly the one domain reference, resolved."""
    refs = entity.domains.root if entity.domains else None
    check(refs is not None, f"{what}: domains is missing")
    assert refs is not None
    expect_equal(
        [(ref.id.root, ref.type, ref.name, ref.fullyQualifiedName) for ref in refs],
        [(domain_id, "domain", DOMAIN, DOMAIN)],
        f"{what}: domains (id, type, name, fullyQualifiedName)",
    )


def check_tags(entity: MlModelService, tag_fqns: list[str], what: str) -> None:
    """``tags`` holds exactly these classification labels, with name and description."""
    labels = entity.tags
    check(labels is not None, f"{what}: tags is missing")
    assert labels is not None
    expect_equal(
        sorted(label.tagFQN.root for label in labels), sorted(tag_fqns), f"{what}: tagFQNs"
    )
    for label in labels:
        fqn = label.tagFQN.root
        expect_equal(label.name, fqn.rsplit(".", 1)[-1], f"{what}: name of {fqn}")
        description = label.description.root if label.description else None
        check(bool(description), f"{what}: description of {fqn} is empty: {description!r}")
        expect_equal(label.source, TagSource.Classification, f"{what}: source of {fqn}")
        expect_equal(label.labelType, LabelType.Manual, f"{what}: labelType of {fqn}")
        expect_equal(label.state, State.Confirmed, f"{what}: state of {fqn}")


def fetch(
    om: OpenMetadata,
    name: str,
    *,
    fields: list[str] | None = None,
    include: str | None = None,
) -> MlModelService:
    """get_by_name that must find the service."""
    entity = om.get_by_name(MlModelService, name, fields=fields, include=include)
    check(entity is not None, f"get_by_name({name!r}, fields={fields}, include={include}) is None")
    assert entity is not None
    return entity


def tenths(entity: MlModelService) -> int:
    """The entity's version in tenths (0.3 is 3), so versions compare exactly."""
    check(entity.version is not None, f"{entity.name.root}: version is missing")
    assert entity.version is not None
    return round(entity.version.root * 10)


def weak_etag(entity: MlModelService) -> str:
    """The If-Match value for this read: ``W/"<version>"``, as the client's own helpers build it."""
    assert entity.version is not None
    return f'W/"{entity.version.root}"'


def secret_of(entity: MlModelService) -> str | None:
    """The SageMaker secret exactly as the server answered it."""
    config = entity.connection.config if entity.connection else None
    check(isinstance(config, SageMakerConnection), f"connection.config is {config!r}")
    assert isinstance(config, SageMakerConnection)
    secret = config.awsConfig.awsSecretAccessKey
    return secret.get_secret_value(skip_secret_manager=True) if secret else None


def region_of(entity: MlModelService) -> str | None:
    """The SageMaker connection's awsRegion."""
    config = entity.connection.config if entity.connection else None
    assert isinstance(config, SageMakerConnection)
    return config.awsConfig.awsRegion


def names(entities: Iterable[MlModelService]) -> list[str]:
    """The names, in the order given."""
    return [entity.name.root for entity in entities]


def calls(exchanges: list[Exchange]) -> list[tuple[str, str, int | None]]:
    """(method, path below hostPort, status) of each exchange."""
    return [(e.method, e.url.split("/api", 1)[1], e.status) for e in exchanges]


def patch_paths(exchange: Exchange) -> list[str]:
    """The JSON Patch operations of a PATCH request, as "op path", sorted."""
    operations = json.loads(exchange.request_body)
    check(isinstance(operations, list), f"PATCH body is not a JSON array: {operations!r}")
    return sorted(f"{op['op']} {op['path']}" for op in operations)


def only_patch(ctx: Context, mark: int) -> Exchange:
    """The one PATCH sent since ``mark``."""
    sent = [e for e in ctx.recorder.since(mark) if e.method == "PATCH"]
    expect_equal(len(sent), 1, "PATCH requests sent")
    expect_equal(
        sent[0].request_headers.get("Content-type"),
        "application/json-patch+json",
        "PATCH Content-type",
    )
    return sent[0]


def history_of(history: EntityVersionHistory) -> list[MlModelService]:
    """The versions of an EntityVersionHistory, whether sent as JSON text or as objects."""
    return [
        MlModelService.model_validate_json(item)
        if isinstance(item, str)
        else MlModelService.model_validate(item)
        for item in history.versions
    ]


def changes(entity: MlModelService) -> tuple[float | None, list[tuple[str | None, Any, Any]]]:
    """changeDescription as (previousVersion, [(field, old, new) of fieldsUpdated])."""
    change = entity.changeDescription
    check(change is not None, "changeDescription is missing")
    assert change is not None
    previous = change.previousVersion.root if change.previousVersion else None
    updated = [
        (fc.name.root if fc.name else None, fc.oldValue, fc.newValue)
        for fc in change.fieldsUpdated or []
    ]
    return previous, updated


def wait_for_job(ctx: Context, job_id: str) -> dict[str, Any]:
    """Poll the server's job endpoint with plain requests until the job has finished."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    headers = {"Authorization": f"Bearer {ctx.token}"}
    while True:
        response = requests.get(ctx.job_url(job_id), headers=headers, timeout=10)
        expect_equal(response.status_code, 200, f"GET job {job_id}: {response.text}")
        job: dict[str, Any] = response.json()
        expect_equal(job.get("jobId"), job_id, "job jobId")
        if job.get("status") in JOB_FINISHED:
            return job
        check(time.monotonic() < deadline, f"job {job_id} did not finish: {job}")
        time.sleep(0.05)


def walk_pages(
    list_page: Callable[..., Any], limit: int
) -> tuple[list[list[str]], list[list[str]]]:
    """Page forward through ``list_page`` with ``after``, then back from the last page with
    ``before``. Returns the forward pages and the backward pages, in the order they came."""
    forward: list[list[str]] = []
    after: str | None = None
    while True:
        page = list_page(limit=limit, after=after)
        if not forward:
            expect_equal(page.before, None, "paging.before on the first page")
        forward.append(names(page.entities))
        if not page.after:
            break
        after = page.after
        check(len(forward) < 50, "paging forward does not terminate")
    backward: list[list[str]] = []
    before = page.before
    while before:
        page = list_page(limit=limit, before=before)
        check(bool(page.after), "paging.after is missing on a page reached with before")
        backward.append(names(page.entities))
        before = page.before
        check(len(backward) < 50, "paging backward does not terminate")
    return forward, backward


def check_walk(forward: list[list[str]], backward: list[list[str]], every: list[str]) -> None:
    """The forward pages hold every name once, in order; the backward pages retrace them."""
    check(len(forward) >= 3, f"expected several pages, got {forward}")
    expect_equal([name for page in forward for name in page], every, "names across pages")
    expect_equal(backward, forward[-2::-1], "pages walked back with before")


# --- steps -------------------------------------------------------------------------------


def step_construct(ctx: Context) -> str:
    """The constructor's version validation does not raise."""
    ctx.om = OpenMetadata(connection_config(ctx.host_port, ctx.token))
    return f"server version {ctx.om.get_server_version()}"


def step_health_check(ctx: Context) -> None:
    """health_check() is True."""
    expect_equal(ctx.client.health_check(), True, "health_check()")


def step_create_mlflow(ctx: Context) -> None:
    """POST an Mlflow service."""
    entity = ctx.client.create(mlflow_request(MLFLOW, "first"))
    ctx.created[MLFLOW] = entity
    check_new_entity(ctx, entity, MLFLOW, MLFLOW)
    expect_equal(entity.serviceType, MlModelServiceType.Mlflow, "serviceType")
    expect_equal(entity.description, "first", "description")
    config = entity.connection.config if entity.connection else None
    check(isinstance(config, MlflowConnection), f"connection.config is {config!r}")
    assert isinstance(config, MlflowConnection)
    expect_equal(config.trackingUri, "http://localhost:5000", "trackingUri")
    expect_equal(config.registryUri, "http://localhost:8080", "registryUri")


def step_create_dotted_name(ctx: Context) -> None:
    """A name with a dot gets a quoted FQN and resolves by FQN and by plain name."""
    entity = ctx.client.create(mlflow_request(DOTTED, "dotted"))
    ctx.created[DOTTED] = entity
    check_new_entity(ctx, entity, DOTTED, f'"{DOTTED}"')
    by_fqn = ctx.client.get_by_name(MlModelService, f'"{DOTTED}"')
    expect_equal(by_fqn and by_fqn.id, entity.id, "get_by_name(quoted FQN).id")
    by_name = ctx.client.get_by_name(MlModelService, DOTTED)
    expect_equal(by_name and by_name.id, entity.id, "get_by_name(unquoted name).id")


def step_create_special_name(ctx: Context) -> None:
    """A name with a space, a slash and non-ASCII letters round-trips."""
    entity = ctx.client.create(sklearn_request(SPECIAL))
    ctx.created[SPECIAL] = entity
    check_new_entity(ctx, entity, SPECIAL, SPECIAL)
    fetched = ctx.client.get_by_name(MlModelService, SPECIAL)
    check(fetched is not None, "get_by_name returned None")
    assert fetched is not None
    expect_equal(fetched.id, entity.id, "get_by_name().id")
    expect_equal(fetched.name.root, SPECIAL, "get_by_name().name")


def step_create_duplicate(ctx: Context) -> None:
    """POST of an existing name raises APIError 409."""
    ctx.entity(MLFLOW)
    try:
        ctx.client.create(mlflow_request(MLFLOW, "first"))
    except APIError as err:
        expect_equal(err.status_code, 409, "APIError.status_code")
        expect_equal(err.code, 409, "APIError.code (body)")
        expect_equal(str(err), "Entity already exists", "APIError message")
        return
    raise AssertionError("create of an existing name did not raise APIError")


def step_put_update(ctx: Context) -> None:
    """PUT with a new description bumps the version to 0.2."""
    original = ctx.entity(MLFLOW)
    entity = ctx.client.create_or_update(mlflow_request(MLFLOW, "second"))
    expect_equal(entity.id, original.id, "id")
    expect_equal(entity.version and entity.version.root, 0.2, "version")
    expect_equal(entity.description, "second", "description")
    expect_equal(entity.updatedBy, ADMIN, "updatedBy")
    change = entity.changeDescription
    check(change is not None, "changeDescription is missing")
    assert change is not None
    expect_equal(change.previousVersion and change.previousVersion.root, 0.1, "previousVersion")
    updated = [
        (fc.name.root if fc.name else None, fc.oldValue, fc.newValue)
        for fc in change.fieldsUpdated or []
    ]
    expect_equal(updated, [("description", "first", "second")], "changeDescription.fieldsUpdated")
    ctx.mlflow_v2 = entity


def step_put_identical(ctx: Context) -> None:
    """PUT of the identical request keeps the version, updatedAt and updatedBy."""
    if ctx.mlflow_v2 is None:
        raise StepSkippedError("put_update did not pass")
    before = ctx.mlflow_v2
    entity = ctx.client.create_or_update(mlflow_request(MLFLOW, "second"))
    expect_equal(entity.id, before.id, "id")
    expect_equal(entity.version and entity.version.root, 0.2, "version")
    expect_equal(entity.description, "second", "description")
    expect_equal(entity.updatedAt, before.updatedAt, "updatedAt")
    expect_equal(entity.updatedBy, before.updatedBy, "updatedBy")


def step_get_by_name(ctx: Context) -> None:
    """get_by_name without fields, with fields=["*"] and with fields=["owners","tags"]."""
    original = ctx.entity(MLFLOW)
    plain = ctx.client.get_by_name(MlModelService, MLFLOW)
    check(plain is not None, "get_by_name returned None")
    assert plain is not None
    expect_equal(plain.id, original.id, "id")
    expect_equal(plain.version and plain.version.root, 0.2, "version")
    expect_equal(plain.description, "second", "description")
    expect_equal(plain.owners, None, "owners without fields=")
    for fields in (["*"], ["owners", "tags"]):
        entity = ctx.client.get_by_name(MlModelService, MLFLOW, fields=fields)
        check(entity is not None, f"get_by_name(fields={fields}) returned None")
        assert entity is not None
        expect_equal(entity.id, original.id, f"id (fields={fields})")
        expect_equal(entity.owners and entity.owners.root, [], f"owners (fields={fields})")
        expect_equal(entity.tags, [], f"tags (fields={fields})")


def step_get_by_id(ctx: Context) -> None:
    """get_by_id returns what get_by_name returns."""
    original = ctx.entity(MLFLOW)
    for fields in (None, ["*"]):
        by_id = ctx.client.get_by_id(MlModelService, original.id, fields=fields)
        by_name = ctx.client.get_by_name(MlModelService, MLFLOW, fields=fields)
        check(by_id is not None, f"get_by_id(fields={fields}) returned None")
        expect_equal(dump(by_id), dump(by_name), f"get_by_id vs get_by_name (fields={fields})")


def step_get_missing_name(ctx: Context) -> None:
    """get_by_name of a missing name is None."""
    expect_equal(ctx.client.get_by_name(MlModelService, "compat-missing"), None, "get_by_name")


def step_get_missing_id(ctx: Context) -> None:
    """get_by_id of a missing id is None."""
    expect_equal(ctx.client.get_by_id(MlModelService, str(uuid.uuid4())), None, "get_by_id")


def step_create_sagemaker(ctx: Context) -> None:
    """A SageMaker service with awsConfig; the secret is not echoed in clear."""
    request = CreateMlModelServiceRequest(
        name=SAGEMAKER,
        serviceType=MlModelServiceType.SageMaker,
        connection=MlModelConnection(
            config=SageMakerConnection(
                awsConfig=AWSCredentials(
                    awsRegion="eu-west-1",
                    awsAccessKeyId="AKIACOMPAT",
                    awsSecretAccessKey=SAGEMAKER_SECRET,
                )
            )
        ),
    )
    entity = ctx.client.create(request)
    ctx.created[SAGEMAKER] = entity
    check_new_entity(ctx, entity, SAGEMAKER, SAGEMAKER)
    expect_equal(entity.serviceType, MlModelServiceType.SageMaker, "serviceType")
    config = entity.connection.config if entity.connection else None
    check(isinstance(config, SageMakerConnection), f"connection.config is {config!r}")
    assert isinstance(config, SageMakerConnection)
    expect_equal(config.awsConfig.awsRegion, "eu-west-1", "awsRegion")
    expect_equal(config.awsConfig.awsAccessKeyId, "AKIACOMPAT", "awsAccessKeyId")
    secret = config.awsConfig.awsSecretAccessKey
    expect_equal(
        secret.get_secret_value(skip_secret_manager=True) if secret else None,
        PASSWORD_MASK,
        "awsSecretAccessKey as read by an admin",
    )


def step_create_sklearn(ctx: Context) -> None:
    """A Sklearn service whose config is {}."""
    entity = ctx.client.create(sklearn_request(SKLEARN))
    ctx.created[SKLEARN] = entity
    check_new_entity(ctx, entity, SKLEARN, SKLEARN)
    expect_equal(entity.serviceType, MlModelServiceType.Sklearn, "serviceType")
    config = entity.connection.config if entity.connection else None
    check(isinstance(config, SklearnConnection), f"connection.config is {config!r}")


def step_bulk(ctx: Context) -> None:
    """bulk_create_or_update of 2 new and 1 existing service, synchronously."""
    ctx.entity(DOTTED)
    om = ctx.client
    requests_ = [
        mlflow_request(BULK_NEW[0], "bulk one"),
        sklearn_request(BULK_NEW[1]),
        mlflow_request(DOTTED, "dotted, updated in bulk"),
    ]
    # The aggregate the client returns never carries numberOfRowsPassed and swallows HTTP
    # errors, so the server's own BulkOperationResult (parsed by the client) is captured too.
    server_results: list[BulkOperationResult] = []
    execute = om._execute_bulk_operation

    def capture(*args: Any, **kwargs: Any) -> BulkOperationResult:
        result = execute(*args, **kwargs)
        server_results.append(result)
        return result

    om._execute_bulk_operation = capture  # type: ignore[method-assign]
    try:
        result = om.bulk_create_or_update(requests_, use_async=False)
    finally:
        del om._execute_bulk_operation
    created = {name: om.get_by_name(MlModelService, name) for name in BULK_NEW}
    ctx.created.update({name: entity for name, entity in created.items() if entity is not None})
    failed = [(r.status, r.message) for r in result.failedRequest or []]
    expect_equal(failed, [], "failedRequest")
    expect_equal(result.status, Status.success, "status")
    expect_equal(result.numberOfRowsProcessed.root, 3, "numberOfRowsProcessed")
    expect_equal(result.numberOfRowsFailed.root, 0, "numberOfRowsFailed")
    expect_equal(len(result.successRequest or []), 3, "len(successRequest)")
    expect_equal(len(server_results), 1, "bulk requests sent")
    server = server_results[0]
    expect_equal(server.status, Status.success, "server status")
    expect_equal(server.numberOfRowsPassed.root, 3, "server numberOfRowsPassed")
    expect_equal(server.numberOfRowsProcessed.root, 3, "server numberOfRowsProcessed")
    expect_equal(server.numberOfRowsFailed.root, 0, "server numberOfRowsFailed")
    for name, entity in created.items():
        check(entity is not None, f"{name} not found after bulk")
        assert entity is not None
        check_new_entity(ctx, entity, name, name)
    dotted = om.get_by_name(MlModelService, f'"{DOTTED}"')
    check(dotted is not None, f"{DOTTED} not found after bulk")
    assert dotted is not None
    expect_equal(dotted.id, ctx.created[DOTTED].id, "existing id")
    expect_equal(dotted.version and dotted.version.root, 0.2, "existing version after bulk")
    expect_equal(dotted.description, "dotted, updated in bulk", "existing description")


def step_list_entities(ctx: Context) -> None:
    """list_entities with limit=2 pages forward through every created service."""
    expected = set(ctx.created)
    check(bool(expected), "nothing was created")
    names: list[str] = []
    after: str | None = None
    sizes: list[int] = []
    while True:
        page = ctx.client.list_entities(MlModelService, limit=2, after=after)
        expect_equal(page.total, len(expected), f"paging.total on page {len(sizes) + 1}")
        if not sizes:
            expect_equal(page.before, None, "paging.before on the first page")
        sizes.append(len(page.entities))
        names.extend(entity.name.root for entity in page.entities)
        if not page.after:
            break
        after = page.after
        check(len(sizes) < 50, "paging does not terminate")
    pages = math.ceil(len(expected) / 2)
    expect_equal(sizes, [2] * (pages - 1) + [len(expected) - 2 * (pages - 1)], "page sizes")
    expect_equal(len(names), len(set(names)), f"duplicates across pages: {names}")
    expect_equal(set(names), expected, "names across pages")


def step_list_all_entities(ctx: Context) -> None:
    """list_all_entities with limit=2 follows the after cursors page by page and yields every
    created service once, in list order."""
    expected = names(ctx.client.list_entities(MlModelService, limit=100).entities)
    expect_equal(set(expected), set(ctx.created), "names of one big page")
    mark = ctx.recorder.mark()
    listed = names(ctx.client.list_all_entities(MlModelService, limit=2))
    pages = ctx.recorder.since(mark)
    expect_equal(listed, expected, "names, in order")
    expect_equal(len(pages), math.ceil(len(expected) / 2), "pages requested")
    expect_equal(
        [e.url.split("?", 1)[1].split("&after=")[0] for e in pages],
        ["limit=2"] * len(pages),
        "query of each page but its cursor",
    )
    check(all("&after=" in e.url for e in pages[1:]), "a page after the first lacks its cursor")


def step_versions(ctx: Context) -> None:
    """get_list_entity_versions lists 0.2 then 0.1; get_entity_version returns 0.1."""
    if ctx.mlflow_v2 is None:
        raise StepSkippedError("put_update did not pass")
    entity_id = ctx.entity(MLFLOW).id
    history = ctx.client.get_list_entity_versions(entity_id, MlModelService)
    expect_equal(history.entityType, "mlmodelService", "entityType")
    parsed = [
        MlModelService(**(json.loads(item) if isinstance(item, str) else item))
        for item in history.versions
    ]
    expect_equal([v.version.root if v.version else None for v in parsed], [0.2, 0.1], "versions")
    expect_equal([v.description for v in parsed], ["second", "first"], "descriptions")
    old = ctx.client.get_entity_version(MlModelService, entity_id, 0.1)
    check(old is not None, "get_entity_version(0.1) returned None")
    assert old is not None
    expect_equal(old.id, entity_id, "id")
    expect_equal(old.version and old.version.root, 0.1, "version")
    expect_equal(old.description, "first", "description")


def step_versions_paged(ctx: Context) -> None:
    """A page of versions (`?limit=1`) still parses as the client's EntityVersionHistory;
    the cursor of the next page is in X-Paging-After. Read with plain requests: the client
    does not page versions."""
    if ctx.mlflow_v2 is None:
        raise StepSkippedError("put_update did not pass")
    url = f"{ctx.host_port}/v1/services/mlmodelServices/{ctx.entity(MLFLOW).id.root}/versions"
    headers = {"Authorization": f"Bearer {ctx.token}"}
    pages: list[list[float]] = []
    params: dict[str, Any] = {"limit": 1}
    while True:
        response = requests.get(url, params=params, headers=headers, timeout=10)
        expect_equal(response.status_code, 200, f"GET versions: {response.text}")
        history = EntityVersionHistory(**response.json())
        pages.append([json.loads(item)["version"] for item in history.versions])
        cursor = response.headers.get("X-Paging-After")
        if cursor is None or len(pages) > 3:
            break
        params = {"limit": 1, "after": cursor}
    expect_equal(pages, [[0.2], [0.1]], "pages")


def step_create_user(ctx: Context) -> None:
    """create_or_update of a user, read back with get_by_name(User)."""
    user = ctx.client.create_or_update(CreateUserRequest(name=OWNER, email=OWNER_EMAIL))
    expect_equal(user.name.root, OWNER, "name")
    expect_equal(user.fullyQualifiedName and user.fullyQualifiedName.root, OWNER, "FQN")
    expect_equal(str(user.email.root), OWNER_EMAIL, "email")
    expect_equal(user.isAdmin, False, "isAdmin")
    expect_equal(user.isBot, False, "isBot")
    expect_equal(user.deleted, False, "deleted")
    fetched = ctx.client.get_by_name(User, OWNER)
    check(fetched is not None, "get_by_name(User) returned None")
    assert fetched is not None
    expect_equal(fetched.id, user.id, "get_by_name(User).id")
    expect_equal(fetched.name.root, OWNER, "get_by_name(User).name")
    expect_equal(str(fetched.email.root), OWNER_EMAIL, "get_by_name(User).email")
    ctx.owner = fetched


def step_create_domain(ctx: Context) -> None:
    """create_or_update of a domain, read back with get_by_name(Domain)."""
    domain = ctx.client.create_or_update(
        CreateDomainRequest(
            name=DOMAIN, domainType=DomainType.Source_aligned, description=DOMAIN_DESCRIPTION
        )
    )
    expect_equal(domain.name.root, DOMAIN, "name")
    expect_equal(domain.fullyQualifiedName and domain.fullyQualifiedName.root, DOMAIN, "FQN")
    expect_equal(domain.domainType, DomainType.Source_aligned, "domainType")
    expect_equal(domain.description.root, DOMAIN_DESCRIPTION, "description")
    fetched = ctx.client.get_by_name(Domain, DOMAIN)
    check(fetched is not None, "get_by_name(Domain) returned None")
    assert fetched is not None
    expect_equal(fetched.id, domain.id, "get_by_name(Domain).id")
    expect_equal(fetched.name.root, DOMAIN, "get_by_name(Domain).name")
    expect_equal(fetched.domainType, DomainType.Source_aligned, "get_by_name(Domain).domainType")
    ctx.domain_id = fetched.id.root


def step_governed_create(ctx: Context) -> None:
    """create_or_update of a service with a user owner, a domain and two tags."""
    owner, _ = ctx.governance()
    entity = ctx.client.create_or_update(governed_request(owner, [PII_SENSITIVE, TIER1]))
    ctx.governed = entity
    check_new_entity(ctx, entity, GOVERNED, GOVERNED)


def step_governed_get_by_name(ctx: Context) -> None:
    """get_by_name(fields=["owners","tags","domains"]) answers them resolved."""
    owner, domain_id = ctx.governance()
    created = ctx.governed_service()
    fields = ["owners", "tags", "domains"]
    entity = ctx.client.get_by_name(MlModelService, GOVERNED, fields=fields)
    check(entity is not None, "get_by_name returned None")
    assert entity is not None
    expect_equal(entity.id, created.id, "id")
    check_owners(entity, owner, "get_by_name")
    check_domains(entity, domain_id, "get_by_name")
    check_tags(entity, [PII_SENSITIVE, TIER1], "get_by_name")


def step_governed_get_by_id(ctx: Context) -> None:
    """get_by_id(fields=["owners","tags"]) answers what get_by_name answers."""
    owner, _ = ctx.governance()
    created = ctx.governed_service()
    fields = ["owners", "tags"]
    entity = ctx.client.get_by_id(MlModelService, created.id, fields=fields)
    check(entity is not None, "get_by_id returned None")
    assert entity is not None
    expect_equal(entity.id, created.id, "id")
    check_owners(entity, owner, "get_by_id")
    check_tags(entity, [PII_SENSITIVE, TIER1], "get_by_id")
    by_name = ctx.client.get_by_name(MlModelService, GOVERNED, fields=fields)
    expect_equal(dump(entity), dump(by_name), "get_by_id vs get_by_name")


def step_governed_list(ctx: Context) -> None:
    """list_entities(fields=["owners","tags"]) parses every service and shows the labels."""
    owner, _ = ctx.governance()
    created = ctx.governed_service()
    page = ctx.client.list_entities(MlModelService, fields=["owners", "tags"], limit=100)
    expect_equal(len(page.entities), page.total, "one page holds every service")
    by_name = {entity.name.root: entity for entity in page.entities}
    check(GOVERNED in by_name, f"{GOVERNED} not listed: {sorted(by_name)}")
    governed = by_name.pop(GOVERNED)
    expect_equal(governed.id, created.id, "id")
    check_owners(governed, owner, "list_entities")
    check_tags(governed, [PII_SENSITIVE, TIER1], "list_entities")
    others = {
        name: (entity.owners and entity.owners.root, entity.tags)
        for name, entity in by_name.items()
    }
    expect_equal(others, {name: ([], []) for name in by_name}, "owners and tags of the others")


def step_governed_put_merges_tags(ctx: Context) -> None:
    """A PUT carrying only Tier.Tier1 keeps both tags (PUT merges tags, never removes)."""
    owner, domain_id = ctx.governance()
    created = ctx.governed_service()
    entity = ctx.client.create_or_update(governed_request(owner, [TIER1]))
    expect_equal(entity.id, created.id, "id")
    expect_equal(entity.version and entity.version.root, 0.1, "version")
    fields = ["owners", "tags", "domains"]
    fetched = ctx.client.get_by_name(MlModelService, GOVERNED, fields=fields)
    check(fetched is not None, "get_by_name returned None")
    assert fetched is not None
    expect_equal(fetched.version and fetched.version.root, 0.1, "version read back")
    check_owners(fetched, owner, "after PUT")
    check_domains(fetched, domain_id, "after PUT")
    check_tags(fetched, [PII_SENSITIVE, TIER1], "after PUT")


def step_list_domain_params(ctx: Context) -> None:
    """list_entities and list_all_entities pass params={"domain": fqn} on as a query filter."""
    _, domain_id = ctx.governance()
    ctx.governed_service()
    params = {"domain": DOMAIN}
    page = ctx.client.list_entities(MlModelService, fields=["domains"], params=params)
    expect_equal(names(page.entities), [GOVERNED], "names")
    expect_equal(page.total, 1, "paging.total")
    check_domains(page.entities[0], domain_id, "list_entities(params=...)")
    listed = ctx.client.list_all_entities(MlModelService, limit=1, params=params)
    expect_equal(names(listed), [GOVERNED], "list_all_entities(params=...)")


def step_get_by_name_include(ctx: Context) -> None:
    """get_by_name(fields=..., include=...): a live service is found with non-deleted and all,
    not with deleted. include without fields builds a URL that names another service."""
    original = ctx.entity(MLFLOW)
    for include in ("non-deleted", "all"):
        entity = fetch(ctx.client, MLFLOW, fields=["owners"], include=include)
        expect_equal(entity.id, original.id, f"id (include={include})")
        expect_equal(entity.owners and entity.owners.root, [], f"owners (include={include})")
    hidden = ctx.client.get_by_name(MlModelService, MLFLOW, fields=["owners"], include="deleted")
    expect_equal(hidden, None, "get_by_name(include=deleted) of a live service")
    # OpenMetadata._get appends "&include=..." after an optional "?fields=...": without fields
    # the path becomes ".../name/<fqn>&include=all", which names a service that does not exist.
    # That is why every other include in this driver comes with fields.
    mark = ctx.recorder.mark()
    bare = ctx.client.get_by_name(MlModelService, MLFLOW, include="all")
    expect_equal(bare, None, "get_by_name(include=all) without fields")
    expect_equal(
        calls(ctx.recorder.since(mark)),
        [("GET", f"/v1/services/mlmodelServices/name/{MLFLOW}&include=all", 404)],
        "what get_by_name(include=all) without fields sends",
    )


def step_get_entity_reference(ctx: Context) -> None:
    """get_entity_reference builds an mlmodelService reference from get_by_name."""
    original = ctx.entity(MLFLOW)
    ref = ctx.client.get_entity_reference(MlModelService, MLFLOW)
    check(ref is not None, "get_entity_reference returned None")
    assert ref is not None
    expect_equal(ref.id, original.id, "id")
    expect_equal(ref.type, "mlmodelService", "type")
    expect_equal(ref.fullyQualifiedName, MLFLOW, "fullyQualifiedName")
    expect_equal(ref.description and ref.description.root, "second", "description")
    expected_href = f"{ctx.host_port}/v1/services/mlmodelServices/{original.id.root}"
    expect_equal(str(ref.href.root) if ref.href else None, expected_href, "href")
    missing = ctx.client.get_entity_reference(MlModelService, "compat-missing")
    expect_equal(missing, None, "get_entity_reference of a missing name")


def step_list_services(ctx: Context) -> None:
    """list_services sends no query, so it gets the server's default page of 10."""
    om = ctx.client
    everything = om.list_entities(MlModelService, limit=100)
    # Earlier steps leave eleven services; when one of them failed, more are made here so
    # that the default page is visibly cut short.
    for number in range(everything.total, 11):
        om.create(sklearn_request(f"compat-filler-{number}"))
    everything = om.list_entities(MlModelService, limit=100)
    check(everything.total > 10, f"expected more than 10 services, got {everything.total}")
    mark = ctx.recorder.mark()
    services = ctx.client.list_services(MlModelService)
    expect_equal(
        calls(ctx.recorder.since(mark)),
        [("GET", "/v1/services/mlmodelServices", 200)],
        "what list_services sends",
    )
    expect_equal(names(services), names(everything.entities)[:10], "names")


def step_test_connection_definitions(ctx: Context) -> None:
    """Each ML model service type's definition parses into the client's model, by name, by
    id and in a list; a type OpenMetadata defines none for is None."""
    om = ctx.client
    listed = om.list_entities(TestConnectionDefinition, limit=10)
    expect_equal([d.name.root for d in listed.entities], list(TEST_CONNECTION_TYPES), "names")
    expect_equal(listed.total, len(TEST_CONNECTION_TYPES), "total")
    for service_type in TEST_CONNECTION_TYPES:
        fqn = f"{service_type}.testConnectionDefinition"
        by_name = om.get_by_name(TestConnectionDefinition, fqn)
        check(by_name is not None, f"get_by_name({fqn!r}) returned None")
        assert by_name is not None
        expect_equal(by_name.fullyQualifiedName and by_name.fullyQualifiedName.root, fqn, "FQN")
        expect_equal([step.name for step in by_name.steps], ["GetModels"], f"{fqn} steps")
        expect_equal(by_name.steps[0].mandatory, True, f"{fqn} GetModels mandatory")
        by_id = om.get_by_id(TestConnectionDefinition, by_name.id)
        expect_equal(dump(by_id), dump(by_name), f"{fqn} by id")
    sagemaker = om.get_by_name(TestConnectionDefinition, "SageMaker.testConnectionDefinition")
    assert sagemaker is not None
    expect_equal(sagemaker.steps[0].shortCircuit, True, "SageMaker shortCircuit")
    missing = om.get_by_name(TestConnectionDefinition, "Sklearn.testConnectionDefinition")
    expect_equal(missing, None, "Sklearn definition")


def step_test_connection_steps(ctx: Context) -> None:
    """The ingestion framework's test_connection_steps runs Mlflow's steps from the server's
    definition, as a workflow does before it ingests."""
    ran: list[str] = []
    result = test_connection_steps(
        metadata=ctx.bot_client(),
        service_type=MlModelServiceType.Mlflow.value,
        test_fn={"GetModels": lambda: ran.append("GetModels")},
    )
    expect_equal(ran, ["GetModels"], "steps run")
    expect_equal([(s.name, s.passed) for s in result.steps], [("GetModels", True)], "result")


def workflow_source(name: str) -> WorkflowSource:
    """The ``source`` of an Mlflow metadata ingestion workflow."""
    return WorkflowSource(
        type="mlflow",
        serviceName=name,
        serviceConnection=ServiceConnection(
            MlModelConnection(
                config=MlflowConnection(
                    trackingUri="http://localhost:5000", registryUri="http://localhost:8080"
                )
            )
        ),
        sourceConfig=SourceConfig(config=MlModelServiceMetadataPipeline()),
    )


def step_get_service_or_create(ctx: Context) -> None:
    """get_service_or_create reads an existing service; a missing one it creates with a PUT."""
    original = ctx.entity(MLFLOW)
    mark = ctx.recorder.mark()
    existing = ctx.client.get_service_or_create(MlModelService, workflow_source(MLFLOW))
    expect_equal(existing.id, original.id, "id of the existing service")
    expect_equal([e.method for e in ctx.recorder.since(mark)], ["GET"], "requests (existing)")
    mark = ctx.recorder.mark()
    created = ctx.client.get_service_or_create(MlModelService, workflow_source(WORKFLOW))
    expect_equal(
        [(e.method, e.status) for e in ctx.recorder.since(mark)],
        [("GET", 404), ("PUT", 201)],
        "requests (missing)",
    )
    check_new_entity(ctx, created, WORKFLOW, WORKFLOW)
    expect_equal(created.serviceType, MlModelServiceType.Mlflow, "serviceType")


def step_delete_soft(ctx: Context) -> None:
    """delete (soft) answers the entity, which the client ignores; then only include finds it."""
    om = ctx.client
    created = om.create(mlflow_request(LIFECYCLE, "lifecycle"))
    ctx.lifecycle = created
    mark = ctx.recorder.mark()
    expect_equal(om.delete(MlModelService, created.id), None, "delete()")
    path = f"/v1/services/mlmodelServices/{created.id.root}?recursive=false&hardDelete=false"
    expect_equal(calls(ctx.recorder.since(mark)), [("DELETE", path, 200)], "what delete sends")
    answered = MlModelService.model_validate_json(ctx.recorder.since(mark)[0].response_body)
    expect_equal((answered.deleted, tenths(answered)), (True, 2), "the answer (deleted, version)")
    expect_equal(om.get_by_name(MlModelService, LIFECYCLE), None, "get_by_name")
    expect_equal(om.get_by_id(MlModelService, created.id), None, "get_by_id")
    deleted = fetch(om, LIFECYCLE, fields=["owners"], include="deleted")
    expect_equal(deleted.id, created.id, "id (include=deleted)")
    expect_equal(deleted.deleted, True, "deleted (include=deleted)")
    expect_equal(tenths(deleted), 2, "version in tenths (include=deleted)")
    expect_equal(deleted.updatedBy, ADMIN, "updatedBy")
    everything = fetch(om, LIFECYCLE, fields=["owners"], include="all")
    expect_equal(dump(everything), dump(deleted), "include=all vs include=deleted")


def step_list_include(ctx: Context) -> None:
    """list_entities: include=deleted lists only the deleted service, include=all everything."""
    if ctx.lifecycle is None:
        raise StepSkippedError("delete_soft did not pass")
    om = ctx.client
    live = om.list_entities(MlModelService, limit=100)
    deleted = om.list_entities(MlModelService, limit=100, include="deleted")
    everything = om.list_entities(MlModelService, limit=100, include="all")
    expect_equal(names(deleted.entities), [LIFECYCLE], "include=deleted")
    expect_equal(deleted.total, 1, "include=deleted total")
    expect_equal([e.deleted for e in deleted.entities], [True], "include=deleted: deleted")
    check(LIFECYCLE not in names(live.entities), f"{LIFECYCLE} listed without include")
    expect_equal(live.total, len(live.entities), "non-deleted total")
    expect_equal(everything.total, live.total + 1, "include=all total")
    expected = sorted([*names(live.entities), LIFECYCLE], key=lambda name: name.encode())
    expect_equal(names(everything.entities), expected, "include=all names, in byte order")


def step_list_paging_both_ways(ctx: Context) -> None:
    """list_entities(include=all, limit=3): after cursors page forward, before cursors back."""
    om = ctx.client
    every = names(om.list_entities(MlModelService, limit=100, include="all").entities)
    totals: list[int] = []

    def list_page(**kwargs: Any) -> Any:
        page = om.list_entities(MlModelService, include="all", **kwargs)
        totals.append(page.total)
        return page

    forward, backward = walk_pages(list_page, limit=3)
    check_walk(forward, backward, every)
    expect_equal(set(totals), {len(every)}, "paging.total on every page")


def step_restore(ctx: Context) -> None:
    """restore brings a soft-deleted service back: deleted true->false, version +0.1."""
    if ctx.lifecycle is None:
        raise StepSkippedError("delete_soft did not pass")
    om = ctx.client
    restored = om.restore(MlModelService, ctx.lifecycle.id)
    check(restored is not None, "restore returned None")
    assert restored is not None
    expect_equal(restored.id, ctx.lifecycle.id, "id")
    expect_equal(restored.deleted, False, "deleted")
    expect_equal(tenths(restored), 3, "version in tenths")
    expect_equal(changes(restored), (0.2, [("deleted", True, False)]), "changeDescription")
    fetched = fetch(om, LIFECYCLE)
    expect_equal((fetched.deleted, tenths(fetched)), (False, 3), "get_by_name (deleted, version)")


def step_restore_not_deleted(ctx: Context) -> None:
    """restore of a service that is not deleted: the server's 404 becomes None in the client."""
    if ctx.lifecycle is None:
        raise StepSkippedError("delete_soft did not pass")
    mark = ctx.recorder.mark()
    expect_equal(ctx.client.restore(MlModelService, ctx.lifecycle.id), None, "restore()")
    sent = ctx.recorder.since(mark)
    expect_equal(calls(sent), [("PUT", "/v1/services/mlmodelServices/restore", 404)], "requests")
    expect_equal(json.loads(sent[0].request_body), {"id": str(ctx.lifecycle.id.root)}, "body")
    expect_equal(json.loads(sent[0].response_body).get("code"), 404, "error body code")


def step_version_history(ctx: Context) -> None:
    """list_versions and get_list_entity_versions list 0.3, 0.2 (deleted), 0.1;
    get_entity_version reads a past and the current version."""
    if ctx.lifecycle is None:
        raise StepSkippedError("delete_soft did not pass")
    om = ctx.client
    entity_id = ctx.lifecycle.id
    history = om.list_versions(entity_id, MlModelService)
    expect_equal(om.get_list_entity_versions(entity_id, MlModelService), history, "both methods")
    expect_equal(history.entityType, "mlmodelService", "entityType")
    # OpenMetadata sends each version as JSON text, and so does this server.
    expect_equal({type(item).__name__ for item in history.versions}, {"str"}, "item types")
    versions = history_of(history)
    expect_equal([tenths(v) for v in versions], [3, 2, 1], "versions in tenths")
    expect_equal([v.deleted for v in versions], [False, True, False], "deleted flags")
    expect_equal({v.id.root for v in versions}, {entity_id.root}, "ids")
    past = om.get_entity_version(MlModelService, entity_id, 0.2)
    check(past is not None, "get_entity_version(0.2) returned None")
    assert past is not None
    expect_equal((past.deleted, tenths(past)), (True, 2), "0.2 (deleted, version)")
    current = om.get_entity_version(MlModelService, entity_id, "0.3")
    by_id = om.get_by_id(MlModelService, entity_id, fields=["owners", "tags", "domains"])
    expect_equal(dump(current), dump(by_id), "get_entity_version(current) vs get_by_id")
    missing = om.get_entity_version(MlModelService, entity_id, 0.9)
    expect_equal(missing, None, "get_entity_version of a version that never was")


def step_delete_hard(ctx: Context) -> None:
    """delete(hard_delete=True) removes the service and its history: nothing finds it."""
    if ctx.lifecycle is None:
        raise StepSkippedError("delete_soft did not pass")
    om = ctx.client
    entity_id = ctx.lifecycle.id
    mark = ctx.recorder.mark()
    expect_equal(om.delete(MlModelService, entity_id, hard_delete=True), None, "delete()")
    path = f"/v1/services/mlmodelServices/{entity_id.root}?recursive=false&hardDelete=true"
    expect_equal(calls(ctx.recorder.since(mark)), [("DELETE", path, 200)], "what delete sends")
    gone = om.get_by_name(MlModelService, LIFECYCLE, fields=["owners"], include="all")
    expect_equal(gone, None, "get_by_name(include=all)")
    expect_equal(om.get_by_id(MlModelService, entity_id), None, "get_by_id")
    listed = om.list_entities(MlModelService, limit=100, include="all")
    check(LIFECYCLE not in names(listed.entities), f"{LIFECYCLE} still listed")
    expect_equal(om.get_entity_version(MlModelService, entity_id, 0.1), None, "version 0.1")
    try:
        om.get_list_entity_versions(entity_id, MlModelService)
    except APIError as err:
        expect_equal((err.status_code, err.code), (404, 404), "versions: status and body code")
    else:
        raise AssertionError("get_list_entity_versions of a hard-deleted service did not raise")
    expect_equal(om.restore(MlModelService, entity_id), None, "restore()")


def step_delete_missing(ctx: Context) -> None:
    """delete of an unknown id raises APIError 404 (delete does not swallow errors)."""
    try:
        ctx.client.delete(MlModelService, str(uuid.uuid4()))
    except APIError as err:
        expect_equal((err.status_code, err.code), (404, 404), "status and body code")
        return
    raise AssertionError("delete of an unknown id did not raise")


def step_patch(ctx: Context) -> None:
    """patch changes description, displayName, owners and tags in one PATCH: version +0.1."""
    owner, _ = ctx.governance()
    om = ctx.client
    om.create_or_update(mlflow_request(PATCHED, "before patch"))
    source = fetch(om, PATCHED, fields=["owners", "tags"])
    destination = source.model_copy(deep=True)
    destination.description = "after patch"
    destination.displayName = "Patched service"
    destination.owners = EntityReferenceList([EntityReference(id=owner.id, type="user")])
    destination.tags = [tag_label(PII_SENSITIVE)]
    mark = ctx.recorder.mark()
    patched = om.patch(
        MlModelService, source=source, destination=destination, skip_on_failure=False
    )
    sent = only_patch(ctx, mark)
    expect_equal(
        sent.url, f"{ctx.host_port}/v1/services/mlmodelServices/{source.id.root}", "PATCH url"
    )
    expect_equal(
        patch_paths(sent),
        ["add /displayName", "add /owners/0", "add /tags/0", "replace /description"],
        "PATCH operations",
    )
    check(patched is not None, "patch returned None")
    assert patched is not None
    expect_equal(patched.id, source.id, "id")
    expect_equal(patched.description, "after patch", "description")
    expect_equal(patched.displayName, "Patched service", "displayName")
    expect_equal(tenths(patched), tenths(source) + 1, "version in tenths")
    expect_equal(patched.updatedBy, ADMIN, "updatedBy")
    fetched = fetch(om, PATCHED, fields=["owners", "tags"])
    expect_equal(tenths(fetched), tenths(patched), "version read back")
    expect_equal(fetched.displayName, "Patched service", "displayName read back")
    check_owners(fetched, owner, "read back")
    check_tags(fetched, [PII_SENSITIVE], "read back")
    ctx.patched = fetched


def step_patch_identical(ctx: Context) -> None:
    """patch with nothing to change sends no request and returns None."""
    if ctx.patched is None:
        raise StepSkippedError("patch did not pass")
    mark = ctx.recorder.mark()
    same = ctx.patched.model_copy(deep=True)
    result = ctx.client.patch(MlModelService, source=ctx.patched, destination=same)
    expect_equal(result, None, "patch()")
    expect_equal(calls(ctx.recorder.since(mark)), [], "requests")


def step_patch_if_match(ctx: Context) -> None:
    """patch(if_match=W/"<version>") applies; a stale one raises APIError 412, nothing written."""
    if ctx.patched is None:
        raise StepSkippedError("patch did not pass")
    om = ctx.client
    current = fetch(om, PATCHED)
    etag = weak_etag(current)
    destination = current.model_copy(deep=True)
    destination.description = "conditional"
    mark = ctx.recorder.mark()
    patched = om.patch(
        MlModelService,
        source=current,
        destination=destination,
        if_match=etag,
        skip_on_failure=False,
    )
    expect_equal(only_patch(ctx, mark).request_headers.get("If-Match"), etag, "If-Match sent")
    check(patched is not None, "patch with a fresh If-Match returned None")
    assert patched is not None
    expect_equal(patched.description, "conditional", "description")
    expect_equal(tenths(patched), tenths(current) + 1, "version in tenths")
    stale = current.model_copy(deep=True)
    stale.description = "stale write"
    # patch_mixin re-raises a 412 whenever if_match was given, even with skip_on_failure=True.
    try:
        om.patch(MlModelService, source=current, destination=stale, if_match=etag)
    except APIError as err:
        expect_equal((err.status_code, err.code), (412, 412), "status and body code")
        expect_equal(str(err), STALE_ENTITY, "message")
    else:
        raise AssertionError("patch with a stale If-Match did not raise")
    fetched = fetch(om, PATCHED)
    expect_equal(fetched.description, "conditional", "description after the stale patch")
    expect_equal(tenths(fetched), tenths(patched), "version after the stale patch")


def step_patch_description(ctx: Context) -> None:
    """patch_description: force=False keeps a description, sets a missing one; force=True
    replaces it."""
    if ctx.patched is None:
        raise StepSkippedError("patch did not pass")
    om = ctx.client
    current = fetch(om, PATCHED)
    mark = ctx.recorder.mark()
    kept = om.patch_description(MlModelService, current, "ignored", force=False)
    expect_equal(kept, None, "patch_description(force=False) of a described service")
    expect_equal([e.method for e in ctx.recorder.since(mark)], ["GET"], "requests")
    forced = om.patch_description(MlModelService, current, "forced", force=True)
    check(forced is not None, "patch_description(force=True) returned None")
    assert forced is not None
    expect_equal(forced.description, "forced", "description")
    # EntityUpdater.consolidateChanges: a PATCH by the user who made the last change, within
    # the session window and without If-Match, is merged into that change's version.
    expect_equal(tenths(forced), tenths(current), "version in tenths (same editing session)")
    expect_equal(fetch(om, PATCHED).description, "forced", "description read back")
    bare = om.create(sklearn_request(UNDESCRIBED))
    described = om.patch_description(MlModelService, bare, "now described", force=False)
    check(described is not None, "patch_description(force=False) of an undescribed service")
    assert described is not None
    expect_equal(described.description, "now described", "description of the undescribed")
    expect_equal(tenths(described), 2, "version in tenths of the undescribed")


def step_patch_owner_tags_domain(ctx: Context) -> None:
    """patch_owner (force or not), patch_tags (add, remove) and patch_domain: each returns the
    patched service and the change reads back."""
    owner, domain_id = ctx.governance()
    if ctx.patched is None:
        raise StepSkippedError("patch did not pass")
    om = ctx.client
    owners = EntityReferenceList([EntityReference(id=owner.id, type="user")])
    current = fetch(om, PATCHED)
    expect_equal(om.patch_owner(MlModelService, current, owners), None, "patch_owner, owned")
    results = {
        "patch_owner(None, force=True)": om.patch_owner(MlModelService, current, None, force=True)
    }
    expect_equal(fetch(om, PATCHED, fields=["owners"]).owners.root, [], "owners after removal")
    results["patch_owner(owners)"] = om.patch_owner(MlModelService, current, owners)
    check_owners(fetch(om, PATCHED, fields=["owners"]), owner, "owners after patch_owner")
    results["patch_tags(add)"] = om.patch_tags(
        MlModelService, fetch(om, PATCHED), [tag_label(TIER1)]
    )
    check_tags(fetch(om, PATCHED, fields=["tags"]), [PII_SENSITIVE, TIER1], "after adding")
    results["patch_tags(remove)"] = om.patch_tags(
        MlModelService,
        fetch(om, PATCHED),
        [tag_label(PII_SENSITIVE)],
        operation=PatchOperation.REMOVE,
    )
    check_tags(fetch(om, PATCHED, fields=["tags"]), [TIER1], "after removing")
    domains = EntityReferenceList([EntityReference(id=domain_id, type="domain")])
    results["patch_domain"] = om.patch_domain(MlModelService, fetch(om, PATCHED), domains)
    check_domains(fetch(om, PATCHED, fields=["domains"]), domain_id, "after patch_domain")
    expect_equal(
        {call: result.id if result else None for call, result in results.items()},
        dict.fromkeys(results, current.id),
        "ids of the returned services",
    )


def step_patch_keeps_secret(ctx: Context) -> None:
    """A patch of a SageMaker service read by an admin (secret masked) keeps the stored secret."""
    ctx.entity(SAGEMAKER)
    om = ctx.client
    bot = ctx.bot_client()
    expect_equal(secret_of(fetch(bot, SAGEMAKER)), SAGEMAKER_SECRET, "secret read by the bot")
    source = fetch(om, SAGEMAKER)
    expect_equal(secret_of(source), PASSWORD_MASK, "secret read by an admin")
    destination = source.model_copy(deep=True)
    destination.description = "patched sagemaker"
    config = destination.connection.config if destination.connection else None
    assert isinstance(config, SageMakerConnection)
    config.awsConfig.awsRegion = "eu-west-2"
    mark = ctx.recorder.mark()
    patched = om.patch(
        MlModelService, source=source, destination=destination, skip_on_failure=False
    )
    sent = only_patch(ctx, mark)
    expect_equal(
        patch_paths(sent),
        ["add /description", "replace /connection/config/awsConfig/awsRegion"],
        "PATCH operations (the masked secret is equal on both sides, so not sent)",
    )
    check(patched is not None, "patch returned None")
    assert patched is not None
    expect_equal(tenths(patched), tenths(source) + 1, "version in tenths")
    expect_equal(region_of(patched), "eu-west-2", "awsRegion")
    expect_equal(secret_of(patched), PASSWORD_MASK, "secret answered to the admin")
    by_bot = fetch(bot, SAGEMAKER)
    expect_equal(secret_of(by_bot), SAGEMAKER_SECRET, "secret read by the bot after the patch")
    expect_equal(region_of(by_bot), "eu-west-2", "awsRegion read by the bot")
    expect_equal(by_bot.description, "patched sagemaker", "description read by the bot")
    expect_equal(secret_of(fetch(om, SAGEMAKER)), PASSWORD_MASK, "secret read by the admin")


def step_put_masked_secret(ctx: Context) -> None:
    """create_or_update with the connection an admin read sends the mask back: the server
    keeps the stored secret."""
    ctx.entity(SAGEMAKER)
    om = ctx.client
    read = fetch(om, SAGEMAKER)
    request = CreateMlModelServiceRequest(
        name=SAGEMAKER,
        serviceType=MlModelServiceType.SageMaker,
        description="updated with the masked secret",
        connection=read.connection,
    )
    mark = ctx.recorder.mark()
    updated = om.create_or_update(request)
    sent = json.loads(ctx.recorder.since(mark)[0].request_body)
    expect_equal(
        sent["connection"]["config"]["awsConfig"]["awsSecretAccessKey"],
        PASSWORD_MASK,
        "the secret the client sent",
    )
    expect_equal(tenths(updated), tenths(read) + 1, "version in tenths")
    expect_equal(updated.description, "updated with the masked secret", "description")
    expect_equal(secret_of(updated), PASSWORD_MASK, "secret answered to the admin")
    by_bot = fetch(ctx.bot_client(), SAGEMAKER)
    expect_equal(secret_of(by_bot), SAGEMAKER_SECRET, "secret read by the bot")
    expect_equal(region_of(by_bot), region_of(read), "awsRegion read by the bot")


def step_delete_async(ctx: Context) -> None:
    """delete_async answers 202 {jobId, message}; once the job is done the service is deleted."""
    om = ctx.client
    created = om.create(mlflow_request(BACKGROUND, "deleted in the background"))
    ctx.background = created
    mark = ctx.recorder.mark()
    answer = om.delete_async(MlModelService, created.id)
    path = f"/v1/services/mlmodelServices/async/{created.id.root}?recursive=false&hardDelete=false"
    expect_equal(calls(ctx.recorder.since(mark)), [("DELETE", path, 202)], "what it sends")
    check(isinstance(answer, dict), f"delete_async returned {answer!r}")
    assert answer is not None
    job_id = answer.get("jobId")
    check(isinstance(job_id, str) and bool(job_id), f"jobId is {job_id!r}")
    check(isinstance(answer.get("message"), str), f"message is {answer.get('message')!r}")
    job = wait_for_job(ctx, job_id)
    expect_equal(
        {key: job.get(key) for key in ("status", "operation", "entityId", "hardDelete")},
        {
            "status": JOB_SUCCEEDED,
            "operation": "delete",
            "entityId": str(created.id.root),
            "hardDelete": False,
        },
        "job",
    )
    expect_equal(om.get_by_name(MlModelService, BACKGROUND), None, "get_by_name")
    deleted = fetch(om, BACKGROUND, fields=["owners"], include="deleted")
    expect_equal((deleted.deleted, tenths(deleted)), (True, 2), "(deleted, version)")


def step_restore_async(ctx: Context) -> None:
    """restore_async answers 202 {jobId, message}; once the job is done the service is back."""
    if ctx.background is None:
        raise StepSkippedError("delete_async did not pass")
    om = ctx.client
    mark = ctx.recorder.mark()
    answer = om.restore_async(MlModelService, ctx.background.id)
    expect_equal(
        calls(ctx.recorder.since(mark)),
        [("PUT", "/v1/services/mlmodelServices/restore?async=true", 202)],
        "what it sends",
    )
    check(isinstance(answer, dict) and bool(answer.get("jobId")), f"answer is {answer!r}")
    assert answer is not None
    job = wait_for_job(ctx, answer["jobId"])
    expect_equal(
        {key: job.get(key) for key in ("status", "operation", "entityId")},
        {"status": JOB_SUCCEEDED, "operation": "restore", "entityId": str(ctx.background.id.root)},
        "job",
    )
    restored = fetch(om, BACKGROUND)
    expect_equal((restored.deleted, tenths(restored)), (False, 3), "(deleted, version)")


def step_bulk_async(ctx: Context) -> None:
    """bulk_create_or_update(use_async=True) parses the 202 placeholder; the job named in
    Location completes with the real BulkOperationResult, and the service exists."""
    om = ctx.client
    # The aggregate the client returns sets its own status, so the server's answer (parsed
    # by the client as a BulkOperationResult) is captured too.
    server_results: list[BulkOperationResult] = []
    execute = om._execute_bulk_operation

    def capture(*args: Any, **kwargs: Any) -> BulkOperationResult:
        answer = execute(*args, **kwargs)
        server_results.append(answer)
        return answer

    om._execute_bulk_operation = capture  # type: ignore[method-assign]
    mark = ctx.recorder.mark()
    try:
        result = om.bulk_create_or_update(
            [mlflow_request(BULK_BACKGROUND, "bulk in the background")], use_async=True
        )
    finally:
        del om._execute_bulk_operation
    exchanges = ctx.recorder.since(mark)
    path = "/v1/services/mlmodelServices/bulk?async=true&overrideMetadata=false"
    expect_equal(calls(exchanges), [("PUT", path, 202)], "what it sends")
    expect_equal(result.numberOfRowsFailed.root, 0, "numberOfRowsFailed")
    expect_equal(len(server_results), 1, "bulk requests sent")
    expect_equal(server_results[0].status, Status.running, "status of the 202 answer")
    location = exchanges[0].response_headers.get("Location", "")
    job_id = location.rsplit("/", 1)[-1]
    expect_equal(location, ctx.job_url(job_id), "Location")
    job = wait_for_job(ctx, job_id)
    expect_equal(job.get("status"), JOB_SUCCEEDED, "job status")
    server = BulkOperationResult.model_validate(job.get("result"))
    expect_equal(server.status, Status.success, "job result status")
    expect_equal(server.numberOfRowsPassed.root, 1, "job result numberOfRowsPassed")
    entity = om.get_by_name(MlModelService, BULK_BACKGROUND)
    check(entity is not None, f"{BULK_BACKGROUND} not found after the job")


def step_delete_async_hard(ctx: Context) -> None:
    """delete_async(hard_delete=True): once the job is done, nothing finds the service."""
    if ctx.background is None:
        raise StepSkippedError("delete_async did not pass")
    om = ctx.client
    answer = om.delete_async(MlModelService, ctx.background.id, hard_delete=True)
    check(isinstance(answer, dict) and bool(answer.get("jobId")), f"answer is {answer!r}")
    assert answer is not None
    job = wait_for_job(ctx, answer["jobId"])
    expect_equal(
        {key: job.get(key) for key in ("status", "operation", "hardDelete")},
        {"status": JOB_SUCCEEDED, "operation": "delete", "hardDelete": True},
        "job",
    )
    gone = om.get_by_name(MlModelService, BACKGROUND, fields=["owners"], include="all")
    expect_equal(gone, None, "get_by_name(include=all)")


# --- metadata.sdk -------------------------------------------------------------------------


class MlModelServices(BaseEntity[MlModelService, CreateMlModelServiceRequest]):
    """Fluent facade for ML model service operations."""

    @classmethod
    def entity_type(cls) -> type[MlModelService]:
        return MlModelService


def seed_request(description: str) -> CreateMlModelServiceRequest:
    """The request of the "Create an ML Model Service" page's Python example."""
    return CreateMlModelServiceRequest(
        name=SDK_NAME,
        displayName="MLflow Production",
        serviceType="Mlflow",
        description=description,
        connection={
            "config": {
                "type": "Mlflow",
                "trackingUri": "http://localhost:8088",
                "registryUri": "http://localhost:8088",
                "supportsMetadataExtraction": True,
            }
        },
    )


def sdk_service(ctx: Context) -> MlModelService:
    """The service ``sdk_create`` made."""
    if ctx.sdk_service is None:
        raise StepSkippedError("sdk_create did not pass")
    return ctx.sdk_service


def step_sdk_configure(ctx: Context) -> str:
    """configure(host, jwt_token) builds the SDK's client, which checks the version too."""
    mark = ctx.recorder.mark()
    client = configure(host=ctx.host_port, jwt_token=ctx.token)
    expect_equal(calls(ctx.recorder.since(mark)), [("GET", "/v1/system/version", 200)], "requests")
    expect_equal(MlModelServices._get_client(), client.ometa, "the facade's client")
    return f"server version {client.ometa.get_server_version()}"


def step_sdk_create(ctx: Context) -> None:
    """MlModelServices.create(request) of the seed example: a PUT that answers the seed's JSON."""
    mark = ctx.recorder.mark()
    service = MlModelServices.create(seed_request("Production MLflow tracking server"))
    expect_equal(
        calls(ctx.recorder.since(mark)),
        [("PUT", "/v1/services/mlmodelServices", 201)],
        "requests",
    )
    ctx.sdk_service = service
    check_new_entity(ctx, service, SDK_NAME, SDK_NAME)
    answered = dump(service)
    assert answered is not None
    expected = {
        "name": "mlflow_svc",
        "fullyQualifiedName": "mlflow_svc",
        "serviceType": "Mlflow",
        "description": "Production MLflow tracking server",
        "displayName": "MLflow Production",
        "version": 0.1,
        "updatedBy": "admin",
        "connection": {
            "config": {
                "type": "Mlflow",
                "trackingUri": "http://localhost:8088",
                "registryUri": "http://localhost:8088",
                "supportsMetadataExtraction": True,
            }
        },
        "owners": [],
        "tags": [],
        "deleted": False,
        "domains": [],
    }
    expect_equal({key: answered.get(key) for key in expected}, expected, "the seed's answer")


def step_sdk_retrieve(ctx: Context) -> None:
    """retrieve and retrieve_by_name agree; fields=; a missing service is None."""
    service = sdk_service(ctx)
    by_id = MlModelServices.retrieve(service.id)
    by_name = MlModelServices.retrieve_by_name(SDK_NAME)
    check(by_id is not None, "retrieve returned None")
    expect_equal(by_id.id, service.id, "retrieve().id")
    expect_equal(dump(by_id), dump(by_name), "retrieve vs retrieve_by_name")
    expect_equal(by_id.owners, None, "owners without fields")
    detailed = MlModelServices.retrieve(service.id, fields=["owners", "tags", "followers"])
    expect_equal(
        (detailed.owners.root, detailed.tags, detailed.followers.root),
        ([], [], []),
        "owners, tags and followers with fields",
    )
    expect_equal(MlModelServices.retrieve_by_name("compat-missing"), None, "missing name")
    expect_equal(MlModelServices.retrieve(uuid.uuid4()), None, "missing id")


def step_sdk_list(ctx: Context) -> None:
    """list pages forward and back; list_all(batch_size=3) returns every service once."""
    sdk_service(ctx)
    every = names(ctx.client.list_entities(MlModelService, limit=100).entities)
    forward, backward = walk_pages(MlModelServices.list, limit=3)
    check_walk(forward, backward, every)
    expect_equal(names(MlModelServices.list_all(batch_size=3)), every, "list_all")
    in_domain = ctx.client.list_entities(MlModelService, params={"domain": DOMAIN})
    check(in_domain.total > 0, f"no service in {DOMAIN}")
    filtered = MlModelServices.list(limit=100, filters={"domain": DOMAIN})
    expect_equal(names(filtered.entities), names(in_domain.entities), "list(filters=...)")


def step_sdk_versions(ctx: Context) -> None:
    """create again (a PUT) adds a version; get_versions lists every one, newest first, and
    get_specific_version reads a past and the current one."""
    service = sdk_service(ctx)
    before = tenths(MlModelServices.retrieve(service.id))
    updated = MlModelServices.create(seed_request("Production MLflow, second edition"))
    expect_equal(updated.id, service.id, "id after the PUT")
    expect_equal(tenths(updated), before + 1, "version in tenths after the PUT")
    versions = MlModelServices.get_versions(service.id)
    # BaseEntity._coerce_entity passes strings through: the SDK hands back the JSON text the
    # server sends for each version.
    check(all(isinstance(item, str) for item in versions), f"items: {versions!r}")
    parsed = [MlModelService.model_validate_json(item) for item in versions]
    expect_equal([tenths(v) for v in parsed], list(range(before + 1, 0, -1)), "versions")
    expect_equal(
        (parsed[0].description, parsed[-1].description),
        ("Production MLflow, second edition", "Production MLflow tracking server"),
        "descriptions of the newest and the first version",
    )
    first = MlModelServices.get_specific_version(service.id, "0.1")
    expect_equal(
        (tenths(first), first.description), (1, "Production MLflow tracking server"), "0.1"
    )
    latest = MlModelServices.get_specific_version(service.id, str(updated.version.root))
    expect_equal(dump(latest), dump(updated), "the current version vs the PUT's answer")


def step_sdk_update(ctx: Context) -> None:
    """update(entity) reads the service by id, then PATCHes the difference."""
    service = sdk_service(ctx)
    entity = MlModelServices.retrieve(service.id)
    before = tenths(entity)
    entity.displayName = "MLflow Production (patched)"
    entity.description = "patched through the SDK"
    mark = ctx.recorder.mark()
    updated = MlModelServices.update(entity)
    expect_equal(
        [e.method for e in ctx.recorder.since(mark)], ["GET", "PATCH"], "requests of update()"
    )
    check(updated is not None, "update returned None")
    expect_equal(updated.displayName, "MLflow Production (patched)", "displayName")
    expect_equal(updated.description, "patched through the SDK", "description")
    expect_equal(tenths(updated), before + 1, "version in tenths")


def step_sdk_followers(ctx: Context) -> None:
    """add_followers / remove_followers: PUT and DELETE .../followers; the version stays."""
    owner, _ = ctx.governance()
    service = sdk_service(ctx)
    before = tenths(MlModelServices.retrieve(service.id))
    mark = ctx.recorder.mark()
    followed = MlModelServices.add_followers(service.id, [owner.id])
    sent = ctx.recorder.since(mark)
    expect_equal([(e.method, e.status) for e in sent], [("PUT", 200), ("GET", 200)], "requests")
    expect_equal(json.loads(sent[0].request_body), str(owner.id.root), "PUT body")
    refs = followed.followers.root if followed.followers else None
    expect_equal(
        [(ref.id, ref.type, ref.name) for ref in refs or []],
        [(owner.id, "user", OWNER)],
        "followers after add_followers",
    )
    expect_equal(tenths(followed), before, "version after add_followers")
    unfollowed = MlModelServices.remove_followers(service.id, [owner.id])
    expect_equal(unfollowed.followers and unfollowed.followers.root, [], "followers after removal")
    expect_equal(tenths(unfollowed), before, "version after remove_followers")


def step_sdk_delete_restore(ctx: Context) -> None:
    """delete (soft), restore; restore of a live service raises, unlike OpenMetadata.restore."""
    service = sdk_service(ctx)
    before = tenths(MlModelServices.retrieve(service.id))
    MlModelServices.delete(service.id)
    expect_equal(MlModelServices.retrieve(service.id), None, "retrieve after delete")
    restored = MlModelServices.restore(service.id)
    expect_equal((restored.deleted, tenths(restored)), (False, before + 2), "(deleted, version)")
    try:
        MlModelServices.restore(service.id)
    except APIError as err:
        expect_equal((err.status_code, err.code), (404, 404), "status and body code")
    else:
        raise AssertionError("restore of a live service did not raise")


def step_sdk_restore_async(ctx: Context) -> None:
    """restore_async answers an AsyncJobResponse; once the job is done the service is back."""
    service = sdk_service(ctx)
    MlModelServices.delete(service.id)
    job = MlModelServices.restore_async(service.id)
    check(isinstance(job, AsyncJobResponse) and bool(job.job_id), f"answer is {job!r}")
    finished = wait_for_job(ctx, job.job_id)
    expect_equal(finished.get("status"), JOB_SUCCEEDED, f"job status: {finished}")
    restored = MlModelServices.retrieve(service.id)
    check(restored is not None, "retrieve after restore_async returned None")
    expect_equal(restored.deleted, False, "deleted")


def step_sdk_delete_hard(ctx: Context) -> None:
    """delete(hard_delete=True): the service is gone, even with include=all."""
    service = sdk_service(ctx)
    MlModelServices.delete(service.id, hard_delete=True)
    expect_equal(MlModelServices.retrieve(service.id), None, "retrieve")
    gone = ctx.client.get_by_name(MlModelService, SDK_NAME, fields=["owners"], include="all")
    expect_equal(gone, None, "get_by_name(include=all)")


def step_change_events(ctx: Context) -> None:
    """GET /events: every event of the run parses as the client's ChangeEvent, each kind of
    change is there, and the paging total counts them all."""
    every = dict.fromkeys(EVENT_FILTERS, "*")
    answer = ctx.client.client.get("/events", data={**every, "limit": 1_000_000})
    events = [ChangeEvent.model_validate(doc) for doc in answer["data"]]
    expect_equal(answer["paging"]["total"], len(events), "paging.total")
    kinds = {event.eventType.value for event in events}
    expected = {"entityCreated", "entityUpdated", "entitySoftDeleted", "entityDeleted"}
    check(expected | {"entityRestored"} <= kinds, f"event types {sorted(kinds)}")
    sdk = [event for event in events if event.entityFullyQualifiedName == SDK_NAME]
    expect_equal(sdk[0].eventType.value, "entityCreated", "first event of the SDK service")
    expect_equal(sdk[-1].eventType.value, "entityDeleted", "last event of the SDK service")
    for event in sdk:
        if event.eventType.value in ("entityUpdated", "entitySoftDeleted", "entityRestored"):
            check(event.changeDescription is not None, f"{event.eventType} without a change")


EVENT_FILTERS = ("entityCreated", "entityUpdated", "entityDeleted", "entityRestored")


STEPS: list[tuple[str, Callable[[Context], str | None]]] = [
    ("construct", step_construct),
    ("health_check", step_health_check),
    ("create_mlflow", step_create_mlflow),
    ("create_dotted_name", step_create_dotted_name),
    ("create_special_name", step_create_special_name),
    ("create_duplicate_409", step_create_duplicate),
    ("put_update_description", step_put_update),
    ("put_identical_no_change", step_put_identical),
    ("get_by_name", step_get_by_name),
    ("get_by_id", step_get_by_id),
    ("get_by_name_missing", step_get_missing_name),
    ("get_by_id_missing", step_get_missing_id),
    ("create_sagemaker", step_create_sagemaker),
    ("create_sklearn_empty_config", step_create_sklearn),
    ("bulk_create_or_update", step_bulk),
    ("list_entities_paging", step_list_entities),
    ("list_all_entities", step_list_all_entities),
    ("entity_versions", step_versions),
    ("entity_versions_paged", step_versions_paged),
    # Services created from here on are not in ``ctx.created``: the listing steps above
    # count exactly the services they expect.
    ("create_user", step_create_user),
    ("create_domain", step_create_domain),
    ("governed_create", step_governed_create),
    ("governed_get_by_name", step_governed_get_by_name),
    ("governed_get_by_id", step_governed_get_by_id),
    ("governed_list_entities", step_governed_list),
    ("governed_put_merges_tags", step_governed_put_merges_tags),
    ("list_entities_domain_params", step_list_domain_params),
    ("get_by_name_include", step_get_by_name_include),
    ("get_entity_reference", step_get_entity_reference),
    ("get_service_or_create", step_get_service_or_create),
    ("delete_soft", step_delete_soft),
    ("list_entities_include", step_list_include),
    ("list_entities_after_and_before", step_list_paging_both_ways),
    ("restore", step_restore),
    ("restore_not_deleted_is_none", step_restore_not_deleted),
    ("version_history", step_version_history),
    ("delete_hard", step_delete_hard),
    ("delete_missing_raises", step_delete_missing),
    ("patch", step_patch),
    ("patch_identical_sends_nothing", step_patch_identical),
    ("patch_if_match", step_patch_if_match),
    ("patch_description", step_patch_description),
    ("patch_owner_tags_domain", step_patch_owner_tags_domain),
    ("patch_sagemaker_keeps_secret", step_patch_keeps_secret),
    ("put_masked_secret_keeps_secret", step_put_masked_secret),
    ("list_services", step_list_services),
    ("test_connection_definitions", step_test_connection_definitions),
    ("test_connection_steps", step_test_connection_steps),
    ("delete_async", step_delete_async),
    ("restore_async", step_restore_async),
    ("delete_async_hard", step_delete_async_hard),
    ("bulk_create_or_update_async", step_bulk_async),
    ("sdk_configure", step_sdk_configure),
    ("sdk_create", step_sdk_create),
    ("sdk_retrieve", step_sdk_retrieve),
    ("sdk_list", step_sdk_list),
    ("sdk_update", step_sdk_update),
    ("sdk_versions", step_sdk_versions),
    ("sdk_followers", step_sdk_followers),
    ("sdk_delete_restore", step_sdk_delete_restore),
    ("sdk_restore_async", step_sdk_restore_async),
    ("sdk_delete_hard", step_sdk_delete_hard),
    ("change_events", step_change_events),
]


def run(host_port: str, token: str, bot_token: str) -> dict[str, Any]:
    """Run every step and return the summary."""
    recorder = Recorder()
    recorder.install()
    ctx = Context(host_port=host_port, token=token, bot_token=bot_token, recorder=recorder)
    results: list[dict[str, Any]] = []
    for name, step in STEPS:
        first = len(recorder.exchanges)
        outcome: dict[str, Any] = {"name": name}
        started = time.monotonic()
        try:
            detail = step(ctx)
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
            if detail:
                outcome["detail"] = detail
        outcome["seconds"] = round(time.monotonic() - started, 3)
        if outcome["status"] == "error":
            outcome["http"] = [vars(e) for e in recorder.exchanges[first:]]
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
    bot_token = os.environ.get(BOT_TOKEN_ENV)
    if not token:
        parser.error(f"{TOKEN_ENV} must hold an admin's JWT")
    if not bot_token:
        parser.error(f"{BOT_TOKEN_ENV} must hold the JWT of {BOT}")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    summary = run(args.host_port, token, bot_token)
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as handle:
            handle.write(text)
    sys.stdout.write(text + "\n")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
