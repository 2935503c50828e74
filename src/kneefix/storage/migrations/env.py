"""Alembic environment for kneefix.

kneefix runs its migrations itself when a database is opened (see :mod:`kneefix.storage.db`), handing
Alembic an open connection in ``config.attributes["connection"]``. Run by hand (``alembic -x
url=...``) it builds its own engine from that URL instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from kneefix.storage.models import Base, is_model_object

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=is_sqlite,
        # kneefix begins the transaction itself on SQLite, so the DDL is atomic there too.
        transactional_ddl=True,
        compare_type=True,
        include_name=is_model_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the caller's connection when given one, else connect to ``-x url=...``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("give a database URL: alembic -x url=sqlite:///path/to/kneefix.db upgrade head")
    engine = create_engine(url)
    try:
        with engine.begin() as own_connection:
            _configure_and_run(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("kneefix migrations run online only")
run_migrations_online()
