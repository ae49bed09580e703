"""Transactions: one per request, committed when the service returns, rolled back on error."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from typing import Concatenate, NoReturn, ParamSpec, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import DBAPIError

from mlmodel_emulator.db import checkpoints, failures
from mlmodel_emulator.db import engine as engine_module
from mlmodel_emulator.db.engine import begin_writing, snapshot_reads, still_answers
from mlmodel_emulator.errors import unavailable_answer

P = ParamSpec("P")
T = TypeVar("T")

# Runs of one transaction, in all, when the database keeps choosing it as a deadlock's
# victim; the pause before run n is random, up to CONFLICT_PAUSE_S * 2**n.
CONFLICT_ATTEMPTS = 5
CONFLICT_PAUSE_S = 0.005


# connection.info key: the callables a transaction run by Database asks to have run last,
# right before its commit (see before_commit).
BEFORE_COMMIT = "mlmodel_emulator.before_commit"


def before_commit(connection: Connection) -> list[Callable[[Connection], None]] | None:
    """The list of callables run, in order, as the last statements of the transaction that
    Database runs on this connection, before its commit; None outside such a transaction
    (a caller holding a connection of its own), where work cannot be deferred."""
    hooks: list[Callable[[Connection], None]] | None = connection.info.get(BEFORE_COMMIT)
    return hooks


def _raise_for(error: DBAPIError) -> NoReturn:
    """Raise the 503 for a database that is gone or kept conflicting, else the error."""
    answer = unavailable_answer(error)
    if answer is None:
        raise error
    raise answer from error


def _roll_back(connection: Connection, transaction: RootTransaction) -> None:
    """Roll back; on a connection that died meanwhile, drop it instead (that rolls back)."""
    try:
        transaction.rollback()
    except DBAPIError:
        with contextlib.suppress(Exception):
            connection.invalidate()


def _drop_after_failed_commit(connection: Connection, transaction: RootTransaction) -> None:
    """Drop a connection whose COMMIT failed, and let its transaction go.

    The database may still hold the transaction open (SQLite does after a lock held beyond
    busy_timeout): the connection is not used again, and closing it rolls back. SQLAlchemy
    keeps the failed transaction on the connection until it is rolled back, and meanwhile
    refuses every use of a connection that was lost (PendingRollbackError), which would
    stand in for the 503; its rollback does no I/O once the connection is dropped.
    """
    with contextlib.suppress(Exception):
        connection.invalidate()
    transaction.rollback()


class Database:
    """Runs service functions in a transaction of their own, on a Core connection.

    The whole transaction runs in one thread without yielding (aread/awrite run it in the
    threadpool on PostgreSQL, inline on SQLite), so nothing interleaves inside it.
    Core connections rather than ORM sessions: the services work in JSON documents, and a
    Session would double the cost of each short transaction.

    The thread that made the Database (the event loop's, where requests run their
    transactions one at a time) keeps one connection between transactions: checking a
    connection out of the pool and back in costs about a seventh of a request. Other
    threads, and a transaction begun while that connection is busy, use the pool.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._owner = threading.get_ident()
        self._kept: Connection | None = None
        self._kept_busy = False
        self._kept_idle_since = 0.0
        # SQLite answers in microseconds: the threadpool would cost more than it frees.
        self._inline = engine.dialect.name == "sqlite"
        # Set by the checkpoint thread (db/checkpoints.py) when it could not restart the log.
        self._log_restart_due = False

    def restart_log_soon(self) -> None:
        """Have the next write on the kept connection restart SQLite's log first."""
        self._log_restart_due = True

    def read(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Call fn(connection, ...) in a read transaction."""
        return self._run(False, fn, *args, **kwargs)

    def write(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Call fn(connection, ...) in a write transaction, committed if fn returns."""
        return self._run(True, fn, *args, **kwargs)

    async def aread(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """read for async callers: on PostgreSQL the whole transaction runs in one worker
        thread (on a pooled connection), so the event loop serves other requests meanwhile."""
        return await self._arun(False, fn, *args, **kwargs)

    async def awrite(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """write for async callers, run as aread runs."""
        return await self._arun(True, fn, *args, **kwargs)

    async def _arun(
        self,
        writing: bool,
        fn: Callable[Concatenate[Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        if self._inline:
            return self._run(writing, fn, *args, **kwargs)
        return await anyio.to_thread.run_sync(lambda: self._run(writing, fn, *args, **kwargs))

    def snapshot(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Call fn(connection, ...) in a read transaction that sees the whole database as of
        one moment (an export), on a pooled connection of its own."""
        with self.engine.connect() as connection:
            consistent = snapshot_reads(connection)
            with consistent.begin():
                return fn(consistent, *args, **kwargs)

    def _run(
        self,
        writing: bool,
        fn: Callable[Concatenate[Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run fn in a transaction of its own; commit when it returns, roll back when it raises.

        fn runs again, from the start, when its transaction cannot have committed and a new
        one may succeed: once when its connection turned out to be gone (the server
        restarted, or dropped it within PING_AFTER_IDLE_S of its last use), and up to
        CONFLICT_ATTEMPTS times in all, after a short random pause, when the database
        chose it as a deadlock's victim or refused it as not serializable. A database that
        cannot be reached, or conflicts that go on, are a 503 with Retry-After.
        """
        reconnected = False
        attempt = 0
        while True:
            attempt += 1
            connection = self._acquire()
            try:
                try:
                    if writing and self._log_restart_due and connection is self._kept:
                        self._log_restart_due = False
                        checkpoints.restart_log(connection)
                    if writing:
                        begin_writing(connection)
                    transaction = connection.begin()
                    hooks: list[Callable[[Connection], None]] = []
                    connection.info[BEFORE_COMMIT] = hooks
                    try:
                        result = fn(connection, *args, **kwargs)
                        for hook in hooks:
                            hook(connection)
                    except BaseException:
                        _roll_back(connection, transaction)
                        raise
                except DBAPIError as error:
                    if error.connection_invalidated and not reconnected:
                        reconnected = True
                        continue
                    if failures.is_conflict(error) and attempt < CONFLICT_ATTEMPTS:
                        time.sleep(random.uniform(0.5, 1.0) * CONFLICT_PAUSE_S * 2**attempt)
                        continue
                    _raise_for(error)
                # A commit that fails is never run again: it may have taken effect.
                try:
                    transaction.commit()
                except DBAPIError as error:
                    _drop_after_failed_commit(connection, transaction)
                    _raise_for(error)
                return result
            finally:
                # A connection lost meanwhile is not asked for its info: that would open a
                # new one to the database. The pool clears the info of a lost connection
                # before it hands out the connection that replaces it.
                if not connection.invalidated:
                    connection.info.pop(BEFORE_COMMIT, None)
                self._release(connection)

    def _acquire(self) -> Connection:
        try:
            return self._connect()
        except DBAPIError as error:
            _raise_for(error)

    def _connect(self) -> Connection:
        if self._kept_busy or threading.get_ident() != self._owner:
            return self.engine.connect()
        kept = self._kept
        if kept is not None and (
            kept.invalidated
            or kept.closed
            or (
                time.monotonic() - self._kept_idle_since >= engine_module.PING_AFTER_IDLE_S
                and not still_answers(kept)
            )
        ):
            # Forgotten before it is replaced: should connecting fail (the server is still
            # down), the next request must not find the dead connection here again.
            self._kept = None
            with contextlib.suppress(Exception):
                kept.invalidate()
            with contextlib.suppress(Exception):
                kept.close()
            kept = None
        if kept is None:
            kept = self._kept = self.engine.connect()
        self._kept_busy = True
        return kept

    def _release(self, connection: Connection) -> None:
        if connection is not self._kept:
            connection.close()
            return
        self._kept_busy = False
        self._kept_idle_since = time.monotonic()

    def dispose(self) -> None:
        if self._kept is not None:
            self._kept.close()
            self._kept = None
        self.engine.dispose()
