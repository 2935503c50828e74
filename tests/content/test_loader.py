"""The loader reads the packaged content and reports every problem with its file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from kneefix.content.loader import Content, ContentProblem, check_content, load_content
from kneefix.errors import ContentError
from tests.content.helpers import copy_content, problem_strings, replace_in


def test_packaged_content_has_no_problems() -> None:
    assert problem_strings(check_content()) == []


def test_packaged_content_loads_every_kind() -> None:
    content = load_content()
    assert isinstance(content, Content)
    assert {"runners_knee", "general_knee_strength"} <= set(content.protocols)
    assert {"kujala", "nprs"} <= set(content.questionnaires)
    assert len(content.exercises) >= 20
    assert len(content.red_flags) >= 10
    assert any(symptom.role == "core_location" for symptom in content.symptoms)
    assert {"what_is_runners_knee", "muscle_imbalance_and_evidence"} <= set(content.education)
    assert [element.order for element in content.article] == sorted(e.order for e in content.article)


def test_default_content_is_cached_but_a_root_is_read_fresh(tmp_path: Path) -> None:
    assert load_content() is load_content()
    root = copy_content(tmp_path)
    assert load_content(root) is not load_content(root)


def test_second_protocol_is_data_only() -> None:
    protocol = load_content().protocols["general_knee_strength"]
    assert protocol.name == "General knee strength"
    assert len(protocol.phases) == 2
    assert protocol.return_to_running is None


def test_education_body_is_the_markdown_after_front_matter() -> None:
    page = load_content().education["what_is_runners_knee"]
    assert not page.body.startswith("---")
    assert "patellofemoral pain" in page.body
    assert page.title == "What runner's knee is"


def test_out_of_range_field_names_file_and_field(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(root / "exercises/seated_leg_extension_12.yaml", "  reps: 10\n", "  reps: 99\n")
    problems = check_content(root)
    assert (
        ContentProblem(
            "exercises/seated_leg_extension_12.yaml", "dose.reps", "Input should be less than or equal to 50"
        )
        in problems
    )
    with pytest.raises(ContentError) as err:
        load_content(root)
    assert str(err.value).startswith(
        "exercises/seated_leg_extension_12.yaml: dose.reps: Input should be less than or equal to 50"
    )


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(root / "exercises/bridge.yaml", "  reps: 12\n", "  reps: 0\n")
    replace_in(root / "exercises/clamshell.yaml", "step: hip\n", "step: hips\n")
    found = problem_strings(check_content(root))
    assert any(s.startswith("exercises/bridge.yaml: dose.reps: ") for s in found)
    assert any(s.startswith("exercises/clamshell.yaml: step: ") for s in found)
    with pytest.raises(ContentError, match=r"and \d+ more; `kneefix content check` lists them all"):
        load_content(root)


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    path = root / "exercises/bridge.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = "article_refs: [unclosed\n"  # line 4
    path.write_text("".join(lines), encoding="utf-8")
    [problem] = [p for p in check_content(root) if p.file == "exercises/bridge.yaml"]
    assert problem.field.startswith("line ")
    assert "YAML syntax error" in problem.message
    line = int(problem.field.split(",")[0].removeprefix("line "))
    assert 4 <= line <= 6


def test_duplicate_key_in_one_mapping_is_an_error(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(root / "exercises/bridge.yaml", "step: hip\n", "step: hip\nstep: integrate\n")
    [problem] = [p for p in check_content(root) if p.file == "exercises/bridge.yaml"]
    assert "appears twice" in problem.message
    assert problem.field == "line 4, column 1"


def test_unknown_key_is_reported_not_ignored(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(root / "exercises/bridge.yaml", "purpose:", "purpse: typo\npurpose:")
    found = problem_strings(check_content(root))
    assert "exercises/bridge.yaml: purpse: Extra inputs are not permitted" in found


def test_list_file_errors_carry_the_entry_index(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(root / "red_flags.yaml", "  severity: emergency\n", "  severity: whenever\n")
    found = check_content(root)
    [problem] = [p for p in found if p.file == "red_flags.yaml"]
    assert problem.field == "[5].severity"


def test_file_name_must_match_id(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(root / "exercises/bridge.yaml", "id: bridge\n", "id: glute_bridge\n")
    found = problem_strings(check_content(root))
    assert "exercises/bridge.yaml: id: id 'glute_bridge' does not match the file name 'bridge'" in found


def test_unknown_exercise_in_a_protocol_slot(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(
        root / "protocols/general_knee_strength.yaml",
        "exercises: [quad_set, seated_leg_extension_12]",
        "exercises: [quad_set, seated_leg_extensoin_12]",
    )
    found = problem_strings(check_content(root))
    assert (
        "protocols/general_knee_strength.yaml: phases[0].slots[0].exercises[1]: "
        "unknown exercise id 'seated_leg_extensoin_12'"
    ) in found


def test_exercise_in_the_wrong_step_slot(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(
        root / "protocols/general_knee_strength.yaml",
        "exercises: [clamshell, bridge]",
        "exercises: [clamshell, quad_set]",
    )
    found = problem_strings(check_content(root))
    assert any("phases[0].slots[2].exercises[1]: 'quad_set' is a activate exercise" in s for s in found)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("easier: clamshell\n", "easier: clamshel\n", "easier: unknown exercise id 'clamshel'"),
        ("harder: side_plank_knees\n", "harder: side_plank\n", "harder: unknown exercise id 'side_plank'"),
        ("harder: side_plank_knees\n", "harder: side_lying_hip_abduction\n", "harder: an exercise cannot be"),
        ("equipment: []\n", "equipment: [yoga_mat]\n", "equipment[0]: unknown equipment id 'yoga_mat'"),
    ],
)
def test_exercise_cross_references(tmp_path: Path, old: str, new: str, expected: str) -> None:
    root = copy_content(tmp_path)
    replace_in(root / "exercises/side_lying_hip_abduction.yaml", old, new)
    found = problem_strings(check_content(root))
    assert any(s.startswith(f"exercises/side_lying_hip_abduction.yaml: {expected}") for s in found), found


def test_substitute_cross_references(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    path = root / "exercises/clamshell_band.yaml"
    replace_in(path, "    use: clamshell\n", "    use: clam\n")
    replace_in(path, "  - when_missing: resistance_band\n", "  - when_missing: foam_roller\n")
    found = problem_strings(check_content(root))
    assert "exercises/clamshell_band.yaml: substitutes[0].use: unknown exercise id 'clam'" in found
    assert (
        "exercises/clamshell_band.yaml: substitutes[0].when_missing: "
        "'foam_roller' is not among this exercise's equipment"
    ) in found


def test_duplicate_ids_in_a_list_file(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(root / "equipment.yaml", "- id: tennis_ball\n", "- id: lacrosse_ball\n")
    found = problem_strings(check_content(root))
    assert "equipment.yaml: id: id 'lacrosse_ball' is used 2 times" in found
    # ...and exercises that needed the tennis ball now name an unknown id.
    assert any(s.startswith("exercises/hamstring_roll_tennis_ball.yaml: equipment[0]") for s in found)


def test_rule_with_a_target_no_exercise_has(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(
        root / "protocols/general_knee_strength.yaml",
        "change: {target: reps, op: add, value: 2, ceiling: 15, exercises: [seated_leg_extension_12, "
        "sit_to_stand, step_down]}",
        "change: {target: duration_s, op: add, value: 5, exercises: [sit_to_stand, hamstring_stretch, nope]}",
    )
    found = problem_strings(check_content(root))
    prefix = "protocols/general_knee_strength.yaml: rules[5].change"
    assert f"{prefix}.exercises[1]: 'hamstring_stretch' is in no slot of this protocol" in found
    assert f"{prefix}.exercises[2]: unknown exercise id 'nope'" in found
    assert f"{prefix}.target: no exercise it applies to has a duration_s to change" in found


def test_kujala_maxima_must_add_up_to_100(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(
        root / "questionnaires/kujala.yaml",
        '{letter: a, label: "No limp", points: 5}',
        ('{letter: a, label: "No limp", points: 6}'),
    )
    found = problem_strings(check_content(root))
    assert "questionnaires/kujala.yaml: the items' best answers add up to 101, not max_score 100" in found


def test_kujala_options_must_be_best_first(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(
        root / "questionnaires/kujala.yaml",
        '{letter: b, label: "Yes, but it hurts", points: 3}',
        ('{letter: b, label: "Yes, but it hurts", points: 5}'),
    )
    found = problem_strings(check_content(root))
    assert any(s.startswith("questionnaires/kujala.yaml: items[1]: points must fall strictly") for s in found)


def test_missing_required_pieces(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    (root / "questionnaires/nprs.yaml").unlink()
    (root / "symptoms.yaml").unlink()
    found = problem_strings(check_content(root))
    assert "questionnaires/nprs.yaml: the required questionnaire is missing" in found
    assert "symptoms.yaml: file is missing" in found


def test_missing_folder_is_one_clear_problem(tmp_path: Path) -> None:
    assert problem_strings(check_content(tmp_path / "nowhere")) == [
        f"{tmp_path / 'nowhere'}: content folder not found"
    ]
    with pytest.raises(ContentError, match="content folder not found"):
        load_content(tmp_path / "nowhere")


def test_education_page_needs_front_matter(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    (root / "education/extra.md").write_text("# Just a heading\n", encoding="utf-8")
    found = problem_strings(check_content(root))
    assert "education/extra.md: must start with a '---' line opening the YAML front matter" in found


def test_education_related_exercise_must_exist(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(
        root / "education/return_to_running.md",
        "related_exercises: [ball_squat_overhead_press]",
        ("related_exercises: [ball_squat]"),
    )
    found = problem_strings(check_content(root))
    assert "education/return_to_running.md: related_exercises[0]: unknown exercise id 'ball_squat'" in found


def test_education_front_matter_errors_name_the_page(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(root / "education/return_to_running.md", "order: 4\n", "order: -4\n")
    found = problem_strings(check_content(root))
    assert "education/return_to_running.md: order: Input should be greater than or equal to 0" in found


def test_red_flag_kujala_trigger_must_name_a_real_item(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(
        root / "red_flags.yaml",
        "kujala_trigger: {item: 11, below: 10}",
        ("kujala_trigger: {item: 12, below: 10}"),
    )
    found = problem_strings(check_content(root))
    assert "red_flags.yaml: [4].kujala_trigger.below: item 12 scores at most 5" in found


def test_technique_cue_file_is_validated_too(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    path = root / "technique_cues.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("- id: cue.", "- id: hint.", 1), encoding="utf-8"
    )
    found = [p for p in check_content(root) if p.file == "technique_cues.yaml"]
    assert found and "id" in found[0].message
