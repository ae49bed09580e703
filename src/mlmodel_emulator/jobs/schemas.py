"""Wire models of asynchronous jobs (they document answers and are never used to parse)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlmodel_emulator.common.api import ResponseModel


class JobError(ResponseModel):
    """The error a failed job ended on, as an error answer would have carried it."""

    code: int
    message: str


class Job(ResponseModel):
    """An asynchronous operation on an entity, and how it ended."""

    jobId: str
    status: Literal["running", "completed", "failed"]
    operation: Literal["delete", "restore"]
    entityType: str
    entityId: str
    entityName: str
    hardDelete: bool | None = Field(default=None, description="Delete jobs only.")
    recursive: bool | None = Field(default=None, description="Delete jobs only.")
    createdBy: str
    createdAt: int = Field(description="Epoch milliseconds.")
    finishedAt: int | None = Field(default=None, description="Epoch milliseconds.")
    message: str | None = None
    error: JobError | None = None
