"""The ML model entity: a model under its ML model service, with its features, its
hyper-parameters and where it is stored (mlmodel.json, MlModelRepository)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

from sqlalchemy import Connection, Table

from mlmodel_emulator.common.names import add_fqn
from mlmodel_emulator.entities.answers import reference
from mlmodel_emulator.entities.assets import DATA_PRODUCTS, GOVERNED, AssetKind, governed_fields
from mlmodel_emulator.entities.kind import (
    DESCRIPTION,
    DISPLAY_NAME,
    Caller,
    Doc,
    Field,
    Prepared,
    Rule,
)
from mlmodel_emulator.entities.store import Store
from mlmodel_emulator.errors import ApiError, BadRequest, EntityNotFound
from mlmodel_emulator.governance import references
from mlmodel_emulator.mlmodel_services.kind import MLMODEL_SERVICES
from mlmodel_emulator.mlmodels.models import (
    MlModelDomainRecord,
    MlModelRecord,
    MlModelVersionRecord,
)
from mlmodel_emulator.mlmodels.schemas import CreateMlModel, MlFeature, MlModel, MlModelPatch

ENTITY_TYPE: Final = "mlmodel"
SERVICE_TYPE: Final = "mlmodelService"


def _model_columns(doc: Doc) -> dict[str, Any]:
    return {"service_id": doc["service"]["id"]}


STORE: Final = Store(
    cast(Table, MlModelRecord.__table__),
    versions=cast(Table, MlModelVersionRecord.__table__),
    domains=cast(Table, MlModelDomainRecord.__table__),
    owner_key="mlmodel_id",
    extra_columns=_model_columns,
)


def _fqn(prefix: str, name: str) -> str:
    try:
        return add_fqn(prefix, name)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def _features(connection: Connection, model_fqn: str, features: list[MlFeature] | None) -> Any:
    """The features as stored: each with its FQN under the model's, its sources' FQNs,
    and its tags checked and filled as the model's are (MlModelRepository)."""
    if features is None:
        return None
    stored = []
    for feature in features:
        doc = feature.to_json_dict()
        if feature.name is not None:
            doc["fullyQualifiedName"] = _fqn(model_fqn, feature.name)
        if feature.tags:
            doc["tags"] = references.resolve_tags(
                connection, [t.to_json_dict() for t in feature.tags]
            )
        sources = []
        for source in feature.feature_sources or []:
            if source.data_source is not None:
                # No data asset (a table) can be registered here.
                raise EntityNotFound(source.data_source.type, source.data_source.id)
            source_doc = source.to_json_dict()
            if source.name is not None:
                source_doc["fullyQualifiedName"] = source.name
            if source.tags:
                source_doc["tags"] = references.resolve_tags(
                    connection, [t.to_json_dict() for t in source.tags]
                )
            sources.append(source_doc)
        if feature.feature_sources is not None:
            doc["featureSources"] = sources
        stored.append(doc)
    return stored


def _check_extension(extension: Any) -> None:
    """No custom property is defined for models here: any extension value is unknown."""
    if extension is None or extension == {}:
        return
    if not isinstance(extension, dict):
        raise BadRequest("[query param extension must be an object]")
    raise BadRequest(f"Unknown custom field {sorted(extension)[0]}")


class MlModels(AssetKind[CreateMlModel]):
    entity_type = ENTITY_TYPE
    collection = "/v1/mlmodels"
    store = STORE
    create_model = CreateMlModel
    patch_model = MlModelPatch
    fields = (
        DISPLAY_NAME,
        DESCRIPTION,
        Field("algorithm"),
        # A feature or hyper-parameter that changes in any way is recorded as one removed
        # and one added (recordListChange with the whole item as its identity).
        Field("mlFeatures", Rule.SET, "list", key="*"),
        Field("mlHyperParameters", Rule.SET, "list", key="*"),
        Field("target"),
        Field("mlStore", Rule.SET, "json"),
        Field("server"),
        Field("sourceUrl"),
        Field("lifeCycle", Rule.KEEP, "json"),
        Field("extension", Rule.SET, "json"),
        *GOVERNED,
        DATA_PRODUCTS,
        # Kept on the model as a reference; the FQN says which service it is in.
        Field("service", Rule.KEEP, None),
        Field("serviceType", Rule.KEEP, None),
        # Stored without a new version of its own (updateVersion=false in OpenMetadata).
        Field("sourceHash", Rule.SET, None),
    )
    unchanged_when_same = "sourceHash"
    reference_fields = (*AssetKind.reference_fields, "service")
    optional_fields = ("extension", "lifeCycle", "sourceHash", "usageSummary", "votes")
    known_fields = frozenset(MlModel.model_fields) | {"usageSummary", "votes", "dashboard"}

    def lookup_fqn(self, name: str) -> str:
        # '<service>.<model>' as given: the parts are quoted already.
        return name

    def prepare(self, connection: Connection, request: CreateMlModel, caller: Caller) -> Prepared:
        (prepared,) = self.prepare_many(connection, [request], caller)
        if isinstance(prepared, ApiError):
            raise prepared
        return prepared

    def prepare_many(
        self, connection: Connection, requests: Sequence[CreateMlModel], caller: Caller
    ) -> list[Prepared | ApiError]:
        """The services the requests name are read once, locked for share: a service cannot
        go while a model is written into it."""
        wanted = {MLMODEL_SERVICES.lookup_fqn(request.service) for request in requests}
        services = MLMODEL_SERVICES.store.get_many_by_fqn(connection, wanted, for_share=True)
        prepared: list[Prepared | ApiError] = []
        for request in requests:
            try:
                prepared.append(self._prepare(connection, request, services))
            except ApiError as exc:
                prepared.append(exc)
        return prepared

    def _prepare(
        self, connection: Connection, request: CreateMlModel, services: Mapping[str, Doc]
    ) -> Prepared:
        service = services.get(MLMODEL_SERVICES.lookup_fqn(request.service))
        if service is None or service["deleted"]:
            raise EntityNotFound(SERVICE_TYPE, request.service)
        if request.dashboard is not None:
            # No dashboard can be registered here.
            raise EntityNotFound("dashboard", request.dashboard)
        _check_extension(request.extension)
        fqn = _fqn(service["fullyQualifiedName"], request.name)
        return self.named(
            request,
            fqn=fqn,
            parent=service,
            algorithm=request.algorithm,
            mlFeatures=_features(connection, fqn, request.ml_features),
            mlHyperParameters=[p.to_json_dict() for p in request.ml_hyper_parameters]
            if request.ml_hyper_parameters is not None
            else None,
            target=request.target,
            mlStore=request.ml_store.to_json_dict() if request.ml_store else None,
            server=request.server,
            sourceUrl=request.source_url,
            lifeCycle=request.life_cycle.to_json_dict() if request.life_cycle else None,
            extension=None,
            service=reference(service, SERVICE_TYPE),
            serviceType=service["serviceType"],
            sourceHash=request.source_hash,
            **governed_fields(connection, request),
        )

    def expand(self, connection: Connection, docs: list[Doc], fields: frozenset[str]) -> list[Doc]:
        """Models with their service's reference as it is now (displayName, deleted), and
        the relation fields asked for."""
        docs = super().expand(connection, docs, fields)
        ids = {doc["service"]["id"] for doc in docs}
        services = MLMODEL_SERVICES.store.get_many_by_id(connection, ids)
        return [
            {**doc, "service": reference(services[doc["service"]["id"]], SERVICE_TYPE)}
            if doc["service"]["id"] in services
            else doc
            for doc in docs
        ]

    def check_patched(self, fields: Any) -> None:
        super().check_patched(fields)
        if fields.dashboard is not None:
            raise EntityNotFound("dashboard", fields.dashboard.id)
        _check_extension(fields.extension)

    def patched_value(
        self, connection: Connection, key: str, fields: Any, original: Doc, caller: Caller
    ) -> Any:
        if key == "mlFeatures":
            return _features(connection, original["fullyQualifiedName"], fields.ml_features)
        return super().patched_value(connection, key, fields, original, caller)


MLMODELS: Final = MlModels()
