"""Profiles: one per name per owner, settings as columns, and deletion that takes everything along."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from kneefix.errors import InputError, NotFoundError
from kneefix.storage import Database
from kneefix.storage import repository as repo
from kneefix.storage.models import Profile, SessionLogRow
from tests.storage.samples import kujala, log, settings


def test_the_cli_gets_one_default_profile_owned_by_the_local_user(db: Database) -> None:
    with db.session() as session:
        first = repo.get_or_create_profile(session)
        again = repo.get_or_create_profile(session, "default")
        local = repo.get_user(session, repo.local_user_id(session))
    assert first.id == again.id
    assert first.name == "default"
    assert first.settings is None
    assert first.user_id == local.id and local.is_local and local.email is None


def test_settings_round_trip_through_columns(db: Database) -> None:
    wanted = settings(guideline_additions=False, protocol_id="generic_knee")
    with db.session() as session:
        profile = repo.create_profile(session, "ana", birth_year=1990)
        updated = repo.update_settings(session, profile.id, wanted)
    with db.session(write=False) as session:
        assert repo.profile_settings(session, profile.id) == wanted
        assert repo.get_profile(session, profile.id).birth_year == 1990
    assert updated.settings == wanted


def test_settings_without_fixed_weekdays_stay_none(db: Database) -> None:
    with db.session() as session:
        profile = repo.create_profile(session, "ana", settings=settings(training_weekdays=None))
    with db.session(write=False) as session:
        stored = repo.profile_settings(session, profile.id)
    assert stored is not None and stored.training_weekdays is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"days_per_week": 0}, "Days per week"),
        ({"days_per_week": 8}, "Days per week"),
        ({"training_weekdays": (0, 7)}, "Training weekdays"),
        ({"training_weekdays": (1, 1)}, "repeat"),
        ({"equipment": frozenset({""})}, "Equipment"),
    ],
)
def test_impossible_settings_are_refused(db: Database, changes: dict[str, object], message: str) -> None:
    with db.session() as session:
        profile = repo.create_profile(session, "ana")
    with pytest.raises(InputError, match=message), db.session() as session:
        repo.update_settings(session, profile.id, settings(**changes))


def test_names_are_unique_per_owner_but_not_across_owners(db: Database) -> None:
    with db.session() as session:
        repo.create_profile(session, "ana")
        with pytest.raises(InputError, match="already exists"):
            repo.create_profile(session, "  ana ")
        other = repo.create_user(session, email="b@example.org", password_hash="x")
        theirs = repo.create_profile(session, "ana", user_id=other.id)
        assert [p.id for p in repo.list_profiles(session, user_id=other.id)] == [theirs.id]
        assert len(repo.list_profiles(session)) == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "a\x00b", "two\nlines"])
def test_bad_profile_names_are_refused(db: Database, name: str) -> None:
    with pytest.raises(InputError, match="Profile name"), db.session() as session:
        repo.create_profile(session, name)


def test_finding_a_missing_profile_lists_those_that_exist(db: Database) -> None:
    with db.session() as session:
        with pytest.raises(NotFoundError, match="There are no profiles yet"):
            repo.find_profile(session, "ghost")
        repo.create_profile(session, "ana")
        repo.create_profile(session, "ben")
        with pytest.raises(NotFoundError, match="Existing profiles: ana, ben"):
            repo.find_profile(session, "ghost")
        with pytest.raises(NotFoundError):
            repo.get_profile(session, 9999)


def test_rename_refuses_a_taken_name_and_keeps_the_data(db: Database) -> None:
    with db.session() as session:
        ana = repo.create_profile(session, "ana")
        repo.create_profile(session, "ben")
        with pytest.raises(InputError, match="already exists"):
            repo.rename_profile(session, ana.id, "ben")
        renamed = repo.rename_profile(session, ana.id, "anna")
    assert renamed.id == ana.id and renamed.name == "anna"


def test_birth_year_from_age_and_its_limits(db: Database) -> None:
    assert repo.birth_year_from_age(30, dt.date(2025, 6, 1)) == 1995
    with pytest.raises(InputError, match="Age"):
        repo.birth_year_from_age(0, dt.date(2025, 6, 1))
    with db.session() as session:
        profile = repo.create_profile(session, "ana")
        with pytest.raises(InputError, match="Birth year"):
            repo.set_birth_year(session, profile.id, 1800)
        assert repo.set_birth_year(session, profile.id, None).birth_year is None


def test_deleting_a_profile_removes_its_records_in_the_database(db: Database) -> None:
    with db.session() as session:
        ana = repo.create_profile(session, "ana")
        ben = repo.create_profile(session, "ben")
        for profile in (ana, ben):
            repo.add_log(session, profile.id, log(0))
            repo.add_score(session, profile.id, kujala())
        repo.delete_profile(session, ana.id)
    with db.session(write=False) as session:
        assert session.scalar(select(func.count(Profile.id))) == 1
        owners = set(session.scalars(select(SessionLogRow.profile_id)))
        assert owners == {ben.id}
        with pytest.raises(NotFoundError):
            repo.list_logs(session, ana.id)
        assert len(repo.list_scores(session, ben.id)) == 1
