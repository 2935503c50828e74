"""``kneefix users``: the web app's accounts, managed by whoever runs the server.

The first step of a clinic's install is ``kneefix users add --admin EMAIL``: nobody becomes an
administrator (or a clinician) by signing up. Then ``approve``/``decline`` handle clinician requests
(as the ``/admin`` page does), and ``reset-password`` sets a password typed by the administrator (or,
with ``--link``, prints a one-time reset link to pass on). Passwords are read from a hidden prompt, or
one line of standard input with ``--password-stdin``; they never appear in the command line.

These commands use the same database as ``kneefix serve`` (``--db`` or ``KNEEFIX_DATABASE_URL``).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from kneefix.cli.base import app
from kneefix.cli.context import out_console, state_of
from kneefix.cli.output import echo_json
from kneefix.errors import InputError

users_app = typer.Typer(help="Web accounts: administrators, clinician approvals, password resets.")
app.add_typer(users_app, name="users")

EmailArgument = Annotated[str, typer.Argument(help="The account's email address.")]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from one line of standard input (scripts)."),
]


def _read_password(from_stdin: bool) -> str:
    """The new password: a hidden prompt asked twice, or one line of standard input."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InputError("--password-stdin was given, but standard input was empty.")
        return line.rstrip("\r\n")
    try:
        password: str = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    except typer.Abort:
        raise InputError("no password was typed, so nothing was changed.") from None
    return password


def _role_text(role: str, is_admin: bool, requested: str | None) -> str:
    text = role + (", administrator" if is_admin else "")
    return text + (f" (asks to be a {requested})" if requested else "")


@users_app.command("add")
def add_command(
    ctx: typer.Context,
    email: EmailArgument,
    admin_flag: Annotated[bool, typer.Option("--admin", help="Make the account an administrator.")] = False,
    clinician: Annotated[
        bool, typer.Option("--clinician", help="A clinician account (approved at once).")
    ] = False,
    name: Annotated[str, typer.Option("--name", help="The name shown on the account's pages.")] = "",
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an account (an administrator with --admin, a clinician with --clinician)."""
    from kneefix.services import admin

    password = _read_password(password_stdin)
    with state_of(ctx).database().session() as session:
        user = admin.add_account(
            session, email=email, password=password, display_name=name, clinician=clinician, admin=admin_flag
        )
    out_console().print(f"Created {user.email}: {_role_text(user.role, user.is_admin, None)} account.")


@users_app.command("list")
def list_command(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False
) -> None:
    """List the web accounts (and who waits for approval as a clinician)."""
    from kneefix.services import admin

    with state_of(ctx).database().session(write=False) as session:
        found = admin.list_accounts(session)
    if as_json:
        echo_json(
            [
                {
                    "id": user.id,
                    "email": user.email,
                    "display_name": user.display_name,
                    "role": user.role,
                    "is_admin": user.is_admin,
                    "requested_role": user.requested_role,
                    "created_at": user.created_at,
                }
                for user in found
            ]
        )
        return
    console = out_console()
    if not found:
        console.print("No web accounts yet. Make the first administrator: kneefix users add --admin EMAIL")
        return
    table = Table(title="Accounts")
    table.add_column("email", style="cyan")
    table.add_column("name")
    table.add_column("role")
    table.add_column("since")
    for user in found:
        table.add_row(
            user.email or "",
            user.display_name,
            _role_text(user.role, user.is_admin, user.requested_role),
            user.created_at.strftime("%Y-%m-%d"),
        )
    console.print(table)


@users_app.command("approve")
def approve_command(ctx: typer.Context, email: EmailArgument) -> None:
    """Approve an account's request to be a clinician."""
    from kneefix.services import admin

    with state_of(ctx).database().session() as session:
        user = admin.approve_clinician(session, admin.account_by_email(session, email).id, actor=None)
    out_console().print(f"{user.email} is now a clinician.")


@users_app.command("decline")
def decline_command(ctx: typer.Context, email: EmailArgument) -> None:
    """Decline an account's request to be a clinician (it stays a person's account)."""
    from kneefix.services import admin

    with state_of(ctx).database().session() as session:
        user = admin.decline_clinician(session, admin.account_by_email(session, email).id, actor=None)
    out_console().print(f"{user.email}'s request was declined; it stays a person's account.")


@users_app.command("admin")
def admin_command(
    ctx: typer.Context,
    email: EmailArgument,
    remove: Annotated[bool, typer.Option("--remove", help="No longer an administrator.")] = False,
) -> None:
    """Make an existing account an administrator (or, with --remove, no longer one)."""
    from kneefix.services import admin

    with state_of(ctx).database().session() as session:
        user = admin.set_admin(session, email, not remove)
    state = "is now an administrator" if user.is_admin else "is no longer an administrator"
    out_console().print(f"{user.email} {state}.")


@users_app.command("reset-password")
def reset_password_command(
    ctx: typer.Context,
    email: EmailArgument,
    link: Annotated[
        bool,
        typer.Option("--link", help="Print a one-time reset link to pass on, instead of setting a password."),
    ] = False,
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password for an account (every browser signed in to it is signed out)."""
    from kneefix.services import admin, recovery
    from kneefix.settings import load_settings

    state = state_of(ctx)
    if link:
        public_url = load_settings().public_url
        with state.database().session() as session:
            url = admin.reset_link(session, email, public_url=public_url)
        out_console().print(
            f"One-time reset link for {email.strip().lower()} (works once, for "
            f"{int(recovery.RESET_VALID_FOR.total_seconds() // 60)} minutes):"
        )
        typer.echo(url)
        return
    password = _read_password(password_stdin)
    with state.database().session() as session:
        user = admin.set_password(session, email, password)
    mail = load_settings().mail
    notice = recovery.compose_changed_email(mail, user, how="by an administrator")
    if notice is not None:  # the owner hears of it by email too (ASVS 2.5.5)
        recovery.send_quietly(mail, notice)
    out_console().print(
        f"The password of {user.email} is changed; every browser signed in to it is signed out. "
        "Tell its owner the new password by a channel you trust."
    )
