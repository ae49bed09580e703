"""Runs a job's work once its 202 answer is out, and records how the job ended."""

from __future__ import annotations

import logging

from sqlalchemy import Connection

from mlmodel_emulator.clock import Clock
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.errors import ApiError
from mlmodel_emulator.jobs import service
from mlmodel_emulator.jobs.service import Work

logger = logging.getLogger(__name__)


def _complete_after(connection: Connection, clock: Clock, job_id: str, work: Work) -> None:
    at = clock.now_ms()
    result = work(connection, at)
    service.complete(connection, job_id, now_ms=at, result=result)


async def run(database: Database, clock: Clock, job_id: str, work: Work) -> None:
    """Do the work and mark the job completed in one write transaction; when the work fails,
    mark the job failed in a transaction of its own, so that no job is left running.

    A coroutine, whose transactions run as a request's do (Database.awrite): each whole,
    in one thread, on PostgreSQL in the threadpool.
    """
    try:
        await database.awrite(_complete_after, clock, job_id, work)
    except ApiError as exc:
        await database.awrite(
            service.fail,
            job_id,
            code=exc.status_code,
            message=exc.message,
            now_ms=clock.now_ms(),
        )
    except Exception:
        logger.exception("Job %s failed", job_id)
        await database.awrite(
            service.fail,
            job_id,
            code=500,
            message="Internal server error",
            now_ms=clock.now_ms(),
        )
