"""Rate-limit claims and the audit log's rows, on each backend."""

from __future__ import annotations

import datetime as dt

from kneefix.storage import audit, rates
from kneefix.storage.db import Database

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def test_a_claim_counts_until_the_limit_then_refuses_and_the_window_slides(db: Database) -> None:
    with db.session() as session:
        claims = [
            rates.claim(session, "sign_up", "10.0.0.1", limit=3, window=HOUR, now=NOW) for _ in range(5)
        ]
        assert claims == [True, True, True, False, False]
        # another key and another bucket have their own counts
        assert rates.claim(session, "sign_up", "10.0.0.2", limit=3, window=HOUR, now=NOW)
        assert rates.claim(session, "invite", "10.0.0.1", limit=3, window=HOUR, now=NOW)
        later = NOW + HOUR + dt.timedelta(seconds=1)
        assert rates.claim(session, "sign_up", "10.0.0.1", limit=3, window=HOUR, now=later)
        assert rates.count_recent(session, "sign_up", "10.0.0.1", window=HOUR, now=later) == 1


def test_old_rate_rows_are_pruned_when_new_ones_are_counted(db: Database) -> None:
    with db.session() as session:
        rates.claim(session, "sign_up", "a", limit=9, window=HOUR, now=NOW)
        much_later = NOW + rates.KEEP_FOR + HOUR
        rates.claim(session, "sign_up", "b", limit=9, window=HOUR, now=much_later)
        assert rates.count_recent(session, "sign_up", "a", window=dt.timedelta(days=30), now=much_later) == 0


def test_audit_events_are_kept_per_profile_newest_first_and_streamed_in_time_order(db: Database) -> None:
    with db.session() as session:
        for minutes, action in ((0, "record.viewed"), (5, "plan.changed"), (9, "export.downloaded")):
            audit.record_event(
                session,
                action=action,
                actor_user_id=7,
                actor_role="clinician",
                actor_name="Dr Lee",
                profile_id=3,
                detail={"route": "/x"},
                at=NOW + dt.timedelta(minutes=minutes),
            )
        audit.record_event(
            session, action="record.viewed", actor_user_id=7, actor_role="clinician", profile_id=4, at=NOW
        )
    with db.session(write=False) as session:
        assert [e.action for e in audit.events_for_profile(session, 3)] == [
            "export.downloaded",
            "plan.changed",
            "record.viewed",
        ]
        streamed = list(audit.iter_events(session, since=NOW + dt.timedelta(minutes=1)))
        assert [e.action for e in streamed] == ["plan.changed", "export.downloaded"]
        assert streamed[0].detail == {"route": "/x"} and streamed[0].actor_name == "Dr Lee"
