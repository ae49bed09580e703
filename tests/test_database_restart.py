"""PostgreSQL restarts under load: 503 with Retry-After while it is down, then healed.

The test owns its PostgreSQL cluster (tests/postgres_cluster.py), stops it for a few seconds
under a trickle of writes and reads to a server with two workers, and starts it again. No
answer may be a 500; the service must heal by itself, without a restart.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

from tests.live_server import mint_token, run_cli, running_server, server_env
from tests.postgres_cluster import postgres_cluster

SERVICES_PATH = "/api/v1/services/mlmodelServices"
READY_PATH = "/api/v1/system/ready"
OUTAGE_S = 5.0
STEADY_BEFORE_S = 2.0
# The bound: a request sent once the database is back succeeds within this time.
RECOVERY_BOUND_S = 2.0
WATCH_AFTER_S = 6.0
SENDERS = 3
PAUSE_S = 0.05


@dataclass(frozen=True)
class Answer:
    sent_at: float
    at: float
    method: str
    status: int
    body: object
    retry_after: str | None


def _send(client: httpx.Client, token: str, sender: int, index: int) -> Answer:
    headers = {"Authorization": f"Bearer {token}"}
    sent_at = time.monotonic()
    method = "GET" if index % 3 == 2 else "PUT"
    if method == "PUT":
        body = {
            "name": f"svc-{sender}",
            "serviceType": "Sklearn",
            "description": f"write {index}",
        }
        response = client.put(SERVICES_PATH, json=body, headers=headers)
    else:
        response = client.get(f"{SERVICES_PATH}/name/svc-{sender}", headers=headers)
    try:
        parsed: object = response.json()
    except json.JSONDecodeError:
        parsed = response.text
    return Answer(
        sent_at,
        time.monotonic(),
        method,
        response.status_code,
        parsed,
        response.headers.get("retry-after"),
    )


def test_postgres_restart_gives_503_then_heals_without_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with postgres_cluster() as cluster:
        run_cli(["migrate"], server_env(data_dir, cluster.url))
        with running_server(data_dir, "postgresql", cluster.url, workers=2) as server:
            token = mint_token("admin", server.env)
            answers: list[Answer] = []
            ready_answers: list[tuple[float, int, object]] = []
            lock = threading.Lock()
            stop_sending = threading.Event()

            def trickle(sender: int) -> None:
                with httpx.Client(base_url=server.base_url, timeout=10) as client:
                    index = 0
                    while not stop_sending.is_set():
                        answer = _send(client, token, sender, index)
                        with lock:
                            answers.append(answer)
                        index += 1
                        time.sleep(PAUSE_S)

            def watch_readiness() -> None:
                with httpx.Client(base_url=server.base_url, timeout=10) as client:
                    while not stop_sending.is_set():
                        response = client.get(READY_PATH)
                        ready_answers.append(
                            (time.monotonic(), response.status_code, response.json())
                        )
                        time.sleep(0.2)

            threads = [threading.Thread(target=trickle, args=(n,)) for n in range(SENDERS)]
            threads.append(threading.Thread(target=watch_readiness))
            for thread in threads:
                thread.start()
            try:
                time.sleep(STEADY_BEFORE_S)
                stopping_at = time.monotonic()
                cluster.stop("fast")
                stopped_at = time.monotonic()
                time.sleep(OUTAGE_S)
                starting_at = time.monotonic()
                cluster.start()
                back_at = time.monotonic()
                time.sleep(WATCH_AFTER_S)
            finally:
                stop_sending.set()
                for thread in threads:
                    thread.join()

            log = server.log_tail()

    answers.sort(key=lambda answer: answer.at)
    statuses = collections.Counter(answer.status for answer in answers)
    before = [a for a in answers if a.at < stopping_at]
    during = [a for a in answers if stopped_at < a.sent_at and a.at < starting_at]
    after = [a for a in answers if a.sent_at >= back_at]
    healed_from = next((a.at for a in after if a.status in (200, 201)), float("inf"))
    recovery_ms = (healed_from - back_at) * 1000
    failures_after_healing = [a for a in after if a.at > healed_from and a.status >= 300]
    report = {
        "requests": len(answers),
        "statuses": dict(sorted(statuses.items())),
        "during_outage": len(during),
        "recovery_ms": round(recovery_ms) if recovery_ms != float("inf") else None,
        "ready_statuses": dict(collections.Counter(status for _, status, _ in ready_answers)),
    }
    print(f"\npostgres restart: {json.dumps(report)}")  # noqa: T201  (the figures, with -s)

    assert before, report
    assert all(a.status in (200, 201) for a in before), (report, log)
    assert 500 not in statuses, (report, [a.body for a in answers if a.status == 500], log)
    assert during, report
    for answer in during:
        assert answer.status == 503, (answer, log)
        assert isinstance(answer.body, dict), answer
        assert set(answer.body) == {"code", "message"}, answer
        assert answer.body["code"] == 503, answer
        assert answer.retry_after is not None, answer
        assert int(answer.retry_after) >= 1, answer
    assert recovery_ms <= RECOVERY_BOUND_S * 1000, (report, log)
    assert failures_after_healing == [], (failures_after_healing, log)
    down = [status for at, status, _ in ready_answers if stopped_at < at < starting_at]
    assert down, report
    assert set(down) == {503}, report
    healed_ready = [status for at, status, _ in ready_answers if at > back_at + RECOVERY_BOUND_S]
    assert healed_ready, report
    assert set(healed_ready) == {200}, report


WAITING = "Waiting for the database to answer"


def test_a_server_started_before_its_database_waits_for_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    log_path = data_dir / "server.log"
    with postgres_cluster() as cluster:
        run_cli(["migrate"], server_env(data_dir, cluster.url))
        cluster.stop("fast")

        def start_once_the_server_waits() -> None:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if log_path.exists() and WAITING in log_path.read_text(errors="replace"):
                    break
                time.sleep(0.2)
            cluster.start()

        starter = threading.Thread(target=start_once_the_server_waits)
        starter.start()
        try:
            with running_server(data_dir, "postgresql", cluster.url, workers=2) as server:
                token = mint_token("admin", server.env)
                with httpx.Client(base_url=server.base_url, timeout=10) as client:
                    ready = client.get(READY_PATH)
                    created = client.put(
                        SERVICES_PATH,
                        json={"name": "late", "serviceType": "Sklearn"},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                log = server.log_tail(100_000)
        finally:
            starter.join()

    assert WAITING in log
    assert ready.status_code == 200, log
    assert created.status_code == 201, (created.text, log)
