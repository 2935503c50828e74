"""The motion-analysis entry point: landmarks in, ``Report`` and per-frame ``Kinematics`` out.

``analyze_series`` is what the CLI, the web worker and the tests call, whether the landmarks came from a
video or from a landmark CSV. It raises a ``KneefixError`` only when nothing honest can be reported (no
frames, no person); everything else that limits the result becomes a plain-words warning in the report,
so a partial result is never silently presented as a full one.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from kneefix.errors import InputError, VideoError
from kneefix.motion.feedback import build_feedback
from kneefix.motion.kinematics import Kinematics, compute_kinematics
from kneefix.motion.landing import analyze_landings
from kneefix.motion.quality import TrackChecks, check_track, contact_reasons, value_reasons, window_quality
from kneefix.motion.reps import agreement_s
from kneefix.motion.side import point, view_segments
from kneefix.motion.smoothing import VISIBILITY_MIN, is_irregular
from kneefix.motion.squat import LeftOut, analyze_reps
from kneefix.motion.types import (
    LANDMARK_INDEX,
    LANDMARK_NAMES,
    LandingResult,
    LandmarkSeries,
    Movement,
    Report,
    RepResult,
    Side,
    SideChoice,
    View,
    ViewSegment,
)

MOVEMENTS: tuple[Movement, ...] = ("squat", "deadlift", "landing", "single-leg-squat")
FULL_BODY = ("shoulder", "hip", "knee", "ankle", "heel", "foot_index")
MIN_FRAMES = 5
PERSON_FRACTION_WARN = 0.6
MISSING_FRACTION_WARN = 0.2
EDGE_FRACTION = 0.01
LOW_FPS_LANDING = 25.0
JUMP_LEGS = 0.6  # the whole skeleton moving this many leg lengths in one frame: likely another person
OVER_STRAIGHT_DEG = -10.0
OVER_STRAIGHT_FRACTION = 0.1

BoolArray = NDArray[np.bool_]


def _check_series(series: LandmarkSeries, movement: str) -> None:
    if movement not in MOVEMENTS:
        raise InputError(f"unknown movement {movement!r}; choose one of: {', '.join(MOVEMENTS)}")
    n = len(series)
    if n == 0:
        raise InputError("the input holds no frames")
    shapes = {
        "frame": (series.frame.shape, (n,)),
        "xy": (series.xy.shape, (n, len(LANDMARK_NAMES), 2)),
        "z": (series.z.shape, (n, len(LANDMARK_NAMES))),
        "visibility": (series.visibility.shape, (n, len(LANDMARK_NAMES))),
    }
    for name, (got, want) in shapes.items():
        if got != want:
            raise InputError(f"landmark data is malformed: {name} has shape {got}, expected {want}")
    if n > 1 and np.any(np.diff(series.time_s) <= 0):
        raise InputError("frame times must increase from frame to frame")


def person_frames(series: LandmarkSeries) -> BoolArray:
    """Frames where the model saw a person: a hip or a shoulder visible (the rest may be out of frame)."""
    idx = [LANDMARK_INDEX[f"{side}_{part}"] for side in ("left", "right") for part in ("hip", "shoulder")]
    seen: BoolArray = np.any(series.visibility[:, idx] >= VISIBILITY_MIN, axis=1)
    return seen


def _frame_warnings(series: LandmarkSeries, kin: Kinematics, seen: BoolArray) -> list[str]:
    warnings: list[str] = []
    n, found = len(series), int(seen.sum())
    if found < PERSON_FRACTION_WARN * n:
        warnings.append(
            f"A person was found in only {found} of {n} frames ({100 * found / n:.0f}%); the results cover "
            f"those frames only."
        )
    missing: list[tuple[str, float]] = []
    for part in FULL_BODY:
        name = f"{kin.side}_{part}"
        j = LANDMARK_INDEX[name]
        hidden = float(np.mean(series.visibility[seen, j] < VISIBILITY_MIN)) if found else 1.0
        if hidden > MISSING_FRACTION_WARN:
            missing.append((name.replace("_", " ").replace("foot index", "toes"), hidden))
    edge = _near_edge_fraction(series, kin, seen)
    if missing or edge > MISSING_FRACTION_WARN:
        parts = ", ".join(f"{name} hidden in {100 * frac:.0f}% of frames" for name, frac in missing[:3])
        if edge > MISSING_FRACTION_WARN:
            parts = (parts + "; " if parts else "") + f"body at the image edge in {100 * edge:.0f}% of frames"
        warnings.append(
            f"The person is partly out of frame or hidden ({parts}). Film from far enough away to keep the "
            f"whole body, head to toes, in view."
        )
    if _identity_jumps(series, kin):
        warnings.append(
            "The tracked body jumps between places from one frame to the next; there may be more than "
            "one person in view, and some frames may show the wrong one. Film with only the person "
            "moving in view."
        )
    return warnings


def _near_edge_fraction(series: LandmarkSeries, kin: Kinematics, seen: BoolArray) -> float:
    if series.size_inferred or series.width <= 0 or series.height <= 0 or not seen.any():
        return 0.0
    idx = [LANDMARK_INDEX[f"{kin.side}_{part}"] for part in FULL_BODY]
    xy = series.xy[seen][:, idx, :]
    margin_x, margin_y = EDGE_FRACTION * series.width, EDGE_FRACTION * series.height
    with np.errstate(invalid="ignore"):
        outside = (
            (xy[..., 0] < margin_x)
            | (xy[..., 0] > series.width - margin_x)
            | (xy[..., 1] < margin_y)
            | (xy[..., 1] > series.height - margin_y)
        )
    return float(np.mean(np.any(outside, axis=1)))


def _identity_jumps(series: LandmarkSeries, kin: Kinematics) -> bool:
    """Two or more frame-to-frame jumps of the hips by over 0.6 leg lengths in the raw landmarks."""
    xy = series.xy.copy()
    xy[series.visibility < VISIBILITY_MIN] = np.nan
    hips = (point(xy, "left_hip") + point(xy, "right_hip")) / 2
    legs = np.linalg.norm(point(xy, f"{kin.side}_hip") - point(xy, f"{kin.side}_ankle"), axis=1)
    finite = legs[np.isfinite(legs)]
    if finite.size < 5:
        return False
    step = np.linalg.norm(np.diff(hips, axis=0), axis=1)
    jumps = int(np.sum(step > JUMP_LEGS * float(np.median(finite))))
    return jumps >= 2


def _angle_warnings(kin: Kinematics) -> list[str]:
    knee = kin.knee_flexion[np.isfinite(kin.knee_flexion)]
    if knee.size and float(np.mean(knee < OVER_STRAIGHT_DEG)) > OVER_STRAIGHT_FRACTION:
        share = 100 * float(np.mean(knee < OVER_STRAIGHT_DEG))
        return [
            f"In {share:.0f}% of frames the knee looked bent backwards by more than "
            f"{-OVER_STRAIGHT_DEG:.0f} degrees, which a knee cannot do: the person may have turned round "
            f"during the clip or the pose model mixed up the legs. Treat those parts with caution."
        ]
    return []


def _view_warnings(movement: Movement, kin: Kinematics) -> list[str]:
    warnings: list[str] = []
    if kin.view == "unknown":
        warnings.append("The camera view could not be judged (shoulders and hips were not seen).")
    if kin.oblique:
        warnings.append(
            f"The camera looks oblique (between a side and a front view); it was treated as a "
            f"{kin.view} view and angles are less accurate. Film square to the side or to the front."
        )
    if movement in ("squat", "deadlift") and kin.view == "front":
        warnings.append(
            "This looks like a front view. Whether the hips or the knees start the lowering can only be seen "
            "from the side: film from the side, level with the hips, for the initiation check. Hip and knee "
            "bend shown here are estimates from the front."
        )
    if movement == "single-leg-squat" and kin.view == "side":
        warnings.append(
            "This looks like a side view. The knee-inward angle of a single-leg squat needs a front view; "
            "only knee and hip bend per rep are reported."
        )
    if movement == "landing" and kin.view == "front":
        warnings.append(
            "Front view: knee position, trunk lean, stance width and foot timing are scored; hip and knee "
            "bend are estimates. A side view scores the bend items of the landing check."
        )
    return warnings


LANDING_LEAD_S = 0.3  # a landing's quality covers the fall just before contact ...
LANDING_TAIL_S = 0.1  # ... and a little after the deepest knee bend


def _landing_quality(
    landing: LandingResult, checks: dict[Side, TrackChecks], side: Side, view: str
) -> LandingResult:
    """A landing's track quality; besides the checks of its frames, impossible values and feet at the
    picture's edge at touch-down each make it poor on their own."""
    reasons = value_reasons(
        landing.knee_flexion_ic_deg if view == "side" else None,
        None,
        landing.peak_knee_flexion_deg,
        landing.hip_flexion_at_peak_knee_deg,
        None,
    )
    if landing.knee_flexion_displacement_deg is not None and landing.knee_flexion_displacement_deg < 0:
        reasons.append("the knee reads straighter at its deepest bend than at touch-down")
    timed: dict[Side, float | None] = {
        "left": landing.initial_contact_left_s,
        "right": landing.initial_contact_right_s,
    }
    feet = [foot for foot, at in timed.items() if at is not None] or [side]
    reasons += contact_reasons(checks, feet, landing.initial_contact_s)
    start = landing.initial_contact_s - LANDING_LEAD_S
    quality = window_quality(checks[side], start, landing.peak_knee_flexion_s + LANDING_TAIL_S, reasons)
    return landing.model_copy(update={"quality": quality})


def _result_warnings(
    movement: Movement,
    kin: Kinematics,
    reps: list[RepResult],
    landings: list[LandingResult],
    skipped: int,
    jumps: LeftOut | None = None,
) -> list[str]:
    warnings: list[str] = []
    if jumps is not None and jumps.jump_squats:
        warnings.append(
            f"{jumps.jump_squats} rep(s) ended in a jump (both feet left the floor): jump squats are not "
            f"scored as squat reps. Analyse the clip as a landing to check how the jumps land."
        )
    if jumps is not None and jumps.landing_gives:
        warnings.append(
            f"{jumps.landing_gives} bend(s) of the knees straight after landing from a jump were not "
            f"counted as squat reps: a squat starts from standing."
        )
    if jumps is not None and jumps.unseen_bottoms:
        at = ", ".join(f"{x:.1f} s" for x in jumps.unseen_bottoms)
        warnings.append(
            f"A bend at {at} was not counted as a rep: the pose track lost the body around its lowest "
            f"point, so the frames cannot show a rep there."
        )
    if movement == "landing":
        if not landings:
            warnings.append(
                "No landing was found: the feet never fell and stopped. Check the movement and that the feet "
                "are in view."
            )
        if skipped:
            warnings.append(
                f"{skipped} landing(s) were found but the legs were not seen well enough to measure."
            )
        if 0 < kin.fps < LOW_FPS_LANDING:
            warnings.append(
                f"At {kin.fps:.0f} frames per second, touch-down timing is only accurate to about "
                f"{1000 / kin.fps:.0f} ms; film at 30 fps or more (60 is better) for landings."
            )
    else:
        if not reps:
            warnings.append(
                "No reps were found: the main joint never bent and straightened by at least 15 degrees. "
                "Check the movement choice and that the legs are in view."
            )
        partial = [r.rep for r in reps if r.partial]
        if partial:
            warnings.append(
                f"The clip cuts into rep(s) {', '.join(map(str, partial))}; their timing is incomplete."
            )
    return warnings


def _summary(
    movement: Movement, reps: list[RepResult], landings: list[LandingResult], cues: list[str]
) -> dict[str, float | int | str | None]:
    summary: dict[str, float | int | str | None] = {"cues": ",".join(cues)}
    if movement == "landing":
        summary["landings"] = len(landings)
        summary["landings_poor_track"] = sum(1 for x in landings if x.quality.level == "poor")
        landings = [x for x in landings if x.quality.level != "poor"]
        if landings:
            summary["median_knee_flexion_ic_deg"] = round(
                float(np.median([x.knee_flexion_ic_deg for x in landings])), 1
            )
            summary["median_peak_knee_flexion_deg"] = round(
                float(np.median([x.peak_knee_flexion_deg for x in landings])), 1
            )
            totals = [x.less_total_measured for x in landings if x.less_total_measured is not None]
            summary["less_measured_items_max_total"] = max(totals) if totals else None
        return summary
    summary["reps"] = len(reps)
    for kind in ("hips", "knees", "together", "unknown"):
        summary[f"reps_{kind}"] = sum(1 for r in reps if r.initiation == kind)
    summary["reps_poor_track"] = sum(1 for r in reps if r.quality.level == "poor")
    lags = [r.lag_ms for r in reps if r.lag_ms is not None]
    summary["median_lag_ms"] = round(float(np.median(lags))) if lags else None
    depths = [r.depth_deg for r in reps if r.depth_deg is not None]
    summary["median_depth_deg"] = round(float(np.median(depths)), 1) if depths else None
    valgus = [r.valgus_deg for r in reps if r.valgus_deg is not None]
    summary["max_valgus_deg"] = round(max(valgus), 1) if valgus else None
    return summary


def _settings(series: LandmarkSeries, kin: Kinematics) -> dict[str, float | int | str | None]:
    """How the clip was read: why this side, the filter cut-off, whether frame timing varied."""
    return {
        "side_reason": kin.side_reason,
        "cutoff_hz": round(kin.cutoff_hz, 2),
        "variable_frame_rate": str(is_irregular(series.time_s)).lower(),
    }


def analyze_series(
    series: LandmarkSeries, movement: Movement, side: SideChoice = "auto"
) -> tuple[Report, Kinematics]:
    """Analyse one clip's landmarks for ``movement``; the report plus the per-frame angles behind it.

    Where the view changes during the clip (the camera or the person turns, e.g. front then side),
    each stretch of one view is analysed on its own with that view's measures, and the report lists
    the stretches in ``segments``; the per-frame angles returned are the whole clip's, read as its
    longest view.
    """
    _check_series(series, movement)
    if side not in ("auto", "left", "right"):
        raise InputError(f"unknown side {side!r}; choose auto, left or right")
    report, kin = _analyze_one(series, movement, side)
    stretches = view_segments(series.time_s, series.xy, series.z)
    if len(stretches) < 2:
        return report, kin
    return _analyze_stretches(series, movement, side, report, stretches), kin


def _slice(series: LandmarkSeries, start: int, stop: int) -> LandmarkSeries:
    return replace(
        series,
        frame=series.frame[start:stop],
        time_s=series.time_s[start:stop],
        xy=series.xy[start:stop],
        z=series.z[start:stop],
        visibility=series.visibility[start:stop],
        warnings=[],
    )


def _analyze_stretches(
    series: LandmarkSeries,
    movement: Movement,
    side: SideChoice,
    whole: Report,
    stretches: list[tuple[int, int, View]],
) -> Report:
    """One report from the stretches of a clip whose view changes, each analysed on its own."""
    reps: list[RepResult] = []
    landings: list[LandingResult] = []
    feedback: list[str] = []
    cues: list[str] = []
    segments: list[ViewSegment] = []
    bounds = [f"{series.time_s[a]:.1f}-{series.time_s[b - 1]:.1f} s ({v} view)" for a, b, v in stretches]
    warnings = [
        *series.warnings,
        f"The view changes during the clip: {', '.join(bounds)}. Each stretch was analysed with the "
        f"measures its own view allows.",
    ]
    for (start, stop, _), label in zip(stretches, bounds, strict=True):
        part = _slice(series, start, stop)
        try:
            report, kin = _analyze_one(part, movement, side)
        except VideoError as error:
            warnings.append(f"{label}: {error}")
            continue
        segments.append(
            ViewSegment(start_s=float(part.time_s[0]), end_s=float(part.time_s[-1]), view=kin.view)
        )
        part_reps = [r.model_copy(update={"rep": len(reps) + i + 1}) for i, r in enumerate(report.reps)]
        part_landings = [
            x.model_copy(update={"landing": len(landings) + i + 1}) for i, x in enumerate(report.landings)
        ]
        lines, used = build_feedback(
            movement, kin.view, part_reps, part_landings, margin_ms=agreement_s(kin.fps) * 1000.0
        )
        feedback += [f"{label}: {line}" for line in lines]
        cues += [c for c in used if c not in cues]
        warnings += [f"{label}: {w}" for w in report.warnings]
        reps += part_reps
        landings += part_landings
    longest = max(segments, key=lambda g: g.end_s - g.start_s).view if segments else whole.view
    return whole.model_copy(
        update={
            "view": longest,
            "warnings": warnings,
            "feedback": feedback,
            "reps": reps,
            "landings": landings,
            "segments": segments,
            "summary": _summary(movement, reps, landings, cues)
            | {
                k: v
                for k, v in whole.summary.items()
                if k in ("side_reason", "cutoff_hz", "variable_frame_rate")
            },
        }
    )


def _analyze_one(series: LandmarkSeries, movement: Movement, side: SideChoice) -> tuple[Report, Kinematics]:
    """The analysis of a stretch of frames filmed from one view."""
    seen = person_frames(series)
    found = int(seen.sum())
    if found == 0:
        raise VideoError("No person was found in any frame; film the whole body from head to toes.")
    if found < MIN_FRAMES:
        raise VideoError(
            f"A person was found in only {found} frame(s); at least {MIN_FRAMES} are needed to analyse "
            f"a movement."
        )
    kin = compute_kinematics(series, movement, side)
    warnings = list(series.warnings) + _frame_warnings(series, kin, seen)
    warnings += _view_warnings(movement, kin) + _angle_warnings(kin)
    reps: list[RepResult] = []
    landings: list[LandingResult] = []
    skipped = 0
    jumps = None
    sides: tuple[Side, ...] = ("left", "right")
    paired = movement != "single-leg-squat"
    checks = {s: check_track(series, s, kin.view, paired, kin.oblique) for s in sides}
    if movement == "landing":
        landings, skipped = analyze_landings(kin)
        landings = [
            _landing_quality(x, checks, kin.side, kin.view).model_copy(update={"view": kin.view})
            for x in landings
        ]
    else:
        reps, jumps = analyze_reps(kin, checks)
    warnings += _result_warnings(movement, kin, reps, landings, skipped, jumps)
    margin_ms = agreement_s(kin.fps) * 1000.0
    feedback, cues = build_feedback(movement, kin.view, reps, landings, margin_ms=margin_ms)
    duration = float(series.time_s[-1] - series.time_s[0]) if len(series) > 1 else 0.0
    report = Report(
        movement=movement,
        fps=round(series.fps, 3),
        side=kin.side,
        view=kin.view,
        source=series.source,
        duration_s=round(duration, 3),
        frames=len(series),
        frames_with_person=found,
        warnings=warnings,
        feedback=feedback,
        reps=reps,
        landings=landings,
        summary=_summary(movement, reps, landings, cues) | _settings(series, kin),
    )
    return report, kin
