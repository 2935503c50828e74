"""Findings in plain words, each followed by the programme's cue that addresses it.

Feedback is grouped: reps (or landings) that share a finding get one sentence naming them ("Reps 2 and
4: ..."), with the size of the finding in numbers, then the cue text from ``technique_cues.yaml``.
Good technique is said too, so a person learns what to keep. Valgus is always reported with its
measurement uncertainty. Nothing here diagnoses: these are coaching observations.
"""

from __future__ import annotations

from collections.abc import Sequence

from kneefix.content.technique import TechniqueCue, load_technique_cues
from kneefix.motion.reps import INITIATION_MARGIN_MS
from kneefix.motion.types import LandingResult, Movement, RepResult, View
from kneefix.motion.valgus import FPPA_COACHING_DEG, KNEES_IN_RATIO, fppa_caution

HIPS_BACK_RATIO = 0.6  # hip:knee flexion gained after contact below this: the hips took little part


def joined(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" and {items[-1]}"


def numbered(label: str, numbers: Sequence[int]) -> str:
    """'Rep 3', 'Reps 2 and 4', 'Reps 1, 2 and 5'."""
    if len(numbers) == 1:
        return f"{label} {numbers[0]}"
    return f"{label}s {joined([str(n) for n in numbers])}"


def _span(values: Sequence[float], unit: str) -> str:
    low, high = round(min(values)), round(max(values))
    return f"{low} {unit}" if low == high else f"{low} to {high} {unit}"


def _with_cue(sentence: str, cue: TechniqueCue | None) -> str:
    return sentence if cue is None else f"{sentence} {cue.text}"


class FeedbackBuilder:
    """Collects feedback lines and the ids of the cues used (so interfaces can show why and evidence)."""

    def __init__(self, cues: dict[str, TechniqueCue] | None = None) -> None:
        self.cues = cues if cues is not None else load_technique_cues()
        self.lines: list[str] = []
        self.used: list[str] = []

    def add(self, sentence: str, cue_id: str | None = None) -> None:
        cue = self.cues.get(cue_id) if cue_id else None
        if cue is not None and cue.id not in self.used:
            self.used.append(cue.id)
        self.lines.append(_with_cue(sentence, cue))


def _untrusted(out: FeedbackBuilder, label: str, items: Sequence[RepResult | LandingResult]) -> None:
    poor = [x for x in items if x.quality.level == "poor"]
    if not poor:
        return
    numbers = [x.rep if isinstance(x, RepResult) else x.landing for x in poor]
    reasons = list(dict.fromkeys(r for x in poor for r in x.quality.reasons))
    out.add(
        f"{numbered(label, numbers)}: the pose track was not trustworthy here ({'; '.join(reasons[:2])}), "
        f"so no technique call is made for {'it' if len(poor) == 1 else 'them'}."
    )


def rep_feedback(
    out: FeedbackBuilder,
    movement: Movement,
    view: View,
    all_reps: list[RepResult],
    margin_ms: float = INITIATION_MARGIN_MS,
) -> None:
    """Initiation per rep (side view) and knee valgus per rep (front view); poor reps get no call."""
    _untrusted(out, "Rep", all_reps)
    reps = [r for r in all_reps if r.quality.level != "poor"]
    if not reps:
        return
    cue_id = "cue.deadlift_hips_first" if movement == "deadlift" else "cue.squat_hips_first"
    if movement == "single-leg-squat" and view == "side":
        bends = [r.peak_knee_flexion_deg for r in reps]
        out.add(
            f"Knee bend at the bottom of each rep: {_span(bends, 'degrees')}. Film from the front to see "
            f"whether the knee stays over the foot."
        )
    if movement != "single-leg-squat" and view != "front":
        knees = [r for r in reps if r.view != "front" and r.initiation == "knees"]
        together = [r for r in reps if r.view != "front" and r.initiation == "together"]
        hips = [r for r in reps if r.view != "front" and r.initiation == "hips"]
        unknown = [r for r in reps if r.view != "front" and r.initiation == "unknown"]
        if knees:
            lags = [-(r.lag_ms or 0.0) for r in knees]
            out.add(
                f"{numbered('Rep', [r.rep for r in knees])}: your knees started the lowering "
                f"{_span(lags, 'ms')} before your hips.",
                cue_id,
            )
        if together:
            out.add(
                f"{numbered('Rep', [r.rep for r in together])}: hips and knees started the lowering together "
                f"(within {margin_ms:.0f} ms, as close as this clip can tell). That is fine; if you want the "
                f"programme's pattern, "
                f"give the hips a small head start."
            )
        if hips:
            lags = [r.lag_ms or 0.0 for r in hips]
            subject = "All reps" if len(hips) == len(reps) else numbered("Rep", [r.rep for r in hips])
            out.add(
                f"{subject}: the hips started the lowering and the knees followed {_span(lags, 'ms')} later, "
                f"as the programme suggests. Keep it up."
            )
        for note in dict.fromkeys(r.initiation_note for r in unknown):
            which = [r.rep for r in unknown if r.initiation_note == note]
            out.add(
                f"{numbered('Rep', which)}: which joint started the lowering is unknown "
                f"({note or 'the start could not be timed'})."
            )
    ratio_reps = [r for r in reps if r.knee_feet_width_ratio is not None]
    if ratio_reps:
        caved = [r for r in ratio_reps if (r.knee_feet_width_ratio or 0.0) < KNEES_IN_RATIO]
        if caved:
            values = joined([f"{r.knee_feet_width_ratio:.2f}" for r in caved])
            out.add(
                f"{numbered('Rep', [r.rep for r in caved])}: at the bottom your knees were much closer "
                f"together than your feet (knee-to-toe width {values}; about 0.7-1.1 is usual).",
                "cue.knees_over_feet",
            )
        else:
            values = joined([f"{r.knee_feet_width_ratio:.2f}" for r in ratio_reps])
            out.add(
                f"At the bottom your knees stayed about as wide as your feet (knee-to-toe width {values})."
            )
        return
    valgus_reps = [r for r in reps if r.valgus_deg is not None]
    if view != "side" and valgus_reps:
        worst = [r for r in valgus_reps if (r.valgus_deg or 0.0) >= FPPA_COACHING_DEG]
        angles = [r.valgus_deg or 0.0 for r in valgus_reps]
        knee_word = "stance knee" if movement == "single-leg-squat" else "knee"
        if worst:
            out.add(
                f"{numbered('Rep', [r.rep for r in worst])}: at the bottom your {knee_word} sat "
                f"{_span([r.valgus_deg or 0.0 for r in worst], 'degrees')} inward of the hip-ankle line "
                f"(measured from the front).",
                "cue.knees_over_feet",
            )
        else:
            out.add(
                f"Knee angle from the front at the bottom: {_span(angles, 'degrees')} "
                f"(positive = inward). The {knee_word} stayed roughly over the foot."
            )
        out.add(fppa_caution())


def landing_feedback(out: FeedbackBuilder, view: View, all_landings: list[LandingResult]) -> None:
    """Absorption, hips back, and the LESS errors the view could score; poor landings get no call."""
    _untrusted(out, "Landing", all_landings)
    landings = [x for x in all_landings if x.quality.level != "poor"]
    if not landings:
        return
    if view != "front":
        stiff = [x for x in landings if (x.knee_flexion_displacement_deg or 99.0) < 45.0]
        if stiff:
            bends = [x.knee_flexion_displacement_deg or 0.0 for x in stiff]
            out.add(
                f"{numbered('Landing', [x.landing for x in stiff])}: your knees bent only "
                f"{_span(bends, 'degrees')} after touch-down, a stiff landing.",
                "cue.landing_soft",
            )
        low_hips = [
            x for x in landings if x.hip_knee_ratio is not None and x.hip_knee_ratio < HIPS_BACK_RATIO
        ]
        if low_hips:
            ratios = [f"{x.hip_knee_ratio:.2f}" for x in low_hips]
            out.add(
                f"{numbered('Landing', [x.landing for x in low_hips])}: for every degree your knees bent "
                f"after touch-down, your hips bent only {joined(ratios)} degrees"
                f"{' respectively' if len(ratios) > 1 else ''}: the knees took most of it.",
                "cue.landing_hips_back",
            )
        good = [x for x in landings if x not in low_hips and x.hip_knee_ratio is not None]
        if good:
            out.add(
                f"{numbered('Landing', [x.landing for x in good])}: hips and knees shared the landing "
                f"(hip:knee bend {joined([f'{x.hip_knee_ratio:.2f}' for x in good])}). Keep it up."
            )
        toes = [x for x in landings if _less_error(x, 4)]
        if toes:
            out.add(
                f"{numbered('Landing', [x.landing for x in toes])}: the feet landed flat or heel first.",
                "cue.landing_toes_first",
            )
    else:
        inward = [x for x in landings if _less_error(x, 5) or _less_error(x, 15)]
        if inward:
            out.add(
                f"{numbered('Landing', [x.landing for x in inward])}: a knee moved inside the middle of its "
                f"foot while landing.",
                "cue.knees_over_feet",
            )
        lean = [x for x in landings if _less_error(x, 6)]
        if lean:
            out.add(
                f"{numbered('Landing', [x.landing for x in lean])}: the trunk leaned sideways at touch-down.",
                "cue.trunk_level",
            )
        uneven = [x for x in landings if _less_error(x, 11)]
        if uneven:
            out.add(
                f"{numbered('Landing', [x.landing for x in uneven])}: one foot touched down before the "
                f"other.",
                "cue.landing_even_feet",
            )
        if any(x.valgus_peak_deg is not None for x in landings):
            out.add(fppa_caution())
    totals = [x.less_total_measured for x in landings if x.less_total_measured is not None]
    if totals:
        measured = sum(1 for item in landings[0].less if item.measurable)
        out.add(
            f"Landing Error Scoring System items this {view} view can measure ({measured} of 17): "
            f"{_span([float(t) for t in totals], 'error points')} per landing. This partial score is not "
            f"comparable with a full LESS score and is not a diagnosis."
        )


def _less_error(landing: LandingResult, number: int) -> bool:
    return any(item.number == number and item.measurable and (item.error or 0) > 0 for item in landing.less)


def build_feedback(
    movement: Movement,
    view: View,
    reps: list[RepResult],
    landings: list[LandingResult],
    cues: dict[str, TechniqueCue] | None = None,
    margin_ms: float = INITIATION_MARGIN_MS,
) -> tuple[list[str], list[str]]:
    """The feedback lines for a report, and the cue ids they used."""
    out = FeedbackBuilder(cues)
    if movement == "landing":
        landing_feedback(out, view, landings)
    else:
        rep_feedback(out, movement, view, reps, margin_ms)
    return out.lines, out.used
