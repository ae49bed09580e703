"""Wire models of test connection definitions (entity/services/connections/
testConnectionDefinition.json), for the OpenAPI document only."""

from __future__ import annotations

from mlmodel_emulator.common.api import ResponseModel


class TestConnectionStep(ResponseModel):
    """testConnectionDefinition.json#/definitions/testConnectionStep."""

    name: str
    description: str
    errorMessage: str | None = None
    shortCircuit: bool | None = None
    mandatory: bool


class TestConnectionDefinition(ResponseModel):
    """The steps a connection test of one service type runs."""

    id: str
    name: str
    displayName: str | None = None
    description: str | None = None
    fullyQualifiedName: str
    steps: list[TestConnectionStep]
    version: float
    updatedAt: int
    updatedBy: str
    href: str
    deleted: bool


class Paging(ResponseModel):
    before: str | None = None
    after: str | None = None
    total: int


class TestConnectionDefinitionList(ResponseModel):
    data: list[TestConnectionDefinition]
    paging: Paging
