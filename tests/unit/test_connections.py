"""Unit tests of connection config parsing and secret masking (mlmodel_services/connections.py)."""

from __future__ import annotations

import copy
import typing
from typing import Any

import pytest

from mlmodel_emulator.errors import BadRequest
from mlmodel_emulator.mlmodel_services.connections import (
    CONNECTION_CLASS_BY_TYPE,
    MASK,
    SECRET_PATHS,
    ConfigMemo,
    MlModelConnectionConfig,
    MlModelServiceType,
    json_key,
    mask_secrets,
    parse_config,
    restore_masked_secrets,
)

MLFLOW = {"trackingUri": "http://localhost:5000", "registryUri": "http://localhost:8080"}
SAGEMAKER = {"awsConfig": {"awsRegion": "eu-west-1", "awsSecretAccessKey": "s3cr3t"}}
VERTEX = {
    "credentials": {"gcpConfig": {"projectId": "p", "privateKey": "-----BEGIN KEY-----"}},
    "location": "europe-west1",
}
GCP_DEFAULTS = {
    "authUri": "https://accounts.google.com/o/oauth2/auth",
    "tokenUri": "https://oauth2.googleapis.com/token",
    "authProviderX509CertUrl": "https://www.googleapis.com/oauth2/v1/certs",
}


def _error(service_type: MlModelServiceType, raw: dict[str, Any], *, strict: bool = False) -> str:
    with pytest.raises(BadRequest) as raised:
        parse_config(service_type, raw, strict=strict)
    assert raised.value.status_code == 400
    return raised.value.message


# ---------------------------------------------------------------------------- completeness


def test_service_types_match_mlmodel_service_json_enum() -> None:
    assert [t.value for t in MlModelServiceType] == [
        "Mlflow",
        "Sklearn",
        "CustomMlModel",
        "SageMaker",
        "VertexAI",
    ]


def test_connection_classes_one_per_service_type_and_vice_versa() -> None:
    classes = list(CONNECTION_CLASS_BY_TYPE.values())

    assert set(CONNECTION_CLASS_BY_TYPE) == set(MlModelServiceType)
    assert len(set(classes)) == len(classes) == len(MlModelServiceType)


def test_connection_union_holds_exactly_the_mapped_classes() -> None:
    union = typing.get_args(MlModelConnectionConfig)[0]

    assert set(typing.get_args(union)) == set(CONNECTION_CLASS_BY_TYPE.values())


@pytest.mark.parametrize("service_type", list(MlModelServiceType), ids=str)
def test_connection_class_type_default_names_its_service_type(
    service_type: MlModelServiceType,
) -> None:
    cls = CONNECTION_CLASS_BY_TYPE[service_type]

    assert cls.model_fields["type"].default == service_type
    assert cls.__name__.lower().startswith(service_type.value.lower())


def test_secret_paths_list_every_password_field() -> None:
    assert SECRET_PATHS == {
        "Mlflow": (),
        "Sklearn": (),
        "CustomMlModel": (),
        "SageMaker": (("awsConfig", "awsSecretAccessKey"),),
        "VertexAI": (("credentials", "gcpConfig", "privateKey"),),
    }


# ---------------------------------------------------------------------------- parse_config


@pytest.mark.parametrize(
    ("service_type", "raw", "expected"),
    [
        pytest.param(
            MlModelServiceType.Mlflow,
            MLFLOW,
            {"type": "Mlflow", **MLFLOW, "supportsMetadataExtraction": True},
            id="mlflow",
        ),
        pytest.param(
            MlModelServiceType.Sklearn,
            {},
            {"type": "Sklearn", "supportsMetadataExtraction": True},
            id="sklearn",
        ),
        pytest.param(
            MlModelServiceType.CustomMlModel,
            {"sourcePythonClass": "my.Source", "connectionOptions": {"k": "v"}},
            {
                "type": "CustomMlModel",
                "sourcePythonClass": "my.Source",
                "connectionOptions": {"k": "v"},
                "supportsMetadataExtraction": True,
            },
            id="custom",
        ),
        pytest.param(
            MlModelServiceType.SageMaker,
            SAGEMAKER,
            {
                "type": "SageMaker",
                "awsConfig": {
                    "enabled": False,
                    "awsRegion": "eu-west-1",
                    "awsSecretAccessKey": "s3cr3t",
                    "assumeRoleSessionName": "OpenMetadataSession",
                },
                "supportsMetadataExtraction": True,
            },
            id="sagemaker",
        ),
        pytest.param(
            MlModelServiceType.VertexAI,
            VERTEX,
            {
                "type": "VertexAI",
                "credentials": {
                    "gcpConfig": {
                        "type": "service_account",
                        "projectId": "p",
                        "privateKey": "-----BEGIN KEY-----",
                        **GCP_DEFAULTS,
                    }
                },
                "location": "europe-west1",
                "supportsMetadataExtraction": True,
            },
            id="vertexai",
        ),
    ],
)
def test_parse_config_type_left_out_fills_type_and_defaults(
    service_type: MlModelServiceType, raw: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert parse_config(service_type, raw, strict=False) == expected


@pytest.mark.parametrize("service_type", list(MlModelServiceType), ids=str)
def test_parse_config_matching_type_is_accepted(service_type: MlModelServiceType) -> None:
    config = parse_config(service_type, {"type": service_type.value}, strict=False)

    assert config["type"] == service_type.value


def test_parse_config_null_type_fills_service_type() -> None:
    # Jackson reads "type": null as the field left at null; nothing rejects it.
    config = parse_config(MlModelServiceType.Sklearn, {"type": None}, strict=False)

    assert config == {"type": "Sklearn", "supportsMetadataExtraction": True}


def test_parse_config_input_is_not_mutated() -> None:
    raw = copy.deepcopy(SAGEMAKER)

    parse_config(MlModelServiceType.SageMaker, raw, strict=False)

    assert raw == SAGEMAKER


@pytest.mark.parametrize(
    ("service_type", "given"),
    [
        pytest.param(MlModelServiceType.Mlflow, "Sklearn", id="other_service_type"),
        pytest.param(MlModelServiceType.SageMaker, "sagemaker", id="wrong_case"),
        pytest.param(MlModelServiceType.VertexAI, "Demo", id="demo_not_in_one_of"),
    ],
)
def test_parse_config_type_of_other_service_raises_bad_request(
    service_type: MlModelServiceType, given: str
) -> None:
    message = _error(service_type, {"type": given})

    assert message == (
        f"connection.config.type '{given}' does not match serviceType '{service_type.value}'"
    )


@pytest.mark.parametrize(
    ("service_type", "raw", "path"),
    [
        pytest.param(MlModelServiceType.Mlflow, {**MLFLOW, "token": "x"}, "token", id="top"),
        pytest.param(MlModelServiceType.Sklearn, {"trackingUri": "x"}, "trackingUri", id="sklearn"),
        pytest.param(
            MlModelServiceType.SageMaker,
            {"awsConfig": {"awsRegion": "eu-west-1", "secretKey": "x"}},
            "awsConfig.secretKey",
            id="nested",
        ),
        pytest.param(
            MlModelServiceType.Mlflow,
            {"mlModelFilterPattern": {"include": ["a"]}},
            "mlModelFilterPattern.include",
            id="filter_pattern",
        ),
        pytest.param(
            MlModelServiceType.VertexAI,
            {"credentials": {"gcpConfig": {"projectId": "p", "keyFile": "x"}}},
            "credentials.gcpConfig.keyFile",
            id="gcp_values",
        ),
        pytest.param(
            MlModelServiceType.VertexAI,
            {"credentials": {"gcpConfig": {"path": "/k.json", "privateKey": "x"}}},
            "credentials.gcpConfig.privateKey",
            id="gcp_path",
        ),
    ],
)
def test_parse_config_unknown_field_raises_open_metadata_message(
    service_type: MlModelServiceType, raw: dict[str, Any], path: str
) -> None:
    message = _error(service_type, raw)

    assert message == (
        f"Failed to encrypt '{service_type.value}' connection stored in DB due to an "
        f"unrecognized field: '{path}'"
    )


@pytest.mark.parametrize(
    ("service_type", "raw", "message"),
    [
        pytest.param(
            MlModelServiceType.Mlflow,
            {"trackingUri": 5},
            "[query param connection.config.trackingUri must be a string]",
            id="string",
        ),
        pytest.param(
            MlModelServiceType.Mlflow,
            {"supportsMetadataExtraction": "maybe"},
            "[query param connection.config.supportsMetadataExtraction must be a boolean]",
            id="boolean",
        ),
        pytest.param(
            MlModelServiceType.Sklearn,
            {"mlModelFilterPattern": {"includes": "a.*"}},
            "[query param connection.config.mlModelFilterPattern.includes must be an array]",
            id="array",
        ),
        pytest.param(
            MlModelServiceType.SageMaker,
            {"awsConfig": "eu-west-1"},
            "[query param connection.config.awsConfig must be an object]",
            id="object",
        ),
        pytest.param(
            MlModelServiceType.CustomMlModel,
            {"sourcePythonClass": "a.B", "connectionOptions": {"retries": 3}},
            "[query param connection.config.connectionOptions.retries must be a string]",
            id="map_value",
        ),
        pytest.param(
            MlModelServiceType.VertexAI,
            {"credentials": {"gcpConfig": {"projectId": "p", "clientId": 7}}},
            "[query param connection.config.credentials.gcpConfig.clientId must be a string]",
            id="inside_gcp_variant",
        ),
    ],
)
def test_parse_config_wrong_value_type_names_the_path(
    service_type: MlModelServiceType, raw: dict[str, Any], message: str
) -> None:
    assert _error(service_type, raw) == message


@pytest.mark.parametrize(
    ("service_type", "raw", "missing"),
    [
        pytest.param(
            MlModelServiceType.Mlflow, {}, ["trackingUri", "registryUri"], id="mlflow_both"
        ),
        pytest.param(
            MlModelServiceType.Mlflow,
            {"trackingUri": "http://localhost:5000"},
            ["registryUri"],
            id="mlflow_registry",
        ),
        pytest.param(MlModelServiceType.SageMaker, {}, ["awsConfig"], id="sagemaker"),
        pytest.param(
            MlModelServiceType.SageMaker,
            {"awsConfig": {"awsSecretAccessKey": "s"}},
            ["awsConfig.awsRegion"],
            id="sagemaker_region",
        ),
        pytest.param(
            MlModelServiceType.VertexAI, {}, ["credentials", "location"], id="vertexai_both"
        ),
        pytest.param(
            MlModelServiceType.VertexAI,
            {"credentials": {}, "location": "europe-west1"},
            ["credentials.gcpConfig"],
            id="vertexai_gcp_config",
        ),
        pytest.param(MlModelServiceType.CustomMlModel, {}, ["sourcePythonClass"], id="custom"),
    ],
)
def test_parse_config_strict_missing_required_raises_bad_request(
    service_type: MlModelServiceType, raw: dict[str, Any], missing: list[str]
) -> None:
    message = _error(service_type, raw, strict=True)

    expected = ", ".join(
        f"query param connection.config.{path} must not be null" for path in missing
    )
    assert message == f"[{expected}]"


@pytest.mark.parametrize(
    ("service_type", "raw"),
    [
        pytest.param(MlModelServiceType.Mlflow, {}, id="mlflow"),
        pytest.param(MlModelServiceType.SageMaker, {}, id="sagemaker"),
        pytest.param(MlModelServiceType.SageMaker, {"awsConfig": {}}, id="sagemaker_region"),
        pytest.param(MlModelServiceType.VertexAI, {}, id="vertexai"),
        pytest.param(MlModelServiceType.VertexAI, {"credentials": {}}, id="vertexai_gcp"),
        pytest.param(MlModelServiceType.CustomMlModel, {}, id="custom"),
    ],
)
def test_parse_config_lenient_missing_required_is_accepted(
    service_type: MlModelServiceType, raw: dict[str, Any]
) -> None:
    config = parse_config(service_type, raw, strict=False)

    assert config["type"] == service_type.value
    assert config["supportsMetadataExtraction"] is True


@pytest.mark.parametrize(
    ("service_type", "raw"),
    [
        pytest.param(MlModelServiceType.Mlflow, MLFLOW, id="mlflow"),
        pytest.param(MlModelServiceType.Sklearn, {}, id="sklearn"),
        pytest.param(MlModelServiceType.SageMaker, SAGEMAKER, id="sagemaker"),
        pytest.param(MlModelServiceType.VertexAI, VERTEX, id="vertexai"),
        pytest.param(MlModelServiceType.CustomMlModel, {"sourcePythonClass": "a.B"}, id="custom"),
    ],
)
def test_parse_config_strict_complete_config_equals_lenient(
    service_type: MlModelServiceType, raw: dict[str, Any]
) -> None:
    strict = parse_config(service_type, raw, strict=True)

    assert strict == parse_config(service_type, raw, strict=False)


def test_parse_config_explicit_false_overrides_default() -> None:
    config = parse_config(
        MlModelServiceType.Mlflow, {**MLFLOW, "supportsMetadataExtraction": False}, strict=False
    )

    assert config["supportsMetadataExtraction"] is False


def test_parse_config_explicit_session_name_overrides_default() -> None:
    raw = {"awsConfig": {"awsRegion": "eu-west-1", "assumeRoleSessionName": "mine"}}

    config = parse_config(MlModelServiceType.SageMaker, raw, strict=False)

    assert config["awsConfig"]["assumeRoleSessionName"] == "mine"


@pytest.mark.parametrize(
    ("gcp_config", "expected"),
    [
        pytest.param(
            {"projectId": "p"},
            {"type": "service_account", "projectId": "p", **GCP_DEFAULTS},
            id="values_by_default",
        ),
        pytest.param(
            {"projectId": ["p1", "p2"], "clientEmail": "sa@p.iam"},
            {
                "type": "service_account",
                "projectId": ["p1", "p2"],
                "clientEmail": "sa@p.iam",
                **GCP_DEFAULTS,
            },
            id="values_project_list",
        ),
        pytest.param(
            {"path": "/keys/sa.json", "projectId": "p"},
            {"type": "gcp_credential_path", "path": "/keys/sa.json", "projectId": "p"},
            id="path_from_path_key",
        ),
        pytest.param(
            {"externalType": "external_account", "audience": "aud"},
            {"type": "external_account", "externalType": "external_account", "audience": "aud"},
            id="external_from_external_type",
        ),
        pytest.param(
            {"type": "gcp_adc", "projectId": "p"},
            {"type": "gcp_adc", "projectId": "p"},
            id="adc_by_type",
        ),
        pytest.param(
            {"type": "gcp_credential_path", "path": "/k.json"},
            {"type": "gcp_credential_path", "path": "/k.json"},
            id="path_by_type",
        ),
    ],
)
def test_parse_config_gcp_config_variant_is_inferred(
    gcp_config: dict[str, Any], expected: dict[str, Any]
) -> None:
    raw = {"credentials": {"gcpConfig": gcp_config}, "location": "europe-west1"}

    config = parse_config(MlModelServiceType.VertexAI, raw, strict=False)

    assert config["credentials"] == {"gcpConfig": expected}


def test_parse_config_gcp_impersonation_gets_default_lifetime() -> None:
    raw = {
        "credentials": {
            "gcpConfig": {"type": "gcp_adc"},
            "gcpImpersonateServiceAccount": {"impersonateServiceAccount": "sa@p.iam"},
        }
    }

    config = parse_config(MlModelServiceType.VertexAI, raw, strict=False)

    assert config["credentials"]["gcpImpersonateServiceAccount"] == {
        "impersonateServiceAccount": "sa@p.iam",
        "lifetime": 3600,
    }


def test_parse_config_unknown_gcp_variant_raises_bad_request() -> None:
    raw = {"credentials": {"gcpConfig": {"type": "kerberos"}}}

    message = _error(MlModelServiceType.VertexAI, raw)

    assert message.startswith("[query param connection.config.credentials.gcpConfig ")
    assert "'kerberos'" in message


# ---------------------------------------------------------------------------- masking


def test_mask_secrets_sagemaker_masks_secret_access_key_only() -> None:
    config = parse_config(MlModelServiceType.SageMaker, SAGEMAKER, strict=False)

    masked = mask_secrets("SageMaker", config)

    assert masked["awsConfig"]["awsSecretAccessKey"] == "*********"
    assert masked["awsConfig"]["awsRegion"] == "eu-west-1"
    assert {**masked, "awsConfig": {**masked["awsConfig"], "awsSecretAccessKey": "s3cr3t"}} == (
        config
    )


def test_mask_secrets_vertexai_masks_private_key() -> None:
    config = parse_config(MlModelServiceType.VertexAI, VERTEX, strict=False)

    masked = mask_secrets("VertexAI", config)

    assert masked["credentials"]["gcpConfig"]["privateKey"] == MASK
    assert masked["credentials"]["gcpConfig"]["projectId"] == "p"


def test_mask_value_is_password_entity_masker_mask() -> None:
    assert MASK == "*********"


def test_mask_secrets_input_is_not_mutated() -> None:
    config = parse_config(MlModelServiceType.SageMaker, SAGEMAKER, strict=False)
    snapshot = copy.deepcopy(config)

    mask_secrets("SageMaker", config)

    assert config == snapshot


@pytest.mark.parametrize(
    ("service_type", "config"),
    [
        pytest.param("Mlflow", {"type": "Mlflow", **MLFLOW}, id="no_password_fields"),
        pytest.param("SageMaker", {"type": "SageMaker"}, id="no_aws_config"),
        pytest.param("SageMaker", {"awsConfig": {"awsRegion": "eu-west-1"}}, id="secret_left_out"),
        pytest.param("SageMaker", {"awsConfig": {"awsSecretAccessKey": None}}, id="secret_null"),
        pytest.param(
            "VertexAI",
            {"credentials": {"gcpConfig": {"type": "gcp_credential_path", "path": "/k"}}},
            id="gcp_path_variant",
        ),
    ],
)
def test_mask_secrets_nothing_to_mask_returns_equal_copy(
    service_type: str, config: dict[str, Any]
) -> None:
    masked = mask_secrets(service_type, config)

    assert masked == config
    assert masked is not config


def test_restore_masked_secrets_mask_replaced_by_stored_secret() -> None:
    stored = {"awsConfig": {"awsRegion": "eu-west-1", "awsSecretAccessKey": "s3cr3t"}}
    incoming = {"awsConfig": {"awsRegion": "us-east-1", "awsSecretAccessKey": MASK}}

    restored = restore_masked_secrets("SageMaker", incoming, stored)

    assert restored == {"awsConfig": {"awsRegion": "us-east-1", "awsSecretAccessKey": "s3cr3t"}}


def test_restore_masked_secrets_vertexai_mask_replaced_by_stored_key() -> None:
    stored = {"credentials": {"gcpConfig": {"privateKey": "KEY"}}}
    incoming = {"credentials": {"gcpConfig": {"privateKey": MASK, "projectId": "p"}}}

    restored = restore_masked_secrets("VertexAI", incoming, stored)

    assert restored == {"credentials": {"gcpConfig": {"privateKey": "KEY", "projectId": "p"}}}


@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param(
            {"awsConfig": {"awsRegion": "eu-west-1", "awsSecretAccessKey": "n3w"}},
            id="new_secret",
        ),
        pytest.param({"awsConfig": {"awsRegion": "eu-west-1"}}, id="secret_left_out"),
        pytest.param(
            {"awsConfig": {"awsRegion": "eu-west-1", "awsSecretAccessKey": None}},
            id="secret_null",
        ),
        pytest.param(
            {"awsConfig": {"awsRegion": MASK, "awsSecretAccessKey": "n3w"}},
            id="mask_in_non_password_field",
        ),
    ],
)
def test_restore_masked_secrets_no_mask_leaves_config_untouched(incoming: dict[str, Any]) -> None:
    stored = {"awsConfig": {"awsRegion": "eu-west-1", "awsSecretAccessKey": "s3cr3t"}}
    snapshot = copy.deepcopy(incoming)

    restored = restore_masked_secrets("SageMaker", incoming, stored)

    assert restored == snapshot


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(None, id="no_stored_config"),
        pytest.param({}, id="stored_without_aws_config"),
        pytest.param({"awsConfig": {"awsRegion": "eu-west-1"}}, id="stored_without_secret"),
        pytest.param({"awsConfig": {"awsSecretAccessKey": None}}, id="stored_secret_null"),
        pytest.param({"awsConfig": {"awsSecretAccessKey": MASK}}, id="stored_mask"),
    ],
)
def test_restore_masked_secrets_mask_without_stored_secret_raises_bad_request(
    stored: dict[str, Any] | None,
) -> None:
    incoming = {"awsConfig": {"awsRegion": "eu-west-1", "awsSecretAccessKey": MASK}}

    with pytest.raises(BadRequest) as raised:
        restore_masked_secrets("SageMaker", incoming, stored)

    assert raised.value.status_code == 400
    assert raised.value.message == (
        "connection.config.awsConfig.awsSecretAccessKey is the mask *********, and no stored "
        "secret is there to keep: send the secret itself"
    )


def test_mask_then_restore_gives_back_the_stored_config() -> None:
    stored = parse_config(MlModelServiceType.VertexAI, VERTEX, strict=False)

    round_trip = restore_masked_secrets("VertexAI", mask_secrets("VertexAI", stored), stored)

    assert round_trip == stored


# ---------------------------------------------------------------------------- ConfigMemo


def test_json_key_tells_apart_values_python_calls_equal():
    distinct = [1, 1.0, True, "1", None, -0.0, 0.0, 0, False, [1], {"a": 1}, [], {}]
    keys = [json_key(value) for value in distinct]
    assert len(set(keys)) == len(distinct)
    assert json_key({"a": 1, "b": 2}) != json_key({"b": 2, "a": 1})
    assert json_key({"a": [1, {"b": "x"}]}) == json_key({"a": [1, {"b": "x"}]})
    nan = float("nan")
    assert json_key(nan) == json_key(float("nan"))
    assert json_key(nan) != json_key(None)


def test_json_key_is_none_for_what_is_not_plain_json():
    class Text(str):
        pass

    for value in [(1,), {1: "a"}, Text("x"), {"a": Text("x")}, [MlModelServiceType.Mlflow], b""]:
        assert json_key(value) is None


def test_config_memo_answers_as_parse_config_does():
    configs: list[dict[str, Any]] = [
        {"trackingUri": "http://t", "registryUri": "http://r"},
        {"trackingUri": "http://t", "registryUri": "http://r"},
        {"registryUri": "http://r", "trackingUri": "http://t"},
        {"trackingUri": "http://t", "registryUri": "http://r", "supportsMetadataExtraction": 1},
        {"trackingUri": "http://t", "registryUri": "http://r", "supportsMetadataExtraction": 1.0},
        {"trackingUri": "http://t", "registryUri": "http://r", "supportsMetadataExtraction": True},
        {"trackingUri": "http://t"},
        {"trackingUri": "http://t"},
        {"trackingUri": "http://t", "unknown": 1},
        {"trackingUri": "http://t", "unknown": 1},
        {"trackingUri": 5},
        {"type": "Sklearn"},
        {"trackingUri": float("nan")},
        {"trackingUri": None},
    ]
    for strict in (False, True):
        memo = ConfigMemo(strict=strict)
        for config in configs:
            try:
                expected: Any = parse_config(MlModelServiceType.Mlflow, config, strict=strict)
            except BadRequest as exc:
                expected = ("error", exc.message)
            try:
                got: Any = memo.parse(MlModelServiceType.Mlflow, config)
            except BadRequest as exc:
                got = ("error", exc.message)
            assert got == expected
            assert list(got) == list(expected)


def test_config_memo_gives_each_item_a_config_of_its_own():
    memo = ConfigMemo(strict=False)
    raw = {"trackingUri": "http://t", "mlModelFilterPattern": {"includes": ["a"]}}
    first = memo.parse(MlModelServiceType.Mlflow, raw)
    second = memo.parse(MlModelServiceType.Mlflow, copy.deepcopy(raw))
    assert first == second
    first["trackingUri"] = "changed"
    first["mlModelFilterPattern"]["includes"].append("b")
    third = memo.parse(MlModelServiceType.Mlflow, raw)
    assert third == second == parse_config(MlModelServiceType.Mlflow, raw, strict=False)
    assert third is not second
    assert third["mlModelFilterPattern"] is not second["mlModelFilterPattern"]


def test_config_memo_keeps_service_types_apart():
    memo = ConfigMemo(strict=False)
    mlflow = memo.parse(MlModelServiceType.Mlflow, {})
    sklearn = memo.parse(MlModelServiceType.Sklearn, {})
    assert mlflow["type"] == "Mlflow"
    assert sklearn["type"] == "Sklearn"
