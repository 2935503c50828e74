"""Initial schema: users and profiles, the programme's records, technique-check jobs, clinic links.

Drafted with ``alembic revision --autogenerate`` from :mod:`kneefix.storage.models`, then reviewed and
rewritten with plain column types, so this file stays valid however the models change later.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _owner(table: str, column: str = "profile_id", target: str = "profiles") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(512), nullable=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("local_name", sa.String(50), nullable=True),
        sa.Column("password_changed_at", _when(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.CheckConstraint("role IN ('person', 'clinician')", name="ck_users_role"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.UniqueConstraint("local_name", name="uq_users_local_name"),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("at", _when(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_attempts"),
    )
    op.create_index("ix_login_attempts_email_at", "login_attempts", ["email", "at"])
    op.create_index("ix_login_attempts_ip_at", "login_attempts", ["ip", "at"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(200), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("last_used_at", _when(), nullable=True),
        sa.Column("expires_at", _when(), nullable=True),
        _owner("api_tokens", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("result", sa.String(500), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        _owner("idempotency_keys", "user_id", "users"),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_keys"),
    )
    op.create_table(
        "profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("equipment", _json(), nullable=True),
        sa.Column("days_per_week", sa.Integer(), nullable=True),
        sa.Column("runs", sa.Boolean(), nullable=True),
        sa.Column("training_weekdays", _json(), nullable=True),
        sa.Column("protocol_id", sa.String(100), nullable=False),
        sa.Column("guideline_additions", sa.Boolean(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.CheckConstraint(
            "days_per_week IS NULL OR (days_per_week BETWEEN 1 AND 7)", name="ck_profiles_days_per_week"
        ),
        _owner("profiles", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name="pk_profiles"),
        sa.UniqueConstraint("user_id", "name", name="uq_profiles_user_id_name"),
    )
    op.create_index("ix_profiles_user_id", "profiles", ["user_id"])
    op.create_table(
        "clinician_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinician_user_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        _owner("clinician_links", "clinician_user_id", "users"),
        _owner("clinician_links"),
        sa.PrimaryKeyConstraint("id", name="pk_clinician_links"),
        sa.UniqueConstraint("clinician_user_id", "profile_id", name="uq_clinician_links_clinician_profile"),
    )
    op.create_index("ix_clinician_links_profile_id", "clinician_links", ["profile_id"])
    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("clinician_user_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(300), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("expires_at", _when(), nullable=False),
        sa.Column("used_at", _when(), nullable=True),
        sa.Column("used_by_profile_id", sa.Integer(), nullable=True),
        _owner("invites", "clinician_user_id", "users"),
        sa.ForeignKeyConstraint(
            ["used_by_profile_id"],
            ["profiles.id"],
            name="fk_invites_used_by_profile_id_profiles",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_invites"),
        sa.UniqueConstraint("code", name="uq_invites_code"),
    )
    op.create_index("ix_invites_clinician_user_id", "invites", ["clinician_user_id"])
    op.create_table(
        "plan_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("clinician_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinician_user_id"],
            ["users.id"],
            name="fk_plan_adjustments_clinician_user_id_users",
            ondelete="SET NULL",
        ),
        _owner("plan_adjustments"),
        sa.PrimaryKeyConstraint("id", name="pk_plan_adjustments"),
    )
    op.create_index("ix_plan_adjustments_profile_id", "plan_adjustments", ["profile_id"])
    op.create_table(
        "plan_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("details", _json(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("clinician_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.CheckConstraint("source IN ('rules', 'clinician')", name="ck_plan_changes_source"),
        sa.ForeignKeyConstraint(
            ["clinician_user_id"],
            ["users.id"],
            name="fk_plan_changes_clinician_user_id_users",
            ondelete="SET NULL",
        ),
        _owner("plan_changes"),
        sa.PrimaryKeyConstraint("id", name="pk_plan_changes"),
    )
    op.create_index("ix_plan_changes_profile_id_date", "plan_changes", ["profile_id", "date"])
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("instrument", sa.String(20), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("answers", _json(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.CheckConstraint("instrument IN ('kujala', 'nprs')", name="ck_scores_instrument"),
        _owner("scores"),
        sa.PrimaryKeyConstraint("id", name="pk_scores"),
    )
    op.create_index("ix_scores_profile_id_instrument_date", "scores", ["profile_id", "instrument", "date"])
    op.create_table(
        "screenings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", _when(), nullable=False),
        sa.Column("answers", _json(), nullable=False),
        sa.Column("verdict", sa.String(40), nullable=False),
        sa.Column("red_flags", _json(), nullable=False),
        sa.Column("messages", _json(), nullable=False),
        _owner("screenings"),
        sa.PrimaryKeyConstraint("id", name="pk_screenings"),
    )
    op.create_index("ix_screenings_profile_id", "screenings", ["profile_id"])
    op.create_table(
        "session_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("completed", sa.Float(), nullable=False),
        sa.Column("pain_during", sa.Integer(), nullable=True),
        sa.Column("pain_after", sa.Integer(), nullable=True),
        sa.Column("next_morning_pain", sa.Integer(), nullable=True),
        sa.Column("exercises_done", _json(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(100), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.CheckConstraint("completed >= 0 AND completed <= 1", name="ck_session_logs_completed"),
        sa.CheckConstraint(
            "next_morning_pain IS NULL OR (next_morning_pain BETWEEN 0 AND 10)",
            name="ck_session_logs_next_morning_pain",
        ),
        sa.CheckConstraint(
            "pain_after IS NULL OR (pain_after BETWEEN 0 AND 10)", name="ck_session_logs_pain_after"
        ),
        sa.CheckConstraint(
            "pain_during IS NULL OR (pain_during BETWEEN 0 AND 10)", name="ck_session_logs_pain_during"
        ),
        _owner("session_logs"),
        sa.PrimaryKeyConstraint("id", name="pk_session_logs"),
        sa.UniqueConstraint("profile_id", "request_id", name="uq_session_logs_profile_id_request_id"),
    )
    op.create_index("ix_session_logs_profile_id_date", "session_logs", ["profile_id", "date"])
    op.create_table(
        "technique_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("movement", sa.String(40), nullable=False),
        sa.Column("side", sa.String(10), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("input_path", sa.String(500), nullable=True),
        sa.Column("original_filename", sa.String(255), nullable=True),
        sa.Column("output_dir", sa.String(500), nullable=True),
        sa.Column("report", _json(), nullable=True),
        sa.Column("summary", _json(), nullable=True),
        sa.Column("request_id", sa.String(100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(200), nullable=True),
        sa.Column("lease_expires_at", _when(), nullable=True),
        sa.Column("started_at", _when(), nullable=True),
        sa.Column("finished_at", _when(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name="ck_technique_checks_status"
        ),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name="ck_technique_checks_progress"),
        _owner("technique_checks"),
        sa.PrimaryKeyConstraint("id", name="pk_technique_checks"),
        sa.UniqueConstraint("profile_id", "request_id", name="uq_technique_checks_profile_id_request_id"),
    )
    op.create_index(
        "ix_technique_checks_profile_id_created_at", "technique_checks", ["profile_id", "created_at"]
    )
    op.create_index("ix_technique_checks_status_created_at", "technique_checks", ["status", "created_at"])


def downgrade() -> None:
    for table in (
        "technique_checks",
        "session_logs",
        "screenings",
        "scores",
        "plan_changes",
        "plan_adjustments",
        "invites",
        "clinician_links",
        "profiles",
        "idempotency_keys",
        "api_tokens",
        "login_attempts",
        "users",
    ):
        op.drop_table(table)
