"""Open a kneefix database: engine set-up, migrations on open, and one transaction per ``session()``.

SQLite (a file in the user's data folder) is the default; a clinic points ``KNEEFIX_DATABASE_URL`` or
``--db`` at PostgreSQL instead. Any SQLAlchemy URL works.

On SQLite every connection runs in WAL mode with foreign keys on and a busy timeout, and kneefix
emits ``BEGIN IMMEDIATE`` itself for write sessions: the write lock is taken up front, so two
programs wait their turn (up to the busy timeout) instead of failing half-way with a stale snapshot.
Read-only sessions (``session(write=False)``) begin deferred and never wait for writers; the web app
uses them for every GET, so pages and API reads do not queue behind the one write lock (the little a
read must note, it writes in :func:`writes_beside`). A read session that tries to change data (a
flush with new, changed or deleted rows, or an INSERT, UPDATE or DELETE run through it) raises
:class:`~kneefix.errors.StorageError` at once. Such a write would otherwise work alone and fail under
load: a deferred transaction that wants the lock after another program has written since its first
read fails "busy" at once, without waiting. So it is a programming error, never a silent write.

Every failure leaves through :func:`kneefix.storage.failures.translate_error` as a
:class:`~kneefix.errors.StorageError`; a failed transaction is rolled back, so what was committed
before is untouched.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, TextClause, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, StaticPool

from kneefix.errors import InputError, StorageError
from kneefix.settings import load_settings
from kneefix.storage.failures import translate_error

DEFAULT_BUSY_TIMEOUT_S = 5.0
# Connections one process keeps to PostgreSQL (each web process and worker has its own pool).
PG_POOL_SIZE = 10
PG_POOL_OVERFLOW = 20
PG_POOL_TIMEOUT_S = 10
DEFAULT_CONNECT_TIMEOUT_S = 5
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant: serialises concurrent first-time migrations on one PostgreSQL database.
_PG_MIGRATION_LOCK = 0x6B6E6565  # "knee"
_BEGIN_OPTION = "kneefix_sqlite_begin"
_DAMAGED_TEXT = "database disk image is malformed: it holds bytes that are not text"
_TURN_KEY = "kneefix_write_turn"  # pooled connection info: the write turn this transaction holds
# A writer waits this many busy timeouts for its turn among this program's own writers: the queue is
# fair and every turn short, so waiting is better than failing; other programs get the busy timeout.
TURN_WAIT_FACTOR = 4
_WRITE_TURNS: dict[str, WriteTurns] = {}  # one per SQLite file, shared by every Database on it
_TURNS_GUARD = threading.Lock()
_DATABASE_KEY = "kneefix_database"  # Session.info: the Database a session came from
_READ_ONLY_KEY = "kneefix_read_only"  # Session.info: True in a session(write=False)
# The leading keyword of a hand-written statement that changes data (``text("UPDATE ...")``).
_WRITING_SQL = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|UPSERT)\b", re.IGNORECASE)


def parse_url(url: str) -> URL:
    """Parse a database URL, explaining what a valid one looks like when it is not."""
    try:
        return make_url(url)
    except ArgumentError as error:
        raise InputError(
            f"{url!r} is not a database URL. Use e.g. sqlite:///path/to/kneefix.db or "
            "postgresql+psycopg://user:password@host:5432/kneefix."
        ) from error


def describe_location(url: URL) -> str:
    """A short, password-free name for the database, used in messages."""
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        return "an in-memory database" if database in ("", ":memory:") else database
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    return f"{url.get_backend_name()} {host}{port}/{url.database or ''}"


def _is_sqlite_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database


def _sqlite_file(url: URL) -> Path | None:
    """The file behind a plain SQLite URL (not ``file:...?uri=true`` URIs or memory), for its folder."""
    database = url.database or ""
    if _is_sqlite_memory(url) or url.query.get("uri") == "true":
        return None
    return Path(database).expanduser()


def _switch_to_wal(cursor: sqlite3.Cursor, busy_timeout_s: float) -> None:
    """Put the file in WAL mode, retrying while another connection is switching it too.

    Switching a new (rollback-journal) file needs an exclusive lock. Two connections that both hold
    the shared lock and both ask for it are a deadlock SQLite resolves by failing one at once,
    without calling the busy handler, so the busy timeout alone does not cover it.
    """
    deadline = time.monotonic() + busy_timeout_s
    pause_s = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + pause_s > deadline:
                raise
        time.sleep(pause_s)
        pause_s = min(pause_s * 2, 0.1)


def _utf8_text(raw: bytes) -> str:
    """A text value read from SQLite; bytes that are not UTF-8 mean the file was scribbled over.

    sqlite3's own decoding raises a bare UnicodeDecodeError (for a value, or for an error message
    quoting a damaged page), which no database error handler expects, so a damaged file became a
    traceback. As a database error it gets the "damaged" message instead.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise sqlite3.DatabaseError(_DAMAGED_TEXT) from None


def _install_sqlite_behaviour(engine: Engine, busy_timeout_s: float) -> None:
    busy_ms = int(busy_timeout_s * 1000)
    turn = _write_turn(engine.url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Stop the sqlite3 module's own implicit BEGIN handling; we issue BEGIN below.
        dbapi_connection.isolation_level = None
        dbapi_connection.text_factory = _utf8_text
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            _switch_to_wal(cursor, busy_timeout_s)
        except UnicodeDecodeError:  # SQLite's error message quoted bytes from a damaged page
            raise sqlite3.DatabaseError(_DAMAGED_TEXT) from None
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        if mode != "IMMEDIATE":
            connection.exec_driver_sql(f"BEGIN {mode}")
            return
        record = connection.connection  # the pooled connection: its ``info`` lives until check-in
        if not turn.acquire(timeout=busy_timeout_s * TURN_WAIT_FACTOR):
            raise sqlite3.OperationalError("database is locked (this program's other writes took too long)")
        record.info[_TURN_KEY] = turn
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _end_turn(record.info)
            raise

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        _end_turn(record.info)  # after COMMIT or ROLLBACK: the connection went back

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: ConnectionPoolEntry, _error: object) -> None:
        _end_turn(record.info)


def _end_turn(info: dict[Any, Any]) -> None:
    held = info.pop(_TURN_KEY, None)
    if held is not None:
        held.release()


class WriteTurns:
    """A first-come, first-served lock: writers get the write lock in the order they asked for it.

    SQLite's own busy handler polls with growing sleeps, so under a steady stream of writes one writer
    can lose every race until its busy timeout runs out ("database is busy" with the lock free most of
    the time). A plain ``threading.Lock`` is no cure: the thread that just released it often takes it
    again before a waiter wakes. Here only the writer at the head of the queue may take its turn.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._queue: collections.deque[object] = collections.deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        """Wait for this caller's turn, at most ``timeout`` seconds; False when it did not come."""
        me = object()
        with self._changed:
            self._queue.append(me)
            if self._changed.wait_for(lambda: not self._held and self._queue[0] is me, timeout):
                self._queue.popleft()
                self._held = True
                return True
            self._queue.remove(me)
            self._changed.notify_all()  # the next in line may be free to go now
            return False

    def release(self) -> None:
        with self._changed:
            self._held = False
            self._changed.notify_all()


def _write_turn(url: URL) -> WriteTurns:
    """The queue this process's writers to ``url`` wait in before they ask SQLite for its lock (SQLite's
    busy handler is left with other processes: a CLI command, a second server process)."""
    path = _sqlite_file(url)
    key = str(path.resolve()) if path is not None else str(url)
    with _TURNS_GUARD:
        return _WRITE_TURNS.setdefault(key, WriteTurns())


def _build_engine(url: URL, busy_timeout_s: float, connect_timeout_s: int) -> Engine:
    backend = url.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_s}
        # A file database gets no pool: opening one is a file open, and a bounded pool can deadlock a
        # web server whose requests hold a connection between the threads they run on (every thread
        # waiting for a connection that a request without a thread holds; fastapi/fastapi#3205).
        kwargs["poolclass"] = StaticPool if _is_sqlite_memory(url) else NullPool
    else:
        kwargs["pool_pre_ping"] = True
        # A bounded pool that gives up soon: past PG_POOL_SIZE + PG_POOL_OVERFLOW connections a
        # request waits at most PG_POOL_TIMEOUT_S and is answered "busy" rather than hanging.
        kwargs.update(pool_size=PG_POOL_SIZE, max_overflow=PG_POOL_OVERFLOW, pool_timeout=PG_POOL_TIMEOUT_S)
        if backend == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": connect_timeout_s}
    try:
        engine = create_engine(url, **kwargs)
    except (NoSuchModuleError, ArgumentError, ImportError) as error:
        raise InputError(
            f"kneefix cannot use the database URL {url.render_as_string(hide_password=True)!r} "
            f"({error}). Use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB."
        ) from error
    if backend == "sqlite":
        _install_sqlite_behaviour(engine, busy_timeout_s)
    return engine


def alembic_config() -> Config:
    """Alembic configured in code: the migrations ship inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest migration this kneefix ships (what :meth:`Database.upgrade` brings a database to)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise StorageError("kneefix was installed without its database migrations.")
    return head


def _refuse_foreign_database(connection: Connection, location: str) -> None:
    """Never mix kneefix tables into a database that another program already uses."""
    tables = set(inspect(connection).get_table_names())
    if tables and "alembic_version" not in tables:
        shown = ", ".join(sorted(tables)[:5])
        raise StorageError(
            f"{location} already holds another program's tables ({shown}), so kneefix will not write "
            "into it. Choose another database with --db or KNEEFIX_DATABASE_URL."
        )


def _read_only_refusal(what: str) -> StorageError:
    return StorageError(
        f"A read-only request tried to change data ({what}). This is a bug in kneefix: the change "
        "must run in a write session (database.session()), not in session(write=False). Nothing was "
        "saved."
    )


def _guard_read_only(session: Session) -> None:
    """Make ``session`` refuse every write, so a read session can never write without the lock.

    Registered on this one Session instance (not the Session class), so write sessions are untouched.
    A flush that only carries objects whose attributes were set to the values they already had writes
    nothing, so it passes.
    """

    @event.listens_for(session, "before_flush")
    def _refuse_flush(flushing: Session, _context: UOWTransaction, _instances: object) -> None:
        changed = [obj for obj in flushing.dirty if flushing.is_modified(obj)]
        if flushing.new or flushing.deleted or changed:
            kinds = sorted({type(obj).__name__ for obj in (*flushing.new, *flushing.deleted, *changed)})
            raise _read_only_refusal("a flush of " + ", ".join(kinds))

    @event.listens_for(session, "do_orm_execute")
    def _refuse_statement(state: ORMExecuteState) -> None:
        statement = state.statement
        if state.is_insert or state.is_update or state.is_delete:
            verb = "an INSERT" if state.is_insert else "an UPDATE" if state.is_update else "a DELETE"
            raise _read_only_refusal(f"{verb} statement")
        if isinstance(statement, TextClause) and _WRITING_SQL.match(statement.text):
            raise _read_only_refusal(f"an SQL {statement.text.split()[0].upper()} statement")


def is_read_only(session: Session) -> bool:
    """Whether ``session`` is a read session from ``Database.session(write=False)``."""
    return session.info.get(_READ_ONLY_KEY) is True


@contextmanager
def writes_beside(session: Session) -> Iterator[Session]:
    """A session to write in for a caller that holds ``session``, which may be a read session.

    A write session is handed back as it is: it already holds the write lock, and a second write
    session would wait for that lock until the busy timeout. For a read session the block gets its own
    short write session on the same database, committed when the block ends. ``session``'s read
    transaction ends first, so it holds no pooled connection while the writer waits for one, and what
    it reads next (a fresh snapshot) includes what was just written. Keep the block small: a read only
    writes when something is stale (a token's last use, changed plan history).
    """
    database = session.info.get(_DATABASE_KEY)
    if not is_read_only(session) or not isinstance(database, Database):
        yield session
        return
    with _writer_beside(session, database) as writer:
        yield writer


@contextmanager
def _writer_beside(session: Session, database: Database) -> Iterator[Session]:
    """A fresh write session on ``database``; ``session``'s read transaction (if any) ends first."""
    if session.in_transaction() and is_read_only(session):
        session.commit()  # nothing to flush in a read session: this only lets go of the old snapshot
    with database.session() as writer:
        yield writer


@contextmanager
def own_transaction(session: Session) -> Iterator[Session]:
    """A short write transaction of its own, committed when the block ends, beside ``session``.

    For work that must not hold the write lock while it does something slow in between (checking a
    password takes a good part of a second): each short block takes the lock only for itself. A write
    session already inside a transaction holds the lock, and a second writer would wait for it until
    the busy timeout, so the block then runs in ``session`` itself. A read session's transaction ends
    first (see :func:`writes_beside`).
    """
    database = session.info.get(_DATABASE_KEY)
    if not isinstance(database, Database) or (not is_read_only(session) and session.in_transaction()):
        yield session
        return
    with _writer_beside(session, database) as writer:
        yield writer


class Database:
    """A kneefix database, migrated to the current schema when opened.

    ``url`` falls back to the settings' ``database_url`` (:mod:`kneefix.settings`). ``busy_timeout_s``
    is how long a write waits for another program's write lock before giving up with a clear message.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
        migrate: bool = True,
    ) -> None:
        self.url = parse_url(url or load_settings().database_url)
        self.location = describe_location(self.url)
        self._prepare_sqlite_folder()
        self.engine = _build_engine(self.url, busy_timeout_s, connect_timeout_s)
        self._read_engine = self.engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})
        if migrate:
            try:
                self.upgrade()
            except BaseException:
                self.engine.dispose()
                raise

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql`` (or whichever dialect the URL names)."""
        return self.url.get_backend_name()

    def _prepare_sqlite_folder(self) -> None:
        if self.url.get_backend_name() != "sqlite":
            return
        path = _sqlite_file(self.url)
        if path is None:
            return
        if path.is_dir():
            raise InputError(f"{path} is a folder; give the path of a database file inside it instead.")
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(
                f"Cannot create the folder {path.parent} for the database ({error.strerror}). Choose a "
                "writable location with --db or KNEEFIX_DATA_DIR."
            ) from error
        # Health records: a new database file is the owner's alone (SQLite gives its -wal and -shm
        # files the same mode). An existing file keeps the mode its owner chose.
        with contextlib.suppress(FileExistsError, OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))

    def upgrade(self) -> None:
        """Bring the schema to the newest migration; concurrent openers wait for each other.

        A database already at the newest migration is recognised by a plain read, so opening it
        (every CLI command, every server start) never waits for, or blocks, another program's write.
        """
        if self.current_revision() == head_revision():
            return
        config = alembic_config()
        try:
            with self.engine.connect() as connection, connection.begin():
                if self.backend == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                    )
                _refuse_foreign_database(connection, self.location)
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except CommandError as error:
            raise StorageError(
                f"The database at {self.location} was set up by a newer version of kneefix ({error}). "
                "Update kneefix to use it; nothing in it was changed."
            ) from error
        except (SQLAlchemyError, sqlite3.Error) as error:
            raise translate_error(error, self.location) from error

    def current_revision(self) -> str | None:
        """The migration the database is at (None for an empty database)."""
        try:
            with self._read_engine.connect() as connection:
                if not inspect(connection).has_table("alembic_version"):
                    return None
                row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
        except (SQLAlchemyError, sqlite3.Error) as error:
            raise translate_error(error, self.location) from error
        return None if row is None else str(row[0])

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if anything in it fails.

        Pass ``write=False`` for pure reads; on SQLite they then never wait for a writer. Such a
        session refuses to write (:class:`~kneefix.errors.StorageError`): a read that needs to note
        something does it in :func:`writes_beside`.
        """
        session = Session(bind=self.engine if write else self._read_engine, expire_on_commit=False)
        session.info[_DATABASE_KEY] = self
        if not write:
            session.info[_READ_ONLY_KEY] = True
            _guard_read_only(session)
        try:
            yield session
            session.commit()
        except (SQLAlchemyError, sqlite3.Error) as error:
            with suppress(Exception):
                session.rollback()
            raise translate_error(error, self.location) from error
        except BaseException:
            with suppress(Exception):
                session.rollback()
            raise
        finally:
            with suppress(Exception):
                session.close()

    def close(self) -> None:
        """Close every pooled connection (files stay as they are)."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"
