"""Data types shared by the motion-analysis stages.

``video -> pose -> LandmarkSeries -> kinematics -> events -> findings -> Report``.
Every stage takes and returns these, so each can be tested alone and a landmark CSV can enter the
pipeline where a video would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

Movement = Literal["squat", "deadlift", "landing", "single-leg-squat"]
SideChoice = Literal["auto", "left", "right"]
Side = Literal["left", "right"]
View = Literal["side", "front", "unknown"]

# BlazePose's 33 landmarks, in MediaPipe's order and names (the landmark CSV is a public contract).
LANDMARK_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)  # fmt: skip
LANDMARK_INDEX: dict[str, int] = {name: i for i, name in enumerate(LANDMARK_NAMES)}


@dataclass
class LandmarkSeries:
    """Pose landmarks for every frame of a clip, in image pixels (origin top-left, y down).

    Frames with no person are NaN in ``xy``/``z`` and 0 in ``visibility``.
    """

    frame: NDArray[np.int64]  # (N,) frame index in the source
    time_s: NDArray[np.float64]  # (N,) from the frames' timestamps, seconds from the start
    xy: NDArray[np.float64]  # (N, 33, 2) pixels
    z: NDArray[np.float64]  # (N, 33) MediaPipe's relative depth, NaN when unknown
    visibility: NDArray[np.float64]  # (N, 33) 0..1
    width: int
    height: int
    source: str = ""
    size_inferred: bool = False  # True when width/height were guessed from the landmarks (CSV input)
    # How the input was read, in plain words (e.g. a CSV's coordinates converted from MediaPipe's normalised
    # scale); the analysis puts these first among the report's warnings, so no conversion goes unmentioned.
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def fps(self) -> float:
        """Average frame rate from the timestamps (phone clips are often variable-rate)."""
        if len(self) < 2:
            return 0.0
        span = float(self.time_s[-1] - self.time_s[0])
        return (len(self) - 1) / span if span > 0 else 0.0


class LessItem(BaseModel):
    number: int = Field(ge=1, le=17)
    name: str
    error: int | None = Field(description="points scored; None when this view cannot measure it")
    measurable: bool
    value: float | None = None
    note: str = ""


class Quality(BaseModel):
    """How far one rep's or landing's pose track can be trusted (see :mod:`kneefix.motion.quality`)."""

    level: Literal["good", "fair", "poor"] = "good"
    reasons: list[str] = Field(default_factory=list)


class RepResult(BaseModel):
    rep: int
    start_s: float
    bottom_s: float
    end_s: float
    hip_onset_s: float | None
    knee_onset_s: float | None
    lag_ms: float | None = Field(description="knee onset minus hip onset, ms; positive = hips first")
    initiation: Literal["hips", "knees", "together", "unknown"]
    peak_hip_flexion_deg: float
    peak_knee_flexion_deg: float
    depth_deg: float | None = None
    lowering_s: float | None = None
    rising_s: float | None = None
    early_hip_knee_ratio: float | None = None
    valgus_deg: float | None = Field(default=None, description="frontal-plane projection angle at peak")
    valgus_left_deg: float | None = None
    valgus_right_deg: float | None = None
    knee_feet_width_ratio: float | None = Field(
        default=None, description="front view: knee distance / toe distance at the bottom (< 0.7: knees in)"
    )
    partial: bool = Field(default=False, description="the clip cuts into this rep (starts/ends mid-rep)")
    quality: Quality = Field(default_factory=Quality)
    stance: Side | None = Field(default=None, description="single-leg squat: the leg standing in this rep")
    view: View = "unknown"
    initiation_note: str = Field(default="", description="why the initiation is unknown, in words")


class LandingResult(BaseModel):
    landing: int
    initial_contact_s: float
    hip_flexion_ic_deg: float
    knee_flexion_ic_deg: float
    peak_knee_flexion_s: float
    peak_knee_flexion_deg: float
    hip_flexion_at_peak_knee_deg: float
    knee_flexion_displacement_deg: float | None = None
    hip_knee_ratio: float | None = None
    trunk_flexion_ic_deg: float | None = None
    trunk_flexion_at_peak_knee_deg: float | None = None
    valgus_ic_deg: float | None = None
    valgus_peak_deg: float | None = None
    hip_flexion_displacement_deg: float | None = None
    ankle_dorsiflexion_ic_deg: float | None = None
    valgus_left_peak_deg: float | None = None
    valgus_right_peak_deg: float | None = None
    initial_contact_left_s: float | None = None
    initial_contact_right_s: float | None = None
    less: list[LessItem] = Field(default_factory=list)
    less_total_measured: int | None = None
    quality: Quality = Field(default_factory=Quality)
    view: View = "unknown"


class ViewSegment(BaseModel):
    """A stretch of the clip filmed from one view; a clip where the camera or person turns has several."""

    start_s: float
    end_s: float
    view: View


class Report(BaseModel):
    """``report.json``: a public contract, documented in README."""

    movement: Movement
    fps: float
    side: Side
    view: View = "unknown"
    source: str = ""
    duration_s: float = 0.0
    frames: int = 0
    frames_with_person: int = 0
    warnings: list[str] = Field(default_factory=list)
    feedback: list[str] = Field(default_factory=list)
    reps: list[RepResult] = Field(default_factory=list)
    landings: list[LandingResult] = Field(default_factory=list)
    summary: dict[str, float | int | str | None] = Field(default_factory=dict)
    segments: list[ViewSegment] = Field(
        default_factory=list, description="views per stretch when the view changes; empty when it does not"
    )
