"""The person's time zone, email reminders, and the record of reminders sent.

* ``profiles.time_zone``: the IANA zone name (``Europe/London``) that "today", the morning check and
  reminders follow (NULL: the server's local clock). Checked by the application
  (``programme.clock.check_time_zone``): no database knows the zone list.
* ``profiles.email_reminders``: the person asked for reminder emails (off until they turn it on).
* ``reminder_emails``: one row per person and local date that a reminder email was sent, or is being
  sent, for. The unique pair is the claim: two senders running at once (the web app's and a worker's)
  cannot both send the same morning's email, and a crash after the claim loses one email rather than
  sending it twice. A failed send (the mail server was down) is tried again by a later pass, up to
  three attempts (``attempts``), and the last error is kept.

Plain ADD COLUMN on ``profiles`` (a batch copy on SQLite would cascade-delete every record, see 0003).

Revision ID: 0004_time_zone_and_email
Revises: 0003_calendar_feed
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_time_zone_and_email"
down_revision: str | None = "0003_calendar_feed"
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("profiles", sa.Column("time_zone", sa.String(64), nullable=True))
    op.add_column(
        "profiles",
        sa.Column("email_reminders", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.create_table(
        "reminder_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("topics", _json(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('sending', 'sent', 'failed')", name=op.f("ck_reminder_emails_status")),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_reminder_emails_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_emails")),
        sa.UniqueConstraint("profile_id", "local_date", name="uq_reminder_emails_profile_id_local_date"),
    )


def downgrade() -> None:
    op.drop_table("reminder_emails")
    op.drop_column("profiles", "email_reminders")
    op.drop_column("profiles", "time_zone")
