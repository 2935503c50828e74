"""Every element of the seed article is carried by some content, and the programme keeps its order."""

from __future__ import annotations

from pathlib import Path

import pytest

from kneefix.content.loader import carried_article_refs, check_content, load_content
from kneefix.content.schemas import STEP_ORDER
from kneefix.content.schemas_screening import ArticleElement
from tests.content.helpers import copy_content, problem_strings, replace_in

CONTENT = load_content()
CARRIED = carried_article_refs()


@pytest.mark.parametrize("element", CONTENT.article, ids=lambda element: element.id)
def test_each_article_element_is_carried(element: ArticleElement) -> None:
    assert CARRIED.get(element.id), f"{element.id} is named by no content file"


def test_article_list_covers_what_the_article_says() -> None:
    ids = {element.id for element in CONTENT.article}
    assert {
        "article.symptom_kneecap_pain",
        "article.symptom_bending_pain",
        "article.symptom_stairs_downhill",
        "article.symptom_swelling_grinding",
        "article.step_inhibit",
        "article.step_lengthen",
        "article.step_activate",
        "article.step_integrate",
        "article.option_foam_roller",
        "article.option_lacrosse_ball",
        "article.hamstring_stretch",
        "article.quad_seated_12",
        "article.quad_seated_2",
        "article.quad_wallsit_12",
        "article.quad_wallsit_2",
        "article.ball_squat_press",
        "article.prevent_squat_hips_first",
        "article.prevent_deadlift_hips_first",
        "article.prevent_landing_hips_back",
    } <= ids


def test_the_four_steps_come_in_the_articles_order() -> None:
    steps = [element.step for element in CONTENT.article if element.kind == "step"]
    assert steps == ["inhibit", "lengthen", "activate", "integrate"]


def test_each_exercise_element_has_an_exercise_of_that_step() -> None:
    for element in CONTENT.article:
        if element.kind not in ("exercise", "option"):
            continue
        carriers = [ex for ex in CONTENT.exercises.values() if element.id in ex.article_refs]
        assert carriers, element.id
        assert all(ex.step == element.step for ex in carriers), element.id
        assert all(ex.origin == "article" for ex in carriers), element.id


def test_prevention_cues_are_carried_by_the_technique_cues_when_present() -> None:
    cues = [files for ref, files in CARRIED.items() if ref.startswith("article.prevent_")]
    assert len(cues) == 3
    assert all("education/technique_prevention.md" in files for files in cues)


def test_main_protocol_sessions_follow_the_article_then_hip() -> None:
    protocol = CONTENT.protocols["runners_knee"]
    for phase in protocol.phases:
        steps = [slot.step for slot in phase.slots]
        assert steps == list(STEP_ORDER), phase.id
        hip = phase.slots[-1]
        assert hip.optional_module == "guideline_additions"
        assert all(CONTENT.exercises[e].origin == "guideline" for e in hip.exercises)
        assert all(slot.optional_module is None for slot in phase.slots[:-1])


def test_all_four_quadriceps_exercises_appear_in_the_main_protocol() -> None:
    used = {
        e
        for phase in CONTENT.protocols["runners_knee"].phases
        for slot in phase.slots
        for e in slot.exercises
    }
    assert {
        "seated_leg_extension_12",
        "seated_leg_extension_2",
        "wall_sit_leg_raise_12",
        "wall_sit_leg_raise_2",
        "hamstring_roll_foam_roller",
        "hamstring_stretch",
        "ball_squat_overhead_press",
    } <= used


def test_an_uncarried_element_is_reported(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    with (root / "article.yaml").open("a", encoding="utf-8") as handle:
        handle.write("- id: article.happy_running\n  order: 99\n  kind: cue\n  summary: s\n  stance: s\n")
    found = problem_strings(check_content(root))
    assert "article.yaml: [20]: article element 'article.happy_running' is carried by no content" in found


def test_an_unknown_article_ref_is_reported(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    replace_in(
        root / "symptoms.yaml",
        "article_refs: [article.symptom_kneecap_pain]",
        ("article_refs: [article.kneecap]"),
    )
    replace_in(root / "education/what_is_runners_knee.md", "  - article.symptom_kneecap_pain\n", "")
    found = problem_strings(check_content(root))
    assert "symptoms.yaml: [0].article_refs[0]: unknown article element 'article.kneecap'" in found
    # The element lost both its carriers, so it is reported too.
    assert any("'article.symptom_kneecap_pain' is carried by no content" in s for s in found)


def test_article_refs_in_the_motion_helpers_file_count(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    # Take the prevention refs out of the education page; the technique cue file must still carry them.
    replace_in(
        root / "education/technique_prevention.md",
        "article_refs:\n  - article.prevent_squat_hips_first\n  - article.prevent_deadlift_hips_first\n"
        "  - article.prevent_landing_hips_back\n",
        "",
    )
    carried = carried_article_refs(root)
    if "article.prevent_squat_hips_first" in carried:
        assert carried["article.prevent_squat_hips_first"] == ["technique_cues.yaml"]
        assert not [p for p in check_content(root) if "carried by no content" in p.message]
    else:  # the motion helper's file has not landed yet: then the gap must be reported
        assert any("carried by no content" in p.message for p in check_content(root))
