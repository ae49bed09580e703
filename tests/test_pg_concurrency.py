"""One worker on PostgreSQL keeps answering while a request's transaction waits in the
database: transactions run in the threadpool, not on the event loop."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa

from tests.live_server import mint_token, send
from tests.servers import server_on_fresh_database

SERVICES_PATH = "/api/v1/services/mlmodelServices"
# Long enough for a free event loop to answer; short enough that a blocked one fails fast.
CLIENT_TIMEOUT_S = 10


def _status(
    url: str, token: str, method: str, body: object | None = None, timeout: float = 60
) -> int:
    return int(send(url, token, method, body, timeout)[0])


def test_requests_are_answered_while_another_waits_on_a_row_lock(tmp_path: Path) -> None:
    with server_on_fresh_database("postgresql", tmp_path) as server:
        token = mint_token("admin", server.env)
        url = server.base_url + SERVICES_PATH
        for name in ("locked", "free", "other"):
            assert _status(url, token, "PUT", {"name": name, "serviceType": "Sklearn"}) == 201

        engine = sa.create_engine(server.env["DATABASE_URL"])
        try:
            with engine.connect() as locker:
                lock = locker.begin()
                locker.execute(
                    sa.text("SELECT id FROM mlmodel_service WHERE name = 'locked' FOR UPDATE")
                )
                a_status: list[int] = []
                a = threading.Thread(
                    target=lambda: a_status.append(
                        _status(
                            url,
                            token,
                            "PUT",
                            {"name": "locked", "serviceType": "Sklearn", "description": "A"},
                        )
                    )
                )
                a.start()
                # A's update is waiting on the lock before B is sent.
                while not locker.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                    )
                ).scalar():
                    a.join(0.05)
                    assert a.is_alive(), a_status

                get_b = _status(url + "/name/free", token, "GET", timeout=CLIENT_TIMEOUT_S)
                put_b = _status(
                    url,
                    token,
                    "PUT",
                    {"name": "other", "serviceType": "Sklearn", "description": "B"},
                    timeout=CLIENT_TIMEOUT_S,
                )
                assert (get_b, put_b) == (200, 200), server.log_tail()
                assert a.is_alive()
                assert not a_status
                lock.rollback()
            a.join(60)
            assert a_status == [200], server.log_tail()
        finally:
            engine.dispose()
