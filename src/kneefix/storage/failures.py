"""Turn driver and SQLAlchemy failures into :class:`~kneefix.errors.StorageError` messages.

A person seeing "database is locked" or a psycopg traceback cannot tell whether their data is gone or
what to do. Each message here says what happened, that what was saved before is still there, and the
next step. The original exception stays chained (``raise ... from``) for whoever debugs it.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from kneefix.errors import StorageError

SAFE = "Nothing saved earlier was lost; only this last change was not saved."

# PostgreSQL SQLSTATE codes (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_PG_BUSY = {"55P03", "40P01", "40001", "57014"}  # lock not available, deadlock, serialization, timeout
_PG_READ_ONLY = {"25006"}
_PG_FULL = {"53100", "53200", "53300"}
_PG_AUTH = {"28000", "28P01"}
_PG_NO_DATABASE = {"3D000"}


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def translate_error(error: BaseException, location: str) -> StorageError:
    """The StorageError a person should see for ``error`` raised while using ``location``."""
    if isinstance(error, StorageError):
        return error
    original: BaseException = error.orig if isinstance(error, DBAPIError) and error.orig else error
    sqlstate = getattr(original, "sqlstate", None)
    text = str(original).lower()
    detail = _first_line(original)

    if isinstance(error, PoolTimeoutError):  # every pooled connection stayed in use past the timeout
        return StorageError(
            f"The database at {location} is busy: this server has too many requests waiting for it at "
            f"once. Wait a moment and try again. {SAFE}"
        )
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return StorageError(
            f"{location} is not a readable kneefix database: it is damaged or is another kind of file "
            f"({detail}). kneefix has not changed it. Move it aside or restore a backup, or choose "
            "another database with --db or KNEEFIX_DATABASE_URL."
        )
    if "locked" in text or "busy" in text or sqlstate in _PG_BUSY:
        return StorageError(
            f"The database at {location} is busy: another kneefix window, server or backup is writing "
            f"to it. Wait a moment and try again; if it persists, close the other program. {SAFE}"
        )
    if "readonly" in text or "read-only" in text or sqlstate in _PG_READ_ONLY:
        return StorageError(
            f"The database at {location} is read-only, so this change could not be saved. Make the "
            f"file and its folder writable, or choose another database with --db. {SAFE}"
        )
    if "unable to open database file" in text:
        return StorageError(
            f"Cannot open the database file {location}: check that its folder exists and that you may "
            "write there, or choose another location with --db or KNEEFIX_DATA_DIR."
        )
    if "disk is full" in text or "disk i/o error" in text or sqlstate in _PG_FULL:
        return StorageError(
            f"Could not write to the database at {location}: the disk is full or failing ({detail}). "
            f"Free some space and try again. {SAFE}"
        )
    if (
        sqlstate in _PG_AUTH
        or "password authentication failed" in text
        or ("role" in text and "does not exist" in text)
    ):
        return StorageError(
            f"The database server at {location} refused the sign-in ({detail}). Check the user name "
            "and password in --db or KNEEFIX_DATABASE_URL."
        )
    if sqlstate in _PG_NO_DATABASE or ("database" in text and "does not exist" in text):
        return StorageError(
            f"The database server answered but the database in {location} does not exist ({detail}). "
            "Create it first, or fix the name in --db or KNEEFIX_DATABASE_URL."
        )
    if _is_connection_failure(error, original):
        return StorageError(
            f"Cannot reach the database server at {location} ({detail}). Check that it is running and "
            "that the address in --db or KNEEFIX_DATABASE_URL is right. Nothing in it was changed."
        )
    if isinstance(error, IntegrityError):
        return StorageError(f"This change clashes with data already saved in {location} ({detail}). {SAFE}")
    return StorageError(f"The database at {location} refused this change ({detail}). {SAFE}")


def _is_connection_failure(error: BaseException, original: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    sqlstate = getattr(original, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(("08", "57P")):
        return True
    text = str(original).lower()
    return "connection" in text and ("refused" in text or "failed" in text or "timeout" in text)
