"""``kneefix start``: scripted and interactive first runs, each verdict, and bad answers."""

from __future__ import annotations

import json
import re
from pathlib import Path

from kneefix.content.loader import load_content
from kneefix.programme.screening import questions_for
from tests.cli.helpers import ALL_BEST_KUJALA, TYPICAL_FLAGS, Kneefix, assert_clean_error, flat, without


def test_typical_scripted_start_sets_up_a_plan(kneefix: Kneefix) -> None:
    result = kneefix.start()

    assert result["verdict"] == "typical"
    assert result["started"] is True
    # Hand-computed: a,b,a,b,b,c,b,b,b,b,a,a,a = 5+3+5+8+4+6+7+8+8+8+10+5+5 = 82.
    assert result["screening"]["kujala_score"] == 82
    assert result["plan"]["sessions"] >= 12
    assert result["settings"]["days_per_week"] == 3
    assert "default" in kneefix.ok("profiles").stdout


def test_typical_start_prints_verdict_and_plan_summary(kneefix: Kneefix) -> None:
    out = kneefix.ok("start", *TYPICAL_FLAGS).stdout

    assert "Looks like runner's knee" in flat(out)
    assert "not a diagnosis" in flat(out)
    assert "First session" in flat(out)
    assert "kneefix today" in flat(out)


def test_atypical_symptoms_say_so_and_still_start_by_default(kneefix: Kneefix) -> None:
    flags = without(TYPICAL_FLAGS, "--symptoms")
    result = kneefix.json("start", *flags, "--symptoms", "grinding_popping")

    assert result["verdict"] == "atypical_suggest_assessment"
    assert result["started"] is True
    assert "physiotherapist or doctor" in " ".join(result["screening"]["messages"])


def test_atypical_with_stop_flag_does_not_start(kneefix: Kneefix) -> None:
    flags = without(TYPICAL_FLAGS, "--symptoms")
    result = kneefix.json("start", *flags, "--symptoms", "none", "--stop-if-atypical")

    assert result["verdict"] == "atypical_suggest_assessment"
    assert result["started"] is False
    assert_clean_error(kneefix("today"), "has no programme yet", "kneefix --profile default start")


def test_red_flag_stops_with_emergency_wording(kneefix: Kneefix) -> None:
    flags = without(TYPICAL_FLAGS, "--red-flags")
    result = kneefix("start", *flags, "--red-flags", "hot_red_swollen_fever")

    assert result.exit_code == 0, result.output
    assert "Emergency" in flat(result.stdout)
    assert "has not been started" in flat(result.stdout)
    assert_clean_error(kneefix("today"), "has no programme yet")


def test_red_flag_json_names_the_flag_and_its_action(kneefix: Kneefix) -> None:
    flags = without(TYPICAL_FLAGS, "--red-flags")
    result = kneefix.json("start", *flags, "--red-flags", "true_locking")

    assert result["verdict"] == "refer_now"
    assert result["started"] is False
    flag = result["screening"]["red_flags"][0]
    assert flag["id"] == "true_locking"
    assert flag["action"]


def test_kujala_item_11_below_full_marks_counts_as_instability_red_flag(kneefix: Kneefix) -> None:
    flags = without(TYPICAL_FLAGS, "--kujala")
    result = kneefix.json("start", *flags, "--kujala", "a,a,a,a,a,a,a,a,a,a,b,a,a")

    assert result["verdict"] == "refer_now"
    assert [f["raised_by"] for f in result["screening"]["red_flags"]] == ["kujala"]


def test_missing_answers_without_a_terminal_fail_fast_naming_the_flags(kneefix: Kneefix) -> None:
    result = kneefix("start", "--age", "30", "--pain", "2")

    assert_clean_error(result, "Missing answers", "--symptoms", "--red-flags", "--kujala", "--runs/--no-runs")
    assert kneefix.ok("profiles").stdout.startswith("No profiles")


def test_out_of_range_flag_is_a_clear_error(kneefix: Kneefix) -> None:
    flags = without(TYPICAL_FLAGS, "--age")
    assert_clean_error(kneefix("start", *flags, "--age", "300"), "Age must be from 5 to 120")
    flags = without(TYPICAL_FLAGS, "--kujala")
    assert_clean_error(kneefix("start", *flags, "--kujala", "a,b"), "13 answers")
    flags = without(TYPICAL_FLAGS, "--equipment")
    assert_clean_error(kneefix("start", *flags, "--equipment", "trampoline"), "Unknown equipment")


def test_answers_file_supplies_answers_and_flags_override_it(kneefix: Kneefix, tmp_path: Path) -> None:
    answers = {
        "age": 40,
        "symptoms": ["pain_around_kneecap", "pain_running"],
        "red_flags": "none",
        "kujala": ["a"] * 13,
        "pain_now": 2,
        "equipment": [],
        "days_per_week": 4,
        "runs": False,
    }
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers), encoding="utf-8")

    result = kneefix.json("start", "--answers", str(path), "--days", "2")

    assert result["started"] is True
    assert result["screening"]["kujala_score"] == 100
    assert result["settings"]["days_per_week"] == 2
    assert result["settings"]["runs"] is False


def test_answers_file_with_an_unknown_key_is_rejected(kneefix: Kneefix, tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({"age": 40, "pian": 3}), encoding="utf-8")

    assert_clean_error(kneefix("start", "--answers", str(path)), "unknown answer 'pian'")
    path.write_text("{not json", encoding="utf-8")
    assert_clean_error(kneefix("start", "--answers", str(path)), "not valid JSON")


def test_interactive_start_reprompts_until_answers_are_valid(kneefix: Kneefix) -> None:
    content = load_content()
    flags_for_age = questions_for(34, content)
    symptom_ids = [symptom.id for symptom in content.symptoms]
    picks = [symptom_ids.index("pain_around_kneecap") + 1, symptom_ids.index("pain_squatting") + 1]
    lines = [
        "abc",  # age: not a number
        "34",
        "maybe",  # first safety question (straight after age): not yes or no
        *["n"] * len(flags_for_age),
        "99",  # symptoms: no such number
        ",".join(str(n) for n in picks),
        "z",  # first Kujala item: no such option
        *["a"] * 13,
        "11",  # pain: out of range
        "3",
        "none",  # equipment
        "",  # days: accept the default
        "y",  # runs
    ]
    result = kneefix("start", "--interactive", input="\n".join(lines) + "\n")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert " ".join(out.split()).count("Please try again") == 5
    assert "Age must be a whole number" in flat(out)
    assert "Looks like runner's knee" in flat(out)
    settings = kneefix.json("settings")["settings"]
    assert settings["days_per_week"] == 3
    assert settings["runs"] is True


def test_interactive_atypical_asks_whether_to_continue(kneefix: Kneefix) -> None:
    flags = without(TYPICAL_FLAGS, "--symptoms")
    result = kneefix("start", *flags, "--interactive", input="none\nn\n")

    assert result.exit_code == 0, result.output
    assert "Start the programme anyway?" in flat(result.stdout)
    assert "was not started" in flat(result.stdout)


def test_interactive_red_flag_skips_the_plan_questions(kneefix: Kneefix) -> None:
    flags = ["--age", "34", "--symptoms", "pain_around_kneecap", "--kujala", ALL_BEST_KUJALA, "--pain", "6"]
    # Yes to the first safety question: nothing is asked after that.
    result = kneefix("start", *flags, "--interactive", input="y\n")

    assert result.exit_code == 0, result.output
    assert "stops the questions here" in flat(result.stdout)
    assert "Get medical help now" in flat(result.stdout)
    assert "Equipment" not in result.stdout
    assert "2/" not in result.stdout  # no second safety question


def _asked(output: str) -> list[str]:
    """The safety-question lines an interactive run printed, e.g. ``3/11 Does your knee...``."""
    return [line for line in output.splitlines() if re.match(r"\s*\d+/\d+ ", line)]


def test_interactive_first_yes_stops_at_once_with_the_referral(kneefix: Kneefix) -> None:
    content = load_content()
    asked = questions_for(34, content)
    stop_at = next(index for index, flag in enumerate(asked) if flag.id == "true_locking")
    # Age, then the safety questions right away; the yes is the last thing typed.
    answers = ["34", *["n"] * stop_at, "y"]
    result = kneefix("start", "--interactive", "--json", input="\n".join(answers) + "\n")

    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["verdict"] == "refer_now" and outcome["started"] is False
    [flag] = outcome["screening"]["red_flags"]
    locking = next(flag for flag in asked if flag.id == "true_locking")
    assert (flag["id"], flag["reason"], flag["action"]) == ("true_locking", locking.reason, locking.action)
    shown = flat(result.stderr)
    assert len(_asked(result.stderr)) == stop_at + 1  # nothing after the yes
    for never in ("Your symptoms", "Kujala", "Equipment", "days a week", "Do you run", "hurt right now"):
        assert never not in shown, never
    assert outcome["screening"]["pain_now"] is None and outcome["severity"] is None


def test_interactive_referral_is_printed_and_saved(kneefix: Kneefix) -> None:
    content = load_content()
    asked = questions_for(34, content)
    stop_at = next(index for index, flag in enumerate(asked) if flag.id == "recent_injury_ottawa")
    result = kneefix("start", "--interactive", input="\n".join(["34", *["n"] * stop_at, "y"]) + "\n")

    assert result.exit_code == 0, result.output
    out = flat(re.sub(r"[│╭╮╰╯─]", " ", result.stdout))  # the referral is in a panel
    ottawa = asked[stop_at]
    assert ottawa.title in out and flat(ottawa.reason) in out and flat(ottawa.action) in out
    assert "has not been started" in out
    assert_clean_error(kneefix("today"), "has no programme yet")
    [saved] = json.loads(kneefix.ok("export").stdout)["screenings"]
    assert saved["verdict"] == "refer_now" and saved["red_flags"] == ["recent_injury_ottawa"]
    # What was not asked is recorded as such, not as made-up answers.
    assert saved["answers"]["pain_now"] is None
    assert {"symptoms", "kujala", "pain_now", "equipment", "days_per_week", "runs"} <= set(
        saved["answers"]["not_asked"]
    )


def test_interactive_kujala_comes_after_the_safety_questions_and_can_refer(kneefix: Kneefix) -> None:
    content = load_content()
    asked = questions_for(34, content)
    kujala = ["a"] * 13
    kujala[1] = "c"  # item 2: cannot stand on the leg
    lines = ["34", *["n"] * len(asked), "1,3", *kujala]
    result = kneefix("start", "--interactive", "--json", input="\n".join(lines) + "\n")

    assert result.exit_code == 0, result.output
    prompts = result.stderr
    assert prompts.index("Safety questions") < prompts.index("Kujala")
    outcome = json.loads(result.stdout)
    assert outcome["verdict"] == "refer_now"
    [flag] = outcome["screening"]["red_flags"]
    assert (flag["id"], flag["raised_by"]) == ("cannot_bear_weight", "kujala")
    assert "I cannot stand on it" in flag["reason"]
    assert "hurt right now" not in prompts and "Equipment" not in prompts


def test_kujala_raised_flag_refers_in_scripted_runs_and_needs_no_plan_answers(kneefix: Kneefix) -> None:
    kujala = ",".join(["a"] * 9 + ["e"] + ["a"] * 3)  # item 10: swollen all the time
    flags = ["--age", "40", "--red-flags", "none", "--symptoms", "pain_around_kneecap", "--kujala", kujala]
    result = kneefix.json("start", *flags)

    assert result["verdict"] == "refer_now" and result["started"] is False
    [flag] = result["screening"]["red_flags"]
    assert (flag["id"], flag["raised_by"]) == ("large_or_rapid_swelling", "kujala")
    text = kneefix.ok("start", *flags, "--pain", "4").stdout
    assert "Big or fast swelling" in flat(text) and "All the time" in flat(text)


def test_scripted_red_flag_for_another_age_is_an_error(kneefix: Kneefix) -> None:
    flags = without(without(TYPICAL_FLAGS, "--red-flags"), "--age")
    result = kneefix("start", *flags, "--age", "40", "--red-flags", "adolescent_hip_or_limp")

    assert_clean_error(result, "adolescent_hip_or_limp", "aged 9 to 16", "40")
    assert kneefix.ok("profiles").stdout.startswith("No profiles")


def test_answers_file_red_flag_mapping_for_another_age_is_an_error(kneefix: Kneefix, tmp_path: Path) -> None:
    content = load_content()
    mapping = {flag.id: False for flag in questions_for(40, content)} | {"tibial_tubercle_pain": True}
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({"age": 40, "red_flags": mapping}), encoding="utf-8")

    result = kneefix("start", "--answers", str(path), *without(TYPICAL_FLAGS, "--red-flags")[2:])
    assert_clean_error(result, "tibial_tubercle_pain", "aged 11 to 15", "40")


def test_scripted_red_flag_needs_only_age(kneefix: Kneefix) -> None:
    result = kneefix.json("start", "--age", "30", "--red-flags", "true_locking")

    assert result["verdict"] == "refer_now"
    assert result["screening"]["pain_now"] is None


def test_json_includes_the_severity(kneefix: Kneefix) -> None:
    result = kneefix.start()

    # Pain 3/10 is mild, the Kujala score of 82 too.
    assert result["severity"]["level"] == "mild"
    assert result["screening"]["severity"] == result["severity"]
    assert "3/10" in result["severity"]["reason"]


def test_scripted_red_flag_needs_no_plan_answers(kneefix: Kneefix) -> None:
    flags = ["--age", "16", "--symptoms", "pain_around_kneecap", "--kujala", "skip", "--pain", "6"]
    result = kneefix.json("start", *flags, "--red-flags", "young_night_or_rest_pain")

    assert result["verdict"] == "refer_now"
    assert result["screening"]["most_urgent"] == "urgent"
    assert result["started"] is False
