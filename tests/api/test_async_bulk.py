"""PUT /bulk?async=true and the job that GET /api/v1/jobs/{jobId} answers for it."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select

from mlmodel_emulator.jobs import repository
from mlmodel_emulator.jobs.models import JobRecord
from mlmodel_emulator.jobs.service import INTERRUPTED_AFTER_MS
from tests.factories import MLMODELS_URL, SERVICES_URL, create_request, model_request

JOBS_URL = "/api/v1/jobs"
ASYNC_BULK_URL = f"{SERVICES_URL}/bulk?async=true&overrideMetadata=false"
# How many times a test asks for a job before it gives up: a bound, never a time.
POLLS = 50


def _job_count(engine):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(JobRecord)).scalar_one()


def _job_id(response):
    location = response.headers["Location"]
    assert location.startswith("http://testserver/api/v1/jobs/")
    return location.rsplit("/", 1)[1]


def _completed(client, headers, job_id):
    """The job once it is no longer running."""
    for _ in range(POLLS):
        job = client.get(f"{JOBS_URL}/{job_id}", headers=headers).json()
        if job["status"] != "running":
            return job
    raise AssertionError(f"job {job_id} still running after {POLLS} polls")


def test_async_bulk_answers_202_with_a_placeholder_result(client, auth_headers):
    items = [create_request("a"), create_request("b")]

    response = client.put(ASYNC_BULK_URL, json=items, headers=auth_headers)

    assert response.status_code == 202
    assert response.json() == {
        "status": "running",
        "numberOfRowsProcessed": 2,
        "numberOfRowsPassed": 0,
        "numberOfRowsFailed": 0,
    }


def test_async_bulk_job_completes_with_the_bulk_result(client, auth_headers):
    client.put(SERVICES_URL, json=create_request("b"), headers=auth_headers)
    items = [create_request("a"), create_request("b", description="new")]

    response = client.put(ASYNC_BULK_URL, json=items, headers=auth_headers)
    job_id = _job_id(response)
    job = _completed(client, auth_headers, job_id)

    assert isinstance(job.pop("createdAt"), int)
    assert isinstance(job.pop("finishedAt"), int)
    assert job == {
        "jobId": job_id,
        "status": "completed",
        "operation": "bulk",
        "entityType": "mlmodelService",
        "items": 2,
        "overrideMetadata": False,
        "createdBy": "admin",
        "message": "Bulk operation completed for 2 mlmodelService requests",
        "result": {
            "status": "success",
            "numberOfRowsProcessed": 2,
            "numberOfRowsPassed": 2,
            "numberOfRowsFailed": 0,
            "successRequest": [
                {"request": "a", "status": 201, "message": "entityCreated"},
                {"request": "b", "status": 200, "message": "entityUpdated"},
            ],
            "failedRequest": [],
        },
    }
    stored = client.get(f"{SERVICES_URL}/name/b", headers=auth_headers).json()
    assert stored["description"] == "new"
    assert client.get(f"{SERVICES_URL}/name/a", headers=auth_headers).status_code == 200


def test_async_bulk_job_with_failing_items_reports_partial_success(client, auth_headers):
    items = [create_request("good"), {"name": "bad", "serviceType": "Nope"}]

    response = client.put(ASYNC_BULK_URL, json=items, headers=auth_headers)
    job = _completed(client, auth_headers, _job_id(response))

    assert job["status"] == "completed"
    result = job["result"]
    assert (result["status"], result["numberOfRowsPassed"], result["numberOfRowsFailed"]) == (
        "partialSuccess",
        1,
        1,
    )
    assert result["successRequest"] == [
        {"request": "good", "status": 201, "message": "entityCreated"}
    ]
    [failed] = result["failedRequest"]
    assert failed["request"] == {"name": "bad", "serviceType": "Nope"}
    assert failed["status"] == 400
    assert client.get(f"{SERVICES_URL}/name/bad", headers=auth_headers).status_code == 404


def test_async_bulk_result_equals_the_synchronous_one(client, auth_headers):
    items = [create_request("x"), create_request("x", description="again"), {"name": 1}]

    job = _completed(
        client,
        auth_headers,
        _job_id(client.put(ASYNC_BULK_URL, json=items, headers=auth_headers)),
    )
    renamed = [create_request("y"), create_request("y", description="again"), {"name": 1}]
    sync = client.put(f"{SERVICES_URL}/bulk?async=false", json=renamed, headers=auth_headers).json()

    def without_names(result):
        for entry in result["successRequest"]:
            entry.pop("request")
        return result

    assert without_names(job["result"]) == without_names(sync)


def test_async_bulk_of_models_completes(client, auth_headers):
    client.put(SERVICES_URL, json=create_request(), headers=auth_headers)
    items = [model_request("m1"), model_request("m2", service="missing_svc")]

    response = client.put(f"{MLMODELS_URL}/bulk?async=true", json=items, headers=auth_headers)
    job = _completed(client, auth_headers, _job_id(response))

    assert response.status_code == 202
    assert job["entityType"] == "mlmodel"
    assert job["message"] == "Bulk operation completed for 2 mlmodel requests"
    result = job["result"]
    assert result["status"] == "partialSuccess"
    assert result["successRequest"] == [
        {"request": "mlflow_svc.m1", "status": 201, "message": "entityCreated"}
    ]
    assert [f["status"] for f in result["failedRequest"]] == [404]


def test_async_bulk_with_too_many_items_returns_413_and_starts_no_job(client, auth_headers, engine):
    before = _job_count(engine)

    response = client.put(
        ASYNC_BULK_URL, json=[create_request(f"s{i}") for i in range(101)], headers=auth_headers
    )

    assert response.status_code == 413
    assert set(response.json()) == {"code", "message"}
    assert _job_count(engine) == before


def test_async_bulk_body_not_an_array_returns_400_and_starts_no_job(client, auth_headers, engine):
    before = _job_count(engine)

    response = client.put(ASYNC_BULK_URL, json={"name": "x"}, headers=auth_headers)

    assert response.json() == {"code": 400, "message": "[must be an array]"}
    assert _job_count(engine) == before


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}])
def test_async_bulk_without_a_valid_token_returns_401_and_starts_no_job(client, engine, headers):
    before = _job_count(engine)

    response = client.put(ASYNC_BULK_URL, json=[create_request()], headers=headers)

    assert response.status_code == 401
    assert _job_count(engine) == before


def test_async_bulk_items_the_caller_may_not_write_fail_in_the_job(
    client, auth_headers, user_headers
):
    client.put(SERVICES_URL, json=create_request("theirs"), headers=auth_headers)
    olga = user_headers("olga")

    response = client.put(
        ASYNC_BULK_URL, json=[create_request("theirs", description="mine")], headers=olga
    )
    job = _completed(client, olga, _job_id(response))

    assert response.status_code == 202
    assert job["createdBy"] == "olga"
    assert job["result"]["status"] == "failure"
    assert [f["status"] for f in job["result"]["failedRequest"]] == [403]


# ------------------------------------------------------------- running bulk jobs capped


def _running_job(engine, *, operation="bulk", started_ms=None):
    """A job another worker process is running, as the job table holds it."""
    now = int(time.time() * 1000) if started_ms is None else started_ms
    doc = {
        "jobId": str(uuid.uuid4()),
        "status": "running",
        "operation": operation,
        "entityType": "mlmodelService",
        "items": 1,
        "createdBy": "admin",
        "createdAt": now,
        "message": "elsewhere",
    }
    with engine.begin() as connection:
        repository.add(connection, doc)
    return doc


def _service_count(client, headers):
    listing = client.get(f"{SERVICES_URL}?limit=0&include=all", headers=headers)
    return listing.json()["paging"]["total"]


def test_async_bulk_beyond_the_running_cap_is_429_and_writes_nothing(
    make_client, auth_headers, engine
):
    client = make_client(max_running_bulk_jobs=2)
    _running_job(engine)
    _running_job(engine)
    jobs_before = _job_count(engine)

    response = client.put(ASYNC_BULK_URL, json=[create_request("a")], headers=auth_headers)

    assert response.status_code == 429
    assert response.json() == {
        "code": 429,
        "message": "2 bulk jobs are running; the limit is 2. Retry once one has finished",
    }
    assert response.headers["Retry-After"] == "1"
    assert _job_count(engine) == jobs_before
    assert _service_count(client, auth_headers) == 0


def test_async_bulk_cap_ignores_interrupted_and_other_jobs_and_frees_when_one_ends(
    make_client, auth_headers, engine
):
    client = make_client(max_running_bulk_jobs=1)
    # A bulk that lost its process long ago, and a running delete, take no place.
    _running_job(engine, started_ms=int(time.time() * 1000) - INTERRUPTED_AFTER_MS - 60_000)
    _running_job(engine, operation="delete")
    first = client.put(ASYNC_BULK_URL, json=[create_request("a")], headers=auth_headers)
    assert first.status_code == 202
    # That job finished at once (the test client runs it before answering); one elsewhere
    # still runs and fills the only place.
    other = _running_job(engine)
    assert (
        client.put(ASYNC_BULK_URL, json=[create_request("b")], headers=auth_headers).status_code
        == 429
    )
    with engine.begin() as connection:
        assert repository.finish(connection, {**other, "status": "completed"}, running="running")
    again = client.put(ASYNC_BULK_URL, json=[create_request("b")], headers=auth_headers)
    assert again.status_code == 202
    assert _service_count(client, auth_headers) == 2


def test_a_synchronous_bulk_is_not_capped(make_client, auth_headers, engine):
    client = make_client(max_running_bulk_jobs=1)
    _running_job(engine)
    response = client.put(f"{SERVICES_URL}/bulk", json=[create_request("a")], headers=auth_headers)
    assert response.status_code == 200
