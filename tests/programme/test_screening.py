"""Screening: a red flag stops the programme, atypical symptoms suggest an assessment, bad input is clear."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from kneefix.content.loader import load_content
from kneefix.content.schemas_screening import SEVERITY_ORDER, RedFlag
from kneefix.errors import InputError
from kneefix.programme.screening import ScreeningAnswers, Severity, questions_for, screen, severity

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


# --- a question outside the person's age band ----------------------------------------------------------


@pytest.mark.parametrize("answer", [True, False])
def test_an_answer_to_a_question_for_other_ages_is_an_error_naming_it(answer: bool) -> None:
    # A yes is never dropped quietly: it usually means the age or the question id is wrong.
    given = {**answers(40).red_flags, "adolescent_hip_or_limp": answer}
    with pytest.raises(InputError, match=r"adolescent_hip_or_limp.*aged 9 to 16.*40") as caught:
        screen(answers(40, red_flags=given), CONTENT)
    assert "Limp or hip and groin pain in a teenager" in str(caught.value)


# --- the questions stop at the first yes ------------------------------------------------------------


def test_questions_are_asked_most_urgent_first() -> None:
    for age in (7, 10, 13, 16, 30, 60):
        asked = [SEVERITY_ORDER.index(flag.severity) for flag in questions_for(age, CONTENT)]
        assert asked == sorted(asked), age
    assert questions_for(30, CONTENT)[0].id == "hot_red_swollen_fever"


def test_a_yes_may_leave_the_later_questions_unasked() -> None:
    asked = questions_for(30, CONTENT)
    stopped_at = asked[2]
    given = {flag.id: flag is stopped_at for flag in asked[:3]}
    result = screen(
        answers(red_flags=given, symptoms=frozenset(), pain_now=None, not_asked={"symptoms", "pain_now"}),
        CONTENT,
    )
    assert result.verdict == "refer_now"
    assert [flag.id for flag in result.red_flags] == [stopped_at.id]
    assert result.pain_now is None and result.severity is None
    assert any("stopped" in message for message in result.messages)


def test_without_a_yes_every_question_and_the_pain_must_be_answered() -> None:
    with pytest.raises(InputError, match="hurts right now"):
        screen(answers(pain_now=None), CONTENT)
    with pytest.raises(InputError, match="equipment"):
        screen(answers(not_asked={"equipment"}), CONTENT)
    with pytest.raises(InputError, match="Unknown question"):
        ScreeningAnswers(**{**answers().__dict__, "not_asked": {"shoe_size"}})


# --- Kujala answers that do not fit runner's knee --------------------------------------------------------


def _kujala(**answers_by_item: str) -> list[str]:
    letters = ["a"] * 13
    for number, letter in answers_by_item.items():
        letters[int(number.removeprefix("item")) - 1] = letter
    return letters


@pytest.mark.parametrize(
    ("item", "letter", "flag_id", "severity", "words"),
    [
        (2, "c", "cannot_bear_weight", "urgent", "I cannot stand on it"),
        (3, "d", "walking_badly_affected", "see_clinician", "I cannot walk any real distance"),
        (1, "c", "walking_badly_affected", "see_clinician", "I limp all the time"),
        (10, "e", "large_or_rapid_swelling", "urgent", "All the time"),
        (11, "d", "patellar_instability", "see_clinician", "fully dislocated"),
    ],
)
def test_kujala_answers_that_contradict_runners_knee_refer(
    item: int, letter: str, flag_id: str, severity: str, words: str
) -> None:
    result = screen(answers(kujala=_kujala(**{f"item{item}": letter})), CONTENT)
    assert result.verdict == "refer_now" and result.may_start is False
    [flag] = result.red_flags
    assert (flag.id, flag.severity, flag.raised_by) == (flag_id, severity, "kujala")
    assert any(words in answer for answer in flag.kujala_answers)
    assert words in flag.reason  # the person is told which answer raised it
    assert any(flag.action in message for message in result.messages)


def test_milder_kujala_answers_do_not_refer() -> None:
    letters = _kujala(item1="b", item2="b", item3="c", item10="d")
    result = screen(answers(kujala=letters), CONTENT)
    assert result.verdict == "typical"


def test_a_constant_limp_in_a_teenager_also_raises_the_hip_question() -> None:
    result = screen(answers(13, kujala=_kujala(item1="c")), CONTENT)
    ids = [flag.id for flag in result.red_flags]
    assert ids[0] == "adolescent_hip_or_limp"  # urgent, so listed first
    assert "walking_badly_affected" in ids


def test_constant_swelling_in_a_young_person_raises_the_night_pain_question_too() -> None:
    result = screen(answers(16, kujala=_kujala(item10="e")), CONTENT)
    assert {"large_or_rapid_swelling", "young_night_or_rest_pain"} <= {flag.id for flag in result.red_flags}


# --- severity -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pain", "kujala", "level"),
    [
        (0, None, "mild"),
        (3, None, "mild"),
        (4, None, "moderate"),
        (6, None, "moderate"),
        (7, None, "severe"),
        (10, None, "severe"),
        (3, 70, "mild"),
        (3, 100, "mild"),
        (3, 69, "moderate"),
        (3, 50, "moderate"),
        (3, 49, "severe"),
        (0, 0, "severe"),
        (6, 70, "moderate"),
        (7, 90, "severe"),
        (4, 49, "severe"),
    ],
)
def test_severity_boundaries(pain: int, kujala: int | None, level: str) -> None:
    found = severity(pain, kujala)
    assert isinstance(found, Severity)
    assert found.level == level
    assert found.reason.startswith(level.capitalize() + ": ")
    # The reason names each measure that is at the level decided, and only those.
    pain_level = "severe" if pain >= 7 else "moderate" if pain >= 4 else "mild"
    assert (f"pain right now is {pain}/10" in found.reason) == (pain_level == level)
    if kujala is not None:
        kujala_level = "severe" if kujala < 50 else "moderate" if kujala < 70 else "mild"
        assert (f"Kujala score is {kujala}/100" in found.reason) == (kujala_level == level)


def test_severity_reason_is_plain_words() -> None:
    assert severity(8, 40).reason == (
        "Severe: your pain right now is 8/10 (7 or more) and your Kujala score is 40/100 (under 50)."
    )
    assert severity(2, None).reason == (
        "Mild: your pain right now is 2/10 (under 4). Without a Kujala score this is judged on pain alone."
    )
    assert severity(2, 85).reason == (
        "Mild: your pain right now is 2/10 (under 4) and your Kujala score is 85/100 (70 or more)."
    )
    assert severity(5, 90).reason == "Moderate: your pain right now is 5/10 (4 to 6)."


@pytest.mark.parametrize(
    ("pain", "kujala", "message"),
    [(11, None, "Pain right now"), (-1, 50, "Pain right now"), (3, 101, "Kujala"), (3, True, "Kujala")],
)
def test_severity_rejects_impossible_scores(pain: int, kujala: int | None, message: str) -> None:
    with pytest.raises(InputError, match=message):
        severity(pain, kujala)


def test_severity_is_part_of_the_result() -> None:
    result = screen(answers(pain_now=5, kujala=list("a" * 13)), CONTENT)
    assert result.severity == severity(5, 100)
    dumped = json.loads(json.dumps(result.to_dict()))
    assert dumped["severity"] == {"level": "moderate", "reason": severity(5, 100).reason}
