"""``kneefix worker``: analyse uploaded videos in a process of its own, on this or another machine.

A worker needs only the settings: the database URL and the file store (``KNEEFIX_FILE_STORE``, by
default the data folder: a volume shared with the web machines). On PostgreSQL it is a Procrastinate
worker (:mod:`kneefix.services.task_queue`); on SQLite it takes checks from the embedded queue
(:class:`kneefix.services.worker.Worker`), which suits a second process on the same machine.

SIGTERM (systemd, docker) and Ctrl-C stop it gracefully: the video being analysed goes back to the
queue at once, without spending one of its attempts, and the pose processes are reaped.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated

import typer

from kneefix.cli.base import app, err_console
from kneefix.cli.serve import DataDirOption, DbOption, global_db
from kneefix.services.leftovers import DEFAULT_MIN_AGE_S, clean_at_start, clean_files
from kneefix.services.worker import Worker
from kneefix.settings import Settings, load_settings
from kneefix.storage.db import Database
from kneefix.storage.files import open_store


@app.command("worker")
def worker_command(
    ctx: typer.Context,
    db: DbOption = None,
    data_dir: DataDirOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="Run the jobs waiting now, then stop (for cron or tests).")
    ] = False,
    clean: Annotated[
        bool,
        typer.Option(
            "--clean",
            help="Only remove what crashed processes left in the file store (half uploads, dead "
            "analyses' work folders, files of no check), list it, and stop.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --clean: list what would be removed; remove nothing.")
    ] = False,
    min_age: Annotated[
        float,
        typer.Option(
            "--min-age",
            min=0.0,
            help="With --clean: minutes a leftover must have been untouched (default 15). Work folders "
            "of analyses that are no longer running go at any age.",
        ),
    ] = DEFAULT_MIN_AGE_S / 60,
) -> None:
    """Analyse uploaded technique videos in this process, taking jobs from the shared database (and
    send reminder emails when email is configured). It first removes what crashed processes left
    in the file store; ``--clean`` does only that."""
    from kneefix.services import task_queue

    settings = load_settings(database_url=db or global_db(ctx), data_dir=data_dir)
    database = Database(settings.database_url)
    if dry_run and not clean:
        raise typer.BadParameter("--dry-run goes with --clean.", param_hint="--dry-run")
    if clean:
        _clean(database, settings, dry_run=dry_run, min_age_s=min_age * 60)
        return
    clean_at_start(database, open_store(settings))
    if task_queue.uses_task_queue(database):
        _run_queue_worker(database, settings, once=once)
    else:
        _run_table_worker(database, settings, once=once)


def _run_queue_worker(database: Database, settings: Settings, *, once: bool) -> None:
    from kneefix.services import task_queue

    queue_app = task_queue.build_app(database, open_store(settings))
    if once:
        asyncio.run(task_queue.serve(queue_app, settings, once=True))
        err_console.print("No more videos are waiting.")
        return
    err_console.print(
        f"kneefix worker {task_queue.worker_name()} is waiting for videos (PostgreSQL queue). "
        "Press Ctrl-C to stop."
    )
    with _reminders(database, settings):
        asyncio.run(task_queue.serve(queue_app, settings))  # Procrastinate handles SIGTERM/SIGINT
    err_console.print("Stopped; a video being analysed went back to the queue.")


def _run_table_worker(database: Database, settings: Settings, *, once: bool) -> None:
    runner = Worker(database, open_store(settings))
    stop = threading.Event()

    def on_signal(_number: int, _frame: FrameType | None) -> None:
        stop.set()
        runner.stop_soon()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if once:
            done = runner.run_until_idle()
            err_console.print(f"Analysed {done} video(s); no more are waiting.")
            return
        err_console.print(f"kneefix worker {runner.worker_id} is waiting for videos. Press Ctrl-C to stop.")
        with _reminders(database, settings):
            runner.run_forever(stop)
        err_console.print("Stopped; a video being analysed went back to the queue.")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _clean(database: Database, settings: Settings, *, dry_run: bool, min_age_s: float) -> None:
    report = clean_files(database, open_store(settings), min_age_s=min_age_s, dry_run=dry_run)
    verb = "Would remove" if dry_run else "Removed"
    for removal in report.removed:
        typer.echo(f"{verb} {removal.path} ({removal.reason})")
    for link in report.links:
        err_console.print(f"Left alone a link: {link}", markup=False, highlight=False)
    for path, error in report.failed:
        err_console.print(f"Could not remove {path}: {error}", markup=False, highlight=False)
    count = len(report.removed)
    err_console.print(f"{verb} {count} leftover{'' if count == 1 else 's'} from the file store.")
    if report.failed:
        raise typer.Exit(1)


@contextmanager
def _reminders(database: Database, settings: Settings) -> Iterator[None]:
    """Send reminder emails too when email is configured (several processes doing so is safe)."""
    if not settings.mail.enabled:
        yield
        return
    from kneefix.content.loader import load_content
    from kneefix.services.reminders import ReminderLoop

    reminders = ReminderLoop(database, load_content(), settings.mail, settings.signing_key)
    reminders.start()
    err_console.print("It also sends the reminder emails that fall due.")
    try:
        yield
    finally:
        reminders.stop()
