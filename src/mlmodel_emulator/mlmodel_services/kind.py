"""The ML model service entity: its fields, its connection config and secrets, and its
children, the ML models (mlmodelService.json, ServiceEntityRepository)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, cast

from sqlalchemy import Connection, Table

from mlmodel_emulator.auth.secrets import SecretCipher
from mlmodel_emulator.entities.assets import (
    DATA_PRODUCTS,
    GOVERNED,
    INGESTION_RUNNER,
    STYLE,
    AssetKind,
    governed_fields,
)
from mlmodel_emulator.entities.core import check_storable
from mlmodel_emulator.entities.kind import (
    DESCRIPTION,
    DISPLAY_NAME,
    Caller,
    Children,
    Doc,
    Field,
    Prepared,
    Rule,
)
from mlmodel_emulator.entities.permissions import Operation
from mlmodel_emulator.entities.store import Store
from mlmodel_emulator.errors import ApiError, EntityNotFound, ServerMisconfigured
from mlmodel_emulator.mlmodel_services import connections
from mlmodel_emulator.mlmodel_services.models import (
    MlModelServiceDomainRecord,
    MlModelServiceRecord,
    MlModelServiceVersionRecord,
)
from mlmodel_emulator.mlmodel_services.schemas import (
    CreateMlModelService,
    MlModelConnectionRequest,
    MlModelService,
    MlModelServicePatch,
)

ENTITY_TYPE: Final = "mlmodelService"


def _service_columns(doc: Doc) -> dict[str, Any]:
    return {"service_type": doc["serviceType"]}


STORE: Final = Store(
    cast(Table, MlModelServiceRecord.__table__),
    versions=cast(Table, MlModelServiceVersionRecord.__table__),
    domains=cast(Table, MlModelServiceDomainRecord.__table__),
    owner_key="service_id",
    extra_columns=_service_columns,
)


def _with_config(doc: Doc, transform: Callable[[str], str]) -> Doc:
    connection = doc.get("connection")
    if not connection or connection.get("config") is None:
        return doc
    config = connections.transform_secrets(doc["serviceType"], connection["config"], transform)
    return {**doc, "connection": {**connection, "config": config}}


class MlModelServices(AssetKind[CreateMlModelService]):
    entity_type = ENTITY_TYPE
    collection = "/v1/services/mlmodelServices"
    store = STORE
    create_model = CreateMlModelService
    fields = (
        Field("serviceType", Rule.FIXED, None),
        DISPLAY_NAME,
        DESCRIPTION,
        # ServiceUpdater.updateConnection records placeholders, never the connection.
        Field("connection", Rule.KEEP, "secret"),
        STYLE,
        *GOVERNED,
        DATA_PRODUCTS,
        INGESTION_RUNNER,
    )
    relation_fields = (*AssetKind.relation_fields, "pipelines")
    # A service's models go with it only when asked (recursive=true).
    children = (Children("mlmodel", "service_id"),)
    patch_model = MlModelServicePatch
    patch_kept = frozenset({"pipelines", "testConnectionResult"})
    # `fields` is checked against the entity's properties (EntityRepository.getFields).
    known_fields = frozenset(MlModelService.model_fields) | {"testConnectionResult"}

    def prepare(
        self, connection: Connection, request: CreateMlModelService, caller: Caller
    ) -> Prepared:
        """Validate what the request model cannot: the config against its service type, and
        the owners, domains and tags against the catalog (om-api §2.6)."""
        return self._prepare(connection, request, caller, None)

    def prepare_many(
        self, connection: Connection, requests: Sequence[CreateMlModelService], caller: Caller
    ) -> list[Prepared | ApiError]:
        """Each item prepared as `prepare` does, the configs they share validated once."""
        memo = connections.ConfigMemo(strict=caller.strict)
        prepared: list[Prepared | ApiError] = []
        for request in requests:
            try:
                prepared.append(self._prepare(connection, request, caller, memo))
            except ApiError as exc:
                prepared.append(exc)
        return prepared

    def _prepare(
        self,
        connection: Connection,
        request: CreateMlModelService,
        caller: Caller,
        memo: connections.ConfigMemo | None,
    ) -> Prepared:
        config = request.connection.config if request.connection is not None else None
        connection_doc = None
        if config is not None:
            service_type = connections.MlModelServiceType(request.service_type)
            connection_doc = {
                "config": connections.parse_config(service_type, config, strict=caller.strict)
                if memo is None
                else memo.parse(service_type, config)
            }
        return self.named(
            request,
            serviceType=request.service_type,
            connection=connection_doc,
            style=request.style.to_json_dict() if request.style else None,
            **governed_fields(connection, request),
        )

    def resolve(self, name: str, value: Any, original: Doc | None, prepared: Prepared) -> Any:
        """The request's connection, with masked secrets replaced by the stored ones."""
        if name != "connection":
            return value
        stored = (original or {}).get("connection") or {}
        config = connections.restore_masked_secrets(
            prepared.fields["serviceType"], value["config"], stored.get("config")
        )
        return {"config": config}

    def patched_value(
        self, connection: Connection, key: str, fields: Any, original: Doc, caller: Caller
    ) -> Any:
        if key == "connection":
            return _patched_connection(original, fields.connection, caller.strict)
        return super().patched_value(connection, key, fields, original, caller)

    def seal(self, doc: Doc, cipher: SecretCipher | None) -> Doc:
        assert cipher is not None
        return _with_config(doc, cipher.encrypt)

    def open(self, doc: Doc, cipher: SecretCipher | None) -> Doc:
        assert cipher is not None
        try:
            return _with_config(doc, cipher.decrypt)
        except ValueError as exc:
            raise ServerMisconfigured(str(exc)) from None

    def present(self, doc: Doc, cipher: SecretCipher | None, *, reveal: bool) -> Doc:
        connection = doc.get("connection")
        if not connection or connection.get("config") is None:
            return doc
        config = self.open(doc, cipher)["connection"]["config"]
        if not reveal:
            config = connections.mask_secrets(doc["serviceType"], config)
        return {**doc, "connection": {**connection, "config": config}}

    def mask_request(self, item: Any) -> Any:
        return connections.mask_secrets_anywhere(item)


MLMODEL_SERVICES: Final = MlModelServices()


def _patched_connection(
    original: Doc, requested: MlModelConnectionRequest | None, strict: bool
) -> Doc | None:
    """The patched connection: its config checked against the service type, and any masked
    secret replaced by the stored one."""
    if requested is None or requested.config is None:
        return None
    service_type = connections.MlModelServiceType(original["serviceType"])
    config = connections.parse_config(service_type, requested.config, strict=strict)
    stored = (original.get("connection") or {}).get("config")
    return {"config": connections.restore_masked_secrets(service_type, config, stored)}


def set_test_connection_result(
    connection: Connection, entity_id: str, result: Doc, *, caller: Caller
) -> Doc:
    """PUT /{id}/testConnectionResult: stored as is; version, updatedAt, updatedBy and
    changeDescription stay untouched (addTestConnectionResult)."""
    from mlmodel_emulator.entities.core import authorize

    actor = caller.actor(connection)
    stored = STORE.get_by_id(connection, entity_id, for_update=True)
    if stored is None or stored["deleted"]:
        raise EntityNotFound(ENTITY_TYPE, entity_id)
    # Authorized as a Create, as OpenMetadata's resource does.
    authorize(connection, MLMODEL_SERVICES, actor, [Operation.Create], stored.get("owners", []))
    check_storable(result)
    updated = {**stored, "testConnectionResult": result}
    STORE.replace_many(connection, [updated], previous=[stored])
    return updated
