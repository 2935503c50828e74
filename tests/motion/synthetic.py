"""Synthetic skeleton clips with known truth, for testing the motion analysis.

A 2-D stick figure is posed by forward kinematics from joint angles YOU choose (hip, knee and ankle
flexion, foot pitch), anchored at the foot: flat on the floor for squats, falling ballistically and then
pinned at the toe for landings. It is rendered to image pixels for a side view (sagittal plane in the
image) or a front view (the sagittal plane points at the camera, so segments foreshorten; knees can be
pushed medially to create valgus). Pose-model-like errors are then added: Gaussian pixel jitter,
occasional large outliers, dropped frames, a dimmer far leg, and variable-rate timestamps.

Angle conventions match :mod:`kneefix.motion.kinematics` (flexion 0 standing, positive bending), but the
construction here is independent: positions come from rotating unit vectors, and the valgus truth is
computed from the noise-free projection with ``arccos``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from kneefix.motion.body import (
    ANKLE_HEIGHT,
    FOOT,
    FOREARM,
    HEEL_BACK,
    HIP_WIDTH,
    SHANK,
    SHOULDER_WIDTH,
    THIGH,
    TRUNK,
    UPPER_ARM,
)
from kneefix.motion.types import LANDMARK_INDEX, LANDMARK_NAMES, LandmarkSeries

FloatArray = NDArray[np.float64]
G = 9.81

# Segment lengths (metres): the body model the exercise demonstrations draw (kneefix.motion.body).
ANKLE_OFFSET = np.array([HEEL_BACK, ANKLE_HEIGHT])  # ankle relative to heel along / above a flat foot
STANCE_WIDTH = 0.26


@dataclass
class Noise:
    """Pose-model-like errors (pixels / probabilities per frame)."""

    sigma_px: float = 2.0
    outlier_rate: float = 0.004  # per landmark and frame
    outlier_px: float = 45.0
    dropout_rate: float = 0.01  # per frame: a run of 1..max_dropout frames with no person starts
    max_dropout: int = 3
    far_visibility: tuple[float, float] = (0.55, 0.9)


QUIET = Noise(sigma_px=0.0, outlier_rate=0.0, dropout_rate=0.0)


@dataclass
class RepSpec:
    """One squat/deadlift rep: onset times, bottom, hold and rise, peak angles (degrees)."""

    hip_onset: float
    knee_onset: float
    bottom: float
    hold: float
    rise: float
    hip_peak: float
    knee_peak: float

    @property
    def lag_ms(self) -> float:
        return (self.knee_onset - self.hip_onset) * 1000.0

    @property
    def end(self) -> float:
        return self.bottom + self.hold + self.rise


@dataclass
class Clip:
    series: LandmarkSeries
    truth: dict[str, FloatArray]  # per-frame true angles: hip, knee, ankle, trunk, valgus_left/right
    reps: list[RepSpec] = field(default_factory=list)
    contacts: list[float] = field(default_factory=list)  # initial contact times (first foot)
    contacts_right_delay: float = 0.0


def minimum_jerk(tau: FloatArray) -> FloatArray:
    """0 -> 1 with zero velocity and acceleration at both ends (the classic model of human reaching)."""
    x = np.clip(tau, 0.0, 1.0)
    result: FloatArray = x**3 * (10 - 15 * x + 6 * x**2)
    return result


def frame_times(duration: float, fps: float, rng: np.random.Generator, variable: bool = False) -> FloatArray:
    """Frame timestamps; variable-rate clips get +-25% jitter and occasional dropped frames."""
    if not variable:
        return np.arange(int(duration * fps)) / fps
    steps = (1.0 + rng.uniform(-0.25, 0.25, int(duration * fps * 1.5))) / fps
    steps[rng.random(steps.shape[0]) < 0.04] *= 2.0
    times = np.concatenate(([0.0], np.cumsum(steps)))
    return times[times < duration]


def rep_profile(t: FloatArray, onset: float, bottom: float, hold: float, rise: float) -> FloatArray:
    """0 standing, 1 at the bottom: minimum-jerk lowering from ``onset``, hold, minimum-jerk rise."""
    lowering = minimum_jerk((t - onset) / max(bottom - onset, 1e-6))
    rising = 1.0 - minimum_jerk((t - bottom - hold) / rise)
    result: FloatArray = np.where(t < bottom, lowering, np.where(t < bottom + hold, 1.0, rising))
    return result


def random_reps(
    rng: np.random.Generator,
    count: int,
    movement: str = "squat",
    start: float = 1.0,
    lag_range_ms: tuple[float, float] = (-300.0, 300.0),
    lowering_range_s: tuple[float, float] = (0.9, 1.6),
) -> list[RepSpec]:
    """Reps with random tempo, depth and onset lag (both joints reach the bottom together)."""
    reps: list[RepSpec] = []
    t = start
    for _ in range(count):
        lag = rng.uniform(*lag_range_ms) / 1000.0
        lowering = rng.uniform(*lowering_range_s)  # of the joint that starts first
        first = t
        hip_onset, knee_onset = (first, first + lag) if lag >= 0 else (first - lag, first)
        bottom = first + lowering
        if movement == "deadlift":
            hip_peak, knee_peak = rng.uniform(75, 100), rng.uniform(25, 60)
        else:
            hip_peak, knee_peak = rng.uniform(80, 120), rng.uniform(85, 125)
        rep = RepSpec(
            hip_onset=hip_onset,
            knee_onset=knee_onset,
            bottom=bottom,
            hold=rng.uniform(0.0, 0.3),
            rise=rng.uniform(0.6, 1.0) * lowering_range_s[1],
            hip_peak=hip_peak,
            knee_peak=knee_peak,
        )
        reps.append(rep)
        t = rep.end + rng.uniform(0.5, 1.2)
    return reps


def _rotate(v: FloatArray, degrees: FloatArray) -> FloatArray:
    """Rotate ``(N, 2)`` vectors counter-clockwise by per-frame angles."""
    r = np.radians(degrees)
    c, s = np.cos(r), np.sin(r)
    return np.stack([c * v[:, 0] - s * v[:, 1], s * v[:, 0] + c * v[:, 1]], axis=1)


def _unit(n: int, x: float, y: float) -> FloatArray:
    return np.tile([x, y], (n, 1)).astype(np.float64)


def leg_chain(
    heel: FloatArray, pitch: FloatArray, hip: FloatArray, knee: FloatArray, ankle: FloatArray
) -> dict[str, FloatArray]:
    """Sagittal positions (forward, up; metres) from the heel up, given foot pitch (toes down +), angles."""
    n = heel.shape[0]
    foot_dir = _rotate(_unit(n, 1.0, 0.0), -pitch)
    toe = heel + FOOT * foot_dir
    ankle_pt = heel + _rotate(np.tile(ANKLE_OFFSET, (n, 1)), -pitch)
    up_shank = _rotate(foot_dir, 90.0 - ankle)  # ankle -> knee
    knee_pt = ankle_pt + SHANK * up_shank
    thigh_dir = _rotate(-up_shank, knee)  # hip -> knee
    hip_pt = knee_pt - THIGH * thigh_dir
    trunk_up = -_rotate(thigh_dir, -hip)  # hip -> shoulder
    shoulder = hip_pt + TRUNK * trunk_up
    return {"toe": toe, "heel": heel, "ankle": ankle_pt, "knee": knee_pt, "hip": hip_pt, "shoulder": shoulder}


def _upper_body(shoulder: FloatArray, trunk_up: FloatArray, arms_forward: float) -> dict[str, FloatArray]:
    n = shoulder.shape[0]
    forward = _rotate(trunk_up, np.full(n, -90.0))
    head = shoulder + 0.22 * trunk_up
    arm = _rotate(_unit(n, 0.0, -1.0), np.full(n, arms_forward))
    elbow = shoulder + UPPER_ARM * arm
    wrist = elbow + FOREARM * arm
    return {
        "nose": head + 0.09 * forward,
        "eye": head + 0.06 * forward + 0.04 * trunk_up,
        "ear": head,
        "mouth": head + 0.07 * forward - 0.04 * trunk_up,
        "elbow": elbow,
        "wrist": wrist,
        "hand": wrist + 0.07 * arm,
    }


def _trunk_up(chain: dict[str, FloatArray]) -> FloatArray:
    v = chain["shoulder"] - chain["hip"]
    result: FloatArray = v / np.linalg.norm(v, axis=1, keepdims=True)
    return result


def _pixels_side(
    chains: dict[str, dict[str, FloatArray]],
    facing: int,
    near: str,
    origin: tuple[float, float],
    scale: float,
) -> tuple[FloatArray, FloatArray]:
    """Side view: sagittal (forward, up) straight onto the image; the far leg dimmer and slightly offset."""
    n = next(iter(chains.values()))["hip"].shape[0]
    xy = np.full((n, 33, 2), np.nan)
    z = np.zeros((n, 33))
    ox, oy = origin

    def put(name: str, p: FloatArray, depth: float) -> None:
        j = LANDMARK_INDEX[name]
        xy[:, j, 0] = ox + facing * p[:, 0] * scale
        xy[:, j, 1] = oy - p[:, 1] * scale
        z[:, j] = depth

    for side in ("left", "right"):
        c = chains[side]
        depth = (-0.2 if side == near else 0.2) * scale  # MediaPipe-like depth, in pixels
        for part in ("hip", "knee", "ankle", "heel", "shoulder"):
            put(f"{side}_{part}", c[part], depth)
        put(f"{side}_foot_index", c["toe"], depth)
        up = _upper_body(c["shoulder"], _trunk_up(c), 25.0)
        put(f"{side}_elbow", up["elbow"], depth)
        put(f"{side}_wrist", up["wrist"], depth)
        for hand in ("pinky", "index", "thumb"):
            put(f"{side}_{hand}", up["hand"], depth)
        put(f"{side}_ear", up["ear"], depth)
        put(f"{side}_eye", up["eye"], depth)
        put(f"{side}_eye_inner", up["eye"] + 0.01, depth)
        put(f"{side}_eye_outer", up["eye"] - 0.01, depth)
        put(f"mouth_{side}", up["mouth"], depth)
        if side == near:
            put("nose", up["nose"], 0.0)
    return xy, z


def _pixels_front(
    chains: dict[str, dict[str, FloatArray]],
    medial_shift: dict[str, FloatArray],
    origin: tuple[float, float],
    scale: float,
) -> tuple[FloatArray, FloatArray]:
    """Front view, person facing the camera: lateral offsets on x (their left at image right), up on y."""
    n = chains["left"]["hip"].shape[0]
    xy = np.full((n, 33, 2), np.nan)
    z = np.zeros((n, 33))
    ox, oy = origin
    lateral = {"left": 1.0, "right": -1.0}

    def put(name: str, lat: FloatArray | float, up: FloatArray, forward: FloatArray) -> None:
        j = LANDMARK_INDEX[name]
        xy[:, j, 0] = ox + np.asarray(lat) * scale
        xy[:, j, 1] = oy - up * scale
        z[:, j] = -forward * scale

    for side in ("left", "right"):
        c, s = chains[side], lateral[side]
        hip_x, ankle_x = s * HIP_WIDTH / 2, s * STANCE_WIDTH / 2
        knee_x = (hip_x + ankle_x) / 2 - s * medial_shift[side]
        put(f"{side}_hip", hip_x, c["hip"][:, 1], c["hip"][:, 0])
        put(f"{side}_knee", knee_x, c["knee"][:, 1], c["knee"][:, 0])
        for part, key in (("ankle", "ankle"), ("heel", "heel"), ("foot_index", "toe")):
            put(f"{side}_{part}", ankle_x, c[key][:, 1], c[key][:, 0])
        shoulder_x = s * SHOULDER_WIDTH / 2
        put(f"{side}_shoulder", shoulder_x, c["shoulder"][:, 1], c["shoulder"][:, 0])
        up = _upper_body(c["shoulder"], _trunk_up(c), 10.0)
        put(f"{side}_elbow", shoulder_x + s * 0.05, up["elbow"][:, 1], up["elbow"][:, 0])
        put(f"{side}_wrist", shoulder_x + s * 0.06, up["wrist"][:, 1], up["wrist"][:, 0])
        for hand in ("pinky", "index", "thumb"):
            put(f"{side}_{hand}", shoulder_x + s * 0.06, up["hand"][:, 1], up["hand"][:, 0])
        for part, dx in (("eye", 0.03), ("eye_inner", 0.015), ("eye_outer", 0.045)):
            put(f"{side}_{part}", s * dx, up["eye"][:, 1], up["eye"][:, 0])
        put(f"{side}_ear", s * 0.07, up["ear"][:, 1], up["ear"][:, 0])
        put(f"mouth_{side}", s * 0.025, up["mouth"][:, 1], up["mouth"][:, 0])
    nose = _upper_body(chains["left"]["shoulder"], _trunk_up(chains["left"]), 10.0)["nose"]
    put("nose", 0.0, nose[:, 1], nose[:, 0])
    return xy, z


def fppa_truth(xy: FloatArray, side: str) -> FloatArray:
    """Frontal-plane projection angle from noise-free pixels: arccos between thigh and shank lines,
    positive when the knee lies on the other leg's side of the hip-ankle line."""
    other = "right" if side == "left" else "left"
    hip, knee, ankle = (xy[:, LANDMARK_INDEX[f"{side}_{p}"]] for p in ("hip", "knee", "ankle"))
    thigh, shank = knee - hip, ankle - knee
    cos = np.sum(thigh * shank, axis=1) / (np.linalg.norm(thigh, axis=1) * np.linalg.norm(shank, axis=1))
    magnitude = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    line_x = hip[:, 0] + (ankle[:, 0] - hip[:, 0]) * (knee[:, 1] - hip[:, 1]) / (ankle[:, 1] - hip[:, 1])
    toward_other = np.sign(xy[:, LANDMARK_INDEX[f"{other}_hip"], 0] - hip[:, 0])
    result: FloatArray = magnitude * np.sign((knee[:, 0] - line_x) * toward_other)
    return result


def corrupt(
    xy: FloatArray, visibility: FloatArray, noise: Noise, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Add jitter, outliers and dropped frames like a real pose model's."""
    xy = xy + rng.normal(0.0, noise.sigma_px, xy.shape) if noise.sigma_px > 0 else xy.copy()
    hits = rng.random(xy.shape[:2]) < noise.outlier_rate
    xy[hits] += rng.normal(0.0, noise.outlier_px, (int(hits.sum()), 2))
    n = xy.shape[0]
    visibility = visibility.copy()
    i = 0
    while i < n:
        if rng.random() < noise.dropout_rate:
            length = int(rng.integers(1, noise.max_dropout + 1))
            xy[i : i + length] = np.nan
            visibility[i : i + length] = 0.0
            i += length
        i += 1
    return xy, visibility


def _finish(
    xy: FloatArray,
    z: FloatArray,
    t: FloatArray,
    visibility: FloatArray,
    noise: Noise,
    rng: np.random.Generator,
) -> LandmarkSeries:
    noisy, vis = corrupt(xy, visibility, noise, rng)
    return LandmarkSeries(
        frame=np.arange(t.shape[0], dtype=np.int64),
        time_s=t,
        xy=noisy,
        z=z,
        visibility=vis,
        width=1280,
        height=1080,
        source="synthetic",
    )


def _visibility(n: int, near: str | None, noise: Noise, rng: np.random.Generator) -> FloatArray:
    vis = rng.uniform(0.93, 0.999, (n, 33))
    if near is not None:
        far = "left" if near == "right" else "right"
        lo, hi = noise.far_visibility
        for name in LANDMARK_NAMES:
            if name.startswith(far):
                vis[:, LANDMARK_INDEX[name]] = rng.uniform(lo, hi, n)
    return vis


def squat_clip(
    reps: list[RepSpec],
    rng: np.random.Generator,
    *,
    fps: float = 30.0,
    view: str = "side",
    facing: int = 1,
    near: str = "right",
    noise: Noise | None = None,
    variable_rate: bool = False,
    valgus_shift_m: float = 0.0,
    tail: float = 1.0,
    scale: float = 560.0,
) -> Clip:
    """A squat or deadlift clip: feet flat on the floor, angles from the reps' minimum-jerk profiles."""
    noise = noise or Noise()
    duration = (reps[-1].end if reps else 2.0) + tail
    t = frame_times(duration, fps, rng, variable_rate)
    n = t.shape[0]
    hip = np.full(n, 3.0)
    knee = np.full(n, 4.0)
    depth = np.zeros(n)
    for r in reps:
        hip += (r.hip_peak - 3.0) * rep_profile(t, r.hip_onset, r.bottom, r.hold, r.rise)
        knee += (r.knee_peak - 4.0) * rep_profile(t, r.knee_onset, r.bottom, r.hold, r.rise)
        depth = np.maximum(depth, rep_profile(t, min(r.hip_onset, r.knee_onset), r.bottom, r.hold, r.rise))
    ankle = 2.0 + 0.3 * (knee - 4.0)
    pitch = np.zeros(n)
    heel = np.zeros((n, 2))
    chain = leg_chain(heel, pitch, hip, knee, ankle)
    chains = {"left": chain, "right": chain}
    trunk = np.degrees(
        np.arctan2((chain["shoulder"] - chain["hip"])[:, 0], (chain["shoulder"] - chain["hip"])[:, 1])
    )
    if view == "side":
        origin = (640.0 - facing * 150.0, 1000.0)
        xy, z = _pixels_side(chains, facing, near, origin, scale)
        vis = _visibility(n, near, noise, rng)
        valgus = {"left": np.full(n, np.nan), "right": np.full(n, np.nan)}
    else:
        shift = {"left": valgus_shift_m * depth, "right": valgus_shift_m * depth}
        xy, z = _pixels_front(chains, shift, (640.0, 1000.0), scale)
        vis = _visibility(n, None, noise, rng)
        valgus = {side: fppa_truth(xy, side) for side in ("left", "right")}
    truth = {
        "hip": hip,
        "knee": knee,
        "ankle": ankle,
        "trunk": trunk,
        "valgus_left": valgus["left"],
        "valgus_right": valgus["right"],
    }
    return Clip(series=_finish(xy, z, t, vis, noise, rng), truth=truth, reps=reps)


@dataclass
class LandingSpec:
    """A drop landing, optionally followed by a rebound jump and a second landing."""

    drop_at: float = 1.0
    box_height: float = 0.30
    hip_ic: float = 25.0
    knee_ic: float = 18.0
    toe_pitch_ic: float = 20.0  # toes down at contact (plantar flexion)
    hip_peak: float = 60.0
    knee_peak: float = 85.0
    time_to_peak: float = 0.22
    rebound_height: float | None = 0.25  # None: no rebound
    forward_speed: float = 0.6


def keyframes(t: FloatArray, frames: list[tuple[float, float]]) -> FloatArray:
    """A track through (time, value) keyframes, minimum-jerk between consecutive ones, flat outside."""
    out = np.full(t.shape[0], frames[0][1])
    for (t0, v0), (t1, v1) in itertools.pairwise(frames):
        inside = (t >= t0) & (t < t1)
        out[inside] = v0 + (v1 - v0) * minimum_jerk((t[inside] - t0) / max(t1 - t0, 1e-9))
    out[t >= frames[-1][0]] = frames[-1][1]
    return out


def landing_contacts(spec: LandingSpec) -> tuple[list[float], float | None]:
    """Initial contact times and the rebound take-off time (None without a rebound)."""
    ic1 = spec.drop_at + float(np.sqrt(2 * spec.box_height / G))
    if spec.rebound_height is None:
        return [ic1], None
    takeoff = ic1 + spec.time_to_peak + 0.35
    return [ic1, takeoff + 2 * float(np.sqrt(2 * spec.rebound_height / G))], takeoff


def _landing_tracks(t: FloatArray, spec: LandingSpec, delay: float) -> dict[str, FloatArray]:
    """Angle, foot-pitch and toe-position tracks of one leg; its contacts happen ``delay`` s late."""
    contacts, takeoff = landing_contacts(spec)
    contacts = [c + delay for c in contacts]
    ttp, pitch_ic = spec.time_to_peak, spec.toe_pitch_ic
    # "shank" is the shank's forward tilt from vertical; the ankle angle follows as shank tilt - foot
    # pitch, so the leg does not swing round the toe when the heel drops.
    stand = {"hip": 5.0, "knee": 8.0, "shank": 2.4}
    at_ic = {"hip": spec.hip_ic, "knee": spec.knee_ic, "shank": 0.3 * spec.knee_ic}
    peak = {"hip": spec.hip_peak, "knee": spec.knee_peak, "shank": 0.3 * spec.knee_peak}
    push = {"hip": 10.0, "knee": 15.0, "shank": 4.5}
    tracks: dict[str, FloatArray] = {}
    for joint in ("hip", "knee", "shank"):
        frames = [(0.0, stand[joint]), (spec.drop_at, stand[joint]), (contacts[0], at_ic[joint])]
        frames.append((contacts[0] + ttp, peak[joint]))
        if takeoff is not None:
            frames += [(contacts[0] + ttp + 0.05, peak[joint]), (takeoff + delay, push[joint])]
            frames += [(contacts[1], at_ic[joint]), (contacts[1] + ttp, peak[joint])]
        frames.append((frames[-1][0] + 0.7, stand[joint]))
        tracks[joint] = keyframes(t, frames)
    pitch = [(0.0, 0.0), (spec.drop_at, 0.0), (contacts[0], pitch_ic), (contacts[0] + 0.08, 0.0)]
    if takeoff is not None:
        pitch += [(takeoff + delay - 0.12, 0.0), (takeoff + delay, pitch_ic)]
        pitch += [(contacts[1], pitch_ic), (contacts[1] + 0.08, 0.0)]
    tracks["pitch"] = keyframes(t, pitch)
    tracks["ankle"] = tracks["shank"] - tracks["pitch"]

    toe_up = np.zeros(t.shape[0])
    toe_up[t < spec.drop_at] = spec.box_height
    falling = (t >= spec.drop_at) & (t < contacts[0])
    toe_up[falling] = np.maximum(
        spec.box_height - 0.5 * G * (t[falling] - spec.drop_at - delay).clip(0) ** 2, 0.0
    )
    slide = spec.forward_speed * (np.clip(t, spec.drop_at, contacts[0]) - spec.drop_at)
    if takeoff is not None:
        v0 = float(np.sqrt(2 * G * (spec.rebound_height or 0.0)))
        flying = (t >= takeoff + delay) & (t < contacts[1])
        tau = t[flying] - takeoff - delay
        toe_up[flying] = np.maximum(v0 * tau - 0.5 * G * tau**2, 0.0)
    tracks["toe_up"] = toe_up
    tracks["toe_forward"] = slide
    return tracks


def landing_clip(
    spec: LandingSpec,
    rng: np.random.Generator,
    *,
    fps: float = 30.0,
    view: str = "side",
    facing: int = 1,
    near: str = "right",
    noise: Noise | None = None,
    variable_rate: bool = False,
    right_delay: float = 0.0,
    valgus_shift_m: float = 0.0,
    scale: float = 420.0,
) -> Clip:
    """A drop from a box: standing, ballistic fall, toe-first contact, absorption, optional rebound."""
    noise = noise or Noise()
    contacts, _ = landing_contacts(spec)
    duration = contacts[-1] + 1.5
    t = frame_times(duration, fps, rng, variable_rate)
    n = t.shape[0]
    chains: dict[str, dict[str, FloatArray]] = {}
    tracks: dict[str, dict[str, FloatArray]] = {}
    for side in ("left", "right"):
        tr = _landing_tracks(t, spec, right_delay if side == "right" else 0.0)
        toe = np.stack([tr["toe_forward"], tr["toe_up"]], axis=1)
        heel = toe - FOOT * _rotate(_unit(n, 1.0, 0.0), -tr["pitch"])
        chains[side] = leg_chain(heel, tr["pitch"], tr["hip"], tr["knee"], tr["ankle"])
        tracks[side] = tr
    main = chains["left"]
    trunk_v = main["shoulder"] - main["hip"]
    trunk = np.degrees(np.arctan2(trunk_v[:, 0], trunk_v[:, 1]))
    if view == "side":
        chains = {"left": chains[near], "right": chains[near]}
        xy, z = _pixels_side(chains, facing, near, (640.0 - facing * 250.0, 1000.0), scale)
        vis = _visibility(n, near, noise, rng)
        valgus = {"left": np.full(n, np.nan), "right": np.full(n, np.nan)}
    else:
        knee_l = tracks["left"]["knee"]
        bend = np.clip((knee_l - spec.knee_ic) / max(spec.knee_peak - spec.knee_ic, 1e-6), 0, 1)
        shift = {"left": valgus_shift_m * bend, "right": valgus_shift_m * bend}
        xy, z = _pixels_front(chains, shift, (640.0, 1000.0), scale)
        vis = _visibility(n, None, noise, rng)
        valgus = {side: fppa_truth(xy, side) for side in ("left", "right")}
    truth = {
        "hip": tracks["left"]["hip"],
        "knee": tracks["left"]["knee"],
        "ankle": tracks["left"]["ankle"],
        "trunk": trunk,
        "valgus_left": valgus["left"],
        "valgus_right": valgus["right"],
    }
    return Clip(
        series=_finish(xy, z, t, vis, noise, rng),
        truth=truth,
        contacts=contacts,
        contacts_right_delay=right_delay,
    )


def single_leg_squat_clip(
    reps: list[RepSpec],
    rng: np.random.Generator,
    *,
    stance: str = "left",
    fps: float = 30.0,
    noise: Noise | None = None,
    valgus_shift_m: float = 0.04,
) -> Clip:
    """Front view single-leg squat: the stance leg squats with its knee drifting medially, the free leg is
    held bent with its foot off the floor."""
    noise = noise or Noise()
    clip = squat_clip(reps, rng, fps=fps, view="front", noise=QUIET, valgus_shift_m=valgus_shift_m)
    xy = clip.series.xy.copy()
    free = "right" if stance == "left" else "left"
    hip = xy[:, LANDMARK_INDEX[f"{free}_hip"]]
    lift = 0.25 * 560.0  # free foot ~25 cm off the floor, knee bent
    for part, drop in (("knee", 0.35), ("ankle", 0.55), ("heel", 0.6), ("foot_index", 0.58)):
        j = LANDMARK_INDEX[f"{free}_{part}"]
        xy[:, j, 1] = np.minimum(xy[:, j, 1] - lift * (1 - drop), hip[:, 1] + drop * 560.0)
    truth = dict(clip.truth)
    truth[f"valgus_{stance}"] = fppa_truth(xy, stance)
    series = clip.series
    noisy, vis = corrupt(xy, series.visibility, noise, rng)
    clean = LandmarkSeries(
        frame=series.frame,
        time_s=series.time_s,
        xy=noisy,
        z=series.z,
        visibility=vis,
        width=series.width,
        height=series.height,
        source="synthetic",
    )
    return Clip(series=clean, truth=truth, reps=reps)
