"""A subscribable calendar per person: the feed's secret (hashed) and the reminder time.

* ``profiles.calendar_token_hash``: SHA-256 of the feed URL's secret token (NULL: no feed). Only the
  hash is kept, like API tokens, so a copy of the database does not give anyone the feeds; the index is
  unique because the feed is looked up by it.
* ``profiles.reminder_time``: "HH:MM", the time of day a session's reminder (VALARM) goes off in the
  person's calendar (NULL: no reminder), checked by a CHECK constraint on PostgreSQL. On an upgraded
  SQLite database the check is the application's only (``services.calendar.parse_reminder``): adding it
  there would mean rebuilding ``profiles``, whose drop would cascade to every record.
* ``profiles.calendar_digest``, ``calendar_sequence``, ``calendar_stamp``: the digest of the calendar
  last handed out, and the SEQUENCE and DTSTAMP its events carry. When the plan moves, the digest
  changes, the sequence goes up by one and the stamp becomes that moment, so calendar apps replace the
  events instead of keeping stale ones.
* ``profiles.calendar_events``: every event UID the calendar has handed out, with its date (JSON), so a
  session the plan has moved is sent as cancelled (feed and download alike) instead of lingering.

Plain column types only, so this file stays valid however the models change later.

Revision ID: 0003_calendar_feed
Revises: 0002_runs_and_hurt
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_calendar_feed"
down_revision: str | None = "0002_runs_and_hurt"
branch_labels: str | None = None
depends_on: str | None = None

REMINDER_CHECK = (
    "reminder_time IS NULL OR (length(reminder_time) = 5 AND substr(reminder_time, 3, 1) = ':' "
    "AND substr(reminder_time, 1, 2) BETWEEN '00' AND '23' "
    "AND substr(reminder_time, 4, 2) BETWEEN '00' AND '59')"
)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch copy of ``profiles``: on SQLite a batch rebuilds the table, and
    # dropping the old one would cascade-delete every person's logs, scores and checks.
    op.add_column("profiles", sa.Column("calendar_token_hash", sa.String(64), nullable=True))
    op.add_column("profiles", sa.Column("reminder_time", sa.String(5), nullable=True))
    op.add_column("profiles", sa.Column("calendar_digest", sa.String(64), nullable=True))
    op.add_column(
        "profiles", sa.Column("calendar_sequence", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("profiles", sa.Column("calendar_stamp", sa.DateTime(timezone=True), nullable=True))
    op.add_column("profiles", sa.Column("calendar_events", _json(), nullable=True))
    op.create_index("ix_profiles_calendar_token_hash", "profiles", ["calendar_token_hash"], unique=True)
    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot add a CHECK in place (see above)
        op.create_check_constraint(op.f("ck_profiles_reminder_time"), "profiles", REMINDER_CHECK)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_profiles_reminder_time"), "profiles", type_="check")
    op.drop_index("ix_profiles_calendar_token_hash", table_name="profiles")
    for column in (
        "calendar_events",
        "calendar_stamp",
        "calendar_sequence",
        "calendar_digest",
        "reminder_time",
        "calendar_token_hash",
    ):
        op.drop_column("profiles", column)
