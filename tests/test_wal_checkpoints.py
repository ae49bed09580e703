"""SQLite's write-ahead log is checkpointed by a thread of the process, never by a commit.

The database file itself is read with `immutable=1`, which ignores the log: a row is there
only once a checkpoint has copied it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlmodel_emulator.auth import tokens
from mlmodel_emulator.auth.keys import load_signing_keys
from mlmodel_emulator.cli import migrate
from mlmodel_emulator.config import Settings
from mlmodel_emulator.db.checkpoints import RESTART_AFTER_FRAMES
from mlmodel_emulator.main import create_app
from tests.factories import SERVICES_URL, create_request

PAGE = 4096
# The log's header, then each frame: a 24-byte header and one page.
WAL_HEADER, FRAME_HEADER = 32, 24
NEVER_MS = 3_600_000
STEADY_BULKS = 400


def _in_database_file(path: Path, name: str) -> bool:
    """Whether the database file (the log left aside) holds the service."""
    connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        row = connection.execute("SELECT 1 FROM mlmodel_service WHERE name = ?", (name,))
        return row.fetchone() is not None
    finally:
        connection.close()


def _wal_frames(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    size = wal.stat().st_size if wal.exists() else 0
    return max(0, (size - WAL_HEADER) // (PAGE + FRAME_HEADER))


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    return tmp_path / "own" / "service.sqlite"


@pytest.fixture
def own_settings(sqlite_file: Path, tmp_path: Path, private_key_pem: str) -> Settings:
    return Settings(
        database_url=f"sqlite:///{sqlite_file}",
        data_dir=tmp_path / "data",
        jwt_private_key=private_key_pem,
        subscription_delivery=False,
    )


@pytest.fixture
def auth_headers(own_settings: Settings) -> dict[str, str]:
    token = tokens.mint(
        load_signing_keys(own_settings),
        issuer=own_settings.jwt_issuer,
        user="admin",
        now=int(time.time()),
        expires_in=3600,
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app_on(own_settings: Settings):
    """An app on its own SQLite file, built with the given settings."""
    clients: list[TestClient] = []

    def build(**overrides: object) -> TestClient:
        own = Settings(**{**own_settings.model_dump(), **overrides})
        migrate(own)
        client = TestClient(create_app(own))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def _bulk(client: TestClient, headers: dict[str, str], prefix: str) -> None:
    items = [create_request(f"{prefix}_{i}") for i in range(100)]
    answer = client.put(f"{SERVICES_URL}/bulk", json=items, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["numberOfRowsFailed"] == 0


def test_commits_leave_the_log_to_the_checkpoint_thread(app_on, sqlite_file, auth_headers):
    client = app_on(sqlite_checkpoint_ms=NEVER_MS)
    rounds = 0
    # Past SQLite's own threshold: a commit would have checkpointed by now.
    while _wal_frames(sqlite_file) <= 2 * RESTART_AFTER_FRAMES:
        _bulk(client, auth_headers, f"round{rounds}")
        rounds += 1
        assert rounds < 200

    assert not _in_database_file(sqlite_file, "round0_0")

    busy, _frames, _copied = client.app.state.checkpointer.checkpoint()

    assert busy == 0
    assert _in_database_file(sqlite_file, "round0_0")
    assert _in_database_file(sqlite_file, f"round{rounds - 1}_99")


def test_the_thread_checkpoints_every_interval(app_on, sqlite_file, auth_headers):
    client = app_on(sqlite_checkpoint_ms=20)
    body = create_request("soon_in_the_file")
    answer = client.post(SERVICES_URL, json=body, headers=auth_headers)
    assert answer.status_code == 201, answer.text

    deadline = time.monotonic() + 30
    while not _in_database_file(sqlite_file, "soon_in_the_file"):
        assert time.monotonic() < deadline, "no checkpoint within 30 s"
        time.sleep(0.02)


def test_a_log_left_behind_by_a_reader_gets_a_restart_checkpoint(app_on, sqlite_file, auth_headers):
    client = app_on(sqlite_checkpoint_ms=NEVER_MS)
    checkpointer = client.app.state.checkpointer
    _bulk(client, auth_headers, "before")
    checkpointer.checkpoint()
    reader = sqlite3.connect(sqlite_file, isolation_level=None)
    try:
        # A reader's snapshot pins the log: no checkpoint copies past what it sees.
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM mlmodel_service").fetchone()
        rounds = 0
        while _wal_frames(sqlite_file) <= 2 * RESTART_AFTER_FRAMES:
            _bulk(client, auth_headers, f"pinned{rounds}")
            rounds += 1
            assert rounds < 200

        busy, frames, copied = checkpointer.checkpoint()

        # PASSIVE copied what it could; the RESTART that followed gave up on the reader.
        assert busy == 1
        assert copied < frames
        assert not _in_database_file(sqlite_file, "pinned0_0")
    finally:
        reader.close()

    # The event loop's next write restarts the log before it writes; the whole log is
    # copied by then, and nothing else reads it.
    _bulk(client, auth_headers, "after")
    busy, frames, copied = checkpointer.checkpoint()

    assert (busy, copied) == (0, frames)
    assert frames < RESTART_AFTER_FRAMES
    assert _in_database_file(sqlite_file, "pinned0_0")
    assert _in_database_file(sqlite_file, "after_99")


def test_the_log_stays_small_under_steady_writes(app_on, sqlite_file, auth_headers):
    # A writer begins each transaction while the log is still being copied, so it never
    # starts the log afresh itself: without RESTART checkpoints the log grows by every write.
    client = app_on(sqlite_checkpoint_ms=20)
    for n in range(STEADY_BULKS):
        _bulk(client, auth_headers, f"steady{n}")
    # The log file's size is the most it ever held. Each bulk here writes about 78 frames:
    # without restarts the log holds them all (about 31,000); with them, a few thousand.
    most_held = _wal_frames(sqlite_file)

    assert most_held < STEADY_BULKS * 30


def test_no_thread_when_turned_off(app_on):
    client = app_on(sqlite_checkpoint_ms=0)

    assert client.app.state.checkpointer is None
    with client.app.state.database.engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
    assert pages == RESTART_AFTER_FRAMES
