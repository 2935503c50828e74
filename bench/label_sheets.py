"""Frame sheets (PNG contact sheets) for independent human raters of the real clips.

Two raters label the real clips in ``../shared/data/videos`` frame by frame, without seeing the analysis'
answers, so that its timings can be checked against people rather than against our own rough labels:

* **onset** sheets, one per rep of every side-view squat, deadlift/RDL and single-leg-squat clip: every
  frame from just before the lowering starts until it is clearly under way, one fixed crop, and three
  fixed reference lines from the window's first frame (hip height, hip x, knee x), so a rater can see on
  which frame the hips and the knees leave their standing position;
* **contact** sheets, one per jump landing: every frame around the landing, cropped to the lower legs and
  feet, for the first frame a foot touches the floor;
* **overview** sheets, one per clip: a tile every 0.25 s, to count reps and landings.

The analysis is used only to *place* the windows (rep bottoms, landing contacts, and the joint angles to
see when a lowering is clearly under way). Nothing it concludes (onsets, lags, hips/knees calls) is drawn
on a sheet or written to the index. Frame numbers are the clip's decoded frames counted from 0, the same
numbering as ``kneefix.motion.video.iter_frames`` and the landmark series.

Everything goes to ``--out`` (default ``/tmp/sheets``): the sheets, ``index.json``, ``README.txt`` (the
raters' instructions), ``answers_template.json``, a pose-landmark cache (``cache/<clip>.npz``) so
reruns are cheap, and ``cache/run_log.json`` (per clip: frames, pose warnings, sheet counts, and the
repository commit plus a digest of uncommitted ``src`` changes, i.e. the analysis that placed the
windows; it is for us, not for the raters). A landing the pose track misses can be added by hand in
``BY_EYE_CONTACTS``. The script never writes into the repository and refuses an output folder inside it;
no video data or frame ever belongs in the repository.

Run: ``.venv/bin/python bench/label_sheets.py [--out /tmp/sheets] [--only SUBSTRING ...]``.
Pose runs one clip at a time with one worker (about 30 frames/s per core).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont
from scipy.signal import find_peaks

from kneefix.motion.analyze import analyze_series
from kneefix.motion.kinematics import Kinematics
from kneefix.motion.pipeline import video_to_landmarks
from kneefix.motion.types import LandmarkSeries, Movement, Report
from kneefix.motion.video import VideoInfo, iter_frames, probe

FloatArray = NDArray[np.float64]
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in source pixels, x1/y1 exclusive
Kind = Literal["onset", "contact", "overview"]

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
LABELS = ROOT / "tests" / "video" / "labels.yaml"
DEFAULT_OUT = Path("/tmp/sheets")

ONSET_FOLDERS = ("squat_side", "deadlift_side", "single_leg_squat_side")
CONTACT_FOLDERS = ("landing_front", "landing_side", "landing_oblique")
JUMP_SQUATS = "squat_side_sagor_deep_bodyweight.mp4"  # in squat_side, but its reps end in jumps
ANALYSIS_MOVEMENT: dict[str, Movement] = {
    "squat": "squat",
    "deadlift": "deadlift",
    "romanian_deadlift": "deadlift",
    "single_leg_squat": "single-leg-squat",
    "jump_landing": "landing",
}

# BlazePose landmark numbers.
FACE = tuple(range(11))
HEAD_EXTRA = 0.08  # the crown is above the eye and ear landmarks: this share of the box more on top
SHOULDERS = (11, 12)
HIPS = (23, 24)
KNEES = (25, 26)
ANKLES = (27, 28)
HEELS = (29, 30)
TOES = (31, 32)
LOWER_LEGS = (*KNEES, *ANKLES, *HEELS, *TOES)
BOX_VISIBILITY = 0.3  # landmarks at least this visible count towards a crop box (face points always)

# Onset windows.
ONSET_LOOKBACK_S = 2.0
ONSET_SEARCH_S = 4.0  # how far before the bottom a lowering is looked for
ONSET_BEFORE_CLEAR_S = 1.0  # the window reaches at least this far before the lowering is under way
ONSET_AFTER_CLEAR_S = 0.25
ONSET_MIN_S = 1.0
ONSET_MAX_FRAMES = 70
ONSET_KEEP_BEFORE_S = 0.6  # when trimming a long window, keep this much before the first joint moves
CLEAR_FRACTION = 0.35  # "clearly under way": a joint has covered this share of its range to the bottom
MIN_RANGE_DEG = 8.0
REF_SEARCH_FRAMES = 5  # reference lines come from one of a window's first frames
TORSO_TO_LEG = (0.3, 1.0)  # believable shoulder-hip length over hip-knee + knee-ankle
THIGH_TO_SHANK = (0.6, 1.7)
STANDING_FRACTION = 0.15  # "back up": hip + knee flexion within this share of its range of the least

# Contact windows.
CONTACT_BEFORE_S = 0.35
CONTACT_AFTER_S = 0.25

# Landings the pose track misses, placed by eye from the frames: window centre (s) and crop as
# fractions of the picture (x0, y0, x1, y1).
BY_EYE = "placed by eye from the frames (the pose track is on someone else here)"
BY_EYE_CONTACTS: dict[str, list[tuple[float, tuple[float, float, float, float]]]] = {
    # The drop from the roof lands while the track follows a walker (labels.yaml notes it).
    "landing_side_sports2d_parkour_drop_outdoor.mp4": [(6.25, (0.42, 0.45, 0.78, 1.0))],
}

OVERVIEW_STEP_S = 0.25

# Sheet layout.
TILE_H = 220
MIN_OVERVIEW_TILE_H = 140
MAX_TILE_W = 700
MIN_ASPECT = 0.5  # crops narrower than this (width / height) are widened
MAX_SHEET_PX = 2000
MAX_COLS = 10
GAP = 4
PAD = 8
FONT_SIZE = 14
LABEL_FONT_SIZE = 15
CAPTION_H = 2 * LABEL_FONT_SIZE + 4  # strip above each tile: frame number, then time
LINE_ALPHA = 170
DASH = 5  # px, the knee line's dashes
BACKGROUND = (40, 40, 40)
# Reference lines: name, colour, what it is.
HIP_Y_COLOUR = (0, 230, 255)  # cyan
HIP_X_COLOUR = (255, 60, 220)  # magenta
KNEE_X_COLOUR = (255, 220, 0)  # yellow

README = """\
Frame sheets for labelling real exercise clips
==============================================

Please work on your own: do not compare answers with the other rater, and do not look up any other
results for these clips. Every sheet shows consecutive frames of one clip (or, on overview sheets, one
frame every 0.25 s). Each tile is labelled with its frame number (frames of the clip counted from 0)
and its time in seconds. Read the frame number from the tile; the times are for reference.
index.json lists every sheet with its frames and their times; answers_template.json has one empty entry
per sheet to fill in (frame numbers as integers, confidences as "high" or "low", anything unknown null).
The windows were placed automatically, so a sheet may not show what it is meant to (no lowering, no
landing, someone else): then answer null and say so in a note if you like.

ONSET sheets (onset/<clip>__rep<k>.png, sometimes split into parts a and b)
----------------------------------------------------------------------------
Each sheet covers the start of one lowering (a squat going down, or a deadlift/RDL bending forward).
All tiles use the same crop, and three thin lines are drawn at the same place on every tile, taken from
the sheet's first frame (the frame named in the sheet's header):
  cyan horizontal line    - hip height in that first frame
  magenta vertical line   - hip position (front-back) in that first frame
  yellow dashed vertical  - knee position (front-back) in that first frame (where it lies on the
                            magenta line, the line shows both colours in turn)
The lines were placed by a pose model and may sit a little off the joint; judge the movement of the
body against them, not whether they touch the joint exactly.
For each onset sheet give:
  hip_onset_frame   - the first frame on which the hips visibly start to move out of their standing
                      position: the pelvis moving backwards or down, or the trunk starting to tip forward.
  knee_onset_frame  - the first frame on which the knees visibly start to bend: the knee moving forward
                      or down from its standing position.
  Give the frame where the movement begins, not where it becomes large; if it is only visible when
  comparing with frames a few tiles later, step back to the first frame that already differs.
  Use null for either answer when the sheet does not let you tell, for example: there are no still frames
  before the movement (it is already moving in the first tile), that part of the body is hidden or out
  of the picture, the person is walking or shifting about rather than starting a rep, or the movement
  does not start within the sheet.
  hip_confidence, knee_confidence (optional) - "high" or "low", for each answer.
  If a rep is split into parts a and b, treat the parts as one sequence and answer once (in part a's
  entry), giving frame numbers as printed.

CONTACT sheets (contact/<clip>__landing<k>.png)
-----------------------------------------------
Each sheet covers one landing after a jump or drop, cropped to the lower legs and feet.
  contact_frame - the first frame on which any part of either foot (toes or heel) is on the floor after
                  being in the air. Use null if the feet are hidden, the person is not in the air before
                  the sheet's frames, or the contact cannot be seen.
  confidence (optional) - "high" or "low".

OVERVIEW sheets (overview/<clip>.png)
-------------------------------------
One frame every 0.25 s across the whole clip, cropped to the part of the picture the person moves in.
  full_reps      - the number of full reps: a lowering from standing and the rise back to standing
                   (for squats, deadlifts/RDLs and single-leg squats).
  partial_reps   - any reps cut off by the start or end of the clip, or not from/back to standing:
                   say roughly where (frame numbers) and what is missing.
  landings       - the number of landings after a jump or drop, with approximate frame numbers.
  notes          - anything else that matters (a second person, the person walking in or out, camera
                   moving, the body leaving the picture).
Leave a field null where it does not apply to the clip.
"""


# --------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Clip:
    """One manifest clip and what sheets it gets."""

    path: Path
    folder: str
    movement: str  # the manifest's word
    view: str
    onset: bool
    contact: bool

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stem(self) -> str:
        return self.path.stem


def load_clips(data: Path) -> list[Clip]:
    manifest = json.loads((data / "manifest.json").read_text())
    clips: list[Clip] = []
    for entry in manifest["videos"]:
        path = data / entry["path"]
        folder = path.parent.name
        onset = folder in ONSET_FOLDERS and path.name != JUMP_SQUATS
        contact = folder in CONTACT_FOLDERS or path.name == JUMP_SQUATS
        clips.append(Clip(path, folder, str(entry["movement"]), str(entry["view"]), onset, contact))
    return clips


def load_labels(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    doc = yaml.safe_load(path.read_text()) or {}
    clips: dict[str, dict[str, Any]] = doc.get("clips") or {}
    return clips


def landmarks(info: VideoInfo, cache: Path) -> tuple[LandmarkSeries, list[str]]:
    """The clip's pose landmarks, from ``cache`` when it was made from this very file."""
    file = cache / f"{info.path.stem}.npz"
    stat = info.path.stat()
    stamp = np.array([stat.st_size, stat.st_mtime_ns], dtype=np.int64)
    if file.exists():
        with np.load(file, allow_pickle=False) as saved:
            if np.array_equal(saved["stamp"], stamp):
                series = LandmarkSeries(
                    frame=saved["frame"],
                    time_s=saved["time_s"],
                    xy=saved["xy"],
                    z=saved["z"],
                    visibility=saved["visibility"],
                    width=int(saved["size"][0]),
                    height=int(saved["size"][1]),
                    source=info.path.name,
                )
                return series, [str(w) for w in saved["warnings"]]
    print(f"  pose: {info.path.name} ({info.frame_count} frames)", file=sys.stderr, flush=True)
    series, warnings = video_to_landmarks(info, workers=1)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        file,
        stamp=stamp,
        frame=series.frame,
        time_s=series.time_s,
        xy=series.xy,
        z=series.z,
        visibility=series.visibility,
        size=np.array([series.width, series.height], dtype=np.int64),
        warnings=np.array(warnings, dtype=np.str_),
    )
    return series, warnings


# ------------------------------------------------------------------------------------------- planning


@dataclass
class RefLines:
    """Fixed reference lines from one frame, source pixels."""

    frame: int
    side: Literal["left", "right"]
    hip_y: float
    hip_x: float
    knee_x: float


@dataclass
class Sheet:
    """One sheet to draw (before splitting into parts)."""

    kind: Kind
    clip: Clip
    number: int | None  # rep or landing, 1-based
    frames: list[int]
    crop: Box
    lines: RefLines | None = None
    window_source: str = ""
    notes: list[str] = field(default_factory=list)
    lines_missing: str = ""  # why there are no reference lines


def frames_between(series: LandmarkSeries, t0: float, t1: float) -> list[int]:
    """Frames from ``t0`` to ``t1``, each end taking the frame within half a frame interval of it."""
    t = series.time_s
    half = 0.5 / series.fps if series.fps > 0 else 1 / 60
    return [int(i) for i in np.flatnonzero((t >= t0 - half) & (t <= t1 + half))]


def union_box(
    series: LandmarkSeries,
    frames: Sequence[int],
    points: Sequence[int],
    margin: float,
    bottom_extra: float = 0.0,
    top_extra: float = 0.0,
) -> Box | None:
    """Union of the landmarks' box over ``frames``, grown by ``margin`` of its longer side, in the image."""
    xy = series.xy[np.asarray(frames, dtype=np.int64)][:, list(points)]
    vis = series.visibility[np.asarray(frames, dtype=np.int64)][:, list(points)]
    face = np.isin(np.asarray(list(points)), FACE)[None, :]  # from behind the face is "hidden" but there
    good = np.isfinite(xy).all(axis=2) & ((vis >= BOX_VISIBILITY) | face)
    if not good.any():
        return None
    pts = xy[good]
    x = np.clip(pts[:, 0], 0, series.width - 1)
    y = np.clip(pts[:, 1], 0, series.height - 1)
    x0, x1, y0, y1 = float(x.min()), float(x.max()), float(y.min()), float(y.max())
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    m = margin * max(w, h)  # of the longer side: a joint landmark sits inside the body's outline
    return clip_box(
        (x0 - m, y0 - m - top_extra * h, x1 + m, y1 + m + bottom_extra * h),
        series.width,
        series.height,
    )


def clip_box(box: tuple[float, float, float, float], width: int, height: int) -> Box:
    x0, y0, x1, y1 = box
    ix0, iy0 = max(0, math.floor(x0)), max(0, math.floor(y0))
    ix1, iy1 = min(width, math.ceil(x1) + 1), min(height, math.ceil(y1) + 1)
    return ix0, iy0, max(ix1, ix0 + 2), max(iy1, iy0 + 2)


def grow_to(box: Box, min_w: int, min_h: int, width: int, height: int) -> Box:
    """Grow a box about its centre to at least ``min_w`` x ``min_h`` (within the image)."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = max(x1 - x0, min(min_w, width)), max(y1 - y0, min(min_h, height))
    nx0 = int(min(max(0, cx - w / 2), width - w))
    ny0 = int(min(max(0, cy - h / 2), height - h))
    return nx0, ny0, int(nx0 + w), int(ny0 + h)


def widen(box: Box, width: int, height: int) -> Box:
    """Widen a tall, narrow crop to ``MIN_ASPECT`` (room for the tile's label and the body's outline)."""
    return grow_to(box, math.ceil(MIN_ASPECT * (box[3] - box[1])), 0, width, height)


def near_side(series: LandmarkSeries, frames: Sequence[int]) -> int:
    """0 for the left leg, 1 for the right: the one whose hip, knee and ankle are more visible."""
    idx = np.asarray(frames, dtype=np.int64)
    left = float(np.nanmean(series.visibility[idx][:, [HIPS[0], KNEES[0], ANKLES[0]]]))
    right = float(np.nanmean(series.visibility[idx][:, [HIPS[1], KNEES[1], ANKLES[1]]]))
    return 0 if left >= right else 1


def plausible_body(series: LandmarkSeries, i: int, s: int) -> bool:
    """Whether frame ``i``'s skeleton on side ``s`` has believable proportions (2-D segment lengths).

    A barbell plate in front of the head, for one, can make the model fit a shrunken body whose hip
    sits at the chest; reference lines from such a frame would mislead.
    """
    shoulder, hip = series.xy[i, SHOULDERS[s]], series.xy[i, HIPS[s]]
    knee, ankle = series.xy[i, KNEES[s]], series.xy[i, ANKLES[s]]
    if not all(np.isfinite(p).all() for p in (shoulder, hip, knee, ankle)):
        return False
    torso = float(np.hypot(*(shoulder - hip)))
    thigh, shank = float(np.hypot(*(hip - knee))), float(np.hypot(*(knee - ankle)))
    if thigh <= 0 or shank <= 0:
        return False
    return TORSO_TO_LEG[0] <= torso / (thigh + shank) <= TORSO_TO_LEG[1] and (
        THIGH_TO_SHANK[0] <= thigh / shank <= THIGH_TO_SHANK[1]
    )


def reference_lines(series: LandmarkSeries, frames: Sequence[int]) -> tuple[RefLines | None, str]:
    """Hip height, hip x and knee x of the near leg on the window's first frame with a believable pose.

    Only the first few frames qualify (later ones may already be moving); no lines, and why, otherwise.
    """
    s = near_side(series, frames)
    found = False
    for i in frames[:REF_SEARCH_FRAMES]:
        hip, knee = series.xy[i, HIPS[s]], series.xy[i, KNEES[s]]
        if not (np.isfinite(hip).all() and np.isfinite(knee).all()):
            continue
        found = True
        if plausible_body(series, i, s):
            lines = RefLines(
                frame=i,
                side="left" if s == 0 else "right",
                hip_y=float(hip[1]),
                hip_x=float(hip[0]),
                knee_x=float(knee[0]),
            )
            return lines, ""
    if found:
        return None, "the pose model's joints look implausible on the first frames"
    return None, "hip/knee not found on the first frames"


def smooth(values: FloatArray, width: int = 5) -> FloatArray:
    """Running median that ignores NaN (NaN where a whole neighbourhood is)."""
    out = np.full_like(values, np.nan)
    half = width // 2
    for i in range(values.shape[0]):
        part = values[max(0, i - half) : i + half + 1]
        if np.isfinite(part).any():
            out[i] = float(np.nanmedian(part))
    return out


def crossing_times(kin: Kinematics, t0: float, bottom: float) -> list[float]:
    """For hip and knee flexion: when the angle has covered ``CLEAR_FRACTION`` of its rise to the bottom."""
    sel = np.flatnonzero((kin.time_s >= t0 - 1e-6) & (kin.time_s <= bottom + 1e-6))
    if sel.size < 3:
        return []
    t = kin.time_s[sel]
    found: list[float] = []
    for angle in (kin.hip_flexion, kin.knee_flexion):
        a = smooth(np.asarray(angle, dtype=np.float64)[sel])
        if not np.isfinite(a).any():
            continue
        low = int(np.nanargmin(a))
        rest = a[low:]
        if not np.isfinite(rest).any():
            continue
        top = float(np.nanmax(rest))
        rise = top - float(a[low])
        if rise < MIN_RANGE_DEG:
            continue
        over = np.flatnonzero(np.nan_to_num(rest, nan=-np.inf) >= a[low] + CLEAR_FRACTION * rise)
        if over.size:
            found.append(float(t[low + int(over[0])]))
    return found


def back_to_standing(kin: Kinematics, prev_bottom: float, bottom: float) -> float | None:
    """First time after ``prev_bottom`` that hip plus knee flexion is back within 15% of its least."""
    sel = np.flatnonzero((kin.time_s >= prev_bottom) & (kin.time_s <= bottom))
    if sel.size < 3:
        return None
    bend = smooth(np.asarray(kin.hip_flexion, dtype=np.float64)[sel] + np.asarray(kin.knee_flexion)[sel])
    if not np.isfinite(bend).any():
        return None
    low, high = float(np.nanmin(bend)), float(np.nanmax(bend))
    if high - low < MIN_RANGE_DEG:
        return None
    back = np.flatnonzero(np.nan_to_num(bend, nan=np.inf) <= low + STANDING_FRACTION * (high - low))
    return float(kin.time_s[sel[int(back[0])]]) if back.size else None


def hip_height_bottoms(series: LandmarkSeries) -> list[float]:
    """Fallback rep bottoms: lowest points of the hips (image y largest), without the analysis."""
    hip_y = np.nanmean(series.xy[:, list(HIPS), 1], axis=1)
    ankle_y = np.nanmean(series.xy[:, list(ANKLES), 1], axis=1)
    leg = float(np.nanmedian(ankle_y - hip_y))
    filled = smooth(hip_y, 7)
    good = np.isfinite(filled)
    if good.sum() < 10 or not np.isfinite(leg) or leg <= 0:
        return []
    filled = np.interp(series.time_s, series.time_s[good], filled[good])
    spacing = max(1, round(0.8 * series.fps))
    peaks, _ = find_peaks(filled, prominence=0.15 * leg, distance=spacing)
    return [float(series.time_s[p]) for p in peaks]


def plan_onsets(
    clip: Clip, series: LandmarkSeries, report: Report | None, kin: Kinematics | None
) -> list[Sheet]:
    times = series.time_s
    t_first, t_last = float(times[0]), float(times[-1])
    frame_s = 1.0 / series.fps if series.fps > 0 else 1 / 30
    reps: list[tuple[float, float | None, float | None]] = []  # bottom, previous bottom, previous end
    source = "analysis rep bottoms"
    if report is not None and report.reps:
        ordered = sorted(report.reps, key=lambda r: r.bottom_s)
        for k, rep in enumerate(ordered):
            before = ordered[k - 1] if k else None
            reps.append((rep.bottom_s, before.bottom_s if before else None, before.end_s if before else None))
    else:
        source = "hip-height minima (the analysis found no reps)"
        bottoms = hip_height_bottoms(series)
        reps = [(b, bottoms[k - 1] if k else None, None) for k, b in enumerate(bottoms)]
    sheets: list[Sheet] = []
    for k, (bottom, prev_bottom, prev_end) in enumerate(reps, start=1):
        notes: list[str] = []
        lo = max(t_first, bottom - ONSET_SEARCH_S)
        if prev_bottom is not None:
            # Not before the body is back up after the previous rep: our own reading of the angles,
            # since a rep's end as the analysis places it can fall after the next lowering has begun.
            standing = back_to_standing(kin, prev_bottom, bottom) if kin is not None else None
            limit = standing if standing is not None else prev_end
            if limit is not None and limit > lo:
                lo = limit
        start = max(lo, bottom - ONSET_LOOKBACK_S)
        crosses = crossing_times(kin, lo, bottom) if kin is not None else []
        if crosses:
            end = max(crosses) + ONSET_AFTER_CLEAR_S
            earliest = min(crosses)
            # A slow lowering or a pause at the bottom: reach back far enough for still frames.
            start = max(lo, min(start, earliest - ONSET_BEFORE_CLEAR_S))
        else:
            end = start + (bottom - start) / 2 + ONSET_AFTER_CLEAR_S
            earliest = start + (bottom - start) / 2
            notes.append("joint angles unusable here: window ends halfway to the bottom plus 0.25 s")
        if prev_bottom is not None and start <= lo + 1e-6 and lo > bottom - ONSET_LOOKBACK_S:
            notes.append("window starts where the body is back up after the previous rep")
        end = min(max(end, start + ONSET_MIN_S), t_last)
        if end - start < ONSET_MIN_S:
            start = max(t_first, end - ONSET_MIN_S)
        span_max = (ONSET_MAX_FRAMES - 1) * frame_s
        if end - start > span_max + frame_s / 2:
            start = max(start, min(end - span_max, earliest - ONSET_KEEP_BEFORE_S))
        frames = frames_between(series, start, end)
        if len(frames) < 2:
            continue
        crop = union_box(series, frames, range(33), 0.10, top_extra=HEAD_EXTRA)
        if crop is None:
            crop = (0, 0, series.width, series.height)
            notes.append("no person found in the window: full frame")
        else:
            crop = widen(crop, series.width, series.height)
        lines, why_not = reference_lines(series, frames)
        if lines is None:
            notes.append(f"no reference lines: {why_not}")
        elif lines.frame != frames[0]:
            notes.append(f"reference lines from frame {lines.frame}, the first with a believable pose")
        sheets.append(Sheet("onset", clip, k, frames, crop, lines, source, notes, why_not))
    return sheets


def feet_contacts(series: LandmarkSeries) -> list[float]:
    """Fallback landings: the feet coming back down to floor level after being clearly above it."""
    foot_y = np.nanmax(series.xy[:, [*HEELS, *TOES], 1], axis=1)
    hip_y = np.nanmean(series.xy[:, list(HIPS), 1], axis=1)
    leg = float(np.nanmedian(foot_y - hip_y))
    if not np.isfinite(leg) or leg <= 0:
        return []
    floor = float(np.nanpercentile(foot_y, 90))
    air = np.nan_to_num(smooth(foot_y, 3), nan=floor) < floor - 0.12 * leg
    contacts: list[float] = []
    run = 0
    for i in range(air.shape[0]):
        if air[i]:
            run += 1
            continue
        if run >= 3:
            contacts.append(float(series.time_s[i]))
        run = 0
    return contacts


def plan_contacts(
    clip: Clip, series: LandmarkSeries, report: Report | None, labels: dict[str, Any]
) -> list[Sheet]:
    if report is not None and report.landings:
        centres = [landing.initial_contact_s for landing in report.landings]
        source = "analysis landings"
    elif labels.get("contacts_s"):
        centres = [float(t) for t in labels["contacts_s"]]
        source = "labels.yaml contacts_s (the analysis found no landings)"
    else:
        centres = feet_contacts(series)
        source = "feet height (the analysis found no landings and labels.yaml has no contacts)"
    planned: list[tuple[float, str, tuple[float, float, float, float] | None]] = [
        (c, source, None) for c in centres
    ]
    planned += [(c, BY_EYE, box) for c, box in BY_EYE_CONTACTS.get(clip.name, [])]
    sheets: list[Sheet] = []
    for k, (centre, why, fractions) in enumerate(sorted(planned, key=lambda p: p[0]), start=1):
        frames = frames_between(series, centre - CONTACT_BEFORE_S, centre + CONTACT_AFTER_S)
        if len(frames) < 2:
            continue
        notes: list[str] = []
        crop: Box | None
        if fractions is not None:
            fx0, fy0, fx1, fy1 = fractions
            w, h = series.width, series.height
            crop = clip_box((fx0 * w, fy0 * h, fx1 * w, fy1 * h), w, h)
        else:
            crop = union_box(series, frames, LOWER_LEGS, 0.12, bottom_extra=0.15)
        if crop is None:
            crop = (0, 0, series.width, series.height)
            notes.append("no legs found in the window: full frame")
        else:
            crop = grow_to(crop, 64, 64, series.width, series.height)
        sheets.append(Sheet("contact", clip, k, frames, crop, None, why, notes))
    return sheets


def plan_overview(clip: Clip, series: LandmarkSeries | None, info: VideoInfo, times: FloatArray) -> Sheet:
    frames: list[int] = []
    t = 0.0
    while t <= float(times[-1]) + 1e-6:
        i = int(np.argmin(np.abs(times - t)))
        if not frames or frames[-1] != i:
            frames.append(i)
        t += OVERVIEW_STEP_S
    crop: Box | None = None
    if series is not None:
        crop = union_box(series, range(len(series)), range(33), 0.10, top_extra=HEAD_EXTRA)
    crop = (0, 0, info.width, info.height) if crop is None else widen(crop, info.width, info.height)
    return Sheet("overview", clip, None, frames, crop, None, "every 0.25 s")


# ------------------------------------------------------------------------------------------- drawing


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def tile_size(crop: Box, tile_h: int) -> tuple[int, int]:
    w, h = crop[2] - crop[0], crop[3] - crop[1]
    tw = round(w * tile_h / h)
    if tw > MAX_TILE_W:
        return MAX_TILE_W, max(40, round(h * MAX_TILE_W / w))
    return max(tw, 40), tile_h


def make_tile(
    rgb: NDArray[np.uint8], sheet: Sheet, size: tuple[int, int], index: int, time_s: float
) -> Image.Image:
    x0, y0, x1, y1 = sheet.crop
    part = Image.fromarray(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
    tile = part.resize(size, Image.Resampling.BICUBIC).convert("RGBA")
    sx, sy = size[0] / (x1 - x0), size[1] / (y1 - y0)
    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    if sheet.lines is not None:
        ref = sheet.lines
        y = round((ref.hip_y - y0) * sy)
        draw.line([(0, y), (size[0] - 1, y)], fill=(*HIP_Y_COLOUR, LINE_ALPHA), width=1)
        x = round((ref.hip_x - x0) * sx)
        draw.line([(x, 0), (x, size[1] - 1)], fill=(*HIP_X_COLOUR, LINE_ALPHA), width=1)
        x = round((ref.knee_x - x0) * sx)  # dashed, so it shows where it lies on the hip line
        for y_dash in range(0, size[1], 2 * DASH):
            draw.line([(x, y_dash), (x, y_dash + DASH - 1)], fill=(*KNEE_X_COLOUR, LINE_ALPHA), width=1)
    image = Image.alpha_composite(tile, overlay).convert("RGB")
    # The frame number and time go in a strip above the picture, so they never hide the body.
    out = Image.new("RGB", (size[0], size[1] + CAPTION_H), (0, 0, 0))
    out.paste(image, (0, CAPTION_H))
    caption = ImageDraw.Draw(out)
    caption.text((3, 1), f"#{index}", font=font(LABEL_FONT_SIZE), fill=(255, 255, 255))
    caption.text(
        (3, LABEL_FONT_SIZE + 3), f"{time_s:.3f} s", font=font(LABEL_FONT_SIZE - 3), fill=(200, 200, 200)
    )
    return out


def header_lines(sheet: Sheet, frames: Sequence[int], times: FloatArray, part: str | None) -> list[str]:
    what = {"onset": "rep", "contact": "landing", "overview": ""}[sheet.kind]
    title = f"{sheet.clip.name}  |  {sheet.kind} sheet"
    if sheet.number is not None:
        title += f", {what} {sheet.number}"
    if part:
        title += f", part {part}"
    lines = [
        title,
        f"frames {frames[0]}-{frames[-1]} ({len(frames)} tiles), "
        f"{times[frames[0]]:.3f}-{times[frames[-1]]:.3f} s",
    ]
    if sheet.kind == "onset":
        if sheet.lines is not None:
            lines.append(
                f"lines from frame {sheet.lines.frame} ({sheet.lines.side} leg): cyan = hip height, "
                "magenta = hip x, yellow dashed = knee x"
            )
        else:
            lines.append(f"no reference lines ({sheet.lines_missing})")
    elif sheet.kind == "overview":
        lines.append("one frame every 0.25 s")
    return lines


def split(n: int, per_sheet: int) -> list[tuple[int, int]]:
    parts = max(1, math.ceil(n / per_sheet))
    size = math.ceil(n / parts)
    return [(i, min(n, i + size)) for i in range(0, n, size)]


def layout(sheet: Sheet, n_header: int) -> tuple[tuple[int, int], int, list[tuple[int, int]]]:
    """Tile size, columns and the frame ranges of the parts, keeping each sheet within MAX_SHEET_PX."""
    header_h = PAD + n_header * (FONT_SIZE + 6) + PAD
    heights = [TILE_H]
    if sheet.kind == "overview":
        heights = list(range(TILE_H, MIN_OVERVIEW_TILE_H - 1, -10))
    n = len(sheet.frames)
    best: tuple[tuple[int, int], int, list[tuple[int, int]]] | None = None
    for tile_h in heights:
        tw, th = tile_size(sheet.crop, tile_h)
        cols = max(1, min(MAX_COLS, n, (MAX_SHEET_PX - GAP) // (tw + GAP)))
        rows = max(1, (MAX_SHEET_PX - header_h - GAP) // (th + CAPTION_H + GAP))
        parts = split(n, cols * rows)
        best = ((tw, th), cols, parts)
        if len(parts) == 1:
            break
    assert best is not None
    return best


def compose(tiles: Sequence[Image.Image], cols: int, header: Sequence[str]) -> Image.Image:
    tw, th = tiles[0].size
    rows = math.ceil(len(tiles) / cols)
    head_font = font(FONT_SIZE)
    header_h = PAD + len(header) * (FONT_SIZE + 6) + PAD
    probe_draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_w = max(int(probe_draw.textlength(line, font=head_font)) for line in header) + 2 * PAD
    width = min(MAX_SHEET_PX, max(cols * (tw + GAP) + GAP, text_w))
    height = header_h + rows * (th + GAP) + GAP
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for k, line in enumerate(header):
        draw.text((PAD, PAD + k * (FONT_SIZE + 6)), line, font=head_font, fill=(235, 235, 235))
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        sheet.paste(tile, (GAP + c * (tw + GAP), header_h + GAP + r * (th + GAP)))
    return sheet


def sheet_path(out: Path, sheet: Sheet, part: str | None) -> Path:
    suffix = part or ""
    if sheet.kind == "onset":
        return out / "onset" / f"{sheet.clip.stem}__rep{sheet.number}{suffix}.png"
    if sheet.kind == "contact":
        return out / "contact" / f"{sheet.clip.stem}__landing{sheet.number}{suffix}.png"
    return out / "overview" / f"{sheet.clip.stem}{suffix}.png"


def render(info: VideoInfo, sheets: Sequence[Sheet], times: FloatArray, out: Path) -> list[dict[str, Any]]:
    """Decode the clip once and write every sheet of it; index entries back."""
    wanted: dict[int, list[int]] = {}
    plans = []
    for s, sheet in enumerate(sheets):
        for i in sheet.frames:
            wanted.setdefault(i, []).append(s)
        n_header = len(header_lines(sheet, sheet.frames, times, None))
        plans.append(layout(sheet, n_header))
    tiles: list[dict[int, Image.Image]] = [{} for _ in sheets]
    for frame in iter_frames(info):
        for s in wanted.get(frame.index, []):
            tiles[s][frame.index] = make_tile(frame.rgb, sheets[s], plans[s][0], frame.index, frame.time_s)
    entries: list[dict[str, Any]] = []
    fps = (len(times) - 1) / float(times[-1] - times[0]) if len(times) > 1 else 0.0
    for s, sheet in enumerate(sheets):
        _, cols, parts = plans[s]
        for p, (a, b) in enumerate(parts):
            part = chr(ord("a") + p) if len(parts) > 1 else None
            frames = [i for i in sheet.frames[a:b] if i in tiles[s]]
            if not frames:
                continue
            header = header_lines(sheet, frames, times, part)
            image = compose([tiles[s][i] for i in frames], cols, header)
            path = sheet_path(out, sheet, part)
            path.parent.mkdir(parents=True, exist_ok=True)
            image.save(path, optimize=True)
            entry: dict[str, Any] = {
                "sheet": str(path.relative_to(out)),
                "kind": sheet.kind,
                "clip": sheet.clip.name,
                "clip_path": str(sheet.clip.path.relative_to(DATA))
                if sheet.clip.path.is_relative_to(DATA)
                else str(sheet.clip.path),
                "rep_or_landing": sheet.number,
                "part": part,
                "first_frame": frames[0],
                "last_frame": frames[-1],
                "first_time_s": round(float(times[frames[0]]), 4),
                "last_time_s": round(float(times[frames[-1]]), 4),
                "fps": round(fps, 3),
                "frame_times": {str(i): round(float(times[i]), 4) for i in frames},
                "crop_px": list(sheet.crop),
                "size_px": list(image.size),
                "window_source": sheet.window_source,
                "notes": sheet.notes,
            }
            if sheet.lines is not None:
                entry["reference_lines"] = {
                    "frame": sheet.lines.frame,
                    "leg": sheet.lines.side,
                    "hip_y_px": round(sheet.lines.hip_y, 1),
                    "hip_x_px": round(sheet.lines.hip_x, 1),
                    "knee_x_px": round(sheet.lines.knee_x, 1),
                }
            entries.append(entry)
            print(f"  {entry['sheet']}  {image.size[0]}x{image.size[1]}", file=sys.stderr, flush=True)
    return entries


# ---------------------------------------------------------------------------------------------- main


def analysis(series: LandmarkSeries, movement: Movement) -> tuple[Report | None, Kinematics | None, str]:
    try:
        report, kin = analyze_series(series, movement)
    except Exception as error:  # any failure leaves the fallbacks; it is noted in the index
        return None, None, f"analysis ({movement}) failed: {error}"
    return report, kin, ""


def answer_template(entry: dict[str, Any]) -> dict[str, Any]:
    if entry["kind"] == "onset":
        return {
            "hip_onset_frame": None,
            "knee_onset_frame": None,
            "hip_confidence": None,
            "knee_confidence": None,
            "note": None,
        }
    if entry["kind"] == "contact":
        return {"contact_frame": None, "confidence": None, "note": None}
    return {"full_reps": None, "partial_reps": None, "landings": None, "notes": None}


def process(
    clip: Clip, out: Path, labels: dict[str, dict[str, Any]], log: dict[str, Any]
) -> list[dict[str, Any]]:
    print(clip.name, file=sys.stderr, flush=True)
    info = probe(clip.path)
    series, warnings = landmarks(info, out / "cache")
    notes: dict[str, Any] = {
        "pose_warnings": warnings,
        "frames": len(series),
        "header_frames": info.frame_count,
    }
    if series.width != info.width or series.height != info.height:
        notes["size_mismatch"] = f"landmarks {series.width}x{series.height}, video {info.width}x{info.height}"
    times = np.asarray(series.time_s, dtype=np.float64)
    sheets: list[Sheet] = []
    if clip.onset:
        movement = ANALYSIS_MOVEMENT.get(clip.movement, "squat")
        report, kin, problem = analysis(series, movement)
        if problem:
            notes["onset_analysis"] = problem
        sheets += plan_onsets(clip, series, report, kin)
        notes["reps"] = sum(1 for s in sheets if s.kind == "onset")
    if clip.contact:
        report, _, problem = analysis(series, "landing")
        if problem:
            notes["contact_analysis"] = problem
        contacts = plan_contacts(clip, series, report, labels.get(clip.name, {}))
        sheets += contacts
        notes["landings"] = len(contacts)
        if contacts:
            notes["landing_window_source"] = contacts[0].window_source
    sheets.append(plan_overview(clip, series, info, times))
    entries = render(info, sheets, times, out)
    decoded = {int(k) for e in entries for k in e["frame_times"]}
    if decoded and max(decoded) >= len(series):
        notes["frame_mismatch"] = "decoded more frames than the landmark series has"
    log[clip.name] = notes
    return entries


def code_state() -> dict[str, str]:
    """The repository's commit and a digest of uncommitted changes: the analysis that placed the windows."""
    state: dict[str, str] = {}
    for key, command in (("commit", ["rev-parse", "HEAD"]), ("diff", ["diff", "HEAD", "--", "src"])):
        try:
            done = subprocess.run(["git", "-C", str(ROOT), *command], capture_output=True, check=True)
        except (OSError, subprocess.CalledProcessError):
            continue
        text = done.stdout
        state[key] = text.decode().strip() if key == "commit" else hashlib.sha256(text).hexdigest()[:16]
    return state


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--only", nargs="*", default=[], help="clip name substrings (default: all clips)")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    if out == ROOT or ROOT in out.parents:
        parser.error(f"{out} is inside the repository; sheets and frames never go there")
    out.mkdir(parents=True, exist_ok=True)
    if not args.only:  # a full run replaces every sheet: none left over from an earlier run
        for kind in ("onset", "contact", "overview"):
            for old in (out / kind).glob("*.png"):
                old.unlink()
    clips = [c for c in load_clips(args.data) if not args.only or any(s in c.name for s in args.only)]
    labels = load_labels(LABELS)
    index: list[dict[str, Any]] = []
    log: dict[str, Any] = {"_code": code_state()}
    for clip in clips:
        try:
            index += process(clip, out, labels, log)
        except Exception as error:  # one bad clip must not stop the others; it is reported
            log[clip.name] = {"error": f"{type(error).__name__}: {error}"}
            print(f"  FAILED: {error}", file=sys.stderr, flush=True)
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    (out / "README.txt").write_text(README)
    template = {e["sheet"]: answer_template(e) for e in index}
    (out / "answers_template.json").write_text(json.dumps(template, indent=1) + "\n")
    (out / "cache").mkdir(exist_ok=True)
    (out / "cache" / "run_log.json").write_text(json.dumps(log, indent=1) + "\n")
    kinds = {k: sum(1 for e in index if e["kind"] == k) for k in ("onset", "contact", "overview")}
    print(f"{kinds} sheets in {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
