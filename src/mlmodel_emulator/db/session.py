"""Transactions: one per request, committed when the service returns, rolled back on error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine

from mlmodel_emulator.db.engine import writer

P = ParamSpec("P")
T = TypeVar("T")


class Database:
    """Runs service functions in a transaction of their own, on a Core connection.

    The whole transaction runs without yielding to the event loop, so no other request of
    this process can interleave between a write and its commit (and wait on its locks).
    Core connections rather than ORM sessions: the services work in JSON documents, and a
    Session would double the cost of each short transaction.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = writer(engine)

    def read(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Call fn(connection, ...) in a read transaction."""
        with self.engine.begin() as connection:
            return fn(connection, *args, **kwargs)

    def write(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Call fn(connection, ...) in a write transaction, committed if fn returns."""
        with self._writer.begin() as connection:
            return fn(connection, *args, **kwargs)

    def dispose(self) -> None:
        self.engine.dispose()
