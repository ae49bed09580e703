"""Wire models of asynchronous jobs (they document answers and are never used to parse)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlmodel_emulator.common.api import ResponseModel
from mlmodel_emulator.mlmodel_services.schemas import BulkOperationResult


class JobError(ResponseModel):
    """The error a failed job ended on, as an error answer would have carried it."""

    code: int
    message: str


class Job(ResponseModel):
    """An asynchronous operation on an entity (delete, restore) or on many of one type
    (bulk), and how it ended."""

    jobId: str
    status: Literal["running", "completed", "failed"]
    operation: Literal["delete", "restore", "bulk"]
    entityType: str
    entityId: str | None = Field(default=None, description="Delete and restore jobs only.")
    entityName: str | None = Field(default=None, description="Delete and restore jobs only.")
    hardDelete: bool | None = Field(default=None, description="Delete jobs only.")
    recursive: bool | None = Field(default=None, description="Delete jobs only.")
    items: int | None = Field(default=None, description="Bulk jobs only: the items sent.")
    overrideMetadata: bool | None = Field(default=None, description="Bulk jobs only.")
    createdBy: str
    createdAt: int = Field(description="Epoch milliseconds.")
    finishedAt: int | None = Field(default=None, description="Epoch milliseconds.")
    message: str | None = None
    error: JobError | None = None
    result: BulkOperationResult | None = Field(
        default=None,
        description=(
            "Bulk jobs only, once completed: the BulkOperationResult the request would have "
            "answered with async=false (failed items included)."
        ),
    )
