"""Joint angles per frame from cleaned 2-D landmarks.

Conventions (all in degrees, NaN where a landmark is unknown):

* Every angle is ``atan2(cross, dot)`` between two segment vectors, taken in a "forward-up" frame: image
  x multiplied by the facing direction (so forward is positive whichever way the person faces) and image
  y negated (image y points down). Flexion is 0 standing upright and positive when the joint bends.
* hip flexion: trunk (shoulder->hip, extended downwards) to thigh (hip->knee).
* knee flexion: thigh (hip->knee) to shank (knee->ankle); 180 - the "interior" angle pose tools report.
* ankle dorsiflexion: shank vs foot (heel->toe) minus the neutral 90; plantar flexion is negative.
* trunk inclination: trunk (hip->shoulder) from vertical, positive leaning forward.
* valgus (front view only): the knee's frontal-plane projection angle, hip->knee vs knee->ankle, positive
  when the knee sits medial (towards the other leg) of the hip-ankle line, for either leg; unknown in
  a bend so deep that the thigh points at the camera.

From the side, sagittal angles are measured directly in the image plane. From the front they can only be
*estimated* from foreshortening (a thigh tilting towards the camera looks shorter: angle = arccos(length /
standing length)); the report says so. The analysed side and the view are decided once per clip
(:mod:`kneefix.motion.side`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from kneefix.motion.side import ViewEstimate, decide_side, detect_facing, detect_view, point
from kneefix.motion.smoothing import choose_cutoff, clean_landmarks
from kneefix.motion.types import LandmarkSeries, Movement, Side, SideChoice, View

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

STANDING_LENGTH_PERCENTILE = 95.0  # a segment's full length, for the front-view foreshortening estimate
FPPA_MIN_THIGH_FRACTION = 0.5  # below this share of its full length the thigh is too end-on for a FPPA


@dataclass
class Kinematics:
    """Per-frame angles of the analysed side, aligned with the input frames (``time_s`` are theirs)."""

    time_s: FloatArray
    hip_flexion: FloatArray
    knee_flexion: FloatArray
    ankle_dorsiflexion: FloatArray
    trunk_inclination: FloatArray
    valgus_left: FloatArray
    valgus_right: FloatArray
    side: Side
    view: View
    cutoff_hz: float
    movement: Movement = "squat"
    facing: int = 1
    fps: float = 0.0
    width_ratio: float = float("nan")
    turn_deg: float = float("nan")
    oblique: bool = False
    side_reason: str = ""
    trunk_lateral: FloatArray = field(default_factory=lambda: np.zeros(0))
    knee_flexion_left: FloatArray = field(default_factory=lambda: np.zeros(0))
    knee_flexion_right: FloatArray = field(default_factory=lambda: np.zeros(0))
    xy: FloatArray = field(default_factory=lambda: np.zeros((0, 33, 2)))
    frame: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def present(self) -> BoolArray:
        """Frames where the analysed leg's hip and knee angles are known."""
        result: BoolArray = np.isfinite(self.knee_flexion) & np.isfinite(self.hip_flexion)
        return result

    def angle_columns(self) -> dict[str, FloatArray]:
        """The angle tracks written to angles.csv / angles.mot, by column name."""
        return {
            "hip_flexion": self.hip_flexion,
            "knee_flexion": self.knee_flexion,
            "ankle_dorsiflexion": self.ankle_dorsiflexion,
            "trunk_inclination": self.trunk_inclination,
            "valgus_left": self.valgus_left,
            "valgus_right": self.valgus_right,
        }


def signed_angle(a: FloatArray, b: FloatArray) -> FloatArray:
    """Counter-clockwise angle from vectors ``a`` to ``b`` (``(N, 2)``, x right / y up), in degrees."""
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    dot = a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1]
    result: FloatArray = np.degrees(np.arctan2(cross, dot))
    return result


def wrap_degrees(angle: FloatArray) -> FloatArray:
    """Map angles to (-180, 180]: offsets like ``90 - x`` would otherwise reach 270."""
    wrapped: FloatArray = 180.0 - np.mod(180.0 - angle, 360.0)
    return wrapped


def _forward_up(vectors: FloatArray, facing: int) -> FloatArray:
    """Image vectors to the person's forward/up frame (x times facing, y flipped)."""
    out = np.empty_like(vectors)
    out[:, 0] = facing * vectors[:, 0]
    out[:, 1] = -vectors[:, 1]
    return out


def _prefer(xy: FloatArray, name: str, side: Side) -> FloatArray:
    """The analysed side's landmark, the other side's where the analysed one is unknown."""
    other: Side = "right" if side == "left" else "left"
    mine, theirs = point(xy, f"{side}_{name}"), point(xy, f"{other}_{name}")
    return np.where(np.isfinite(mine), mine, theirs)


def sagittal_angles(xy: FloatArray, side: Side, facing: int) -> dict[str, FloatArray]:
    """Hip, knee, ankle and trunk angles measured in the image plane (side view)."""
    hip, knee, ankle = (point(xy, f"{side}_{n}") for n in ("hip", "knee", "ankle"))
    heel, toe = point(xy, f"{side}_heel"), point(xy, f"{side}_foot_index")
    shoulder = _prefer(xy, "shoulder", side)
    trunk = _forward_up(shoulder - hip, facing)
    thigh = _forward_up(knee - hip, facing)
    shank = _forward_up(ankle - knee, facing)
    foot = _forward_up(toe - heel, facing)
    up = np.tile([0.0, 1.0], (xy.shape[0], 1))
    return {
        "hip_flexion": signed_angle(-trunk, thigh),
        "knee_flexion": signed_angle(shank, thigh),
        # Wrapped to (-180, 180] so the seam sits at an impossible -90 deg, not inside the real range.
        "ankle_dorsiflexion": wrap_degrees(90.0 - signed_angle(foot, -shank)),
        "trunk_inclination": signed_angle(trunk, up),
    }


def _tilt_from_length(length: FloatArray) -> FloatArray:
    """Angle out of the image plane from how short a segment looks against its standing length."""
    finite = length[np.isfinite(length)]
    if finite.size == 0:
        return np.full_like(length, np.nan)
    full = float(np.percentile(finite, STANDING_LENGTH_PERCENTILE))
    if full <= 0:
        return np.full_like(length, np.nan)
    result: FloatArray = np.degrees(np.arccos(np.clip(length / full, 0.0, 1.0)))
    return result


def frontal_estimates(xy: FloatArray, side: Side) -> dict[str, FloatArray]:
    """Approximate sagittal angles from a front view, by foreshortening of trunk, thigh and shank."""
    hip, knee, ankle = (point(xy, f"{side}_{n}") for n in ("hip", "knee", "ankle"))
    mid_shoulder = (point(xy, "left_shoulder") + point(xy, "right_shoulder")) / 2
    mid_hip = (point(xy, "left_hip") + point(xy, "right_hip")) / 2
    thigh = _tilt_from_length(np.linalg.norm(knee - hip, axis=1))
    shank = _tilt_from_length(np.linalg.norm(ankle - knee, axis=1))
    trunk = _tilt_from_length(np.linalg.norm(mid_shoulder - mid_hip, axis=1))
    return {
        "hip_flexion": thigh + trunk,
        "knee_flexion": thigh + shank,
        "ankle_dorsiflexion": shank,
        "trunk_inclination": trunk,
    }


def knee_flexion_estimate(xy: FloatArray, side: Side, view: View, facing: int) -> FloatArray:
    """One leg's knee flexion, measured (side view) or estimated (front view)."""
    if view == "front":
        return frontal_estimates(xy, side)["knee_flexion"]
    return sagittal_angles(xy, side, facing)["knee_flexion"]


FPPA_MAX_DEG = 45.0
"""Beyond this a frontal-plane projection angle is not a knee position: published means in people with
patellofemoral pain are 17-22 degrees with SDs of 4-6 (clinical.md §6.2), so 45 is far outside."""


def valgus_angle(xy: FloatArray, side: Side) -> FloatArray:
    """Frontal-plane projection angle of one knee; positive = knee medial of the hip-ankle line.

    NaN where the thigh shows less than half its full length: in a deep bend seen from the front the
    thigh points at the camera, its image is a stub, and the angle swings wildly (it is defined for
    the shallow bend of a single-leg squat or a landing, not the bottom of a deep squat). NaN too where
    the knee is imaged at or above the hip (a wide, deep squat: the line hip-knee-ankle folds back on
    itself) and where the angle is beyond what a knee can show (|angle| > FPPA_MAX_DEG): such a number
    is a pose-track artefact, never a finding.
    """
    other: Side = "right" if side == "left" else "left"
    hip, knee, ankle = (point(xy, f"{side}_{n}") for n in ("hip", "knee", "ankle"))
    flip = np.array([1.0, -1.0])
    angle = signed_angle((knee - hip) * flip, (ankle - knee) * flip)
    medial_x = point(xy, f"{other}_hip")[:, 0] - hip[:, 0]
    finite = medial_x[np.isfinite(medial_x)]
    medial = float(np.sign(np.median(finite))) if finite.size else 0.0
    if medial == 0.0:
        return np.full(xy.shape[0], np.nan)
    thigh = np.linalg.norm(knee - hip, axis=1)
    finite_thigh = thigh[np.isfinite(thigh)]
    if finite_thigh.size:
        full = float(np.percentile(finite_thigh, STANDING_LENGTH_PERCENTILE))
        with np.errstate(invalid="ignore"):
            angle = np.where(thigh >= FPPA_MIN_THIGH_FRACTION * full, angle, np.nan)
    with np.errstate(invalid="ignore"):
        below_hip = knee[:, 1] > hip[:, 1]  # image y grows downwards
        angle = np.where(below_hip & (np.abs(angle) <= FPPA_MAX_DEG), angle, np.nan)
    result: FloatArray = -medial * angle
    return result


def lateral_trunk_tilt(xy: FloatArray) -> FloatArray:
    """Sideways lean of the trunk from vertical in a front view (degrees, sign = towards image right)."""
    mid_shoulder = (point(xy, "left_shoulder") + point(xy, "right_shoulder")) / 2
    mid_hip = (point(xy, "left_hip") + point(xy, "right_hip")) / 2
    trunk = (mid_shoulder - mid_hip) * np.array([1.0, -1.0])
    up = np.tile([0.0, 1.0], (xy.shape[0], 1))
    result: FloatArray = -signed_angle(up, trunk)
    return result


def kinematics_from_clean(
    series: LandmarkSeries,
    xy: FloatArray,
    movement: Movement,
    side: SideChoice,
    cutoff: float,
) -> Kinematics:
    """Angles from already-cleaned landmarks (split out so tests can feed exact, noise-free landmarks)."""
    view_estimate: ViewEstimate = detect_view(xy, series.z)
    view = view_estimate.view
    chosen, reason = decide_side(series, xy, movement, side)
    facing = detect_facing(xy)
    angles = frontal_estimates(xy, chosen) if view == "front" else sagittal_angles(xy, chosen, facing)
    n = xy.shape[0]
    nan = np.full(n, np.nan)
    frontal = view != "side"
    return Kinematics(
        time_s=series.time_s.astype(np.float64),
        hip_flexion=angles["hip_flexion"],
        knee_flexion=angles["knee_flexion"],
        ankle_dorsiflexion=angles["ankle_dorsiflexion"],
        trunk_inclination=angles["trunk_inclination"],
        valgus_left=valgus_angle(xy, "left") if frontal else nan.copy(),
        valgus_right=valgus_angle(xy, "right") if frontal else nan.copy(),
        side=chosen,
        view=view,
        cutoff_hz=cutoff,
        movement=movement,
        facing=facing,
        fps=series.fps,
        width_ratio=view_estimate.width_ratio,
        turn_deg=view_estimate.yaw_deg,
        oblique=view_estimate.oblique,
        side_reason=reason,
        trunk_lateral=lateral_trunk_tilt(xy) if frontal else nan.copy(),
        knee_flexion_left=knee_flexion_estimate(xy, "left", view, facing),
        knee_flexion_right=knee_flexion_estimate(xy, "right", view, facing),
        xy=xy,
        frame=series.frame.astype(np.int64),
    )


def for_side(kin: Kinematics, side: Side) -> Kinematics:
    """The same clip's angles measured on the other leg (a single-leg squat that changes legs)."""
    if side == kin.side:
        return kin
    if kin.view == "front":
        angles = frontal_estimates(kin.xy, side)
    else:
        angles = sagittal_angles(kin.xy, side, kin.facing)
    return replace(
        kin,
        side=side,
        hip_flexion=angles["hip_flexion"],
        knee_flexion=angles["knee_flexion"],
        ankle_dorsiflexion=angles["ankle_dorsiflexion"],
        trunk_inclination=angles["trunk_inclination"],
        side_reason=f"{kin.side_reason}; this rep stands on the {side} leg",
    )


def compute_kinematics(series: LandmarkSeries, movement: Movement, side: SideChoice = "auto") -> Kinematics:
    """Clean the landmarks (see :mod:`kneefix.motion.smoothing`) and compute the per-frame angles."""
    cutoff = choose_cutoff(movement, series.fps)
    xy = clean_landmarks(series, cutoff)
    return kinematics_from_clean(series, xy, movement, side, cutoff)
