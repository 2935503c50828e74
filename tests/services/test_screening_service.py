"""Starting a programme: what is saved for each verdict, and how answers are parsed."""

from __future__ import annotations

import datetime as dt

import pytest

from kneefix.content.loader import Content
from kneefix.errors import InputError
from kneefix.services import screening as svc
from kneefix.services.profiles import open_profile
from kneefix.storage import scores as score_store
from kneefix.storage import screenings as screening_store
from kneefix.storage.db import Database
from tests.services.helpers import typical_answers

TODAY = dt.date(2025, 3, 3)


def test_typical_start_saves_screening_scores_age_and_settings(db: Database, content: Content) -> None:
    request = svc.StartRequest(typical_answers(content))
    with db.session() as session:
        outcome = svc.run_start(session, content, "ana", request, today=TODAY)

    assert outcome.started and outcome.plan is not None
    assert outcome.plan.first_session == TODAY
    with db.session(write=False) as session:
        profile = open_profile(session, "ana")
        assert profile.birth_year == 1995
        assert profile.settings is not None and profile.settings.start_date == TODAY
        instruments = sorted(s.instrument for s in score_store.list_scores(session, profile.id))
        assert instruments == ["kujala", "nprs"]
        screening = screening_store.latest_screening(session, profile.id)
        assert screening is not None and screening.verdict == "typical"
        assert screening.answers["pain_now"] == 3


def test_red_flag_saves_the_screening_but_sets_up_no_plan(db: Database, content: Content) -> None:
    request = svc.StartRequest(typical_answers(content, yes=("true_locking",)))
    with db.session() as session:
        outcome = svc.run_start(session, content, "ben", request, today=TODAY)

    assert not outcome.started and outcome.plan is None
    with db.session(write=False) as session:
        profile = open_profile(session, "ben")
        assert profile.settings is None
        entry = screening_store.latest_screening(session, profile.id)
        assert entry is not None and entry.red_flags == ("true_locking",)


def test_atypical_start_follows_the_persons_choice(db: Database, content: Content) -> None:
    answers = typical_answers(content, symptoms=frozenset({"grinding_popping"}))
    with db.session() as session:
        declined = svc.run_start(
            session, content, "cy", svc.StartRequest(answers, continue_if_atypical=False), today=TODAY
        )
        accepted = svc.run_start(session, content, "cy", svc.StartRequest(answers), today=TODAY)

    assert declined.screening.verdict == "atypical_suggest_assessment" and not declined.started
    assert accepted.started


def test_rescreening_keeps_the_plans_start_date(db: Database, content: Content) -> None:
    with db.session() as session:
        svc.run_start(session, content, "di", svc.StartRequest(typical_answers(content)), today=TODAY)
        later = TODAY + dt.timedelta(weeks=3)
        again = svc.run_start(
            session, content, "di", svc.StartRequest(typical_answers(content, days_per_week=4)), today=later
        )

    assert again.settings is not None
    assert again.settings.start_date == TODAY
    assert again.settings.days_per_week == 4


def test_build_request_parses_text_lists_and_mappings(content: Content) -> None:
    raw = svc.normalise_keys(
        {
            "age": "30",
            "symptoms": "pain_around_kneecap, pain_squatting",
            "red_flags": {flag.id: "no" for flag in content.red_flags if flag.applies_to_age(30)},
            "kujala_answers": "aaaaaaaaaaaaa",
            "pain_now": "2",
            "equipment": "none",
            "days": 5,
            "runs": "yes",
            "training_weekdays": "mon,wed,fri",
        },
        "test",
    )
    request = svc.build_request(content, raw)

    assert request.answers.symptoms == {"pain_around_kneecap", "pain_squatting"}
    assert request.answers.kujala == tuple("a" * 13)
    assert request.answers.equipment == frozenset()
    assert request.training_weekdays == (0, 2, 4)
    assert request.answers.days_per_week == 3  # the weekdays decide


def test_red_flag_answers_must_cover_every_question_for_the_age(content: Content) -> None:
    assert not any(svc.parse_red_flags(content, 30, "none").values())
    assert svc.parse_red_flags(content, 30, "true_locking")["true_locking"] is True
    # A question for teenagers only is not part of an adult's answers.
    assert "tibial_tubercle_pain" not in svc.parse_red_flags(content, 30, "none")
    assert "tibial_tubercle_pain" in svc.parse_red_flags(content, 13, "none")
    with pytest.raises(InputError, match="missing"):
        svc.parse_red_flags(content, 30, {"true_locking": False})
    with pytest.raises(InputError, match="Unknown red-flag"):
        svc.parse_red_flags(content, 30, "headache")


@pytest.mark.parametrize(
    ("parse", "value", "message"),
    [
        (svc.parse_age, "thirty", "whole number"),
        (svc.parse_age, 2, "from 5 to 120"),
        (svc.parse_days, 8, "from 1 to 7"),
        (svc.parse_pain, -1, "must be from 0"),
        (svc.parse_weekdays, "mon,mon", "once"),
        (svc.parse_weekdays, "someday", "not a weekday"),
        (svc.parse_date, "tomorrow", "YYYY-MM-DD"),
    ],
)
def test_each_answer_parser_rejects_bad_values_clearly(parse: object, value: object, message: str) -> None:
    assert callable(parse)
    with pytest.raises(InputError, match=message):
        parse(value)


def test_unknown_answer_keys_are_rejected(content: Content) -> None:
    with pytest.raises(InputError, match="unknown answer 'colour'"):
        svc.normalise_keys({"colour": "blue"}, "answers.json")
    with pytest.raises(InputError, match="Missing answers: symptoms"):
        svc.build_request(content, {"age": 30})
