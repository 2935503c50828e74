"""Runs as their own kind of log, "this hurt" marks, and the return-to-running readiness check.

* ``session_logs`` gains ``kind`` (``session`` or ``run``), ``hurt`` (exercise ids marked "this
  hurt"), ``run_minutes`` and ``run_distance_km`` (runs only), with CHECK constraints for each.
* Until now a run was a log whose ``exercises_done`` held the entry ``"run"``. Those rows become
  ``kind = 'run'`` and lose that entry; the downgrade puts it back.
* ``run_checks``: walk and hop pain (0-10) on a day, owned by a profile.

SQLite cannot add CHECK constraints in place, so the constraints go in through a batch (copy the
table) there; PostgreSQL alters the table directly. The new constraint names go through ``op.f`` so they
are used as written (0001's names went through the naming convention a second time, e.g.
``ck_session_logs_ck_session_logs_completed``; those stay as they are). Plain column types and
literal SQL only, so this file stays valid however the models change later.

Revision ID: 0002_runs_and_hurt
Revises: 0001_initial
Create Date: 2026-11-30
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_runs_and_hurt"
down_revision: str | None = "0001_initial"
branch_labels: str | None = None
depends_on: str | None = None

LEGACY_RUN_ENTRY = "run"

CHECKS = {
    "ck_session_logs_kind": "kind IN ('session', 'run')",
    "ck_session_logs_run_minutes": "run_minutes IS NULL OR (run_minutes > 0 AND run_minutes <= 600)",
    "ck_session_logs_run_distance_km": (
        "run_distance_km IS NULL OR (run_distance_km > 0 AND run_distance_km <= 100)"
    ),
    "ck_session_logs_run_fields": "kind = 'run' OR (run_minutes IS NULL AND run_distance_km IS NULL)",
}


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _logs() -> sa.TableClause:
    """The columns the data steps touch, typed so JSON comes back as lists on both backends."""
    return sa.table(
        "session_logs",
        sa.column("id", sa.Integer()),
        sa.column("kind", sa.String(10)),
        sa.column("exercises_done", _json()),
    )


def _entries(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _mark_legacy_runs() -> None:
    """``kind = 'run'`` for every log whose ``exercises_done`` holds ``"run"``, minus that entry."""
    logs = _logs()
    bind = op.get_bind()
    # A cheap text pre-filter; the exact test is done on the decoded list below.
    candidates = bind.execute(
        sa.select(logs.c.id, logs.c.exercises_done).where(
            sa.cast(logs.c.exercises_done, sa.Text()).like(f'%"{LEGACY_RUN_ENTRY}"%')
        )
    ).all()
    for log_id, done in candidates:
        entries = _entries(done)
        if LEGACY_RUN_ENTRY not in entries:
            continue
        kept = [entry for entry in entries if entry != LEGACY_RUN_ENTRY]
        bind.execute(sa.update(logs).where(logs.c.id == log_id).values(kind="run", exercises_done=kept))


def _unmark_runs() -> None:
    """Back to the old form: a run is a log whose ``exercises_done`` holds ``"run"``."""
    logs = _logs()
    bind = op.get_bind()
    runs = bind.execute(sa.select(logs.c.id, logs.c.exercises_done).where(logs.c.kind == "run")).all()
    for log_id, done in runs:
        entries = _entries(done)
        if LEGACY_RUN_ENTRY not in entries:
            bind.execute(
                sa.update(logs).where(logs.c.id == log_id).values(exercises_done=[LEGACY_RUN_ENTRY, *entries])
            )


def upgrade() -> None:
    with op.batch_alter_table("session_logs") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(10), nullable=False, server_default=sa.text("'session'"))
        )
        batch.add_column(sa.Column("hurt", _json(), nullable=False, server_default=sa.text("'[]'")))
        batch.add_column(sa.Column("run_minutes", sa.Float(), nullable=True))
        batch.add_column(sa.Column("run_distance_km", sa.Float(), nullable=True))
        for name, condition in CHECKS.items():
            batch.create_check_constraint(op.f(name), condition)

    _mark_legacy_runs()

    op.create_table(
        "run_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("walk_pain", sa.Integer(), nullable=False),
        sa.Column("hop_pain", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("walk_pain BETWEEN 0 AND 10", name=op.f("ck_run_checks_walk_pain")),
        sa.CheckConstraint("hop_pain BETWEEN 0 AND 10", name=op.f("ck_run_checks_hop_pain")),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profiles.id"], name="fk_run_checks_profile_id_profiles", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_run_checks"),
    )
    op.create_index("ix_run_checks_profile_id_date", "run_checks", ["profile_id", "date"])


def downgrade() -> None:
    op.drop_index("ix_run_checks_profile_id_date", table_name="run_checks")
    op.drop_table("run_checks")

    _unmark_runs()

    with op.batch_alter_table("session_logs") as batch:
        for name in CHECKS:
            batch.drop_constraint(op.f(name), type_="check")
        for column in ("run_distance_km", "run_minutes", "hurt", "kind"):
            batch.drop_column(column)
