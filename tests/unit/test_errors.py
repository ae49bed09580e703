"""Unit tests of error rendering: violation texts and the {"code", "message"} body (errors.py)."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from mlmodel_emulator import errors
from mlmodel_emulator.common.api import EntityReference
from mlmodel_emulator.common.names import check_entity_name
from mlmodel_emulator.errors import (
    ApiError,
    describe_error,
    describe_errors,
    format_location,
    register_exception_handlers,
)
from mlmodel_emulator.mlmodel_services.connections import MlModelServiceType

USER_ID = "0b5c5a3e-0000-4000-8000-00000000000a"
SERVICE_TYPES = "[Mlflow, Sklearn, CustomMlModel, SageMaker, VertexAI]"


class Probe(BaseModel):
    """A request body with the constraints the API's models use."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, AfterValidator(check_entity_name)]
    serviceType: MlModelServiceType
    limit: Annotated[int, Field(ge=0, le=1_000_000)] = 10
    owners: list[EntityReference] | None = None


def _errors(data: Any) -> list[ErrorDetails]:
    with pytest.raises(ValidationError) as raised:
        Probe.model_validate(data)
    return raised.value.errors()


def _valid(**overrides: Any) -> dict[str, Any]:
    return {"name": "svc", "serviceType": "Mlflow", **overrides}


# ---------------------------------------------------------------------------- texts


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        pytest.param((), "", id="empty"),
        pytest.param(("name",), "name", id="field"),
        pytest.param(("connection", "config"), "connection.config", id="nested"),
        pytest.param(("owners", 0, "type"), "owners[0].type", id="list_item_field"),
        pytest.param(("owners", 12), "owners[12]", id="list_item"),
        pytest.param((0, "id"), "[0].id", id="leading_index"),
        pytest.param(("a", 0, 1, "b"), "a[0][1].b", id="nested_lists"),
    ],
)
def test_format_location_any_location_gives_field_path(
    loc: tuple[str | int, ...], path: str
) -> None:
    assert format_location(loc) == path


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"serviceType": "Mlflow"}, "[query param name must not be null]", id="missing"
        ),
        pytest.param(_valid(name=None), "[query param name must not be null]", id="name_null"),
        pytest.param(
            _valid(name=""), "[query param name size must be between 1 and 256]", id="name_empty"
        ),
        pytest.param(
            _valid(name="x" * 257),
            "[query param name size must be between 1 and 256]",
            id="name_too_long",
        ),
        pytest.param(
            _valid(name="invalid::Name"),
            '[query param name must match "^((?!::).)*$"]',
            id="name_pattern",
        ),
        pytest.param(_valid(name=5), "[query param name must be a string]", id="name_number"),
        pytest.param(
            _valid(serviceType="Foo"),
            f"[query param serviceType must be one of {SERVICE_TYPES}]",
            id="enum",
        ),
        pytest.param(
            _valid(serviceType=None),
            "[query param serviceType must not be null]",
            id="enum_null",
        ),
        pytest.param(
            _valid(limit=-1),
            "[query param limit must be greater than or equal to 0]",
            id="ge",
        ),
        pytest.param(
            _valid(limit=1_000_001),
            "[query param limit must be less than or equal to 1000000]",
            id="le",
        ),
        pytest.param(_valid(limit="ten"), "[query param limit must be an integer]", id="int"),
        pytest.param(_valid(limit=None), "[query param limit must not be null]", id="int_null"),
        pytest.param(
            _valid(bogus=1), "[query param bogus is not a recognized field]", id="extra_forbidden"
        ),
        pytest.param(
            _valid(bogus=None),
            "[query param bogus is not a recognized field]",
            id="extra_forbidden_null",
        ),
        pytest.param(
            _valid(owners=[{"id": USER_ID}]),
            "[query param owners[0].type must not be null]",
            id="nested_missing",
        ),
        pytest.param(
            _valid(owners=[{"id": USER_ID, "type": None}]),
            "[query param owners[0].type must not be null]",
            id="nested_null",
        ),
        pytest.param(
            _valid(owners=[{"id": USER_ID, "type": "user"}, {"id": USER_ID}]),
            "[query param owners[1].type must not be null]",
            id="nested_second_item",
        ),
        pytest.param(
            _valid(owners=[{"id": USER_ID, "type": "user", "extra": 1}]),
            "[query param owners[0].extra is not a recognized field]",
            id="nested_extra",
        ),
        pytest.param(
            _valid(owners=[5]), "[query param owners[0] must be an object]", id="nested_object"
        ),
        pytest.param(_valid(owners="x"), "[query param owners must be an array]", id="array"),
    ],
)
def test_describe_errors_single_violation_gives_open_metadata_text(
    data: dict[str, Any], message: str
) -> None:
    assert describe_errors(_errors(data)) == message


def test_describe_errors_several_violations_joined_as_java_list() -> None:
    message = describe_errors(_errors({"limit": -1}))

    assert message == (
        "[query param name must not be null, query param serviceType must not be null, "
        "query param limit must be greater than or equal to 0]"
    )


def test_describe_errors_no_violation_gives_empty_java_list() -> None:
    assert describe_errors([]) == "[]"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        pytest.param(
            {"type": "missing", "loc": ("body", "name"), "msg": "Field required", "input": {}},
            "query param name must not be null",
            id="body_prefix_dropped",
        ),
        pytest.param(
            {
                "type": "missing",
                "loc": ("body", "owners", 0, "type"),
                "msg": "Field required",
                "input": {},
            },
            "query param owners[0].type must not be null",
            id="body_prefix_nested",
        ),
        pytest.param(
            {"type": "model_attributes_type", "loc": ("body",), "msg": "m", "input": "x"},
            "must be an object",
            id="whole_body_has_no_path",
        ),
        pytest.param(
            {"type": "dict_type", "loc": ("body",), "msg": "m", "input": None},
            "must not be null",
            id="whole_body_null",
        ),
        pytest.param(
            {"type": "something_new", "loc": ("a",), "msg": "Odd input", "input": 1},
            "query param a Odd input",
            id="unknown_type_keeps_pydantic_text",
        ),
        pytest.param(
            {
                "type": "string_too_short",
                "loc": ("description",),
                "msg": "String should have at least 1 character",
                "input": "",
                "ctx": {"min_length": 1},
            },
            "query param description String should have at least 1 character",
            id="min_length_only",
        ),
    ],
)
def test_describe_error_hand_built_error_gives_expected_text(
    error: dict[str, Any], message: str
) -> None:
    assert describe_error(error) == message


# ---------------------------------------------------------------------------- rendering


ERROR_CLASSES = sorted(
    (
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, ApiError)
    ),
    key=lambda cls: cls.__name__,
)


def _instance(cls: type[ApiError]) -> ApiError:
    """The error built with a distinct string for each constructor argument."""
    parameters = list(inspect.signature(cls.__init__).parameters)[1:]
    return cls(*(f"{name}-value" for name in parameters))


def _app() -> FastAPI:
    app = FastAPI()
    register_exception_handlers(app)
    by_name = {cls.__name__: cls for cls in ERROR_CLASSES}

    @app.get("/raise/{name}")
    def raise_api_error(name: str) -> None:
        raise _instance(by_name[name])

    @app.get("/boom")
    def raise_unexpected() -> None:
        raise RuntimeError("secret internals")

    @app.get("/items")
    def list_items(limit: Annotated[int, Query(ge=0, le=1_000_000)] = 10) -> dict[str, int]:
        return {"limit": limit}

    @app.post("/items")
    def create_item(body: Probe) -> dict[str, str]:
        return {"name": body.name}

    return app


CLIENT = TestClient(_app(), raise_server_exceptions=False)


def test_error_classes_found_in_errors_module() -> None:
    names = {cls.__name__ for cls in ERROR_CLASSES}

    assert {"ApiError", "BadRequest", "Unauthorized", "Forbidden", "NotFound"} <= names
    assert {"EntityNotFound", "Conflict", "EntityAlreadyExists"} <= names


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_api_error_every_class_has_an_error_status(cls: type[ApiError]) -> None:
    assert 400 <= cls.status_code <= 599


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_api_error_every_class_rendered_as_code_and_message(cls: type[ApiError]) -> None:
    expected = _instance(cls)

    response = CLIENT.get(f"/raise/{cls.__name__}")

    assert response.status_code == cls.status_code
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"code": cls.status_code, "message": expected.message}


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_api_error_www_authenticate_only_on_401_403_404_409(cls: type[ApiError]) -> None:
    response = CLIENT.get(f"/raise/{cls.__name__}")

    expected = "om-auth" if cls.status_code in (401, 403, 404, 409) else None
    assert response.headers.get("WWW-Authenticate") == expected


def test_entity_not_found_message_names_type_and_key() -> None:
    error = errors.EntityNotFound("mlmodelService", '"my.svc"')

    assert error.message == 'mlmodelService instance for "my.svc" not found'
    assert error.status_code == 404


def test_entity_already_exists_message_is_fixed() -> None:
    error = errors.EntityAlreadyExists()

    assert error.message == "Entity already exists"
    assert error.status_code == 409


def test_render_unexpected_exception_hides_details_as_500() -> None:
    response = CLIENT.get("/boom")

    assert response.status_code == 500
    assert response.json() == {"code": 500, "message": "Internal server error"}


def test_render_unknown_route_gives_404_code_and_message() -> None:
    response = CLIENT.get("/nowhere")

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "Not Found"}


def test_render_invalid_body_gives_400_with_violations() -> None:
    response = CLIENT.post("/items", json={"limit": 5})

    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "message": "[query param name must not be null, query param serviceType must not be null]",
    }


def test_render_malformed_json_body_gives_400() -> None:
    response = CLIENT.post(
        "/items", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )

    body = response.json()
    assert response.status_code == 400
    assert body["code"] == 400
    assert body["message"].startswith("Malformed JSON in the request body: ")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param("limit=-1", "[query param limit must be greater than or equal to 0]", id="ge"),
        pytest.param(
            "limit=1000001", "[query param limit must be less than or equal to 1000000]", id="le"
        ),
        pytest.param("limit=ten", "[query param limit must be an integer]", id="int"),
    ],
)
def test_render_bad_query_param_names_the_bare_param(query: str, message: str) -> None:
    # EntityResourceTest.get_entityListWithInvalidLimit_4xx expects exactly these texts.
    response = CLIENT.get(f"/items?{query}")

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": message}
