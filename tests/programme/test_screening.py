"""Screening: a red flag stops the programme, atypical symptoms suggest an assessment, bad input is clear."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from kneefix.content.loader import load_content
from kneefix.content.schemas_screening import RedFlag
from kneefix.errors import InputError
from kneefix.programme.screening import ScreeningAnswers, questions_for, screen

CONTENT = load_content()
TYPICAL_SYMPTOMS = frozenset({"pain_around_kneecap", "pain_stairs_downhill", "pain_squatting"})


def answers(age: int = 30, yes: tuple[str, ...] = (), **overrides: Any) -> ScreeningAnswers:
    """Every applicable red flag answered no, except those in ``yes``."""
    flags = {flag.id: flag.id in yes for flag in questions_for(age, CONTENT)}
    fields: dict[str, Any] = {
        "age": age,
        "symptoms": TYPICAL_SYMPTOMS,
        "red_flags": flags,
        "pain_now": 3,
        "equipment": frozenset({"foam_roller"}),
        "days_per_week": 3,
        "runs": True,
    }
    fields.update(overrides)
    return ScreeningAnswers(**fields)


def _age_inside(flag: RedFlag) -> int:
    low = flag.applies_to.min_years if flag.applies_to.min_years is not None else 30
    high = flag.applies_to.max_years if flag.applies_to.max_years is not None else max(low, 30)
    return max(low, min(30, high))


def test_typical_symptoms_without_red_flags_may_start() -> None:
    result = screen(answers(), CONTENT)
    assert result.verdict == "typical"
    assert result.may_start is True
    assert result.red_flags == ()
    assert result.typical_symptoms is True
    assert set(result.core_activities) == {"pain_stairs_downhill", "pain_squatting"}
    assert result.messages[-1] == "kneefix is a coaching tool, not a diagnosis."


@pytest.mark.parametrize("flag", CONTENT.red_flags, ids=lambda flag: flag.id)
def test_each_red_flag_refers_now(flag: RedFlag) -> None:
    age = _age_inside(flag)
    result = screen(answers(age, yes=(flag.id,)), CONTENT)
    assert result.verdict == "refer_now"
    assert result.may_start is False
    [triggered] = result.red_flags
    assert (triggered.id, triggered.severity, triggered.raised_by) == (flag.id, flag.severity, "answer")
    assert triggered.action == flag.action
    assert result.most_urgent == flag.severity
    assert any(flag.action in message for message in result.messages)


def test_red_flags_are_listed_most_urgent_first() -> None:
    result = screen(answers(yes=("giving_way_after_pop", "hot_red_swollen_fever", "true_locking")), CONTENT)
    assert [flag.severity for flag in result.red_flags] == ["emergency", "urgent", "see_clinician"]
    assert result.messages[0].startswith("Get medical help now")


def test_red_flag_overrides_atypical_symptoms() -> None:
    result = screen(answers(yes=("true_locking",), symptoms=frozenset()), CONTENT)
    assert result.verdict == "refer_now"


def test_kujala_kneecap_slipping_raises_the_instability_flag() -> None:
    letters = ["a"] * 13
    letters[10] = "b"  # item 11: slips now and then in sport = 6 points < 10
    result = screen(answers(kujala=letters), CONTENT)
    assert result.verdict == "refer_now"
    [flag] = result.red_flags
    assert (flag.id, flag.raised_by) == ("patellar_instability", "kujala")
    assert result.kujala_score == 96


def test_kujala_without_kneecap_slipping_is_scored_and_reported() -> None:
    letters = list("aaacccbbbaaaa")  # 82, see test_scoring
    result = screen(answers(kujala=letters), CONTENT)
    assert result.verdict == "typical"
    assert result.kujala_score == 82
    assert any("Kujala score is 82/100" in message for message in result.messages)


def test_no_kneecap_pain_is_atypical_but_may_start() -> None:
    result = screen(answers(symptoms=frozenset({"pain_running", "grinding_popping"})), CONTENT)
    assert result.verdict == "atypical_suggest_assessment"
    assert result.may_start is True
    assert "pain around or behind the kneecap" in result.messages[0]


def test_kneecap_pain_without_a_loading_activity_is_atypical() -> None:
    result = screen(
        answers(symptoms=frozenset({"pain_around_kneecap", "pain_kneeling", "mild_swelling"})), CONTENT
    )
    assert result.verdict == "atypical_suggest_assessment"
    assert result.core_activities == ()
    assert "pain when loading the bent knee" in result.messages[0]


def test_age_limited_questions_are_only_asked_in_range() -> None:
    adult_ids = {flag.id for flag in questions_for(40, CONTENT)}
    teen_ids = {flag.id for flag in questions_for(13, CONTENT)}
    assert "tibial_tubercle_pain" not in adult_ids
    assert {"tibial_tubercle_pain", "adolescent_hip_or_limp", "young_night_or_rest_pain"} <= teen_ids
    assert "inferior_pole_pain" not in teen_ids
    # A yes to a question that does not apply at this age does not raise it.
    given = {**answers(40).red_flags, "tibial_tubercle_pain": True}
    result = screen(answers(40, red_flags=given), CONTENT)
    assert result.verdict == "typical"


def test_a_teenager_is_told_to_involve_an_adult() -> None:
    result = screen(answers(14), CONTENT)
    assert result.verdict == "typical"
    assert any("under 18" in message for message in result.messages)


def test_high_pain_now_adds_a_start_gently_note() -> None:
    result = screen(answers(pain_now=8), CONTENT)
    assert result.may_start is True
    assert any("high right now (8/10)" in message for message in result.messages)
    assert not any("high right now" in m for m in screen(answers(pain_now=6), CONTENT).messages)


def test_unanswered_applicable_question_is_an_error() -> None:
    given = dict(answers().red_flags)
    del given["hot_red_swollen_fever"]
    with pytest.raises(InputError, match="A hot, red, swollen knee with fever"):
        screen(answers(red_flags=given), CONTENT)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"age": 3}, "Age must be from 5 to 120; got 3"),
        ({"age": "thirty"}, "Age must be a whole number"),
        ({"age": True}, "Age must be a whole number"),
        ({"pain_now": 11}, "Pain right now must be from 0"),
        ({"days_per_week": 0}, "Training days per week must be from 1 to 7; got 0"),
        ({"days_per_week": 8}, "Training days per week must be from 1 to 7; got 8"),
        ({"runs": "yes"}, "'Do you run\\?' must be answered yes or no"),
        ({"symptoms": frozenset({"knee_ache"})}, "Unknown symptom id\\(s\\): knee_ache"),
        ({"equipment": frozenset({"treadmill"})}, "Unknown equipment id\\(s\\): treadmill"),
        ({"red_flags": {"alien_flag": False}}, "Unknown red-flag question id\\(s\\): alien_flag"),
        ({"kujala": ["a"] * 12}, "needs 13 answers"),
        ({"kujala": "aaaaaaaaaaaaa"}, "list of letters"),
        ({"symptoms": "pain_around_kneecap"}, "symptoms must be a list of ids"),
    ],
)
def test_bad_input_is_a_clear_input_error(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        screen(dataclasses.replace(answers(), **overrides), CONTENT)


def test_red_flag_answers_must_be_yes_or_no() -> None:
    given: dict[str, Any] = dict(answers().red_flags)
    given["true_locking"] = "maybe"
    with pytest.raises(InputError, match="Answer yes or no to the red-flag question\\(s\\): true_locking"):
        screen(answers(red_flags=given), CONTENT)


def test_lists_are_frozen_and_results_serialise() -> None:
    raw = answers(symptoms=["pain_around_kneecap", "pain_running"], equipment=["wall"], kujala=list("a" * 13))
    assert raw.symptoms == frozenset({"pain_around_kneecap", "pain_running"})
    assert raw.kujala == tuple("a" * 13)
    result = screen(raw, CONTENT)
    dumped = json.loads(json.dumps(result.to_dict()))
    assert dumped["verdict"] == "typical"
    assert dumped["kujala_score"] == 100
    assert json.loads(json.dumps(raw.to_dict()))["symptoms"] == ["pain_around_kneecap", "pain_running"]
