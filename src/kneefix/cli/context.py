"""What every command shares: the chosen profile, the database URL and the consoles.

The global options (``--profile``, ``--db``) are parsed once by the app callback into a
:class:`CliState`; commands read it from the Typer context instead of repeating the options.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from kneefix.storage.db import Database


@dataclass
class CliState:
    """Options given before the command name, plus the database opened on first use."""

    profile: str = "default"
    db_url: str | None = None
    _database: Database | None = field(default=None, repr=False)

    def database(self) -> Database:
        """The database, opened (and migrated) the first time a command needs it."""
        if self._database is None:
            from kneefix.storage.db import Database

            self._database = Database(self.db_url)
        return self._database

    def close(self) -> None:
        """Release the database's connections when the command ends."""
        if self._database is not None:
            self._database.close()
            self._database = None


def state_of(ctx: typer.Context) -> CliState:
    """The shared state; a bare :class:`CliState` when a command runs without the app callback."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def out_console() -> Console:
    """Console for results on stdout; built per command so test runners capture it."""
    return Console(highlight=False)


def err_console() -> Console:
    """Console for questions' warnings and errors on stderr."""
    return Console(stderr=True, highlight=False)


def now() -> dt.datetime:
    """The current instant (or the ``now`` setting, which pins it), e.g. a FHIR Bundle's timestamp."""
    from kneefix.settings import load_settings

    return load_settings().now or dt.datetime.now(dt.UTC)


def public_url() -> str | None:
    """The server's public address when one is configured (a FHIR Patient's identifier names it)."""
    from kneefix.settings import load_settings

    return load_settings().public_url


def today() -> dt.date:
    """The local date (or the ``today`` setting, which pins it for tests and demos); commands pass it
    to services, which never read the clock themselves."""
    from kneefix.settings import load_settings

    return load_settings().today or dt.date.today()
