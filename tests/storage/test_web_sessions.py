"""Server-side web sessions and sign-in failure counts on both backends (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from kneefix.errors import NotFoundError
from kneefix.storage import Database, access, users, web_sessions

T0 = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


def _user(db: Database, email: str = "a@example.org") -> int:
    with db.session() as session:
        return users.create_user(session, email=email, password_hash="$argon2id$x").id


def test_a_session_lives_until_revoked_or_expired(db: Database) -> None:
    """ASVS 3.3.1: rows are found by token hash; revoking one, or all of an account's, is kept."""
    user_id, other_id = _user(db), _user(db, "b@example.org")
    with db.session() as session:
        one = web_sessions.create(
            session, user_id, token_hash="1" * 64, expires_at=T0 + dt.timedelta(days=14), now=T0
        )
        web_sessions.create(
            session, user_id, token_hash="2" * 64, expires_at=T0 + dt.timedelta(days=14), now=T0
        )
        web_sessions.create(
            session, other_id, token_hash="3" * 64, expires_at=T0 + dt.timedelta(days=14), now=T0
        )
    with db.session(write=False) as session:
        found = web_sessions.find(session, "1" * 64)
        assert found is not None and found[0].id == one.id and found[1].id == user_id
        assert found[0].live_at(T0) and not found[0].live_at(T0 + dt.timedelta(days=15))
        assert len(web_sessions.list_live(session, user_id, now=T0)) == 2
    with db.session() as session:
        assert web_sessions.revoke(session, "1" * 64, now=T0)
        assert not web_sessions.revoke(session, "1" * 64, now=T0)  # already revoked
        with pytest.raises(NotFoundError):
            web_sessions.revoke_one(session, other_id, one.id)
        assert web_sessions.revoke_all(session, user_id, now=T0) == 1
    with db.session(write=False) as session:
        assert web_sessions.list_live(session, user_id, now=T0) == []
        assert len(web_sessions.list_live(session, other_id, now=T0)) == 1


def test_last_seen_is_written_once_a_minute_and_old_rows_are_pruned(db: Database) -> None:
    user_id = _user(db)
    with db.session() as session:
        row = web_sessions.create(
            session, user_id, token_hash="4" * 64, expires_at=T0 + dt.timedelta(days=1), now=T0
        )
    with db.session() as session:
        assert not web_sessions.note_seen(session, row.id, at=T0 + dt.timedelta(seconds=30))
        assert web_sessions.note_seen(session, row.id, at=T0 + dt.timedelta(seconds=61))
    with db.session() as session:
        assert web_sessions.prune(session, before=T0 + dt.timedelta(days=1)) == 0
        assert web_sessions.prune(session, before=T0 + dt.timedelta(days=2)) == 1


def test_failure_counts_by_pair_account_and_address(db: Database) -> None:
    """The counts the sign-in throttling reads, with the first and last failure as aware times."""
    with db.session() as session:
        for seconds, email, ip in [
            (0, "a@x.org", "1.1.1.1"),
            (5, "a@x.org", "2.2.2.2"),
            (9, "b@x.org", "1.1.1.1"),
        ]:
            access.record_login_attempt(
                session, email=email, ip=ip, ok=False, at=T0 + dt.timedelta(seconds=seconds)
            )
        access.record_login_attempt(
            session, email="a@x.org", ip="1.1.1.1", ok=True, at=T0 + dt.timedelta(seconds=3)
        )
    with db.session(write=False) as session:
        pair = access.failed_logins(session, since=T0, email="a@x.org", ip="1.1.1.1")
        assert (pair.count, pair.first_at, pair.last_at) == (1, T0, T0)
        account = access.failed_logins(session, since=T0, email="a@x.org")
        assert (account.count, account.last_at) == (2, T0 + dt.timedelta(seconds=5))
        assert access.failed_logins(session, since=T0, ip="1.1.1.1").count == 2
        assert access.failed_logins(session, since=T0 + dt.timedelta(minutes=1), ip="1.1.1.1").last_at is None
        assert access.last_good_login(session, email="a@x.org") == T0 + dt.timedelta(seconds=3)
        assert access.last_good_login(session, email="b@x.org") is None
