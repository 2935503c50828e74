"""Accounts and the clinic: users, clinician links, invites, API tokens, sign-in attempts, request keys."""

from __future__ import annotations

import datetime as dt

import pytest

from kneefix.errors import InputError, NotFoundError
from kneefix.storage import Database
from kneefix.storage import repository as repo
from tests.storage.samples import log

T0 = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)


def test_emails_are_unique_whatever_their_case(db: Database) -> None:
    with db.session() as session:
        user = repo.create_user(
            session, email=" Ana@Example.org ", password_hash="argon2$x", display_name="Ana"
        )
        with pytest.raises(InputError, match="already exists"):
            repo.create_user(session, email="ana@example.ORG", password_hash="y")
        found = repo.find_user_by_email(session, "ANA@example.org")
        assert repo.find_user_by_email(session, "nobody@example.org") is None
        assert repo.find_user_by_email(session, "not an email") is None
    assert user.email == "ana@example.org" and user.role == "person" and not user.is_local
    assert found == user and found.password_hash == "argon2$x"
    assert "argon2" not in repr(found)


@pytest.mark.parametrize("email", ["", "plain", "a@b", "a b@c.org"])
def test_malformed_emails_are_refused(db: Database, email: str) -> None:
    with pytest.raises(InputError), db.session() as session:
        repo.create_user(session, email=email, password_hash="h")


def test_unknown_roles_are_refused(db: Database) -> None:
    with pytest.raises(InputError, match="Role"), db.session() as session:
        repo.create_user(session, email="a@example.org", password_hash="h", role="admin")


def test_password_changes_are_timestamped(db: Database) -> None:
    with db.session() as session:
        user = repo.create_user(session, email="a@example.org", password_hash="old")
        changed = repo.set_password_hash(session, user.id, "new", changed_at=T0)
        renamed = repo.update_user(session, user.id, display_name="Ana B.", email="ana.b@example.org")
    assert changed.password_hash == "new" and changed.password_changed_at == T0
    assert (renamed.display_name, renamed.email) == ("Ana B.", "ana.b@example.org")


def test_the_local_user_is_not_a_signed_in_account(db: Database) -> None:
    with db.session() as session:
        local = repo.local_user_id(session)
        assert repo.local_user_id(session) == local
        repo.create_user(session, email="a@example.org", password_hash="h")
        repo.create_user(session, email="dr@example.org", password_hash="h", role="clinician")
        assert repo.count_users(session) == 2
        assert [u.email for u in repo.list_users(session, role="clinician")] == ["dr@example.org"]


def test_deleting_a_user_removes_their_profiles_and_data(db: Database) -> None:
    with db.session() as session:
        user = repo.create_user(session, email="a@example.org", password_hash="h")
        keep = repo.create_user(session, email="b@example.org", password_hash="h")
        mine = repo.create_profile(session, "me", user_id=user.id)
        theirs = repo.create_profile(session, "me", user_id=keep.id)
        repo.add_log(session, mine.id, log(0))
        repo.add_api_token(session, user.id, name="phone", token_hash="hash-1")
        removed = repo.delete_user(session, user.id)
    with db.session(write=False) as session:
        assert removed == [mine.id]
        with pytest.raises(NotFoundError):
            repo.get_profile(session, mine.id)
        assert repo.get_profile(session, theirs.id).user_id == keep.id
        assert repo.user_for_token(session, "hash-1") is None


@pytest.fixture
def clinic(db: Database) -> tuple[int, int, int]:
    """(clinician id, Ana's profile id, Ben's profile id)."""
    with db.session() as session:
        clinician = repo.create_user(session, email="dr@example.org", password_hash="h", role="clinician")
        ana = repo.create_user(session, email="ana@example.org", password_hash="h")
        ben = repo.create_user(session, email="ben@example.org", password_hash="h")
        return (
            clinician.id,
            repo.create_profile(session, "Ana", user_id=ana.id).id,
            repo.create_profile(session, "Ben", user_id=ben.id).id,
        )


def test_a_clinician_sees_only_linked_profiles(db: Database, clinic: tuple[int, int, int]) -> None:
    clinician, ana, ben = clinic
    with db.session() as session:
        repo.link_clinician(session, clinician, ana)
        repo.link_clinician(session, clinician, ana)  # twice is harmless
        assert repo.is_linked(session, clinician, ana) and not repo.is_linked(session, clinician, ben)
        assert [p.id for p in repo.linked_profiles(session, clinician)] == [ana]
        assert [u.id for u in repo.profile_clinicians(session, ana)] == [clinician]
        assert repo.unlink_clinician(session, clinician, ana)
        assert not repo.unlink_clinician(session, clinician, ana)
        assert repo.linked_profiles(session, clinician) == []


def test_only_clinicians_can_be_linked(db: Database, clinic: tuple[int, int, int]) -> None:
    _, ana, _ = clinic
    with db.session() as session:
        person = repo.find_user_by_email(session, "ben@example.org")
        assert person is not None
        with pytest.raises(NotFoundError, match="no clinician"):
            repo.link_clinician(session, person.id, ana)


def test_an_invite_links_once_and_only_before_it_expires(db: Database, clinic: tuple[int, int, int]) -> None:
    clinician, ana, ben = clinic
    with db.session() as session:
        invite = repo.create_invite(
            session, clinician, code="knee-123", expires_at=T0 + dt.timedelta(days=7), note="for Ana"
        )
        repo.create_invite(session, clinician, code="old-1", expires_at=T0 - dt.timedelta(days=1))
        assert invite.is_open(T0)
    with db.session() as session:
        used = repo.redeem_invite(session, " knee-123 ", ana, now=T0)
    assert used.used_by_profile_id == ana and used.used_at == T0 and not used.is_open(T0)
    with db.session() as session:
        assert repo.is_linked(session, clinician, ana)
        with pytest.raises(InputError, match="already been used"):
            repo.redeem_invite(session, "knee-123", ben, now=T0)
        with pytest.raises(InputError, match="expired"):
            repo.redeem_invite(session, "old-1", ben, now=T0)
        with pytest.raises(NotFoundError, match="does not exist"):
            repo.redeem_invite(session, "made-up", ben, now=T0)
        assert not repo.is_linked(session, clinician, ben)
        assert [i.code for i in repo.list_invites(session, clinician)] == ["old-1", "knee-123"]


def test_invite_codes_are_unique_and_withdrawable(db: Database, clinic: tuple[int, int, int]) -> None:
    clinician, _, _ = clinic
    with db.session() as session:
        invite = repo.create_invite(session, clinician, code="c1", expires_at=T0)
        with pytest.raises(InputError, match="already in use"):
            repo.create_invite(session, clinician, code="c1", expires_at=T0)
        with pytest.raises(InputError, match="time zone"):
            repo.create_invite(session, clinician, code="c2", expires_at=dt.datetime(2025, 1, 1))
        repo.delete_invite(session, clinician, invite.id)
        with pytest.raises(NotFoundError):
            repo.delete_invite(session, clinician, invite.id)
        assert repo.find_invite(session, "c1") is None


def test_api_tokens_resolve_to_their_user_until_revoked_or_expired(db: Database) -> None:
    with db.session() as session:
        user = repo.create_user(session, email="a@example.org", password_hash="h")
        token = repo.add_api_token(session, user.id, name="phone", token_hash="sha256:abc")
        repo.add_api_token(
            session, user.id, name="old", token_hash="sha256:old", expires_at=T0 - dt.timedelta(days=1)
        )
        with pytest.raises(InputError, match="already exists"):
            repo.add_api_token(session, user.id, name="dup", token_hash="sha256:abc")
    with db.session(write=False) as session:  # finding a token's owner only reads
        owner = repo.user_for_token(session, "sha256:abc", now=T0)
        assert repo.user_for_token(session, "sha256:old", now=T0) is None
        assert repo.user_for_token(session, "sha256:nope", now=T0) is None
        found = repo.live_token(session, "sha256:abc", now=T0)
    assert owner is not None and owner.id == user.id
    assert found is not None and found[0].id == token.id and found[1].id == user.id
    assert found[0].last_used_at is None
    with db.session() as session:
        assert repo.note_token_use(session, token.id, at=T0)
        listed = repo.list_api_tokens(session, user.id)
    assert {t.name: t.last_used_at for t in listed} == {"phone": T0, "old": None}
    with db.session() as session:
        other = repo.create_user(session, email="b@example.org", password_hash="h")
        with pytest.raises(NotFoundError):
            repo.delete_api_token(session, other.id, token.id)
        repo.delete_api_token(session, user.id, token.id)
        assert repo.user_for_token(session, "sha256:abc", now=T0) is None


def test_a_tokens_use_is_written_at_most_once_a_minute(db: Database) -> None:
    """An API client polling every second must not turn every read into a write."""
    with db.session() as session:
        user = repo.create_user(session, email="a@example.org", password_hash="h")
        token = repo.add_api_token(session, user.id, name="phone", token_hash="sha256:abc")
    moments = [T0, T0 + dt.timedelta(seconds=1), T0 + dt.timedelta(seconds=59), T0 + dt.timedelta(minutes=1)]
    written = []
    for moment in moments:
        with db.session() as session:
            written.append(repo.note_token_use(session, token.id, at=moment))
    assert written == [True, False, False, True]
    with db.session(write=False) as session:
        assert [t.last_used_at for t in repo.list_api_tokens(session, user.id)] == [moments[-1]]


def test_failed_sign_ins_are_counted_per_email_and_ip_in_a_window(db: Database) -> None:
    with db.session() as session:
        for minutes in (1, 2, 3):
            repo.record_login_attempt(
                session, email="A@example.org", ip="10.0.0.1", ok=False, at=T0 + dt.timedelta(minutes=minutes)
            )
        repo.record_login_attempt(session, email="a@example.org", ip="10.0.0.1", ok=True, at=T0)
        repo.record_login_attempt(session, email="b@example.org", ip="10.0.0.2", ok=False, at=T0)
        since = T0 + dt.timedelta(minutes=2)
        assert repo.count_failed_logins(session, email="a@example.org", since=T0) == 3
        assert repo.count_failed_logins(session, email="a@example.org", since=since) == 2
        assert repo.count_failed_logins(session, ip="10.0.0.2", since=T0) == 1
        assert repo.count_failed_logins(session, email="b@example.org", ip="10.0.0.1", since=T0) == 4
        assert repo.prune_login_attempts(session, before=since) == 3
        assert repo.count_failed_logins(session, ip="10.0.0.1", since=T0) == 2
        with pytest.raises(InputError):
            repo.count_failed_logins(session, since=T0)


def test_a_request_key_is_claimed_once_and_remembers_its_result(db: Database) -> None:
    with db.session() as session:
        assert repo.claim_idempotency_key(session, "form-1") == (True, None)
        repo.set_idempotency_result(session, "form-1", "/today")
    with db.session() as session:
        assert repo.claim_idempotency_key(session, "form-1") == (False, "/today")
    with pytest.raises(RuntimeError), db.session() as session:
        assert repo.claim_idempotency_key(session, "form-2") == (True, None)
        raise RuntimeError("the guarded work failed")
    with db.session() as session:
        assert repo.claim_idempotency_key(session, "form-2") == (True, None)  # the failed claim rolled back
        assert repo.prune_idempotency_keys(session, before=dt.datetime.now(dt.UTC) + dt.timedelta(1)) == 2
