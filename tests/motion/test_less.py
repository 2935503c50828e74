"""LESS items: thresholds, which view measures what, and totals over measured items only."""

from __future__ import annotations

from kneefix.motion.less import LessInputs, score_less


def _errors(inputs: LessInputs) -> dict[int, int | None]:
    items, _ = score_less(inputs)
    return {item.number: item.error for item in items}


def test_all_seventeen_items_in_order_with_reasons_for_the_unmeasured() -> None:
    items, total = score_less(LessInputs(view="side", frame_ms=33.0))
    assert [item.number for item in items] == list(range(1, 18))
    assert total is None  # nothing measured
    for item in items:
        assert not item.measurable and item.error is None and item.note
    notes = {item.number: item.note for item in items}
    assert "front view" in notes[5] and "above" in notes[9] and "expert" in notes[17]


def test_side_view_thresholds() -> None:
    bad = LessInputs(
        view="side",
        frame_ms=33.0,
        knee_ic=29.0,
        hip_ic=9.0,
        trunk_ic=5.0,
        heel_after_toe_ms=10.0,
        knee_displacement=44.0,
        hip_displacement=2.0,
        trunk_change=1.0,
    )
    errors = _errors(bad)
    assert {n: errors[n] for n in (1, 2, 3, 4, 12, 13, 14, 16)} == {
        1: 1, 2: 1, 3: 1, 4: 1, 12: 1, 13: 1, 14: 1, 16: 2
    }  # fmt: skip
    _, total = score_less(bad)
    assert total == 9
    good = LessInputs(
        view="side",
        frame_ms=33.0,
        knee_ic=31.0,
        hip_ic=11.0,
        trunk_ic=6.0,
        heel_after_toe_ms=60.0,
        knee_displacement=70.0,
        hip_displacement=45.0,
        trunk_change=10.0,
    )
    assert score_less(good)[1] == 0
    average = LessInputs(view="side", frame_ms=33.0, knee_displacement=50.0, hip_displacement=30.0)
    assert _errors(average)[16] == 1
    assert score_less(average)[1] == 1  # 12 fine, 13 fine, 16 average: only measured items count


def _front(**values: float) -> dict[int, int | None]:
    base = {"medial_ic": 0.0, "medial_peak": 0.0, "lateral_trunk_ic": 2.0, "stance_ratio": 1.0}
    merged = base | values
    return _errors(
        LessInputs(
            view="front",
            frame_ms=merged.pop("frame_ms", 33.0),
            medial_ic=merged["medial_ic"],
            medial_peak=merged["medial_peak"],
            lateral_trunk_ic=merged["lateral_trunk_ic"],
            stance_ratio=merged["stance_ratio"],
            contact_gap_ms=merged.get("contact_gap_ms"),
        )
    )


def test_front_view_thresholds_and_stance_exclusivity() -> None:
    wide = _front(stance_ratio=1.3, contact_gap_ms=10.0)
    narrow = _front(stance_ratio=0.7, contact_gap_ms=50.0)
    usual = _front(contact_gap_ms=0.0)
    assert (wide[7], wide[8], wide[11]) == (1, 0, 0)
    assert (narrow[7], narrow[8], narrow[11]) == (0, 1, 1)
    assert (usual[7], usual[8]) == (0, 0)
    assert usual[1] is None and usual[12] is None  # sagittal items need a side view
    assert _front(contact_gap_ms=45.0)[11] == 1
    assert _front(contact_gap_ms=45.0, frame_ms=50.0)[11] == 0  # within one frame at 20 fps: cannot tell
    knees_in = _front(medial_ic=0.05, medial_peak=0.08, lateral_trunk_ic=9.0)
    assert (knees_in[5], knees_in[15], knees_in[6]) == (1, 1, 1)
    assert _front()[11] is None  # both feet must be seen landing


def _item4(heel_after_toe_ms: float | None, frame_ms: float) -> tuple[int | None, bool, str]:
    items, _ = score_less(LessInputs(view="side", frame_ms=frame_ms, heel_after_toe_ms=heel_after_toe_ms))
    item = items[3]
    assert item.number == 4
    return item.error, item.measurable, item.note


def test_toe_first_needs_the_heel_a_frame_behind() -> None:
    """Item 4 credits toe-first only when the heel lags by at least max(15 ms, one frame)."""
    assert _item4(25.0, 33.3)[0] == 1  # under a frame at 30 fps: cannot be told from flat-footed
    assert _item4(40.0, 33.3)[0] == 0  # the heel a frame behind: some frame shows toes down, heel up
    assert _item4(25.0, 16.7)[0] == 0  # the same lag is more than a frame at 60 fps
    assert _item4(12.0, 16.7)[0] == 1  # ... but the 15 ms floor still holds
    assert _item4(-20.0, 16.7)[0] == 1  # heel first
    assert _item4(60.0, 50.0)[:2] == (0, True)  # 20 frames/s: still measurable


def test_toe_first_not_measured_when_frames_are_too_long() -> None:
    """Below 20 frames/s an ordinary toe-first landing can fall between two frames: not scored."""
    error, measurable, note = _item4(80.0, 66.7)
    assert error is None and not measurable
    assert "67 ms per frame" in note and "20 frames/s" in note
    assert _item4(None, 33.3)[1] is False  # no heel or toe: not measured either
