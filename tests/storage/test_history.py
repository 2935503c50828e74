"""Scores, screenings and plan history (rule changes, clinician changes and adjustments)."""

from __future__ import annotations

import datetime as dt

import pytest

from kneefix.errors import InputError, NotFoundError
from kneefix.programme.records import ScoreRecord
from kneefix.storage import Database
from kneefix.storage import repository as repo
from tests.storage.samples import START, change, kujala


@pytest.fixture
def profile_id(db: Database) -> int:
    with db.session() as session:
        return repo.create_profile(session, "ana").id


@pytest.fixture
def clinician_id(db: Database) -> int:
    with db.session() as session:
        return repo.create_user(session, email="dr@example.org", password_hash="h", role="clinician").id


def test_scores_by_instrument_in_date_order(db: Database, profile_id: int) -> None:
    with db.session() as session:
        late = repo.add_score(session, profile_id, kujala(28, 81.0))
        early = repo.add_score(session, profile_id, kujala(0, 64.0))
        pain = repo.add_score(session, profile_id, ScoreRecord("nprs", START, 4, ()))
    with db.session(write=False) as session:
        assert repo.list_scores(session, profile_id, "kujala") == [early, late]
        assert repo.list_scores(session, profile_id) == [early, pain, late]
        assert repo.latest_score(session, profile_id, "kujala") == late
        assert repo.latest_score(session, profile_id, "nprs") == pain
    assert late.answers == tuple("abcabcabcabca") and late.score == 81.0


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (ScoreRecord("vas", START, 3), "Instrument"),
        (ScoreRecord("kujala", START, 101), "from 0 to 100"),
        (ScoreRecord("nprs", START, 11), "from 0 to 10"),
        (ScoreRecord("nprs", START, float("inf")), "must be a number"),
    ],
)
def test_scores_off_their_scale_are_refused(
    db: Database, profile_id: int, record: ScoreRecord, message: str
) -> None:
    with pytest.raises(InputError, match=message), db.session() as session:
        repo.add_score(session, profile_id, record)


def test_deleting_a_score_needs_the_owning_profile(db: Database, profile_id: int) -> None:
    with db.session() as session:
        score = repo.add_score(session, profile_id, kujala())
        other = repo.create_profile(session, "ben").id
        with pytest.raises(NotFoundError):
            repo.delete_score(session, other, score.id or 0)
        repo.delete_score(session, profile_id, score.id or 0)
        assert repo.list_scores(session, profile_id) == []


def test_screenings_keep_answers_verdict_and_flags(db: Database, profile_id: int) -> None:
    taken = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
    with db.session() as session:
        assert repo.latest_screening(session, profile_id) is None
        repo.save_screening(
            session,
            profile_id,
            answers={"age": 34, "symptoms": ["stairs", "sitting"], "red_flags": []},
            verdict="typical",
            messages=["Typical of runner's knee."],
            taken_at=taken,
        )
        second = repo.save_screening(
            session, profile_id, answers={"age": 34}, verdict="red_flag", red_flags=["locking"]
        )
    with db.session(write=False) as session:
        history = repo.list_screenings(session, profile_id)
        latest = repo.latest_screening(session, profile_id)
    assert [s.verdict for s in history] == ["typical", "red_flag"]
    assert history[0].answers == {"age": 34, "symptoms": ["stairs", "sitting"], "red_flags": []}
    assert history[0].taken_at == taken
    assert latest == second and latest.red_flags == ("locking",)


def test_a_naive_screening_time_is_refused(db: Database, profile_id: int) -> None:
    with pytest.raises(InputError, match="time zone"), db.session() as session:
        repo.save_screening(
            session, profile_id, answers={}, verdict="typical", taken_at=dt.datetime(2025, 1, 1)
        )


def test_replayed_rule_changes_are_stored_once(db: Database, profile_id: int) -> None:
    replay = [change(7), change(14, "ease_dose", kind="ease", details={"when": START})]
    with db.session() as session:
        first = repo.add_plan_changes(session, profile_id, replay)
        again = repo.add_plan_changes(session, profile_id, replay)
        stored = repo.list_plan_changes(session, profile_id)
    assert len(first) == 2 and again == []
    assert stored[0] == change(7)
    assert stored[1].details == {"when": START.isoformat()}  # dates are kept as ISO text


def test_sync_replaces_rule_changes_but_keeps_clinician_ones(
    db: Database, profile_id: int, clinician_id: int
) -> None:
    with db.session() as session:
        repo.add_plan_changes(session, profile_id, [change(7), change(14, "hold")])
        by_clinician = change(10, "clinician_swap", kind="swap", explanation="Swapped the wall sit.")
        repo.add_plan_changes(
            session, profile_id, [by_clinician], source="clinician", clinician_user_id=clinician_id
        )
        kept_id = repo.list_plan_change_entries(session, profile_id, source="rules")[0].id
        new = repo.sync_rule_changes(session, profile_id, [change(7), change(21, "phase_up", kind="phase")])
    with db.session(write=False) as session:
        entries = repo.list_plan_change_entries(session, profile_id)
    assert [e.change.rule_id for e in new] == ["phase_up"]
    assert [(e.change.rule_id, e.source) for e in entries] == [
        ("progress_reps", "rules"),
        ("clinician_swap", "clinician"),
        ("phase_up", "rules"),
    ]
    assert entries[0].id == kept_id
    assert entries[1].clinician_user_id == clinician_id


def test_plan_changes_refuse_unknown_sources_and_non_json_details(db: Database, profile_id: int) -> None:
    with db.session() as session:
        with pytest.raises(InputError, match="rules or clinician"):
            repo.add_plan_changes(session, profile_id, [change()], source="robot")
        with pytest.raises(InputError, match="cannot be saved as JSON"):
            repo.add_plan_changes(session, profile_id, [change(details={"x": object()})])
        with pytest.raises(NotFoundError, match="no clinician"):
            repo.add_plan_changes(session, profile_id, [change()], source="clinician", clinician_user_id=999)


def test_plan_adjustments_can_be_withdrawn(db: Database, profile_id: int, clinician_id: int) -> None:
    with db.session() as session:
        swap = repo.add_plan_adjustment(
            session,
            profile_id,
            clinician_user_id=clinician_id,
            kind="exercise_swap",
            payload={"from": "wall_sit", "to": "spanish_squat"},
            note="Wall sits hurt; try this instead.",
        )
        dose = repo.add_plan_adjustment(
            session, profile_id, clinician_user_id=clinician_id, kind="dose", payload={"dose_scale": 0.8}
        )
        repo.set_plan_adjustment_active(session, profile_id, swap.id, False)
    with db.session(write=False) as session:
        assert repo.list_plan_adjustments(session, profile_id) == [dose]
        everything = repo.list_plan_adjustments(session, profile_id, active_only=False)
    assert [a.kind for a in everything] == ["exercise_swap", "dose"]
    assert everything[0].payload == {"from": "wall_sit", "to": "spanish_squat"} and not everything[0].active


def test_a_person_cannot_be_recorded_as_the_clinician(db: Database, profile_id: int) -> None:
    with db.session() as session:
        person = repo.create_user(session, email="p@example.org", password_hash="h")
        with pytest.raises(NotFoundError):
            repo.add_plan_adjustment(
                session, profile_id, clinician_user_id=person.id, kind="dose", payload={}
            )
