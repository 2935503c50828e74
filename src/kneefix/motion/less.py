"""Landing Error Scoring System (LESS) items that one 2-D camera can measure.

The LESS (Padua 2009) scores 17 items, total 0-19 (items 16 and 17 score 0-2), from a frontal AND a
sagittal camera during a standard drop-jump. One phone camera sees one plane, so each item is either
scored from the view it needs or reported ``measurable=False`` with the reason, and the total is summed
over the measured items only: it is NOT comparable with published LESS totals or cut-offs, and it is a
coaching aid, never a diagnosis or an injury prediction (automated scoring agrees with experts only
moderately, kappa ~0.48).

Thresholds turning 2-D measurements into the items' yes/no errors (our operationalisation):

==  ====================================  =========================================================
 1  knee flexion at initial contact (IC)  error if < 30 deg (the LESS threshold)
 2  hip flexion at IC                     error if < 10 deg ("thigh in line with trunk")
 3  trunk flexion at IC                   error if <= 5 deg forward (vertical or leaning back)
 4  ankle plantar flexion at IC           error if the heel touches down less than max(15 ms, one frame)
                                          after the toes (flat-foot or heel-first); not measured when a
                                          frame lasts longer than 50 ms (see below)
 5  medial knee position at IC            error if a knee is > 2% of leg length inside its midfoot
 6  lateral trunk flexion at IC           error if the trunk leans > 7 deg sideways
 7  stance width wide                     error if foot distance > 1.25 x shoulder distance
 8  stance width narrow                   error if foot distance < 0.75 x shoulder distance
11  symmetric initial foot contact        error if the feet land > max(40 ms, 1 frame) apart
12  knee flexion displacement             error if < 45 deg (the LESS threshold)
13  hip flexion at peak knee flexion      error if not > 2 deg more than at IC
14  trunk flexion at peak knee flexion    error if not > 2 deg more than at IC
15  knee valgus displacement              error if a knee is > 2% of leg length inside its midfoot at
                                          peak knee flexion
16  joint displacement                    hip + knee sagittal displacement >= 110 deg soft (0), < 70
                                          stiff (2), else average (1)
==  ====================================  =========================================================

Items 9-10 (toe-in/out) need the foot seen from above or in 3-D; item 17 (overall impression) needs an
expert's judgement; neither is scored. The tolerance bands (2% of leg length, 2 deg, 7 deg, 0.75-1.25)
allow for 2-D measurement noise.

The two timing items never claim a finer resolution than the clip has: touch-downs are interpolated
between frames (:mod:`kneefix.motion.landing`), but toe and heel, or left and right foot, can only be
told apart when their touch-downs are at least a frame apart. They differ in which way the doubt goes:

* Item 4 credits a toe-first landing only when the heel follows the toes by at least a frame (and at
  least 15 ms): that is when some frame shows the toes down and the heel still up, which is also what a
  rater scoring from video needs to see. A shorter lag cannot be told from a flat-footed landing, so it
  counts as the error. We take 50 ms as the lag an ordinary toe-first landing can be relied on to show
  (our working assumption, not a published norm; the heel of a soft landing follows within a few tens
  of milliseconds): when one frame lasts longer than that (below 20 frames/s), such a landing would
  often fall between two frames and score as an error it is not, so the item is reported as not
  measurable.
* Item 11 calls the feet asymmetric only when they land more than 40 ms and more than one frame apart:
  a gap within one frame is within the timing error, so the feet get the benefit of the doubt.
"""

from __future__ import annotations

from dataclasses import dataclass

from kneefix.motion.types import LessItem, View
from kneefix.motion.valgus import MEDIAL_TOLERANCE

ITEM_NAMES: dict[int, str] = {
    1: "Knee flexion at initial contact",
    2: "Hip flexion at initial contact",
    3: "Trunk flexion at initial contact",
    4: "Ankle plantar flexion at initial contact",
    5: "Medial knee position at initial contact",
    6: "Lateral trunk flexion at initial contact",
    7: "Stance width: wide",
    8: "Stance width: narrow",
    9: "Foot position: toe-in",
    10: "Foot position: toe-out",
    11: "Symmetric initial foot contact",
    12: "Knee flexion displacement",
    13: "Hip flexion at peak knee flexion",
    14: "Trunk flexion at peak knee flexion",
    15: "Knee valgus displacement",
    16: "Joint displacement",
    17: "Overall impression",
}
SIDE_ITEMS = (1, 2, 3, 4, 12, 13, 14, 16)
FRONT_ITEMS = (5, 6, 7, 8, 11, 15)
NEVER_ITEMS = {
    9: "needs the foot seen from above or in 3-D",
    10: "needs the foot seen from above or in 3-D",
    17: "needs an expert's overall judgement",
}

KNEE_IC_MIN = 30.0
HIP_IC_MIN = 10.0
TRUNK_IC_MIN = 5.0
HEEL_AFTER_TOE_MS = 15.0  # item 4: least toe-to-heel lag credited as toe-first (raised to one frame)
TOE_HEEL_LONGEST_FRAME_MS = 50.0  # item 4: beyond this frame period a toe-first landing cannot be seen
LATERAL_TRUNK_MAX = 7.0
STANCE_WIDE = 1.25
STANCE_NARROW = 0.75
ASYMMETRY_MS = 40.0  # item 11: least left-right gap called asymmetric (raised to one frame)
KNEE_DISPLACEMENT_MIN = 45.0
MORE_THAN_IC = 2.0
SOFT_TOTAL = 110.0
STIFF_TOTAL = 70.0


@dataclass(frozen=True)
class LessInputs:
    """The measurements one landing provides (None where the view or the data cannot give them)."""

    view: View
    frame_ms: float
    knee_ic: float | None = None
    hip_ic: float | None = None
    trunk_ic: float | None = None
    knee_displacement: float | None = None
    hip_displacement: float | None = None
    trunk_change: float | None = None  # trunk flexion at peak knee flexion minus at IC
    heel_after_toe_ms: float | None = None
    medial_ic: float | None = None  # largest knee-inside-midfoot offset of both legs, leg lengths
    medial_peak: float | None = None
    lateral_trunk_ic: float | None = None  # absolute sideways lean, degrees
    stance_ratio: float | None = None  # foot distance / shoulder distance at IC
    contact_gap_ms: float | None = None  # |left IC - right IC|


def _item(number: int, error: int | None, value: float | None, note: str = "") -> LessItem:
    measurable = error is not None
    return LessItem(
        number=number,
        name=ITEM_NAMES[number],
        error=error,
        measurable=measurable,
        value=None if value is None else round(value, 2),
        note=note,
    )


def _missing(number: int, why: str) -> LessItem:
    return LessItem(number=number, name=ITEM_NAMES[number], error=None, measurable=False, note=why)


def _flag(condition: bool) -> int:
    return 1 if condition else 0


def _toe_heel_item(m: LessInputs) -> LessItem:
    """Item 4 from the toe-to-heel touch-down lag, judged no finer than one frame (module docstring)."""
    if m.frame_ms > TOE_HEEL_LONGEST_FRAME_MS:
        return _missing(
            4,
            f"not measured: at {m.frame_ms:.0f} ms per frame a toe-first landing cannot be told from a "
            f"flat-footed one (film at {1000.0 / TOE_HEEL_LONGEST_FRAME_MS:.0f} frames/s or more)",
        )
    if m.heel_after_toe_ms is None:
        return _missing(4, "the heel or toe was not tracked at contact")
    limit = max(HEEL_AFTER_TOE_MS, m.frame_ms)
    return _item(
        4,
        _flag(m.heel_after_toe_ms < limit),
        m.heel_after_toe_ms,
        f"ms from the toes touching down to the heel touching down; toe-first needs {limit:.0f} ms or more "
        "(15 ms or one frame, whichever is longer)",
    )


def _side_items(m: LessInputs) -> list[LessItem]:
    items: list[LessItem] = []
    no_data = "not measured: the landmarks were missing at that moment"
    items.append(
        _item(1, _flag(m.knee_ic < KNEE_IC_MIN), m.knee_ic, "knee flexion at contact, degrees")
        if m.knee_ic is not None
        else _missing(1, no_data)
    )
    items.append(
        _item(2, _flag(m.hip_ic < HIP_IC_MIN), m.hip_ic, "hip flexion at contact, degrees")
        if m.hip_ic is not None
        else _missing(2, no_data)
    )
    items.append(
        _item(3, _flag(m.trunk_ic <= TRUNK_IC_MIN), m.trunk_ic, "forward trunk lean at contact, degrees")
        if m.trunk_ic is not None
        else _missing(3, no_data)
    )
    items.append(_toe_heel_item(m))
    items.append(
        _item(12, _flag(m.knee_displacement < KNEE_DISPLACEMENT_MIN), m.knee_displacement, "degrees")
        if m.knee_displacement is not None
        else _missing(12, no_data)
    )
    items.append(
        _item(
            13, _flag(m.hip_displacement <= MORE_THAN_IC), m.hip_displacement, "degrees more than at contact"
        )
        if m.hip_displacement is not None
        else _missing(13, no_data)
    )
    items.append(
        _item(14, _flag(m.trunk_change <= MORE_THAN_IC), m.trunk_change, "degrees more than at contact")
        if m.trunk_change is not None
        else _missing(14, no_data)
    )
    if m.knee_displacement is not None and m.hip_displacement is not None:
        total = m.knee_displacement + m.hip_displacement
        points = 0 if total >= SOFT_TOTAL else (2 if total < STIFF_TOTAL else 1)
        note = {0: "soft", 1: "average", 2: "stiff"}[points] + " (hip + knee displacement, degrees)"
        items.append(_item(16, points, total, note))
    else:
        items.append(_missing(16, no_data))
    return items


def _front_items(m: LessInputs) -> list[LessItem]:
    items: list[LessItem] = []
    no_data = "not measured: the landmarks were missing at that moment"
    tolerance = MEDIAL_TOLERANCE
    items.append(
        _item(5, _flag(m.medial_ic > tolerance), m.medial_ic, "knee inside midfoot, leg lengths")
        if m.medial_ic is not None
        else _missing(5, no_data)
    )
    items.append(
        _item(6, _flag(m.lateral_trunk_ic > LATERAL_TRUNK_MAX), m.lateral_trunk_ic, "sideways lean, degrees")
        if m.lateral_trunk_ic is not None
        else _missing(6, no_data)
    )
    if m.stance_ratio is not None:
        items.append(_item(7, _flag(m.stance_ratio > STANCE_WIDE), m.stance_ratio, "feet / shoulder width"))
        items.append(_item(8, _flag(m.stance_ratio < STANCE_NARROW), m.stance_ratio, "feet / shoulder width"))
    else:
        items.extend([_missing(7, no_data), _missing(8, no_data)])
    limit = max(ASYMMETRY_MS, m.frame_ms)
    items.append(
        _item(11, _flag(m.contact_gap_ms > limit), m.contact_gap_ms, "ms between the two feet touching down")
        if m.contact_gap_ms is not None
        else _missing(11, "both feet must be seen landing")
    )
    items.append(
        _item(
            15,
            _flag(m.medial_peak > tolerance),
            m.medial_peak,
            "knee inside midfoot at peak bend, leg lengths",
        )
        if m.medial_peak is not None
        else _missing(15, no_data)
    )
    return items


def score_less(m: LessInputs) -> tuple[list[LessItem], int | None]:
    """All 17 items in order, and the total over the measured ones (None when none could be measured)."""
    scored: dict[int, LessItem] = {}
    if m.view in ("side", "unknown"):
        scored.update({item.number: item for item in _side_items(m)})
    if m.view in ("front", "unknown"):
        scored.update({item.number: item for item in _front_items(m)})
    items: list[LessItem] = []
    for number in range(1, 18):
        if number in scored:
            items.append(scored[number])
        elif number in NEVER_ITEMS:
            items.append(_missing(number, NEVER_ITEMS[number]))
        elif number in SIDE_ITEMS:
            items.append(_missing(number, "needs a side view"))
        else:
            items.append(_missing(number, "needs a front view"))
    measured = [item.error for item in items if item.measurable and item.error is not None]
    return items, (sum(measured) if measured else None)
