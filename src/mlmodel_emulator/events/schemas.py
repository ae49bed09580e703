"""Wire models of the change event feed (they document answers and are never used to parse)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlmodel_emulator.common.api import ChangeDescription, ResponseModel


class ChangeEvent(ResponseModel):
    """type/changeEvent.json: one change to one entity."""

    id: str
    eventType: Literal[
        "entityCreated", "entityUpdated", "entitySoftDeleted", "entityDeleted", "entityRestored"
    ]
    entityType: str
    entityId: str
    entityFullyQualifiedName: str
    previousVersion: float = Field(description="Equal to currentVersion when it did not move.")
    currentVersion: float
    userName: str
    timestamp: int = Field(description="Epoch milliseconds.")
    changeDescription: ChangeDescription | None = Field(
        default=None, description="What changed; absent for entityCreated and entityDeleted."
    )
    incrementalChangeDescription: ChangeDescription | None = Field(
        default=None,
        description="PATCH and followers: what this request changed, when the version's "
        "change covers an editing session.",
    )


class Paging(ResponseModel):
    before: str | None = None
    after: str | None = None
    total: int


class ChangeEventList(ResponseModel):
    data: list[ChangeEvent]
    paging: Paging
