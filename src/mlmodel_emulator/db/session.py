"""Transactions: one per request, committed when the service returns, rolled back on error."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from mlmodel_emulator.db import engine as engine_module
from mlmodel_emulator.db.engine import begin_writing, snapshot_reads, still_answers

P = ParamSpec("P")
T = TypeVar("T")


class Database:
    """Runs service functions in a transaction of their own, on a Core connection.

    The whole transaction runs without yielding to the event loop, so no other request of
    this process can interleave between a write and its commit (and wait on its locks).
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

        A connection that turns out to be gone while fn runs (the server restarted, or
        dropped it within PING_AFTER_IDLE_S of its last use) took its transaction with it,
        so nothing of fn was committed: fn runs once more, on a fresh connection.
        """
        for attempt in (1, 2):
            connection = self._acquire()
            try:
                if writing:
                    begin_writing(connection)
                transaction = connection.begin()
                try:
                    result = fn(connection, *args, **kwargs)
                except DBAPIError as error:
                    transaction.rollback()
                    if attempt == 1 and error.connection_invalidated:
                        continue
                    raise
                except BaseException:
                    transaction.rollback()
                    raise
                transaction.commit()
                return result
            finally:
                self._release(connection)
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _acquire(self) -> Connection:
        if self._kept_busy or threading.get_ident() != self._owner:
            return self.engine.connect()
        kept = self._kept
        if kept is not None and (
            kept.invalidated
            or (
                time.monotonic() - self._kept_idle_since >= engine_module.PING_AFTER_IDLE_S
                and not still_answers(kept)
            )
        ):
            kept.invalidate()
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
