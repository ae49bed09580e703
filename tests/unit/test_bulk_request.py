"""Unit tests of how a bulk item becomes a create request (entities/bulk.py _request)."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, field_validator

from mlmodel_emulator.common.api import ApiModel
from mlmodel_emulator.entities import bulk, core
from mlmodel_emulator.errors import ApiError, BadRequest, describe_errors
from mlmodel_emulator.mlmodel_services.kind import MLMODEL_SERVICES
from mlmodel_emulator.mlmodel_services.schemas import CreateMlModelService


def _as_before(item: Any) -> Any:
    """What _request answered before it skipped the dump: validated, then its dump checked."""
    from pydantic import ValidationError

    try:
        request = CreateMlModelService.model_validate(item)
    except ValidationError as exc:
        return ("error", describe_errors(exc.errors()))
    try:
        core.check_storable(request)
    except BadRequest as exc:
        return ("error", exc.message)
    return request.model_dump()


def _now(item: Any) -> Any:
    try:
        return bulk._request(MLMODEL_SERVICES, item).model_dump()
    except ApiError as exc:
        return ("error", exc.message)


BASE: dict[str, Any] = {"name": "svc", "serviceType": "Mlflow"}
ITEMS: list[Any] = [
    BASE,
    {**BASE, "connection": {"config": {"trackingUri": "http://t", "registryUri": "http://r"}}},
    {**BASE, "name": "a\x00b"},
    {**BASE, "description": "x\x00"},
    {**BASE, "display_name": "d\x00"},
    {**BASE, "description": "\ud800"},
    {**BASE, "description": "back\\u0000slash"},
    {**BASE, "connection": {"config": {"trackingUri": "t\x00"}}},
    {**BASE, "connection": {"config": {"k\x00": "v"}}},
    {**BASE, "connection": {"config": {"n": 2**60}}},
    {**BASE, "connection": {"config": {"n": 2**70}}},
    {**BASE, "connection": {"config": {"n": [1, {"m": -(2**64)}]}}},
    {**BASE, "connection": {"config": {"n": float("nan")}}},
    {**BASE, "tags": [{"tagFQN": "a.b\x00"}]},
    {**BASE, "owners": [{"id": "0" * 8 + "-0000-0000-0000-" + "0" * 12, "type": "user\x00"}]},
    {**BASE, "style": {"color": "\x00", "iconURL": "\udfff"}},
    {**BASE, "unknown": "\x00"},
    {**BASE, "name": 5},
    "not an object",
]


@pytest.mark.parametrize("item", ITEMS, ids=range(len(ITEMS)))
def test_a_bulk_item_is_answered_as_before(item: Any) -> None:
    assert _now(item) == _as_before(item)


def test_the_service_create_model_is_dumped_from_its_item():
    assert bulk._dump_from_item(CreateMlModelService)


class _WithNumber(ApiModel):
    count: int | None = None


class _WithFloat(ApiModel):
    ratio: float | None = None


class _WithValidator(ApiModel):
    name: str

    @field_validator("name")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class _WithBefore(ApiModel):
    name: Annotated[str, BeforeValidator(str)]


class _WithAfter(ApiModel):
    name: Annotated[str, AfterValidator(str.upper)]


class _WithFactory(ApiModel):
    names: list[str] = Field(default_factory=list)


class _WithNested(ApiModel):
    inner: list[_WithNumber] | None = None


class _WithBadDefault(ApiModel):
    name: str = "a\x00"


class _Plain(ApiModel):
    name: Annotated[str, Field(min_length=1, pattern="^[a-z]+$")]
    values: dict[str, Any] | None = None
    flags: list[bool] | None = None


@pytest.mark.parametrize(
    "model",
    [
        _WithNumber,
        _WithFloat,
        _WithValidator,
        _WithBefore,
        _WithAfter,
        _WithFactory,
        _WithNested,
        _WithBadDefault,
    ],
)
def test_a_model_that_may_change_or_add_values_is_dumped_and_checked(
    model: type[BaseModel],
) -> None:
    assert not bulk._dump_from_item(model)


def test_a_model_of_strings_bools_and_json_values_is_not():
    assert bulk._dump_from_item(_Plain)
