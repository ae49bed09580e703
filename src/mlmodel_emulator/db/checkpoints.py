"""SQLite's WAL checkpoints, made by a thread of each process instead of by its requests.

By default SQLite checkpoints in the commit that takes its write-ahead log past 1,000 pages:
that commit copies the log into the database file and waits for two fsyncs. SQLite runs
inline on the event loop, so every request of the process waits with it (a third of the
wall time of a create here). With `PRAGMA wal_autocheckpoint=0` on the service's connections
no commit checkpoints; this thread does, every `interval_s`, with the GIL released while
SQLite copies and syncs, so requests go on.

- The thread has its own driver connection, outside the pool, with a short busy timeout:
  a checkpoint never waits long on a reader, and never holds the write lock while it waits.
- PASSIVE first: it copies what it can without waiting for anyone.
- A writer starts the log afresh only when it began reading with the whole log copied,
  which a steady writer never does while another connection copies: the log would grow
  without end (1 GB in a minute of bulk writes here). When the log holds more than
  RESTART_AFTER_FRAMES frames, a RESTART checkpoint follows the PASSIVE one: it waits for
  the write in progress, copies the few frames left and starts the log from its beginning,
  so the log stays about as small as SQLite's own checkpoints keep it.
- Under steady writes that RESTART can fail (busy: readers still on the log after its wait).
  Then the process's next write on the event loop restarts the log first, outside any
  transaction of its own, as SQLite's own checkpoints did, but with most of the log already
  copied and synced (`restart_log`, called by `Database` when `on_overdue` asked for it).
- Under `synchronous=NORMAL`, a commit survives a power loss once a checkpoint has synced
  the log: at most `interval_s` later here, where SQLite's own threshold could leave a
  quiet database's last commits unsynced for as long as it takes to write 1,000 pages.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine

from mlmodel_emulator.db.engine import SQLITE_BUSY_TIMEOUT_MS

log = logging.getLogger(__name__)

# SQLite's own auto-checkpoint threshold (pages): a log this long is checkpointed in full.
RESTART_AFTER_FRAMES = 1000
# How long a RESTART checkpoint waits for the write in progress, or for the last readers of
# the log; it gives up after that, and the next pass tries again.
BUSY_TIMEOUT_MS = 20


def wanted(engine: Engine) -> bool:
    """Whether the engine's database is an SQLite file (one with a write-ahead log)."""
    database = engine.url.database
    return engine.dialect.name == "sqlite" and bool(database) and database != ":memory:"


class WalCheckpointer:
    """A daemon thread that checkpoints one SQLite database every interval_s."""

    def __init__(self, engine: Engine, interval_s: float, on_overdue: Callable[[], None]) -> None:
        self._engine = engine
        self._on_overdue = on_overdue
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self._driver: Any = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._loop, name="sqlite-wal-checkpoint", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, then checkpoint once more: nothing committed waits for a sync."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.checkpoint()
        self._close()

    def _loop(self) -> None:
        while not self._stopping.wait(self._interval_s):
            self.checkpoint()

    def checkpoint(self) -> tuple[int, int, int] | None:
        """One pass; SQLite's (busy, log frames, frames copied) of its last checkpoint, or
        None when the database could not be reached (logged once until it can again)."""
        try:
            driver = self._connection()
            result = _pragma(driver, "PASSIVE")
            if result[1] > RESTART_AFTER_FRAMES:
                result = _pragma(driver, "RESTART")
                if result[0]:
                    self._on_overdue()
        except Exception:
            self._close()
            if not self._failing:
                log.warning("SQLite checkpoint failed; retrying", exc_info=True)
            self._failing = True
            return None
        if self._failing:
            log.info("SQLite checkpoints work again")
        self._failing = False
        return result

    def _connection(self) -> Any:
        if self._driver is None:
            dialect = self._engine.dialect
            args, kwargs = dialect.create_connect_args(self._engine.url)
            driver = dialect.connect(*args, **{**kwargs, "check_same_thread": False})
            driver.isolation_level = None
            driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._driver = driver
        return self._driver

    def _close(self) -> None:
        driver, self._driver = self._driver, None
        if driver is not None:
            try:
                driver.close()
            except Exception:
                log.debug("closing the checkpoint connection failed", exc_info=True)


def restart_log(connection: Connection) -> None:
    """A RESTART checkpoint on a connection outside any transaction, waiting at most
    BUSY_TIMEOUT_MS for others; a failure is logged, never raised."""
    driver: Any = connection.connection.dbapi_connection
    try:
        driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        try:
            _pragma(driver, "RESTART")
        finally:
            driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    except Exception:
        log.warning("SQLite checkpoint failed", exc_info=True)


def _pragma(driver: Any, mode: str) -> tuple[int, int, int]:
    busy, frames, copied = driver.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    return int(busy), int(frames), int(copied)
