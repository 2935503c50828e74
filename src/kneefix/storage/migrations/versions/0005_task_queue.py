"""Procrastinate's tables and functions, on PostgreSQL only: the distributed analysis queue.

On PostgreSQL, technique analyses are jobs of Procrastinate (see ``kneefix.services.task_queue``).
Its schema is the one the pinned Procrastinate release ships (``SchemaManager.get_schema()``),
applied here so that opening the database sets everything up, like every other table. A later
Procrastinate release that changes its schema comes with a kneefix migration that applies that
release's own migration files. SQLite databases get nothing: their queue is the ``technique_checks``
table itself.

A trigger cancels a check's jobs when the check row is deleted, however it goes: the person deleting
it, their profile or account being deleted (``ON DELETE CASCADE``), an import replacing a profile.
Waiting jobs are cancelled and running ones are asked to abort, in the deleting transaction. The
jobs are found by their lock, ``kneefix-check-<id>`` (``storage.task_jobs.job_lock``; a test checks
that both spell it the same).

Revision ID: 0005_task_queue
Revises: 0004_time_zone_and_email
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision: str = "0005_task_queue"
down_revision: str | None = "0004_time_zone_and_email"
branch_labels: str | None = None
depends_on: str | None = None

_DROP_EVERYTHING_PROCRASTINATE = """
DO $$
DECLARE item record;
BEGIN
    FOR item IN SELECT tablename FROM pg_tables
                WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%' LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
        EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', item.signature);
    END LOOP;
    FOR item IN SELECT t.typname FROM pg_type t
                JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
                  AND t.typtype IN ('c', 'e') LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
    END LOOP;
END $$;
"""


_CANCEL_ON_DELETE = """
CREATE FUNCTION kneefix_cancel_check_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM procrastinate_cancel_job_v1(id, true, false) FROM procrastinate_jobs
    WHERE lock = 'kneefix-check-' || OLD.id AND status IN ('todo', 'doing');
    RETURN OLD;
END;
$$;
CREATE TRIGGER technique_checks_cancel_jobs AFTER DELETE ON technique_checks
    FOR EACH ROW EXECUTE FUNCTION kneefix_cancel_check_jobs();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    _run_script(SchemaManager.get_schema())
    _run_script(_CANCEL_ON_DELETE)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _run_script(
        "DROP TRIGGER IF EXISTS technique_checks_cancel_jobs ON technique_checks;"
        "DROP FUNCTION IF EXISTS kneefix_cancel_check_jobs();"
    )
    _run_script(_DROP_EVERYTHING_PROCRASTINATE)


def _run_script(script: str) -> None:
    """Run a multi-statement SQL script inside the migration's transaction.

    Straight on the psycopg connection, with no parameters, so the ``%`` in the script is not read
    as a placeholder (SQLAlchemy's ``exec_driver_sql`` passes an empty parameter set, which psycopg
    then parses).
    """
    driver_connection = op.get_bind().connection.driver_connection
    assert driver_connection is not None
    driver_connection.execute(script)
