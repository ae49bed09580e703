"""Transactions: one per request, committed when the service returns, rolled back on error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from mlmodel_emulator.db.engine import writer

P = ParamSpec("P")
T = TypeVar("T")


class Database:
    """Runs service functions in a transaction of their own.

    The whole transaction runs without yielding to the event loop, so no other request of
    this process can interleave between a write and its commit (and wait on its locks).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._readers = sessionmaker(engine, expire_on_commit=False)
        self._writers = sessionmaker(writer(engine), expire_on_commit=False)

    def read(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Call fn(session, ...) in a read transaction."""
        with self._readers.begin() as session:
            return fn(session, *args, **kwargs)

    def write(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Call fn(session, ...) in a write transaction, committed if fn returns."""
        with self._writers.begin() as session:
            return fn(session, *args, **kwargs)

    def dispose(self) -> None:
        self.engine.dispose()
