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
from collections.abc import Callable
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
from metadata.generated.schema.entity.services.mlmodelService import (
    MlModelConnection,
    MlModelService,
    MlModelServiceType,
)
from metadata.generated.schema.entity.teams.user import User
from metadata.generated.schema.security.client.openMetadataJWTClientConfig import (
    OpenMetadataJWTClientConfig,
)
from metadata.generated.schema.security.credentials.awsCredentials import AWSCredentials
from metadata.generated.schema.type.basic import Status
from metadata.generated.schema.type.bulkOperationResult import BulkOperationResult
from metadata.generated.schema.type.entityReference import EntityReference
from metadata.generated.schema.type.entityReferenceList import EntityReferenceList
from metadata.generated.schema.type.tagLabel import LabelType, State, TagLabel, TagSource
from metadata.ingestion.ometa.client import APIError
from metadata.ingestion.ometa.ometa_api import OpenMetadata

TOKEN_ENV = "MLMODEL_EMULATOR_TOKEN"
ADMIN = "admin"
BODY_LIMIT = 3000
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


@dataclass
class Recorder:
    """Records every HTTP exchange made through ``requests`` while installed."""

    exchanges: list[Exchange] = field(default_factory=list)

    def install(self) -> None:
        """Wrap ``requests.Session.send`` so every exchange is recorded."""
        original = requests.Session.send
        recorder = self

        def send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
            body = request.body
            if isinstance(body, bytes):
                body = body.decode("utf-8", errors="replace")
            try:
                response = original(session, request, **kwargs)
            except Exception as exc:
                recorder.exchanges.append(
                    Exchange(request.method, request.url, _clip(body), None, f"<{exc!r}>")
                )
                raise
            recorder.exchanges.append(
                Exchange(
                    request.method,
                    request.url,
                    _clip(body),
                    response.status_code,
                    _clip(response.text),
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
    om: OpenMetadata | None = None
    created: dict[str, MlModelService] = field(default_factory=dict)
    mlflow_v2: MlModelService | None = None
    owner: User | None = None
    domain_id: uuid.UUID | None = None
    governed: MlModelService | None = None

    @property
    def client(self) -> OpenMetadata:
        """The constructed client; steps that need it depend on ``construct``."""
        if self.om is None:
            raise StepSkippedError("the client was not constructed")
        return self.om

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


# --- steps -------------------------------------------------------------------------------


def step_construct(ctx: Context) -> str:
    """The constructor's version validation does not raise."""
    config = OpenMetadataConnection(
        hostPort=ctx.host_port,
        authProvider=AuthProvider.openmetadata,
        securityConfig=OpenMetadataJWTClientConfig(jwtToken=ctx.token),
    )
    ctx.om = OpenMetadata(config)
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
    """list_all_entities with limit=2 yields every created service once."""
    expected = set(ctx.created)
    names = [entity.name.root for entity in ctx.client.list_all_entities(MlModelService, limit=2)]
    expect_equal(len(names), len(set(names)), f"duplicates: {names}")
    expect_equal(set(names), expected, "names")


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
    # Services created from here on are not in ``ctx.created``: the listing steps above
    # count exactly the services they expect.
    ("create_user", step_create_user),
    ("create_domain", step_create_domain),
    ("governed_create", step_governed_create),
    ("governed_get_by_name", step_governed_get_by_name),
    ("governed_get_by_id", step_governed_get_by_id),
    ("governed_list_entities", step_governed_list),
    ("governed_put_merges_tags", step_governed_put_merges_tags),
]


def run(host_port: str, token: str) -> dict[str, Any]:
    """Run every step and return the summary."""
    recorder = Recorder()
    recorder.install()
    ctx = Context(host_port=host_port, token=token)
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
    if not token:
        parser.error(f"{TOKEN_ENV} must hold a JWT")
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
