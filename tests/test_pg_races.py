"""Races between the worker processes of a live server on PostgreSQL: the change-event feed
read by a poller while several writers commit, and the cap on running bulk jobs."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mlmodel_emulator.jobs import repository
from mlmodel_emulator.jobs.service import KEPT_FOR_MS
from tests.live_server import RunningServer, mint_token, send
from tests.servers import server_on_fresh_database

SERVICES_PATH = "/api/v1/services/mlmodelServices"
EVENTS_PATH = "/api/v1/events"
JOURNAL_PATH = "/api/__emulator/journal"
# The admin API's request journal tells which worker process answered each request; large
# enough to hold every request of a test, the poller's included.
JOURNAL_CAPACITY = 1_000_000


def _workers_env(**settings: str) -> dict[str, str]:
    return {
        "MLMODEL_EMULATOR_ADMIN_API": "true",
        "MLMODEL_EMULATOR_JOURNAL_CAPACITY": str(JOURNAL_CAPACITY),
        **settings,
    }


@pytest.fixture
def engine_of() -> Iterator[Callable[[RunningServer], sa.Engine]]:
    """An engine on a server's database, disposed of after the test."""
    engines: list[sa.Engine] = []

    def make(server: RunningServer) -> sa.Engine:
        engines.append(sa.create_engine(server.env["DATABASE_URL"]))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()


def _answering_pids(server: RunningServer, token: str, method: str, path: str) -> set[int]:
    """The worker processes that answered the journaled requests of this method and path."""
    query = urllib.parse.urlencode({"method": method, "path": path, "limit": JOURNAL_CAPACITY})
    status, found = send(f"{server.base_url}{JOURNAL_PATH}?{query}", token)
    assert status == 200, found
    return {int(entry["pid"]) for entry in found["data"]}


# ------------------------------------------------------------ the feed under many writers

WRITERS = 8
# Each writer's rounds: a create, an update of that create, and a bulk of one new service
# and one update; four events a round.
ROUNDS = 12
EVENTS_PER_ROUND = 4
PAGE = 5
ALL_EVENTS = {"entityCreated": "*", "entityUpdated": "*"}
# A commit takes a fraction of a millisecond here, too short a window for the race the
# event-order lock closes (a seq drawn, a larger one committed and read, then the smaller
# committed) to show: in the test's database one transaction in four that records events
# waits 100 ms between drawing its seqs and its commit, as on a slow disk or with a
# synchronous replica. Without the lock the poller then misses events in every run.
SLOW_COMMITS = (
    """
    CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF random() < 0.25 THEN PERFORM pg_sleep(0.1); END IF; RETURN NULL; END $$
    """,
    """
    CREATE TRIGGER slow_commit AFTER INSERT ON change_event
    FOR EACH STATEMENT EXECUTE FUNCTION slow_commit()
    """,
)


def _service(name: str, description: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "serviceType": "Sklearn"}
    if description is not None:
        body["description"] = description
    return body


def _write(base: str, token: str, writer: int, statuses: list[tuple[str, int]]) -> None:
    url = base + SERVICES_PATH
    for n in range(ROUNDS):
        name = f"w{writer}-{n}"
        statuses.append(("POST", send(url, token, "POST", _service(name))[0]))
        statuses.append(("PUT", send(url, token, "PUT", _service(name, "updated"))[0]))
        bulk = [_service(f"{name}-bulk"), _service(name, "updated again")]
        statuses.append(("bulk", send(url + "/bulk", token, "PUT", bulk)[0]))


class _Poller:
    """Follows the feed by `paging.after`, as a client polling for changes does: a page
    with an `after` is taken whole and the cursor moves on; a page without one is the end
    of the feed for now, and the same cursor is asked again. Once `stop` is set (every
    writer answered), it reads to the end, taking the last page too."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token
        self.seen: list[str] = []
        self.polls = 0
        self.stop = threading.Event()
        self.error: Exception | None = None

    def _page(self, after: str | None) -> dict[str, Any]:
        query = {**ALL_EVENTS, "limit": PAGE, **({"after": after} if after else {})}
        status, page = send(f"{self.base}{EVENTS_PATH}?{urllib.parse.urlencode(query)}", self.token)
        assert status == 200, page
        self.polls += 1
        return dict(page)

    def run(self) -> None:
        try:
            after: str | None = None
            while True:
                last_pass = self.stop.is_set()
                page = self._page(after)
                if "after" in page["paging"]:
                    self.seen += [event["id"] for event in page["data"]]
                    after = page["paging"]["after"]
                elif last_pass:
                    self.seen += [event["id"] for event in page["data"]]
                    return
        except Exception as exc:  # reported by the test
            self.error = exc


def test_a_poller_following_after_sees_every_event_of_many_writers_once_in_order(
    tmp_path: Path, engine_of: Callable[[RunningServer], sa.Engine]
) -> None:
    with server_on_fresh_database(
        "postgresql", tmp_path, workers=2, extra_env=_workers_env()
    ) as server:
        token = mint_token("admin", server.env)
        engine = engine_of(server)
        with engine.begin() as connection:
            for statement in SLOW_COMMITS:
                connection.execute(sa.text(statement))
        poller = _Poller(server.base_url, token)
        polling = threading.Thread(target=poller.run)
        statuses: list[list[tuple[str, int]]] = [[] for _ in range(WRITERS)]
        writers = [
            threading.Thread(target=_write, args=(server.base_url, token, w, statuses[w]))
            for w in range(WRITERS)
        ]
        polling.start()
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        poller.stop.set()
        polling.join()

        with engine.connect() as connection:
            recorded = list(
                connection.execute(sa.text("SELECT id FROM change_event ORDER BY seq")).scalars()
            )
        pids = _answering_pids(server, token, "PUT", SERVICES_PATH)

    assert poller.error is None, server.log_tail()
    expected = {("POST", 201), ("PUT", 200), ("bulk", 200)}
    assert all(set(s) == expected and len(s) == 3 * ROUNDS for s in statuses), statuses
    assert len(recorded) == WRITERS * ROUNDS * EVENTS_PER_ROUND
    missed = set(recorded) - set(poller.seen)
    assert not missed, f"{len(missed)} of {len(recorded)} events missed in {poller.polls} polls"
    assert poller.seen == [str(event_id) for event_id in recorded]
    assert len(pids) == 2, server.log_tail()


# ------------------------------------------------- the cap on running bulk jobs


MAX_RUNNING = 2
BULKS = 8
# Rounds of BULKS concurrent bulks sent at most until both workers answered some of one.
MAX_ROUNDS = 10
# How many times the test asks for a job before it gives up: a bound, never an assertion.
JOB_POLLS = 600
TOO_MANY = {
    "code": 429,
    "message": f"{MAX_RUNNING} bulk jobs are running; the limit is {MAX_RUNNING}. "
    "Retry once one has finished",
}
ASYNC_BULK = f"{SERVICES_PATH}/bulk?async=true"
LOCK_WAITS = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
)


def _exchange(url: str, token: str, method: str, body: object) -> tuple[int, dict[str, str], Any]:
    """One JSON request; its status, headers and decoded answer, errors included."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, _lowered(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _lowered(error.headers), json.loads(error.read())


def _lowered(headers: Message) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _lock_waits(engine: sa.Engine) -> int:
    """How many connections to the database wait on a lock now (a transaction of its own:
    pg_stat_activity stays as a transaction first read it)."""
    with engine.connect() as connection:
        return int(connection.execute(sa.text(LOCK_WAITS)).scalar_one())


def _old_job(connection: sa.Connection) -> str:
    """A finished job eight days old, which the next job to start deletes (jobs are kept for
    seven days)."""
    job_id = str(uuid.uuid4())
    created = int(time.time() * 1000) - KEPT_FOR_MS - 24 * 60 * 60 * 1000
    doc = {
        "jobId": job_id,
        "status": "completed",
        "operation": "bulk",
        "entityType": "mlmodelService",
        "items": 1,
        "createdBy": "admin",
        "createdAt": created,
        "message": "long ago",
    }
    repository.add(connection, doc)
    return job_id


def _finished(base: str, token: str, location: str) -> dict[str, Any]:
    path = urllib.parse.urlsplit(location).path
    for _ in range(JOB_POLLS):
        status, job = send(base + path, token)
        assert status == 200, job
        if job["status"] != "running":
            return dict(job)
        time.sleep(0.05)
    raise AssertionError(f"job {location} still running after {JOB_POLLS} polls")


def _bulk_round(
    server: RunningServer, token: str, engine: sa.Engine, round_: int
) -> tuple[list[tuple[int, dict[str, str], Any]], list[str]]:
    """BULKS async bulks at once, every one inside its transaction at the same time; the
    answers, and the states of the jobs accepted while their work could not finish."""
    with engine.connect() as jobs_locker, engine.connect() as held_locker:
        jobs_lock = jobs_locker.begin()
        old = _old_job(jobs_locker)
        jobs_lock.commit()
        jobs_lock = jobs_locker.begin()
        held_lock = held_locker.begin()
        # Each bulk's work updates `held`: an accepted job keeps running until this lock goes.
        held_locker.execute(
            sa.text("SELECT id FROM mlmodel_service WHERE name = 'held' FOR UPDATE")
        )
        # Each request, once it has counted the running bulk jobs, deletes the old job: all of
        # them are inside start_bulk at once, waiting here (or on the cap's own lock).
        jobs_locker.execute(sa.text("SELECT id FROM job WHERE id = :id FOR UPDATE"), {"id": old})
        answers: list[tuple[int, dict[str, str], Any]] = [(0, {}, None)] * BULKS

        def bulk(index: int) -> None:
            items = [
                _service("held", f"round {round_} bulk {index}"),
                _service(f"r{round_}-{index}"),
            ]
            answers[index] = _exchange(server.base_url + ASYNC_BULK, token, "PUT", items)

        threads = [threading.Thread(target=bulk, args=(i,)) for i in range(BULKS)]
        try:
            for thread in threads:
                thread.start()
            while _lock_waits(engine) < BULKS:
                threads[0].join(0.05)
                assert all(thread.is_alive() for thread in threads), answers
            jobs_lock.rollback()
            for thread in threads:
                thread.join()
            accepted = [headers["location"] for status, headers, _ in answers if status == 202]
            states = []
            for location in accepted:
                _, job = send(server.base_url + urllib.parse.urlsplit(location).path, token)
                states.append(job["status"])
        finally:
            held_lock.rollback()
    return answers, states


def test_async_bulks_beyond_the_cap_across_workers_are_429_while_the_accepted_run(
    tmp_path: Path, engine_of: Callable[[RunningServer], sa.Engine]
) -> None:
    capped = _workers_env(MLMODEL_EMULATOR_MAX_RUNNING_BULK_JOBS=str(MAX_RUNNING))
    with server_on_fresh_database("postgresql", tmp_path, workers=2, extra_env=capped) as server:
        token = mint_token("admin", server.env)
        engine = engine_of(server)
        url = server.base_url + SERVICES_PATH
        assert send(url, token, "PUT", _service("held"))[0] == 201
        bulk_path = SERVICES_PATH + "/bulk"
        for round_ in range(MAX_ROUNDS):
            assert send(server.base_url + JOURNAL_PATH, token, "DELETE")[0] == 204
            answers, states = _bulk_round(server, token, engine, round_)
            statuses = sorted(status for status, _, _ in answers)
            assert statuses == [202] * MAX_RUNNING + [429] * (BULKS - MAX_RUNNING), answers
            assert states == ["running"] * MAX_RUNNING
            refused = [(body, headers["retry-after"]) for s, headers, body in answers if s == 429]
            assert refused == [(TOO_MANY, "1")] * (BULKS - MAX_RUNNING)
            jobs = [
                _finished(server.base_url, token, headers["location"])
                for status, headers, _ in answers
                if status == 202
            ]
            assert [(job["status"], job["result"]["numberOfRowsPassed"]) for job in jobs] == [
                ("completed", 2)
            ] * MAX_RUNNING
            if len(_answering_pids(server, token, "PUT", bulk_path)) == 2:
                break
        else:
            pytest.fail(f"one worker answered every bulk of {MAX_ROUNDS} rounds")
