"""``kneefix reminders``: the reminder time and time zone, and sending the reminder emails.

``kneefix reminders send`` runs one pass (for cron or a systemd timer, every few minutes); ``--loop``
keeps running passes, like the web app and ``kneefix worker`` do when email is configured. Both read
the same ``KNEEFIX_*`` settings as ``kneefix serve`` (SMTP server, public address, secret key).
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Annotated

import typer

from kneefix.cli.base import app, err_console
from kneefix.cli.context import out_console, state_of
from kneefix.cli.output import echo_json
from kneefix.errors import InputError

reminders_app = typer.Typer(help="Reminder time, time zone and reminder emails.", invoke_without_command=True)
app.add_typer(reminders_app, name="reminders")


@reminders_app.callback()
def reminders(
    ctx: typer.Context,
    time: Annotated[
        str | None, typer.Option("--time", help="Reminder time of day, HH:MM ('' for no reminders).")
    ] = None,
    time_zone: Annotated[
        str | None,
        typer.Option("--time-zone", help="IANA time zone, e.g. Europe/London ('' for this machine's)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the settings as JSON.")] = False,
) -> None:
    """Show this profile's reminder settings, or change the time or the time zone."""
    if ctx.invoked_subcommand is not None:
        return
    from kneefix.services import reminders as reminder_service
    from kneefix.services.profiles import open_profile
    from kneefix.settings import MailSettings

    state = state_of(ctx)
    changing = time is not None or time_zone is not None
    with state.database().session(write=changing) as session:
        profile = open_profile(session, state.profile)
        mail = MailSettings()  # the command line's own profiles have no email address
        if changing:
            shown = reminder_service.update_reminders(
                session, profile.id, mail, reminder=time, time_zone=time_zone
            )
        else:
            shown = reminder_service.reminder_settings(session, profile.id, mail)
    if as_json:
        echo_json({"profile": profile.name, **shown.to_dict()})
        return
    when = shown.reminder.strftime("%H:%M") if shown.reminder else "none"
    zone = shown.time_zone or "this machine's"
    out_console().print(
        f"Reminders for {profile.name}: {when} (time zone: {zone}). Calendar exports carry them."
    )


def _parse_now(text: str | None) -> dt.datetime:
    if text is None:
        return dt.datetime.now(dt.UTC)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--now {text!r} is not a date and time like 2026-12-01T07:35+00:00.") from None
    if when.tzinfo is None:
        raise InputError("--now needs a UTC offset, e.g. 2026-12-01T07:35+00:00.")
    return when


@reminders_app.command("send")
def send_command(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (KNEEFIX_DATABASE_URL).")] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder with the secret key (KNEEFIX_DATA_DIR).")
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="Act as if it were this instant (ISO 8601 with offset).")
    ] = None,
    loop: Annotated[bool, typer.Option("--loop", help="Keep sending, one pass every five minutes.")] = False,
) -> None:
    """Send the reminder emails due now (everyone with them on, each in their own time zone)."""
    from kneefix.content.loader import load_content
    from kneefix.services.reminders import ReminderLoop, send_due_reminders
    from kneefix.settings import load_settings
    from kneefix.storage.db import Database

    global_db = getattr(state_of(ctx), "db_url", None)
    settings = load_settings(database_url=db or global_db, data_dir=data_dir)
    if not settings.mail.enabled:
        raise InputError(
            "email is not configured: set KNEEFIX_SMTP_HOST and KNEEFIX_PUBLIC_URL (see docs/web.md)."
        )
    database = Database(settings.database_url)
    content = load_content()
    if loop:
        runner = ReminderLoop(database, content, settings.mail, settings.signing_key)
        err_console.print("Sending reminder emails every five minutes. Press Ctrl-C to stop.")
        stop = threading.Event()
        try:
            runner.run_forever(stop)
        except KeyboardInterrupt:
            stop.set()
        return
    result = send_due_reminders(database, content, settings.mail, settings.signing_key, _parse_now(now))
    database.close()
    out_console().print(f"Sent {result.sent} reminder email(s); {result.idle} person(s) had none due now.")
    for failure in result.failed:
        err_console.print(f"Not sent: {failure}", highlight=False)
    if result.failed:
        raise typer.Exit(1)
