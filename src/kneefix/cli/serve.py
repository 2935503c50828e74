"""``kneefix serve``: the web app, the README's "run the main job".

It starts the whole product on one machine with no set-up: the embedded SQLite database and file
store in the data folder, and an analysis worker inside the same process. A clinic that analyses
uploads away from the web server runs ``kneefix worker`` processes (:mod:`kneefix.cli.worker_cmds`)
and starts the web app with ``--no-worker``.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from kneefix.cli.base import app, err_console
from kneefix.errors import InputError
from kneefix.settings import Settings

HostOption = Annotated[
    str | None, typer.Option("--host", help="Address to listen on (KNEEFIX_HOST; default 127.0.0.1).")
]
PortOption = Annotated[int | None, typer.Option("--port", help="Port (KNEEFIX_PORT; default 8000).")]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="SQLAlchemy database URL (KNEEFIX_DATABASE_URL; default SQLite in the data folder)."
    ),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder for the database, uploads and analyses (KNEEFIX_DATA_DIR)."),
]


def ensure_port_free(host: str, port: int) -> None:
    """Fail with a plain message before start-up when another program already holds the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise InputError(
                    f"Port {port} on {host} is already in use (is kneefix already running?). "
                    "Choose another with --port or KNEEFIX_PORT."
                ) from None
            raise InputError(f"Cannot listen on {host}:{port} ({error.strerror}). Check --host.") from None


def global_db(ctx: typer.Context) -> str | None:
    """``kneefix --db URL serve`` works too: the global option is the fallback for ``serve --db``."""
    state = ctx.obj
    url = getattr(state, "db_url", None)
    return url if isinstance(url, str) else None


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: HostOption = None,
    port: PortOption = None,
    db: DbOption = None,
    data_dir: DataDirOption = None,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Add a demo person and clinician with a few weeks of history."),
    ] = False,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Analyse uploaded videos inside this process (default). Use --no-worker when "
            "`kneefix worker` processes do it instead.",
        ),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Web processes to run (default 1). Sessions, sign-in limits and analysis progress "
            "live in the database, so any process can answer any request.",
        ),
    ] = 1,
    print_config: Annotated[
        bool,
        typer.Option(
            "--print-config",
            help="Print the settings it would run with (secrets masked), one KNEEFIX_* a line, and stop.",
        ),
    ] = False,
) -> None:
    """Start the web app (http://127.0.0.1:8000 by default) for people and their clinicians."""
    from kneefix.settings import load_settings

    settings = load_settings(
        host=host, port=port, database_url=db or global_db(ctx), data_dir=data_dir, run_worker=worker
    )
    if print_config:
        for name, value in settings.shown().items():
            typer.echo(f"{name}={value}")
        return
    import uvicorn

    from kneefix.storage.db import Database
    from kneefix.web.app import create_app

    ensure_port_free(settings.host, settings.port)
    database = Database(settings.database_url)
    if demo:
        from kneefix.services.demo import seed_demo

        accounts = seed_demo(database, settings.data_dir)
        err_console.print("[bold]Demo accounts[/] (one password for both; a new one on every start):")
        for line in accounts.lines():
            err_console.print(f"  {line}", highlight=False)
        err_console.print("Demo data is for trying kneefix out: do not use --demo where others can reach it.")
    web_app = create_app(settings, database=database) if workers == 1 else None
    shown_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    err_console.print(
        f"kneefix is running at [bold]http://{shown_host}:{settings.port}{settings.root_path}/[/] "
        f"(data in {settings.data_dir}). Press Ctrl-C to stop.",
        highlight=False,
    )
    if web_app is None:  # several processes: each builds its own app from the same settings
        database.close()
        os.environ.update(_settings_for_children(settings))
        err_console.print(f"Running {workers} web processes.")
    uvicorn.run(
        web_app or "kneefix.web.app:app_from_env",
        factory=web_app is None,
        workers=workers if web_app is None else None,
        host=settings.host,
        port=settings.port,
        proxy_headers=False,  # the app applies them, from trusted proxies only (TrustedProxyMiddleware)
        log_level="warning",
    )


def _settings_for_children(settings: Settings) -> dict[str, str]:
    """What the command line chose, as KNEEFIX_* variables that the web processes read.

    Everything else reaches them the way it reached this process (environment, .env, TOML file).
    """
    return {
        "KNEEFIX_HOST": settings.host,
        "KNEEFIX_PORT": str(settings.port),
        "KNEEFIX_DATABASE_URL": settings.database_url,
        "KNEEFIX_DATA_DIR": str(settings.data_dir),
        "KNEEFIX_RUN_WORKER": "true" if settings.run_worker else "false",
    }
