"""Accounts a clinic can trust: server-side sessions, password resets, rate limits, admins, an audit log.

* ``users.is_admin``: may approve clinicians and read the audit log (orthogonal to the role, so the
  role's CHECK constraint, which SQLite could only change by rebuilding ``users``, stays as it is).
* ``users.requested_role``: "clinician" while a clinician's sign-up waits for an administrator.
* ``screenings.cleared_*``: a clinician who saw the person cleared this screening's red flags.
* ``web_sessions``: one row per signed-in browser, revocable (sign-out ends the session).
* ``password_resets``: single-use, expiring reset links (token hashes only).
* ``rate_events``: counted actions (sign-ups, invites, reset emails) for rate limits.
* ``audit_events``: who viewed or changed whose record; no foreign keys, so it outlives deletions.

Plain ADD COLUMN on existing tables (a batch copy on SQLite would cascade-delete records, see 0003).

Revision ID: 0006_accounts_and_audit
Revises: 0005_task_queue
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_accounts_and_audit"
down_revision: str | None = "0005_task_queue"
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _at(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.text("false"))
    )
    op.add_column("users", sa.Column("requested_role", sa.String(20), nullable=True))
    op.add_column("screenings", _at("cleared_at", nullable=True))
    op.add_column("screenings", sa.Column("cleared_by_user_id", sa.Integer(), nullable=True))
    op.add_column("screenings", sa.Column("cleared_by_name", sa.String(200), nullable=True))
    op.add_column("screenings", sa.Column("clearance_note", sa.Text(), nullable=True))

    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _at("created_at"),
        _at("last_seen_at"),
        _at("expires_at"),
        _at("revoked_at", nullable=True),
        sa.Column("user_agent", sa.String(200), nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"])

    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _at("created_at"),
        _at("expires_at"),
        _at("used_at", nullable=True),
        sa.Column("requested_ip", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_password_resets_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    op.create_index(op.f("ix_password_resets_user_id"), "password_resets", ["user_id"])

    op.create_table(
        "rate_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(40), nullable=False),
        sa.Column("key", sa.String(320), nullable=False),
        _at("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_events")),
    )
    op.create_index("ix_rate_events_bucket_key_at", "rate_events", ["bucket", "key", "at"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        _at("at"),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("actor_name", sa.String(320), nullable=False),
        sa.Column("subject_user_id", sa.Integer(), nullable=True),
        sa.Column("profile_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("detail", _json(), nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_profile_id_at", "audit_events", ["profile_id", "at"])
    op.create_index("ix_audit_events_at", "audit_events", ["at"])


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("rate_events")
    op.drop_table("password_resets")
    op.drop_table("web_sessions")
    for column in ("clearance_note", "cleared_by_name", "cleared_by_user_id", "cleared_at"):
        op.drop_column("screenings", column)
    op.drop_column("users", "requested_role")
    op.drop_column("users", "is_admin")
