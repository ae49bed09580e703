"""Races between the worker processes of a live server on PostgreSQL: the change-event feed
read by a poller while several writers commit, and the cap on running bulk jobs."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

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
        self.error: BaseException | None = None

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
        except BaseException as exc:  # reported by the test
            self.error = exc


def test_a_poller_following_after_sees_every_event_of_many_writers_once_in_order(
    tmp_path: Path, engine_of: Callable[[RunningServer], sa.Engine]
) -> None:
    with server_on_fresh_database(
        "postgresql", tmp_path, workers=2, extra_env=_workers_env()
    ) as server:
        token = mint_token("admin", server.env)
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

        with engine_of(server).connect() as connection:
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
