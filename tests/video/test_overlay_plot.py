"""annotated.mp4 and angles.png from a synthetic figure whose landmarks and events are known."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from kneefix.motion.kinematics import Kinematics, compute_kinematics
from kneefix.motion.overlay import NEAR, events_of, write_annotated_video
from kneefix.motion.pipeline import ProgressUpdate
from kneefix.motion.plots import plot_angles
from kneefix.motion.types import LANDMARK_INDEX, LandingResult, LandmarkSeries, Report, RepResult
from tests.motion.synthetic import QUIET, RepSpec, squat_clip
from tests.video import media

REPS = [
    RepSpec(hip_onset=0.6, knee_onset=0.8, bottom=1.6, hold=0.1, rise=0.8, hip_peak=95, knee_peak=100),
    RepSpec(hip_onset=3.0, knee_onset=2.9, bottom=3.9, hold=0.0, rise=0.8, hip_peak=90, knee_peak=105),
]


def rep_results(specs: list[RepSpec]) -> list[RepResult]:
    return [
        RepResult(
            rep=n,
            start_s=min(s.hip_onset, s.knee_onset),
            bottom_s=s.bottom,
            end_s=s.end,
            hip_onset_s=s.hip_onset,
            knee_onset_s=s.knee_onset,
            lag_ms=s.lag_ms,
            initiation="hips" if s.lag_ms > 0 else "knees",
            peak_hip_flexion_deg=s.hip_peak,
            peak_knee_flexion_deg=s.knee_peak,
        )
        for n, s in enumerate(specs, start=1)
    ]


@pytest.fixture(scope="module")
def figure() -> tuple[LandmarkSeries, Kinematics, Report]:
    """A side-view squat figure at half the generator's size (640 x 540: quick to encode)."""
    series = squat_clip(REPS, np.random.default_rng(3), noise=QUIET, variable_rate=True, tail=0.5).series
    series = dataclasses.replace(series, xy=series.xy / 2, width=series.width // 2, height=series.height // 2)
    kin = compute_kinematics(series, "squat", "auto")
    report = Report(movement="squat", fps=series.fps, side=kin.side, view=kin.view, reps=rep_results(REPS))
    return series, kin, report


@pytest.fixture(scope="module")
def source_clip(
    figure: tuple[LandmarkSeries, Kinematics, Report], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A plain grey video with exactly the series' (variable-rate) timestamps and picture size."""
    series = figure[0]
    grey = np.full((series.height, series.width, 3), 90, dtype=np.uint8)
    folder = tmp_path_factory.mktemp("overlay")
    return media.write_video(folder / "source.mp4", [grey] * len(series), list(series.time_s))


@pytest.fixture(scope="module")
def annotated(
    figure: tuple[LandmarkSeries, Kinematics, Report], source_clip: Path
) -> tuple[Path, list[ProgressUpdate]]:
    series, kin, report = figure
    updates: list[ProgressUpdate] = []
    out = source_clip.with_name("annotated.mp4")
    write_annotated_video(source_clip, series, kin, report, out, progress=updates.append)
    return out, updates


def test_annotated_video_is_browser_playable_h264(annotated: tuple[Path, list[ProgressUpdate]]) -> None:
    with av.open(str(annotated[0])) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.width % 2 == 0 and stream.height % 2 == 0
        assert (stream.width, stream.height) == (640, 540)  # under MAX_SIDE: kept as it is
        assert container.format.name.startswith("mov,mp4")


def test_annotated_video_keeps_every_frame_and_its_time(
    figure: tuple[LandmarkSeries, Kinematics, Report], annotated: tuple[Path, list[ProgressUpdate]]
) -> None:
    with av.open(str(annotated[0])) as container:
        times = [float((f.pts or 0) * (f.time_base or 0)) for f in container.decode(video=0)]
    np.testing.assert_allclose(times, figure[0].time_s, atol=1e-3)
    updates = annotated[1]
    assert updates[-1].stage == "overlay" and updates[-1].done == len(times)


def test_skeleton_is_drawn_on_the_analysed_leg(
    figure: tuple[LandmarkSeries, Kinematics, Report], annotated: tuple[Path, list[ProgressUpdate]]
) -> None:
    series, kin, _ = figure
    with av.open(str(annotated[0])) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    scale = frames[0].shape[1] / series.width
    i = len(frames) // 2
    hip = series.xy[i, LANDMARK_INDEX[f"{kin.side}_hip"]]
    knee = series.xy[i, LANDMARK_INDEX[f"{kin.side}_knee"]]
    x, y = ((hip + knee) / 2 * scale).round().astype(int)
    thigh = frames[i][y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3).mean(axis=0)
    assert np.abs(thigh - np.array(NEAR)).max() < 45, f"thigh pixel {thigh} is not the analysed-leg colour"
    corner = frames[i][frames[i].shape[0] // 2, 5]  # far from the figure, the panel and the strip
    assert np.abs(corner.astype(int) - 90).max() < 12


def test_events_are_listed_in_time_order() -> None:
    report = Report(
        movement="landing",
        fps=30,
        side="left",
        reps=rep_results(REPS),
        landings=[
            LandingResult(
                landing=1,
                initial_contact_s=0.7,
                hip_flexion_ic_deg=20,
                knee_flexion_ic_deg=15,
                peak_knee_flexion_s=0.95,
                peak_knee_flexion_deg=80,
                hip_flexion_at_peak_knee_deg=60,
            )
        ],
    )
    events = events_of(report)
    assert [e.time_s for e in events] == sorted(e.time_s for e in events)
    kinds = [e.kind for e in events]
    assert kinds.count("hip onset") == 2 and kinds.count("initial contact") == 1
    assert events[0].kind == "hip onset" and events[0].label == "rep 1"


def colour_pixels(image: NDArray[Any], rgb: tuple[int, int, int], tolerance: int = 30) -> int:
    return int((np.abs(image.astype(int) - np.array(rgb)).max(axis=2) < tolerance).sum())


def test_angle_plot_shows_both_joints_and_the_onsets(
    figure: tuple[LandmarkSeries, Kinematics, Report], tmp_path: Path
) -> None:
    _, kin, report = figure
    out = tmp_path / "angles.png"
    plot_angles(kin, report, out)
    image = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)
    assert image.shape[1] >= 1200 and image.shape[0] >= 500
    assert colour_pixels(image, (0xE0, 0x70, 0x00)) > 2000  # hip curve and hip-onset markers
    assert colour_pixels(image, (0x1F, 0x5F, 0xD0)) > 2000  # knee curve and knee-onset markers
    assert colour_pixels(image, (0xB0, 0x3C, 0xB0)) > 100  # dotted bottom lines


def test_front_view_plot_adds_the_valgus_panel(tmp_path: Path) -> None:
    clip = squat_clip(REPS, np.random.default_rng(5), view="front", noise=QUIET, valgus_shift_m=0.06)
    kin = compute_kinematics(clip.series, "squat", "auto")
    assert kin.view == "front"
    report = Report(movement="squat", fps=30, side=kin.side, view="front", reps=rep_results(REPS))
    side_png, front_png = tmp_path / "side.png", tmp_path / "front.png"
    plot_angles(kin, report, front_png)
    kin.view = "side"
    plot_angles(kin, report, side_png)
    front, side = cv2.imread(str(front_png)), cv2.imread(str(side_png))
    assert front.shape[0] > side.shape[0] + 100
