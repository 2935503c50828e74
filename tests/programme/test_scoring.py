"""Kujala scoring pinned to the table in clinical.md §2.1, NPRS checks, and change against the MCIDs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kneefix.content.loader import load_content
from kneefix.errors import InputError
from kneefix.programme.scoring import (
    kujala_change,
    kujala_item_points,
    nprs_change,
    parse_kujala_answers,
    score_kujala,
    validate_nprs,
)

KUJALA = load_content().questionnaires["kujala"]

# clinical.md §2.1, options best-first. A change here is a change of instrument, not a refactor.
PINNED_TABLE = [
    (5, 3, 0),  # 1 limp
    (5, 3, 0),  # 2 support
    (5, 3, 2, 0),  # 3 walking
    (10, 8, 5, 0),  # 4 stairs
    (5, 4, 3, 2, 0),  # 5 squatting
    (10, 8, 6, 3, 0),  # 6 running
    (10, 7, 2, 0),  # 7 jumping
    (10, 8, 6, 4, 0),  # 8 prolonged sitting
    (10, 8, 6, 3, 0),  # 9 pain
    (10, 8, 6, 4, 0),  # 10 swelling
    (10, 6, 4, 2, 0),  # 11 abnormal kneecap movements
    (5, 3, 0),  # 12 thigh atrophy
    (5, 3, 0),  # 13 flexion deficiency
]
BEST = ["a"] * 13
WORST = ["c", "c", "d", "d", "e", "e", "d", "e", "e", "e", "e", "c", "c"]


def test_item_points_match_the_pinned_table() -> None:
    assert [tuple(o.points for o in item.options) for item in KUJALA.items] == PINNED_TABLE
    assert [item.letters for item in KUJALA.items] == ["abcde"[: len(row)] for row in PINNED_TABLE]


def test_all_best_is_100_and_all_worst_is_0() -> None:
    assert score_kujala(BEST, KUJALA) == 100
    assert score_kujala(WORST, KUJALA) == 0


@pytest.mark.parametrize(
    ("letters", "expected"),
    [
        # limp a5 support b3 walk c2 stairs b8 squat d2 run a10 jump b7 sit c6 pain d3 swell b8
        # kneecap b6 atrophy a5 flexion c0 = 65
        ("a,b,c,b,d,a,b,c,d,b,b,a,c", 65),
        # a typical runner's knee: 5+5+5 + stairs c5 + squat c3 + run c6 + jump b7 + sit b8 + pain b8
        # + swell a10 + kneecap a10 + atrophy a5 + flexion a5 = 82
        ("a,a,a,c,c,c,b,b,b,a,a,a,a", 82),
        # limp c0 support a5 walk b3, every other answer its worst (0) = 8
        ("c,a,b,d,e,e,d,e,e,e,e,c,c", 8),
        # best everywhere but stairs d0, running e0, jumping d0 = 100 - 30 = 70
        ("a,a,a,d,a,e,d,a,a,a,a,a,a", 70),
    ],
)
def test_mixed_answer_sets(letters: str, expected: int) -> None:
    assert score_kujala(parse_kujala_answers(letters), KUJALA) == expected


def test_variant_traps_limp_constant_is_0_and_partial_weight_squat_is_2() -> None:
    limp_constant = ["c"] + ["a"] * 12
    assert score_kujala(limp_constant, KUJALA) == 95  # another calculator scores this limp as 2 (97)
    squat_partial = ["a"] * 4 + ["d"] + ["a"] * 8
    assert score_kujala(squat_partial, KUJALA) == 97  # another calculator scores it as 1 (96)
    jumping_slight = ["a"] * 6 + ["b"] + ["a"] * 6
    assert score_kujala(jumping_slight, KUJALA) == 97


def test_item_points_are_returned_in_order() -> None:
    points = kujala_item_points(parse_kujala_answers("a,b,c,b,d,a,b,c,d,b,b,a,c"), KUJALA)
    assert points == (5, 3, 2, 8, 2, 10, 7, 6, 3, 8, 6, 5, 0)


@pytest.mark.parametrize(
    "text",
    [
        "a,b,c,b,d,a,b,c,d,b,b,a,c",
        "a b c b d a b c d b b a c",
        "A; B; C;B;D;A;B;C;D;B;B;A;C",
        "abcbdabcdbbac",
    ],
)
def test_parse_accepts_common_forms(text: str) -> None:
    assert parse_kujala_answers(text) == list("abcbdabcdbbac")


def test_parse_rejects_empty_text() -> None:
    with pytest.raises(InputError, match="No Kujala answers"):
        parse_kujala_answers("  ")


@pytest.mark.parametrize("count", [0, 12, 14])
def test_wrong_count_is_a_clear_error(count: int) -> None:
    with pytest.raises(InputError, match=f"needs 13 answers, one letter per question; got {count}"):
        score_kujala(["a"] * count, KUJALA)


def test_letter_out_of_range_names_the_item() -> None:
    answers = ["a"] * 13
    answers[0] = "d"  # limp has only a-c
    answers[4] = "f"  # squatting has a-e
    with pytest.raises(InputError) as err:
        score_kujala(answers, KUJALA)
    message = str(err.value)
    assert "question 1 (Limp): 'd' is not an answer; choose a-c" in message
    assert "question 5 (Squatting): 'f' is not an answer; choose a-e" in message


def test_multi_letter_answer_is_rejected() -> None:
    answers = ["a"] * 13
    answers[2] = "ab"
    with pytest.raises(InputError, match="question 3"):
        score_kujala(answers, KUJALA)


def test_answers_are_case_and_space_tolerant() -> None:
    assert score_kujala([" A "] * 13, KUJALA) == 100


def test_numeric_questionnaire_cannot_be_scored_from_letters() -> None:
    with pytest.raises(InputError, match="not scored from lettered answers"):
        score_kujala(["a"], load_content().questionnaires["nprs"])


@given(st.lists(st.integers(min_value=0, max_value=4), min_size=13, max_size=13))
def test_score_is_the_sum_of_the_chosen_options(indexes: list[int]) -> None:
    letters = ["abcde"[min(i, len(row) - 1)] for i, row in zip(indexes, PINNED_TABLE, strict=True)]
    expected = sum(row[min(i, len(row) - 1)] for i, row in zip(indexes, PINNED_TABLE, strict=True))
    assert score_kujala(letters, KUJALA) == expected
    assert 0 <= expected <= 100


# --- change vs MCID ---------------------------------------------------------------------------------


def test_kujala_change_of_exactly_10_is_meaningful() -> None:
    change = kujala_change(62, 72)
    assert (change.delta, change.meaningful, change.direction) == (10, True, "improved")
    assert "improved by 10 points" in change.describe()


def test_kujala_change_of_9_is_not_meaningful() -> None:
    change = kujala_change(62, 71)
    assert (change.delta, change.meaningful, change.direction) == (9, False, "no_meaningful_change")
    assert "less than the 10 points" in change.describe()


def test_kujala_fall_is_a_meaningful_worsening() -> None:
    change = kujala_change(80, 65)
    assert (change.delta, change.improvement, change.direction) == (-15, -15, "worsened")


@pytest.mark.parametrize(("before", "after"), [(-1, 50), (50, 101), (float("nan"), 50)])
def test_kujala_change_rejects_scores_outside_the_scale(before: float, after: float) -> None:
    with pytest.raises(InputError, match="Kujala score"):
        kujala_change(before, after)


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (10, 10), ("7", 7), (" 3 ", 3), (4.0, 4)])
def test_validate_nprs_accepts_whole_numbers_0_to_10(value: object, expected: int) -> None:
    assert validate_nprs(value) == expected


@pytest.mark.parametrize("value", [-1, 11, 4.5, "high", True, None, "", "-2"])
def test_validate_nprs_rejects_anything_else(value: object) -> None:
    with pytest.raises(InputError, match=r"from 0 .* to 10"):
        validate_nprs(value, "Pain during")


def test_nprs_error_names_the_rating() -> None:
    with pytest.raises(InputError, match=r"^Pain the next morning must be"):
        validate_nprs(12, "Pain the next morning")


def test_nprs_drop_of_2_is_meaningful_and_meets_the_general_benchmark() -> None:
    change = nprs_change(6, 4)
    assert change.delta == -2
    assert change.improvement == 2
    assert change.meaningful is True
    assert change.direction == "improved"
    assert change.percent_improvement == pytest.approx(33.3)
    assert change.meets_general_benchmark is True


def test_nprs_mcid_is_1_16() -> None:
    assert nprs_change(5, 3.84).meaningful is True
    assert nprs_change(5, 3.85).meaningful is False
    assert nprs_change(5, 6.2).direction == "worsened"


def test_nprs_general_benchmark_needs_2_points_or_30_percent() -> None:
    small = nprs_change(8, 6.5)  # 1.5 points, 18.75%
    assert small.meaningful is True and small.meets_general_benchmark is False
    relative = nprs_change(3, 2)  # 1 point, 33%: relative benchmark met, PFP MCID not
    assert relative.meaningful is False and relative.meets_general_benchmark is True
    assert nprs_change(0, 0).percent_improvement is None
    assert nprs_change(4, 6).meets_general_benchmark is False
