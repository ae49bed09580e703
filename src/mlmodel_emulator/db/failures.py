"""What a database error means for the request that met it: gone, in conflict, or neither.

The one place that reads drivers' error codes. PostgreSQL's SQLSTATEs: class 08 (connection
exceptions), 57P01-57P03 (the server shutting down, crashed, or starting up), 53300 (too many
connections); 40P01 (deadlock detected) and 40001 (serialization failure). SQLite's only
transient failure is a lock held beyond busy_timeout.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

_GONE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})
_SQLITE_BUSY = ("database is locked", "database is busy")


def _sqlstate(error: DBAPIError) -> str | None:
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate if isinstance(sqlstate, str) else None


def is_unavailable(error: DBAPIError) -> bool:
    """The database cannot be reached, or cannot serve now (worth retrying later)."""
    if error.connection_invalidated:
        return True
    sqlstate = _sqlstate(error)
    if sqlstate is not None:
        return sqlstate.startswith("08") or sqlstate in _GONE_SQLSTATES
    if not isinstance(error, OperationalError):
        return False
    module = type(error.orig).__module__
    if module.startswith("psycopg"):
        # psycopg gives no SQLSTATE when it cannot connect or loses the connection.
        return True
    return any(text in str(error.orig) for text in _SQLITE_BUSY)


def is_conflict(error: DBAPIError) -> bool:
    """A deadlock or serialization failure: the transaction may simply be run again."""
    return _sqlstate(error) in _CONFLICT_SQLSTATES
