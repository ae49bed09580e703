"""Connection configs: one model per connections/mlmodel/*.json schema, chosen by serviceType."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError
from pydantic.config import JsonDict

from mlmodel_emulator.errors import BadRequest, describe_errors, format_location

# basic.json marks these with "format": "password": masked for non-bots, encrypted at rest.
PASSWORD: JsonDict = {"format": "password"}


class MlModelServiceType(StrEnum):
    """mlmodelService.json#/definitions/mlModelServiceType."""

    Mlflow = "Mlflow"
    Sklearn = "Sklearn"
    CustomMlModel = "CustomMlModel"
    SageMaker = "SageMaker"
    VertexAI = "VertexAI"


class ConnectionModel(BaseModel):
    """A connection schema object: exact JSON names, no unknown keys.

    `required` lists what the JSON schema requires; OpenMetadata does not enforce it, so it
    is checked only in strict mode (see `missing_required`).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    required: ClassVar[tuple[str, ...]] = ()


class FilterPattern(ConnectionModel):
    """filterPattern.json."""

    includes: list[str] | None = None
    excludes: list[str] | None = None


class AWSCredentials(ConnectionModel):
    """security/credentials/awsCredentials.json."""

    required = ("awsRegion",)
    enabled: bool | None = False
    awsAccessKeyId: str | None = None
    awsSecretAccessKey: str | None = Field(default=None, json_schema_extra=PASSWORD)
    awsRegion: str | None = None
    awsSessionToken: str | None = None
    endPointURL: str | None = None
    profileName: str | None = None
    assumeRoleArn: str | None = None
    assumeRoleSessionName: str | None = "OpenMetadataSession"
    assumeRoleSourceIdentity: str | None = None


class GcpCredentialsValues(ConnectionModel):
    """security/credentials/gcpValues.json: a service account key, given inline."""

    type: Literal["service_account"] = "service_account"
    projectId: str | list[str] | None = None
    privateKeyId: str | None = None
    privateKey: str | None = Field(default=None, json_schema_extra=PASSWORD)
    clientEmail: str | None = None
    clientId: str | None = None
    authUri: str | None = "https://accounts.google.com/o/oauth2/auth"
    tokenUri: str | None = "https://oauth2.googleapis.com/token"
    authProviderX509CertUrl: str | None = "https://www.googleapis.com/oauth2/v1/certs"
    clientX509CertUrl: str | None = None


class GcpCredentialsPath(ConnectionModel):
    """gcpCredentials.json#/definitions/gcpCredentialsPath: a key file on the ingestion host."""

    type: Literal["gcp_credential_path"] = "gcp_credential_path"
    path: str | None = None
    projectId: str | list[str] | None = None


class GcpExternalAccount(ConnectionModel):
    """security/credentials/gcpExternalAccount.json: workload identity federation."""

    type: Literal["external_account"] = "external_account"
    externalType: Literal["external_account"] = "external_account"
    audience: str | None = None
    subjectTokenType: str | None = None
    tokenURL: str | None = None
    credentialSource: dict[str, str] | None = None


class GcpADC(ConnectionModel):
    """gcpCredentials.json#/definitions/gcpADC: application default credentials."""

    type: Literal["gcp_adc"] = "gcp_adc"
    projectId: str | list[str] | None = None


def _gcp_config_kind(value: Any) -> str:
    # Clients leave `type` out when it has its default, so infer the variant the way the
    # official client's smart union does: service-account values unless told otherwise.
    if isinstance(value, BaseModel):
        return str(getattr(value, "type", "service_account"))
    if not isinstance(value, Mapping):
        return "service_account"
    if "type" in value:
        return str(value["type"])
    if "externalType" in value:
        return "external_account"
    if "path" in value:
        return "gcp_credential_path"
    return "service_account"


GcpConfig = Annotated[
    Annotated[GcpCredentialsValues, Tag("service_account")]
    | Annotated[GcpCredentialsPath, Tag("gcp_credential_path")]
    | Annotated[GcpExternalAccount, Tag("external_account")]
    | Annotated[GcpADC, Tag("gcp_adc")],
    Discriminator(_gcp_config_kind),
]


class GCPImpersonateServiceAccountValues(ConnectionModel):
    """gcpCredentials.json#/definitions/GCPImpersonateServiceAccountValues."""

    impersonateServiceAccount: str | None = None
    lifetime: int | None = 3600


class GCPCredentials(ConnectionModel):
    """security/credentials/gcpCredentials.json."""

    required = ("gcpConfig",)
    gcpConfig: GcpConfig | None = None
    gcpImpersonateServiceAccount: GCPImpersonateServiceAccountValues | None = None


class MlflowConnection(ConnectionModel):
    """connections/mlmodel/mlflowConnection.json."""

    required = ("trackingUri", "registryUri")
    type: Literal[MlModelServiceType.Mlflow] = MlModelServiceType.Mlflow
    trackingUri: str | None = None
    registryUri: str | None = None
    mlModelFilterPattern: FilterPattern | None = None
    supportsMetadataExtraction: bool | None = True


class SklearnConnection(ConnectionModel):
    """connections/mlmodel/sklearnConnection.json."""

    type: Literal[MlModelServiceType.Sklearn] = MlModelServiceType.Sklearn
    mlModelFilterPattern: FilterPattern | None = None
    supportsMetadataExtraction: bool | None = True


class CustomMlModelConnection(ConnectionModel):
    """connections/mlmodel/customMlModelConnection.json."""

    required = ("sourcePythonClass",)
    type: Literal[MlModelServiceType.CustomMlModel] = MlModelServiceType.CustomMlModel
    sourcePythonClass: str | None = None
    connectionOptions: dict[str, str] | None = None
    mlModelFilterPattern: FilterPattern | None = None
    supportsMetadataExtraction: bool | None = True


class SageMakerConnection(ConnectionModel):
    """connections/mlmodel/sageMakerConnection.json."""

    required = ("awsConfig",)
    type: Literal[MlModelServiceType.SageMaker] = MlModelServiceType.SageMaker
    awsConfig: AWSCredentials | None = None
    mlModelFilterPattern: FilterPattern | None = None
    supportsMetadataExtraction: bool | None = True


class VertexAIConnection(ConnectionModel):
    """connections/mlmodel/vertexaiConnection.json."""

    required = ("credentials", "location")
    type: Literal[MlModelServiceType.VertexAI] = MlModelServiceType.VertexAI
    credentials: GCPCredentials | None = None
    location: str | None = None
    mlModelFilterPattern: FilterPattern | None = None
    supportsMetadataExtraction: bool | None = True


# mlmodelService.json#/definitions/mlModelConnection: the oneOf, keyed on `type`.
MlModelConnectionConfig = Annotated[
    MlflowConnection
    | SklearnConnection
    | CustomMlModelConnection
    | SageMakerConnection
    | VertexAIConnection,
    Field(discriminator="type"),
]

CONNECTION_CLASS_BY_TYPE: Final[Mapping[MlModelServiceType, type[ConnectionModel]]] = {
    MlModelServiceType.Mlflow: MlflowConnection,
    MlModelServiceType.Sklearn: SklearnConnection,
    MlModelServiceType.CustomMlModel: CustomMlModelConnection,
    MlModelServiceType.SageMaker: SageMakerConnection,
    MlModelServiceType.VertexAI: VertexAIConnection,
}

_CONFIG_PATH = ("connection", "config")


def missing_required(model: BaseModel, path: str = "") -> Iterator[str]:
    """Yield the path of every field the JSON schema requires that the config leaves out."""
    if isinstance(model, ConnectionModel):
        for name in model.required:
            if getattr(model, name) is None:
                yield f"{path}.{name}" if path else name
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from missing_required(value, f"{path}.{name}" if path else name)


def _describe(service_type: MlModelServiceType, errors: list[Any]) -> str:
    for error in errors:
        if error["type"] == "extra_forbidden":
            # ServiceEntityRepository's text for a key the connection class does not know.
            loc = [part for part in error["loc"] if part not in _TAGS]
            return (
                f"Failed to encrypt '{service_type.value}' connection stored in DB due to an "
                f"unrecognized field: '{format_location(loc)}'"
            )
    return describe_errors(
        [
            {**error, "loc": (*_CONFIG_PATH, *(p for p in error["loc"] if p not in _TAGS))}
            for error in errors
        ]
    )


_TAGS = frozenset({"service_account", "gcp_credential_path", "external_account", "gcp_adc"})


def parse_config(
    service_type: MlModelServiceType, raw: Mapping[str, Any], *, strict: bool
) -> dict[str, Any]:
    """Validate a config against the class its service type names; return it normalised.

    `type` is filled from the service type when left out (the official client leaves it
    out); a `type` naming another service type is refused. The result carries the schema
    defaults, as OpenMetadata stores them.
    """
    given = raw.get("type") or service_type.value
    if given != service_type.value:
        raise BadRequest(
            f"connection.config.type '{given}' does not match serviceType '{service_type.value}'"
        )
    cls = CONNECTION_CLASS_BY_TYPE[service_type]
    try:
        config = cls.model_validate({**raw, "type": service_type.value})
    except ValidationError as exc:
        raise BadRequest(_describe(service_type, exc.errors())) from None
    if strict:
        missing = [".".join((*_CONFIG_PATH, path)) for path in missing_required(config)]
        if missing:
            raise BadRequest(
                "[" + ", ".join(f"query param {path} must not be null" for path in missing) + "]"
            )
    return config.model_dump(mode="json", exclude_none=True)


class ConfigMemo:
    """parse_config for the items of one bulk request, each config validated once: an item
    whose config is exactly that of an earlier one (same keys in the same order, values of
    the same JSON types and values) gets a copy of its result. Only results are kept; a
    config that fails is validated again, so that each item fails with its own answer."""

    __slots__ = ("_parsed", "_strict")

    def __init__(self, *, strict: bool) -> None:
        self._strict = strict
        self._parsed: dict[Any, dict[str, Any]] = {}

    def parse(self, service_type: MlModelServiceType, raw: Mapping[str, Any]) -> dict[str, Any]:
        key = json_key(raw)
        if key is None:
            return parse_config(service_type, raw, strict=self._strict)
        key = (service_type, key)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = parse_config(service_type, raw, strict=self._strict)
            self._parsed[key] = copy_json(parsed)
            return parsed
        copied: dict[str, Any] = copy_json(parsed)
        return copied


def json_key(value: Any) -> Any:
    """A hashable key equal for two JSON values only when they are the same: same types
    (1, 1.0 and true differ), same floats bit for bit, same key order. None for a value
    that is not plain JSON (a subclass, a tuple, any other object)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return (kind, value)
    if kind is float:
        return (kind, value.hex())
    if kind is dict:
        items = []
        for name, item in value.items():
            item_key = json_key(item)
            if type(name) is not str or item_key is None:
                return None
            items.append((name, item_key))
        return (kind, tuple(items))
    if kind is list:
        keys = tuple(json_key(item) for item in value)
        return None if None in keys else (kind, keys)
    return None


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (its dicts and lists new, the rest shared: immutable)."""
    if type(value) is dict:
        return {name: copy_json(item) for name, item in value.items()}
    if type(value) is list:
        return [copy_json(item) for item in value]
    return value


# ---------------------------------------------------------------------------- secrets

# PasswordEntityMasker.PASSWORD_MASK
MASK: Final = "*********"


def _password_paths(
    cls: type[BaseModel], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    for name, field in cls.model_fields.items():
        if field.json_schema_extra == PASSWORD:
            yield (*prefix, name)
        for candidate in _model_classes(field.annotation):
            yield from _password_paths(candidate, (*prefix, name))


def _model_classes(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for argument in getattr(annotation, "__args__", ()):
        yield from _model_classes(argument)
    for metadata in getattr(annotation, "__metadata__", ()):
        yield from _model_classes(metadata)
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and getattr(annotation, "__metadata__", None) is not None:
        yield from _model_classes(origin)


# Where each config keeps its "format": "password" fields, e.g. awsConfig.awsSecretAccessKey.
SECRET_PATHS: Final[Mapping[str, tuple[tuple[str, ...], ...]]] = {
    service_type.value: tuple(dict.fromkeys(_password_paths(cls)))
    for service_type, cls in CONNECTION_CLASS_BY_TYPE.items()
}


# Connection URIs that may carry a password (mlflowConnection.json's registryUri example is
# mysql+pymysql://mlflow:password@localhost:3307/experiments). Beyond OpenMetadata, that
# password is masked, restored and encrypted like a password field.
URI_PATHS: Final[Mapping[str, tuple[tuple[str, ...], ...]]] = {
    service_type.value: () for service_type in CONNECTION_CLASS_BY_TYPE
} | {MlModelServiceType.Mlflow.value: (("trackingUri",), ("registryUri",))}

SECRET_FIELD_NAMES: Final = frozenset(path[-1] for paths in SECRET_PATHS.values() for path in paths)


def _walk(config: Mapping[str, Any], path: tuple[str, ...]) -> tuple[dict[str, Any], str] | None:
    """The object holding the last key of path, and that key; None where the path is absent."""
    node: Any = config
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict) and isinstance(node.get(path[-1]), str):
        return node, path[-1]
    return None


def split_uri_password(uri: str) -> tuple[str, str, str] | None:
    """(before, password, after) for scheme://user:password@host..., else None."""
    if "@" not in uri:
        return None
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return None
    authority_end = len(rest)
    for stop in "/?#":
        index = rest.find(stop)
        if index != -1:
            authority_end = min(authority_end, index)
    authority = rest[:authority_end]
    userinfo, at, _ = authority.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not at or not colon or not password:
        return None
    before = f"{scheme}://{user}:"
    return before, password, uri[len(before) + len(password) :]


def _mask_uri(uri: str) -> str:
    parts = split_uri_password(uri)
    return uri if parts is None else parts[0] + MASK + parts[2]


def mask_secrets(service_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """A copy of config with every password field, and every password in a URI, masked."""
    masked: dict[str, Any] = orjson_copy(config)
    for path in SECRET_PATHS[service_type]:
        found = _walk(masked, path)
        if found is not None:
            found[0][found[1]] = MASK
    for path in URI_PATHS[service_type]:
        found = _walk(masked, path)
        if found is not None:
            found[0][found[1]] = _mask_uri(found[0][found[1]])
    return masked


def mask_secrets_anywhere(value: Any) -> Any:
    """Mask password fields and URI passwords in any JSON value (a rejected request, say)."""
    if isinstance(value, dict):
        return {
            key: MASK
            if key in SECRET_FIELD_NAMES and isinstance(item, str)
            else mask_secrets_anywhere(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets_anywhere(item) for item in value]
    if isinstance(value, str):
        return _mask_uri(value)
    return value


def _secret_error(path: tuple[str, ...]) -> BadRequest:
    return BadRequest(
        f"connection.config.{'.'.join(path)} is the mask {MASK}, and no stored "
        "secret is there to keep: send the secret itself"
    )


def restore_masked_secrets(
    service_type: str, config: dict[str, Any], stored: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Put the stored secret back wherever a client sent the mask (ServiceEntityResource.unmask).

    `stored` is the stored config in clear. A mask with no stored secret behind it is
    refused: saving the mask would lose the secret.
    """
    for path in SECRET_PATHS[service_type]:
        found = _walk(config, path)
        if found is None or found[0][found[1]] != MASK:
            continue
        previous = _walk(stored, path) if stored is not None else None
        if previous is None or previous[0][previous[1]] == MASK:
            raise _secret_error(path)
        found[0][found[1]] = previous[0][previous[1]]
    for path in URI_PATHS[service_type]:
        found = _walk(config, path)
        parts = split_uri_password(found[0][found[1]]) if found is not None else None
        if found is None or parts is None or parts[1] != MASK:
            continue
        previous = _walk(stored, path) if stored is not None else None
        stored_parts = split_uri_password(previous[0][previous[1]]) if previous else None
        if stored_parts is None:
            raise _secret_error(path)
        found[0][found[1]] = parts[0] + stored_parts[1] + parts[2]
    return config


def _secret_locations(service_type: str, config: dict[str, Any]) -> list[tuple[str, ...]]:
    """The paths of the secret values present in config: password fields, and URIs that
    carry a password or are no URI at all (once sealed they are not)."""
    locations = [path for path in SECRET_PATHS[service_type] if _walk(config, path) is not None]
    for path in URI_PATHS[service_type]:
        found = _walk(config, path)
        if found is not None:
            value = found[0][found[1]]
            if "://" not in value or split_uri_password(value) is not None:
                locations.append(path)
    return locations


def transform_secrets(
    service_type: str, config: dict[str, Any], transform: Callable[[str], str]
) -> dict[str, Any]:
    """config with transform applied to every secret value (to seal or open it).

    A copy when there is anything to transform; config itself otherwise, since most
    configs hold no secret and copying them is most of the cost.
    """
    locations = _secret_locations(service_type, config)
    if not locations:
        return config
    copied = orjson_copy(config)
    for path in locations:
        found = _walk(copied, path)
        assert found is not None
        found[0][found[1]] = transform(found[0][found[1]])
    return copied


def orjson_copy(value: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON object."""
    copied: dict[str, Any] = orjson.loads(orjson.dumps(value))
    return copied
