"""The data says what the brief and clinical.md say: substitutions, dosing, red flags, honest framing."""

from __future__ import annotations

from kneefix.content.loader import load_content
from kneefix.content.schemas import Exercise

CONTENT = load_content()
ALWAYS = frozenset(e.id for e in CONTENT.equipment.values() if e.always_available)


def _fits(exercise: Exercise, have: frozenset[str]) -> bool:
    return set(exercise.equipment) <= have | ALWAYS


def _resolve(exercise_id: str, have: frozenset[str]) -> str | None:
    """Follow substitutes (depth-first, no revisits) to the first exercise the equipment allows."""
    seen: set[str] = set()
    stack = [exercise_id]
    while stack:
        current = CONTENT.exercises[stack.pop()]
        if current.id in seen:
            continue
        seen.add(current.id)
        if _fits(current, have):
            return current.id
        stack.extend(
            sub.use for sub in reversed(current.substitutes) if sub.when_missing not in have | ALWAYS
        )
    return None


def test_every_protocol_exercise_has_a_path_with_no_equipment_at_all() -> None:
    for protocol in CONTENT.protocols.values():
        for phase in protocol.phases:
            for slot in phase.slots:
                for exercise_id in slot.exercises:
                    if exercise_id == "step_down":
                        continue  # checked below: needs a step or falls back to a chair
                    assert _resolve(exercise_id, frozenset()) is not None, (protocol.id, exercise_id)


def test_named_substitutions_from_the_brief() -> None:
    everything = frozenset(CONTENT.equipment)
    assert (
        _resolve("hamstring_roll_lacrosse_ball", everything - {"lacrosse_ball"})
        == "hamstring_roll_tennis_ball"
    )
    assert (
        _resolve("hamstring_roll_foam_roller", everything - {"foam_roller"}) == "hamstring_roll_lacrosse_ball"
    )
    assert _resolve("hamstring_roll_foam_roller", frozenset()) == "hamstring_self_massage"
    assert _resolve("ball_squat_overhead_press", everything - {"stability_ball"}) == "wall_slide_squat_press"
    assert _resolve("ball_squat_overhead_press", everything - {"dumbbells"}) == "ball_squat_press_bottles"
    assert _resolve("ball_squat_overhead_press", frozenset()) == "wall_slide_squat_press_bottles"
    assert _resolve("clamshell_band", frozenset()) == "clamshell"
    assert _resolve("step_down", frozenset()) == "sit_to_stand"


def test_substitutes_keep_the_step() -> None:
    for exercise in CONTENT.exercises.values():
        for sub in exercise.substitutes:
            assert CONTENT.exercises[sub.use].step == exercise.step, (exercise.id, sub.use)


def test_variants_keep_the_step() -> None:
    for exercise in CONTENT.exercises.values():
        for variant in (exercise.easier, exercise.harder):
            if variant is not None:
                assert CONTENT.exercises[variant].step == exercise.step, (exercise.id, variant)


def test_two_oclock_exercises_tell_left_footers_to_mirror() -> None:
    for exercise_id in ("seated_leg_extension_2", "wall_sit_leg_raise_2"):
        text = " ".join(CONTENT.exercises[exercise_id].how_to)
        assert "RIGHT foot" in text and "ten o'clock" in text


def test_activation_is_framed_as_quadriceps_work_not_vmo_isolation() -> None:
    for exercise_id in ("seated_leg_extension_12", "seated_leg_extension_2", "wall_sit_leg_raise_12"):
        exercise = CONTENT.exercises[exercise_id]
        assert "quadriceps" in (exercise.purpose + exercise.why).lower()
    page = CONTENT.education["muscle_imbalance_and_evidence"].body
    assert "not an established cause" in page
    assert "does not isolate the VMO" in page


def test_guideline_exercises_say_they_are_additions() -> None:
    hip = [e for e in CONTENT.exercises.values() if e.step == "hip"]
    assert len(hip) >= 5
    for exercise in hip:
        assert exercise.origin == "guideline"
        assert "addition" in exercise.why


def test_return_to_running_matches_the_walk_run_table_in_km() -> None:
    running = CONTENT.protocols["runners_knee"].return_to_running
    assert running is not None
    table = [(s.stage, s.rpe, s.walk_min, s.run_min, s.distance_km) for s in running.stages]
    assert table == [
        (1, 3, 2, 3, 1.6),
        (2, 3, 2, 3, 2.4),
        (3, 4, 2, 4, 2.4),
        (4, 4, 2, 4, 3.2),
        (5, 5, 1, 4, 3.2),
        (6, 5, 0, None, 3.2),
    ]
    assert running.rest_days_between_runs >= 1
    assert all(stage.repeats_at_least >= 2 for stage in running.stages)


def test_main_protocol_length_and_pain_rules() -> None:
    protocol = CONTENT.protocols["runners_knee"]
    assert sum(phase.min_weeks for phase in protocol.phases) == 6
    assert all(phase.min_weeks >= 2 for phase in protocol.phases)
    assert any("tendon" in note for note in protocol.notes)
    rules = {rule.id: rule for rule in protocol.rules}
    # Pain during above 5 eases; progress needs pain during at most 5 and a settled next morning.
    assert rules["ease_pain_during_high"].when.pain_during_min == 6
    assert rules["ease_not_settled"].when.next_morning_settled is False
    assert rules["hold_unrated"].when.next_morning_rated is False
    for rule in protocol.rules:
        if rule.kind == "progress":
            assert rule.when.pain_during_max is not None and rule.when.pain_during_max <= 5
            assert rule.when.next_morning_settled is True
            assert rule.when.completed_min is not None and rule.when.completed_min >= 0.8
            assert rule.when.window_sessions >= 3
        if rule.kind == "ease":
            assert min(r.priority for r in protocol.rules if r.kind == "ease") > max(
                r.priority for r in protocol.rules if r.kind != "ease"
            )
    # The pain model's numbers come from clinical.md: tolerance at the NPRS MCID, ceiling 5/10.
    model = protocol.pain_model
    assert (model.tolerance, model.ceiling, model.kujala_worse_points) == (2, 5, 10)
    assert model.nprs_worse_points == 1.16
    maintenance = protocol.maintenance
    assert maintenance is not None and maintenance.days_per_week < protocol.default_days_per_week
    assert protocol.starting_points is not None and protocol.starting_points.severe.easier_variants


def test_red_flag_severities_and_ages() -> None:
    flags = {flag.id: flag for flag in CONTENT.red_flags}
    assert flags["hot_red_swollen_fever"].severity == "emergency"
    assert flags["recent_injury_ottawa"].severity == "urgent"
    assert any("55" in line for line in flags["recent_injury_ottawa"].criteria)
    assert flags["tibial_tubercle_pain"].severity == "other_condition"
    assert flags["inferior_pole_pain"].severity == "other_condition"
    tubercle = flags["tibial_tubercle_pain"].applies_to
    assert (tubercle.min_years, tubercle.max_years) == (11, 15)
    young = flags["young_night_or_rest_pain"].applies_to
    assert (young.min_years, young.max_years) == (5, 20)
    assert flags["patellar_instability"].kujala_trigger is not None
    for required in (
        "true_locking",
        "large_or_rapid_swelling",
        "giving_way_after_pop",
        "adolescent_hip_or_limp",
    ):
        assert required in flags


def test_symptom_roles_follow_the_core_criterion() -> None:
    roles = {symptom.id: symptom.role for symptom in CONTENT.symptoms}
    assert roles["pain_around_kneecap"] == "core_location"
    assert roles["pain_stairs_downhill"] == "core_activity"
    assert roles["pain_squatting"] == "core_activity"
    assert roles["grinding_popping"] == "non_essential"
    assert roles["mild_swelling"] == "non_essential"


def test_equipment_always_available_is_only_household_things() -> None:
    assert {"wall", "chair", "towel", "water_bottles"} == ALWAYS


def test_nprs_mcids() -> None:
    nprs = CONTENT.questionnaires["nprs"]
    assert nprs.mcid == 1.16
    assert nprs.higher_is_better is False
    [general] = nprs.benchmarks
    assert (general.points, general.percent) == (2, 30)
    assert CONTENT.questionnaires["kujala"].mcid == 10
