"""DELETE /api/v1/services/mlmodelServices/async/{id}, PUT /restore?async=true and
GET /api/v1/jobs/{jobId}."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from sqlalchemy import func, select, text

from mlmodel_emulator.auth.tokens import Principal
from mlmodel_emulator.entities import core
from mlmodel_emulator.entities.answers import STALE_ENTITY
from mlmodel_emulator.entities.kind import Caller
from mlmodel_emulator.errors import Conflict
from mlmodel_emulator.jobs import runner
from mlmodel_emulator.jobs import service as jobs
from mlmodel_emulator.jobs.models import JobRecord
from mlmodel_emulator.mlmodel_services.kind import MLMODEL_SERVICES
from tests.factories import SERVICES_URL, create_request

JOBS_URL = "/api/v1/jobs"


@pytest.fixture
def created(client, auth_headers):
    return client.put(SERVICES_URL, json=create_request(), headers=auth_headers).json()


def _job_count(engine):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(JobRecord)).scalar_one()


def _poll(client, headers, job_id):
    return client.get(f"{JOBS_URL}/{job_id}", headers=headers)


def _without_times(job):
    assert isinstance(job.pop("createdAt"), int)
    finished = job.pop("finishedAt", None)
    assert finished is None or isinstance(finished, int)
    return job


def test_async_delete_answers_202_with_the_job(client, auth_headers, created):
    response = client.delete(f"{SERVICES_URL}/async/{created['id']}", headers=auth_headers)

    assert response.status_code == 202
    body = response.json()
    assert uuid.UUID(body.pop("jobId"))
    assert body == {
        "message": "Delete operation initiated for mlflow_svc",
        "entityName": "mlflow_svc",
        "hardDelete": False,
        "recursive": False,
    }


def test_async_soft_delete_completes_and_the_entity_is_soft_deleted(client, auth_headers, created):
    job_id = client.delete(f"{SERVICES_URL}/async/{created['id']}", headers=auth_headers).json()[
        "jobId"
    ]

    polled = _poll(client, auth_headers, job_id)

    assert polled.status_code == 200
    assert _without_times(polled.json()) == {
        "jobId": job_id,
        "status": "completed",
        "operation": "delete",
        "entityType": "mlmodelService",
        "entityId": created["id"],
        "entityName": "mlflow_svc",
        "hardDelete": False,
        "recursive": False,
        "createdBy": "admin",
        "message": "Delete operation completed for mlflow_svc",
    }
    assert "finishedAt" in polled.json()
    entity = client.get(f"{SERVICES_URL}/{created['id']}?include=all", headers=auth_headers)
    assert (entity.json()["deleted"], entity.json()["version"]) == (True, 0.2)
    assert entity.json()["updatedBy"] == "admin"
    hidden = client.get(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)
    assert hidden.status_code == 404


def test_async_hard_delete_removes_the_entity(client, auth_headers, created):
    response = client.delete(
        f"{SERVICES_URL}/async/{created['id']}?hardDelete=true&recursive=true",
        headers=auth_headers,
    )

    assert (response.json()["hardDelete"], response.json()["recursive"]) == (True, True)
    job = _poll(client, auth_headers, response.json()["jobId"]).json()
    assert (job["status"], job["hardDelete"], job["recursive"]) == ("completed", True, True)
    gone = client.get(f"{SERVICES_URL}/{created['id']}?include=all", headers=auth_headers)
    assert gone.status_code == 404


def test_async_delete_of_unknown_id_returns_404_and_starts_no_job(client, auth_headers, engine):
    missing = uuid.uuid4()

    response = client.delete(f"{SERVICES_URL}/async/{missing}", headers=auth_headers)

    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "message": f"mlmodelService instance for {missing} not found",
    }
    assert _job_count(engine) == 0


def test_async_delete_by_a_non_owner_returns_403_and_starts_no_job(
    client, auth_headers, user_headers, created, engine
):
    response = client.delete(f"{SERVICES_URL}/async/{created['id']}", headers=user_headers("nina"))

    assert response.status_code == 403
    assert response.json() == {
        "code": 403,
        "message": "Principal: CatalogPrincipal{name='nina'} operations [Delete] not allowed",
    }
    assert _job_count(engine) == 0
    still = client.get(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)
    assert still.status_code == 200


def test_async_delete_by_the_owner_completes(client, auth_headers, user_headers):
    olga = user_headers("olga")
    olga_id = client.get("/api/v1/users/name/olga", headers=auth_headers).json()["id"]
    created = client.put(
        SERVICES_URL,
        json=create_request(owners=[{"id": olga_id, "type": "user"}]),
        headers=auth_headers,
    ).json()

    job_id = client.delete(f"{SERVICES_URL}/async/{created['id']}", headers=olga).json()["jobId"]

    job = _poll(client, olga, job_id).json()
    assert (job["status"], job["createdBy"]) == ("completed", "olga")


def test_async_delete_with_a_stale_if_match_returns_412_and_starts_no_job(
    client, auth_headers, created, engine
):
    response = client.delete(
        f"{SERVICES_URL}/async/{created['id']}",
        headers={**auth_headers, "If-Match": 'W/"0.2"'},
    )

    assert response.status_code == 412
    assert response.json() == {"code": 412, "message": STALE_ENTITY}
    assert _job_count(engine) == 0


def test_async_delete_with_the_current_if_match_completes(client, auth_headers, created):
    response = client.delete(
        f"{SERVICES_URL}/async/{created['id']}",
        headers={**auth_headers, "If-Match": 'W/"0.1"'},
    )

    assert _poll(client, auth_headers, response.json()["jobId"]).json()["status"] == "completed"


def test_async_delete_without_a_token_returns_401(client, created):
    response = client.delete(f"{SERVICES_URL}/async/{created['id']}")

    assert response.status_code == 401


def _admin_caller(client):
    return Caller(
        principal=Principal(name="admin", is_bot=False),
        now_ms=time.time_ns() // 1_000_000,
        cipher=client.app.state.cipher,
    )


def test_job_whose_entity_vanished_meanwhile_ends_failed(client, auth_headers, created):
    database = client.app.state.database
    started = database.write(
        core.delete_later,
        MLMODEL_SERVICES,
        created["id"],
        hard=False,
        recursive=False,
        caller=_admin_caller(client),
    )
    client.delete(f"{SERVICES_URL}/{created['id']}?hardDelete=true", headers=auth_headers)

    asyncio.run(runner.run(database, client.app.state.clock, started.job_id, started.work))

    job = _without_times(_poll(client, auth_headers, started.job_id).json())
    assert job == {
        "jobId": started.job_id,
        "status": "failed",
        "operation": "delete",
        "entityType": "mlmodelService",
        "entityId": created["id"],
        "entityName": "mlflow_svc",
        "hardDelete": False,
        "recursive": False,
        "createdBy": "admin",
        "message": "Delete operation failed for mlflow_svc",
        "error": {
            "code": 404,
            "message": f"mlmodelService instance for {created['id']} not found",
        },
    }


def test_job_whose_work_breaks_unexpectedly_ends_failed_with_500(client, auth_headers, created):
    database = client.app.state.database
    started = database.write(
        core.delete_later,
        MLMODEL_SERVICES,
        created["id"],
        hard=False,
        recursive=False,
        caller=_admin_caller(client),
    )

    def broken(connection, now_ms):
        raise RuntimeError("boom")

    asyncio.run(runner.run(database, client.app.state.clock, started.job_id, broken))

    job = _poll(client, auth_headers, started.job_id).json()
    assert (job["status"], job["error"]) == (
        "failed",
        {"code": 500, "message": "Internal server error"},
    )
    still = client.get(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)
    assert still.json()["deleted"] is False


def test_failed_work_leaves_nothing_half_done(client, auth_headers, created):
    database = client.app.state.database
    started = database.write(
        core.delete_later,
        MLMODEL_SERVICES,
        created["id"],
        hard=False,
        recursive=False,
        caller=_admin_caller(client),
    )

    def delete_then_fail(connection, now_ms):
        started.work(connection, now_ms)
        raise Conflict("Entity already exists")

    asyncio.run(runner.run(database, client.app.state.clock, started.job_id, delete_then_fail))

    job = _poll(client, auth_headers, started.job_id).json()
    assert (job["status"], job["error"]["code"]) == ("failed", 409)
    still = client.get(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)
    assert (still.json()["deleted"], still.json()["version"]) == (False, 0.1)


def test_finished_job_is_not_finished_again(client, auth_headers, created):
    job_id = client.delete(f"{SERVICES_URL}/async/{created['id']}", headers=auth_headers).json()[
        "jobId"
    ]

    client.app.state.database.write(
        jobs.fail, job_id, code=500, message="late", now_ms=time.time_ns() // 1_000_000
    )

    assert _poll(client, auth_headers, job_id).json()["status"] == "completed"


def test_poll_of_unknown_job_returns_404(client, auth_headers):
    missing = uuid.uuid4()

    response = _poll(client, auth_headers, missing)

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": f"job instance for {missing} not found"}


def test_poll_with_a_job_id_that_is_no_uuid_returns_400(client, auth_headers):
    response = _poll(client, auth_headers, "nope")

    assert response.json() == {"code": 400, "message": "[query param jobId must be a UUID]"}


def test_poll_without_a_token_returns_401(client, auth_headers, created):
    job_id = client.delete(f"{SERVICES_URL}/async/{created['id']}", headers=auth_headers).json()[
        "jobId"
    ]

    response = client.get(f"{JOBS_URL}/{job_id}")

    assert response.status_code == 401


def test_job_is_read_from_the_database(client, auth_headers, created, engine):
    job_id = client.delete(f"{SERVICES_URL}/async/{created['id']}", headers=auth_headers).json()[
        "jobId"
    ]

    with engine.connect() as connection:
        status = connection.execute(
            text("SELECT status FROM job WHERE id = :id"), {"id": job_id}
        ).scalar_one()

    assert status == "completed"


def test_async_restore_answers_202_and_the_job_restores(client, auth_headers, created):
    client.delete(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)

    response = client.put(
        f"{SERVICES_URL}/restore?async=true", json={"id": created["id"]}, headers=auth_headers
    )

    assert response.status_code == 202
    body = response.json()
    job_id = body.pop("jobId")
    assert body == {"message": "Restore operation initiated for mlflow_svc"}
    job = _without_times(_poll(client, auth_headers, job_id).json())
    assert job == {
        "jobId": job_id,
        "status": "completed",
        "operation": "restore",
        "entityType": "mlmodelService",
        "entityId": created["id"],
        "entityName": "mlflow_svc",
        "createdBy": "admin",
        "message": "Restore operation completed for mlflow_svc",
    }
    entity = client.get(f"{SERVICES_URL}/{created['id']}", headers=auth_headers).json()
    assert (entity["deleted"], entity["version"]) == (False, 0.3)


def test_async_restore_of_a_live_entity_returns_404_and_starts_no_job(
    client, auth_headers, created, engine
):
    response = client.put(
        f"{SERVICES_URL}/restore?async=true", json={"id": created["id"]}, headers=auth_headers
    )

    assert response.json() == {
        "code": 404,
        "message": f"mlmodelService instance for {created['id']} not found",
    }
    assert _job_count(engine) == 0


def test_async_restore_by_a_non_owner_returns_403(client, auth_headers, user_headers, created):
    client.delete(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)

    response = client.put(
        f"{SERVICES_URL}/restore?async=true",
        json={"id": created["id"]},
        headers=user_headers("nina"),
    )

    assert response.json() == {
        "code": 403,
        "message": "Principal: CatalogPrincipal{name='nina'} operations [EditAll] not allowed",
    }


def test_restore_with_async_false_answers_the_entity(client, auth_headers, created):
    client.delete(f"{SERVICES_URL}/{created['id']}", headers=auth_headers)

    response = client.put(
        f"{SERVICES_URL}/restore?async=false", json={"id": created["id"]}, headers=auth_headers
    )

    assert response.status_code == 200
    assert response.json()["deleted"] is False


def _store_job(engine, *, status, created_at):
    """A job as a server process that stopped, or ran long ago, left it."""
    job_id = str(uuid.uuid4())
    doc = {
        "jobId": job_id,
        "status": status,
        "operation": "delete",
        "entityType": "mlmodelService",
        "entityId": str(uuid.uuid4()),
        "entityName": "gone_svc",
        "hardDelete": False,
        "recursive": False,
        "createdBy": "admin",
        "createdAt": created_at,
        "message": "Delete operation initiated for gone_svc",
    }
    with engine.begin() as connection:
        connection.execute(
            JobRecord.__table__.insert(),
            {"id": job_id, "status": status, "created_at": created_at, "doc": doc},
        )
    return job_id


def _now_ms():
    return time.time_ns() // 1_000_000


def test_job_left_running_by_a_stopped_process_is_answered_failed(client, auth_headers, engine):
    started = _now_ms() - jobs.INTERRUPTED_AFTER_MS - 1_000
    job_id = _store_job(engine, status="running", created_at=started)

    job = _poll(client, auth_headers, job_id).json()

    assert job["status"] == "failed"
    assert job["message"] == "Delete operation failed for gone_svc"
    assert job["error"] == {"code": 500, "message": jobs.INTERRUPTED}


def test_job_running_for_less_than_the_limit_is_still_running(client, auth_headers, engine):
    job_id = _store_job(engine, status="running", created_at=_now_ms() - 60_000)

    assert _poll(client, auth_headers, job_id).json()["status"] == "running"


def test_interrupted_job_that_still_ends_shows_its_real_outcome(client, auth_headers, engine):
    job_id = _store_job(
        engine, status="running", created_at=_now_ms() - jobs.INTERRUPTED_AFTER_MS - 1_000
    )
    with engine.begin() as connection:
        jobs.complete(connection, job_id, now_ms=_now_ms())

    assert _poll(client, auth_headers, job_id).json()["status"] == "completed"


def test_jobs_older_than_the_retention_go_when_a_new_one_starts(
    client, auth_headers, created, engine
):
    old = _store_job(engine, status="completed", created_at=_now_ms() - jobs.KEPT_FOR_MS - 1_000)
    recent = _store_job(engine, status="completed", created_at=_now_ms() - 60_000)

    client.delete(f"{SERVICES_URL}/async/{created['id']}", headers=auth_headers)

    assert _poll(client, auth_headers, old).status_code == 404
    assert _poll(client, auth_headers, recent).status_code == 200
