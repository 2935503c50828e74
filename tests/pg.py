"""A throw-away PostgreSQL server for tests: ``postgres_url`` (session) and ``fresh_postgres_url``.

The server runs from a temporary folder with ``initdb``/``pg_ctl`` on 127.0.0.1 and a free port, with
durability switched off (fsync etc.) because its data is thrown away. PostgreSQL refuses to run as
root, so as root it runs as the ``postgres`` user through ``runuser``. Tests that need it skip, with the
reason, only when the PostgreSQL server programs are not installed.

Import the fixtures into a conftest (``from tests.pg import postgres_url, fresh_postgres_url``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER_USER = "postgres"
ROLE = "kneefix"
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("PostgreSQL cannot run as root and `runuser` is not installed")
    return [runuser, "-u", SERVER_USER, "--", *command]


def _server_owner() -> tuple[int, int] | None:
    """uid/gid to own the data folder (None when not root: the current user owns it)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        pytest.skip(f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL as")
    return entry.pw_uid, entry.pw_gid


class PostgresServer:
    """One running server in ``root``; ``stop()`` shuts it down and removes the folder."""

    def __init__(self, initdb: str, pg_ctl: str) -> None:
        self.pg_ctl = pg_ctl
        self.root = Path(tempfile.mkdtemp(prefix="kneefix-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        owner = _server_owner()
        if owner is not None:
            os.chown(self.root, *owner)
        self.root.chmod(0o700)
        self._run(
            [
                initdb,
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                ROLE,
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ]
        )
        self.port = self._start()

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(
            _as_server_user(command), capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:2])} failed:\n{result.stdout}\n{result.stderr}")

    def _start(self) -> int:
        last_error: Exception | None = None
        for _ in range(3):  # the free port can be taken between choosing it and binding it
            port = _free_port()
            options = (
                f"-p {port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
            )
            try:
                self._run(
                    [self.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"]
                )
                self._options = options
                return port
            except RuntimeError as error:
                last_error = error
        raise RuntimeError(f"PostgreSQL did not start: {last_error}\n{self._log_tail()}")

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-2000:]
        return ""

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{ROLE}@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{ROLE}@127.0.0.1:{self.port}/{database}"

    def restart(self) -> None:
        """Stop fast (every client connection is cut) and start again on the same port."""
        self._run([self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"])
        self._run(
            [self.pg_ctl, "-D", str(self.data), "-o", self._options, "-l", str(self.log), "-w", "start"]
        )

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run([self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)


def create_database(server_url: str) -> str:
    """Make an empty database on the server behind ``server_url``; returns its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A running PostgreSQL server's URL (``postgresql+psycopg://kneefix@127.0.0.1:PORT/postgres``)."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL server programs (initdb, pg_ctl) are not installed")
    server = PostgresServer(initdb, pg_ctl)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> str:
    """The URL of a new, empty database on the test server, so each test starts clean."""
    return create_database(postgres_url)
