"""Every real clip in ../shared/data through the pose pipeline and the analysis, checked against our labels.

The pose model runs once per session over all clips (``clips.py``); the checks per clip are cheap.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from kneefix.cli.app import app
from kneefix.motion.analyze import analyze_series
from kneefix.motion.kinematics import FPPA_MAX_DEG
from kneefix.motion.landmarks_csv import read_landmarks_csv
from kneefix.motion.overlay import MAX_SIDE, write_annotated_video
from kneefix.motion.pipeline import TWO_WORKER_MIN_FRAMES
from kneefix.motion.quality import FLEXION_MAX_DEG, MIN_DEPTH_DEG, STANDING_KNEE_MIN_DEG
from tests.conftest import SHARED_DATA
from tests.video import media
from tests.video.clips import (
    MOVEMENTS,
    TWO_WORKER_SAMPLE,
    ClipResult,
    checks_every_long_clip,
    labels,
    manifest,
)
from tests.video.rater_scoring import score

pytestmark = pytest.mark.slow

HAVE_CLIPS = (SHARED_DATA / "manifest.json").is_file()
ENTRIES = {Path(e["path"]).name: e for e in manifest(SHARED_DATA)} if HAVE_CLIPS else {}
LABELS = labels()
WARNING_KINDS = {
    "outside": "outside the picture",
    "jump": "jumped suddenly",
    "sparse": "A person was found in only",
}
runner = CliRunner()


def result_for(clip_landmarks: dict[str, ClipResult], name: str) -> ClipResult:
    result = clip_landmarks[name]
    assert result.error is None, f"{name}: the pipeline failed: {result.error}"
    assert result.series is not None
    return result


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_clip_goes_through_the_pose_pipeline(clip_landmarks: dict[str, ClipResult], name: str) -> None:
    entry, label = ENTRIES[name], LABELS.get(name, {})
    result = result_for(clip_landmarks, name)
    series = result.series
    assert series is not None
    assert len(series) == label.get("frames", entry["n_frames"])
    assert np.all(np.diff(series.time_s) > 0)
    assert series.time_s[-1] == pytest.approx(entry["duration_s"] - 1 / entry["fps_avg"], abs=0.15)
    found = np.isfinite(series.xy[:, :, 0]).any(axis=1).mean()
    assert found >= label.get("min_found", 0.9)
    kinds = {kind for kind, phrase in WARNING_KINDS.items() if any(phrase in w for w in result.warnings)}
    assert kinds == set(label.get("warnings", [])), result.warnings


def analysed(clip_landmarks: dict[str, ClipResult], name: str) -> Any:
    series = result_for(clip_landmarks, name).series
    assert series is not None
    return analyze_series(series, MOVEMENTS[ENTRIES[name]["movement"]], "auto")


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_clip_gets_a_coherent_report(clip_landmarks: dict[str, ClipResult], name: str) -> None:
    report, kin = analysed(clip_landmarks, name)
    series = clip_landmarks[name].series
    assert series is not None
    assert len(kin.time_s) == len(series)
    start, end = float(series.time_s[0]) - 1e-3, float(series.time_s[-1]) + 1e-3  # times are rounded to ms
    for rep in report.reps:
        assert start <= rep.start_s <= rep.bottom_s <= rep.end_s <= end
        assert 0 <= rep.peak_knee_flexion_deg <= 180 and -30 <= rep.peak_hip_flexion_deg <= 180
    for landing in report.landings:
        assert start <= landing.initial_contact_s <= landing.peak_knee_flexion_s <= end
    assert all(isinstance(line, str) and line for line in report.feedback)
    assert impossible_numbers_shown(report) == []


def impossible_numbers_shown(report: Any) -> list[str]:
    """Numbers a person is shown (reps and landings not called poor) that no knee or hip can make: the
    limits are the track-quality rules' own (``kneefix.motion.quality``, ``kinematics.FPPA_MAX_DEG``)."""
    bad = []
    for rep in (r for r in report.reps if r.quality.level != "poor"):
        for name in ("peak_knee_flexion_deg", "peak_hip_flexion_deg"):
            if getattr(rep, name) > FLEXION_MAX_DEG:
                bad.append(f"rep {rep.rep} {name} {getattr(rep, name)}")
        if rep.depth_deg is not None and rep.depth_deg <= MIN_DEPTH_DEG:
            bad.append(f"rep {rep.rep} depth {rep.depth_deg}")
        for name in ("valgus_deg", "valgus_left_deg", "valgus_right_deg"):
            if getattr(rep, name) is not None and abs(getattr(rep, name)) > FPPA_MAX_DEG:
                bad.append(f"rep {rep.rep} {name} {getattr(rep, name)}")
    for landing in (x for x in report.landings if x.quality.level != "poor"):
        knee_ic, knee_peak = landing.knee_flexion_ic_deg, landing.peak_knee_flexion_deg
        if knee_ic < STANDING_KNEE_MIN_DEG or knee_peak > FLEXION_MAX_DEG:
            bad.append(f"landing {landing.landing} knee {knee_ic} to {knee_peak}")
        for name in ("valgus_ic_deg", "valgus_peak_deg", "valgus_left_peak_deg", "valgus_right_peak_deg"):
            if getattr(landing, name) is not None and abs(getattr(landing, name)) > FPPA_MAX_DEG:
                bad.append(f"landing {landing.landing} {name} {getattr(landing, name)}")
    return bad


LABELLED_REPS = sorted(name for name, label in LABELS.items() if "reps" in label and name in ENTRIES)
LABELLED_LANDINGS = sorted(name for name, label in LABELS.items() if "landings" in label and name in ENTRIES)


@pytest.mark.parametrize("name", LABELLED_REPS)
def test_rep_count_matches_our_labels(clip_landmarks: dict[str, ClipResult], name: str) -> None:
    report, _ = analysed(clip_landmarks, name)
    label = LABELS[name]
    got = len(report.reps)
    if isinstance(label["reps"], list):
        low, high = label["reps"]
    else:
        low = label["reps"] - label.get("reps_tolerance", 0)
        high = label["reps"] + label.get("reps_tolerance", 0)
    assert low <= got <= high, (
        f"{name}: {got} reps found, {label['reps']} seen; bottoms at {[r.bottom_s for r in report.reps]}"
    )


@pytest.mark.parametrize("name", LABELLED_LANDINGS)
def test_landings_match_our_labels(clip_landmarks: dict[str, ClipResult], name: str) -> None:
    report, _ = analysed(clip_landmarks, name)
    label = LABELS[name]
    contacts = [landing.initial_contact_s for landing in report.landings]
    assert len(contacts) == label["landings"], contacts
    for seen, found in zip(label["contacts_s"], contacts, strict=True):
        assert found == pytest.approx(seen, abs=label["contact_tolerance_s"])


LONG_CLIPS = sorted(
    n
    for n, e in ENTRIES.items()
    if e["n_frames"] >= TWO_WORKER_MIN_FRAMES and (checks_every_long_clip() or n in TWO_WORKER_SAMPLE)
)
BODY = [11, 12, *range(23, 33)]  # shoulders to toes


@pytest.mark.parametrize("name", LONG_CLIPS)
def test_two_workers_give_what_one_continuous_pass_gives(
    clip_landmarks: dict[str, ClipResult], two_worker_landmarks: dict[str, ClipResult], name: str
) -> None:
    """The two-worker handoff on every long shared clip: the same frames, landmarks within a few
    pixels of one continuous pass, the same reps and landings, no call changed, and onsets and contacts
    within one frame."""
    one = result_for(clip_landmarks, name).series
    two = result_for(two_worker_landmarks, name).series
    assert one is not None and two is not None
    np.testing.assert_array_equal(two.time_s, one.time_s)
    distance = np.linalg.norm(two.xy[:, BODY] - one.xy[:, BODY], axis=2)
    long_side = max(one.width, one.height)
    assert np.nanmedian(distance) <= 0.002 * long_side
    assert np.nanpercentile(distance, 95) <= 0.01 * long_side
    movement = MOVEMENTS[ENTRIES[name]["movement"]]
    (a, _), (b, _) = analyze_series(one, movement), analyze_series(two, movement)
    frame = 1.0 / one.fps + 1e-3
    assert len(b.reps) == len(a.reps)
    # A lead called one way is never called another way. A borderline onset may be timed by one track
    # and left unknown by the other (the tracks differ by a pixel or so); that is allowed on one rep.
    borderline = 0
    for x, y in zip(a.reps, b.reps, strict=True):
        if "poor" in (x.quality.level, y.quality.level):
            assert x.initiation == y.initiation == "unknown"  # an untrustworthy track gets no call
            continue
        assert abs(x.bottom_s - y.bottom_s) <= frame, (x.rep, x.bottom_s, y.bottom_s)
        if "unknown" in (x.initiation, y.initiation) and x.initiation != y.initiation:
            borderline += 1
            continue
        assert x.initiation == y.initiation, (x.rep, x.initiation, y.initiation)
        for when in ("hip_onset_s", "knee_onset_s"):
            u, v = getattr(x, when), getattr(y, when)
            if x.initiation != "unknown":
                assert u is not None and v is not None and abs(u - v) <= frame, (x.rep, when, u, v)
    assert borderline <= 1
    assert len(b.landings) == len(a.landings)
    for p, q in zip(a.landings, b.landings, strict=True):
        assert abs(p.initial_contact_s - q.initial_contact_s) <= frame


def test_whole_command_on_a_real_clip(shared_data: Path, tmp_path: Path) -> None:
    clip = shared_data / "videos/squat_side/squat_side_spotter_gif_woman_deep.mp4"
    out = tmp_path / "out"
    result = runner.invoke(app, ["analyze", str(clip), "-m", "squat", "--out", str(out), "--json", "--quiet"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == json.loads((out / "report.json").read_text())
    assert report["frames"] == 46 and report["source"] == clip.name
    assert sorted(p.name for p in out.iterdir()) == [
        "angles.csv", "angles.mot", "angles.png", "annotated.mp4", "landmarks.csv", "report.json",
    ]  # fmt: skip
    assert len(read_landmarks_csv(out / "landmarks.csv")) == 46
    with av.open(str(out / "annotated.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 46


def test_portrait_phone_clip_is_annotated_smaller(
    shared_data: Path, clip_landmarks: dict[str, ClipResult], tmp_path: Path
) -> None:
    name = "squat_front_lnewco_ohs_p1_good_7027.mov"
    report, kin = analysed(clip_landmarks, name)
    series = clip_landmarks[name].series
    assert series is not None
    out = tmp_path / "annotated.mp4"
    write_annotated_video(shared_data / ENTRIES[name]["path"], series, kin, report, out)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (MAX_SIDE * 1080 // 1920 // 2 * 2, MAX_SIDE)
        assert sum(1 for _ in container.decode(video=0)) == len(series)


def test_blank_wall_has_nobody_to_analyse(tmp_path: Path) -> None:
    wall = media.blank_wall(tmp_path / "wall.mp4")
    result = runner.invoke(app, ["analyze", str(wall), "-m", "squat", "--quiet"])
    assert result.exit_code == 2
    assert "No person found" in result.stderr and "Traceback" not in result.stderr


def test_landmarks_command_writes_the_public_csv(shared_data: Path, tmp_path: Path) -> None:
    clip = shared_data / "videos/squat_front/squat_front_spotter_gif_man_red_bg.mp4"
    target = tmp_path / "pose.csv"
    result = runner.invoke(app, ["landmarks", str(clip), "-o", str(target), "--quiet"])
    assert result.exit_code == 0, result.stderr
    series = read_landmarks_csv(target)
    assert len(series) == 26
    assert np.isfinite(series.xy[:, :, 0]).any(axis=1).all()
    assert "Wrote 26 frames" in result.stderr


RATER_LABELS = Path(__file__).with_name("rater_labels.yaml")


def test_calls_contacts_and_counts_against_two_independent_raters(
    clip_landmarks: dict[str, ClipResult],
) -> None:
    """Scored only where both raters agree (``rater_scoring.py``). The floors are today's measured
    figures (docs/motion-analysis.md), so a change that makes the analysis worse on real clips fails."""
    labels = yaml.safe_load(RATER_LABELS.read_text())
    movements = {name: MOVEMENTS[entry["movement"]] for name, entry in ENTRIES.items()}
    scores = score(labels, lambda clip: clip_landmarks[clip].series, analyze_series, movements)
    agreed = [r for r in scores.reps if r.agreed is not None]
    assert len(agreed) >= 30
    wrong = [r for r in agreed if r.analysis in ("hips", "knees") and r.analysis != r.agreed]
    assert wrong == [], [(r.clip, r.sheet, r.analysis, r.agreed) for r in wrong]
    assert sum(1 for r in agreed if r.analysis == r.agreed) >= 12
    contacts = [c for c in scores.contacts if c.agreed and c.error_frames is not None]
    assert len(contacts) >= 9
    assert sum(1 for c in contacts if abs(c.error_frames or 0.0) <= 1.0) >= 8
    assert all(abs(c.error_frames or 0.0) <= 1.5 for c in contacts), [(c.clip, c.sheet) for c in contacts]
    counted = [(clip, a, n) for clip, a, b, n in scores.counts if a is not None and a == b]
    assert sum(1 for _, a, n in counted if a == n) >= 30
    ahead = [a for r in scores.reps for a, _ in r.departures_ms]
    assert len(ahead) >= 40
    # Onsets that mean movement: never after the joint has moved 2 deg for good, never long before it.
    assert all(-500.0 <= a <= 0.0 for a in ahead), sorted(ahead)
    recounted = [c for c in scores.recounts if c.agreed]
    assert len(recounted) >= 37
    assert sum(1 for c in recounted if c.analysis == c.raters[0]) >= 35
    trusted_off = [c.clip for c in recounted if c.poor == 0 and c.analysis != c.raters[0]]
    assert trusted_off == [], "counts differ where the analysis trusts every rep and landing's track"
    assert (
        sum(1 for c in recounted if c.kind == "reps" and c.cut_agreed and c.cut_analysis == c.cut_raters[0])
        >= 25
    )
