"""The video -> landmarks plumbing with model-free backends: order, splitting, progress, checks."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from kneefix.errors import VideoError
from kneefix.motion.pipeline import (
    HANDOFF_TOLERANCE,
    TWO_WORKER_MIN_FRAMES,
    ProgressUpdate,
    agreeing_frames,
    check_series,
    choose_workers,
    video_to_landmarks,
)
from kneefix.motion.pose_checks import identity_jump_times
from kneefix.motion.types import LANDMARK_INDEX, LandmarkSeries
from tests.video import fakes, media


@pytest.fixture(scope="module")
def square_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("square")
    times = [i / 30 + (0.01 if i % 7 == 3 else 0.0) for i in range(90)]  # a slightly irregular rate
    return media.moving_square(folder / "square.mp4", len(times), times)


@pytest.mark.parametrize("workers", [0, 2])
def test_landmarks_follow_the_frames_in_order(square_clip: Path, workers: int) -> None:
    updates: list[ProgressUpdate] = []
    series, warnings = video_to_landmarks(
        square_clip, backend_factory=fakes.SquareTracker, progress=updates.append, workers=workers
    )
    assert len(series) == 90
    np.testing.assert_array_equal(series.frame, np.arange(90))
    expected_x = [fakes.square_x(i) for i in range(90)]
    np.testing.assert_allclose(series.xy[:, 0, 0], expected_x, atol=0.6)
    assert np.all(np.diff(series.time_s) > 0)
    assert series.time_s[3] == pytest.approx(0.11, abs=1e-3)
    assert (series.width, series.height, series.source) == (256, 96, "square.mp4")
    assert warnings == []
    assert updates and updates[-1].done == 90 and updates[-1].total >= 90
    assert all(u.stage == "pose" for u in updates)
    assert [u.done for u in updates] == sorted(u.done for u in updates)


@pytest.fixture(scope="module")
def long_square_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return media.moving_square(tmp_path_factory.mktemp("long") / "square.mp4", 180)


def test_two_workers_hand_off_only_where_the_tracks_agree(long_square_clip: Path) -> None:
    """A tracker with memory: the second worker's cold start differs, so its frames are used only once
    it agrees with the first worker's continuous track, and from then on they match it."""
    one, _ = video_to_landmarks(long_square_clip, backend_factory=fakes.LaggingTracker, workers=0)
    two, _ = video_to_landmarks(long_square_clip, backend_factory=fakes.LaggingTracker, workers=2)
    np.testing.assert_array_equal(two.time_s, one.time_s)
    differs = np.flatnonzero(two.xy[:, 0, 0] != one.xy[:, 0, 0])
    assert differs.size, "the second worker's frames were never used"
    handoff = int(differs[0])
    assert handoff >= 90  # at or after the cut: the second worker's warm-up frames are never kept
    np.testing.assert_array_equal(two.xy[:handoff], one.xy[:handoff])
    tolerance = HANDOFF_TOLERANCE * 256
    assert np.max(np.abs(two.xy[:, :, 0] - one.xy[:, :, 0])) <= tolerance


def test_two_workers_that_never_agree_give_exactly_one_pass(long_square_clip: Path) -> None:
    one, _ = video_to_landmarks(long_square_clip, backend_factory=fakes.CountingTracker, workers=0)
    two, _ = video_to_landmarks(long_square_clip, backend_factory=fakes.CountingTracker, workers=2)
    np.testing.assert_array_equal(two.xy, one.xy)
    np.testing.assert_array_equal(two.time_s, one.time_s)


def test_agreeing_frames_needs_every_body_landmark_close_and_the_same_person_seen() -> None:
    base = np.zeros((4, 33, 4), dtype=np.float32)
    other = base.copy()
    other[1, 25, 0] = 5.0  # a knee 5 px off
    other[2] = np.nan  # nobody seen in the second track only
    other[3, 15, 0] = 50.0  # a wrist far off: not a body landmark that decides the handoff
    assert agreeing_frames(base, other, 2.0).tolist() == [True, False, False, True]
    both_empty = np.full((1, 33, 4), np.nan, dtype=np.float32)
    assert agreeing_frames(both_empty, both_empty, 2.0).tolist() == [True]


def test_a_backend_that_cannot_be_sent_to_a_worker_runs_here(square_clip: Path) -> None:
    series, _ = video_to_landmarks(square_clip, backend_factory=lambda: fakes.SquareTracker(), workers=2)
    assert len(series) == 90


def test_an_error_in_a_worker_reaches_the_caller_as_its_message(square_clip: Path) -> None:
    with pytest.raises(VideoError, match="the fake model refuses this frame"):
        video_to_landmarks(square_clip, backend_factory=fakes.Refuses, workers=1)


def test_nobody_in_any_frame_is_an_error(tmp_path: Path) -> None:
    dark = media.write_video(tmp_path / "dark.mp4", [np.zeros((64, 64, 3), dtype=np.uint8)] * 10)
    with pytest.raises(VideoError, match="No person found"):
        video_to_landmarks(dark, backend_factory=fakes.SquareTracker, workers=0)


def test_worker_choice() -> None:
    assert choose_workers(TWO_WORKER_MIN_FRAMES - 1, "auto") == 1
    assert choose_workers(TWO_WORKER_MIN_FRAMES, "auto") in (1, 2)  # 2 where there are two cores
    assert choose_workers(10, 2) == 2
    with pytest.raises(VideoError, match="workers must be"):
        choose_workers(10, 3)


def standing_series(n: int = 60, fps: float = 30.0) -> LandmarkSeries:
    """A still figure, 400 px tall, in the middle of a 640 x 480 picture."""
    xy = np.full((n, 33, 2), np.nan)
    body = {
        "nose": (320, 60), "left_shoulder": (310, 110), "right_shoulder": (330, 110),
        "left_hip": (312, 250), "right_hip": (328, 250), "left_knee": (312, 350), "right_knee": (328, 350),
        "left_ankle": (312, 440), "right_ankle": (328, 440), "left_heel": (305, 452),
        "right_heel": (322, 452), "left_foot_index": (330, 455), "right_foot_index": (346, 455),
    }  # fmt: skip
    for name, point in body.items():
        xy[:, LANDMARK_INDEX[name]] = point
    return LandmarkSeries(
        frame=np.arange(n),
        time_s=np.arange(n) / fps,
        xy=xy,
        z=np.zeros((n, 33)),
        visibility=np.where(np.isnan(xy[..., 0]), 0.0, 0.9),
        width=640,
        height=480,
        source="still",
    )


def test_a_steady_figure_raises_no_warning() -> None:
    assert check_series(standing_series()) == []


def test_feet_below_the_picture_are_named() -> None:
    series = standing_series()
    for name in (
        "left_ankle",
        "right_ankle",
        "left_heel",
        "right_heel",
        "left_foot_index",
        "right_foot_index",
    ):
        series.xy[:30, LANDMARK_INDEX[name], 1] += 60  # below the bottom edge in half the frames
    warnings = check_series(series)
    assert len(warnings) == 1
    assert "ankles and feet (50% of frames)" in warnings[0]
    assert "shoulders" not in warnings[0]


def test_track_jumping_to_another_person_and_back_is_reported() -> None:
    series = standing_series()
    series.xy[20:35, :, 0] += 250  # the model follows someone 250 px to the right for half a second
    assert identity_jump_times(series) == pytest.approx([20 / 30, 35 / 30])
    warnings = check_series(series)
    assert len(warnings) == 1 and "2 time(s)" in warnings[0] and "0.67 s" in warnings[0]


def test_a_person_much_nearer_the_camera_is_a_jump_even_in_place() -> None:
    series = standing_series()
    centre = series.xy[40:, :, :].copy()
    hips = (centre[:, LANDMARK_INDEX["left_hip"]] + centre[:, LANDMARK_INDEX["right_hip"]]) / 2
    series.xy[40:] = hips[:, None, :] + (centre - hips[:, None, :]) * 0.5  # half the size, same hips
    assert identity_jump_times(series) == pytest.approx([40 / 30])


def test_fast_real_movement_is_not_a_jump() -> None:
    series = standing_series(fps=30)
    series.xy[:, :, 1] += 40 * np.sin(np.arange(60) / 30 * 2 * np.pi * 1.5)[:, None]  # a brisk bounce
    assert identity_jump_times(series) == []


def test_a_gap_allows_for_the_distance_travelled_meanwhile() -> None:
    series = standing_series()
    series.xy[10:16] = np.nan  # lost for 6 frames while walking ~1.2 torso lengths
    series.xy[16:, :, 0] += 170
    assert identity_jump_times(series) == []


def test_starting_workers_leaves_the_main_module_as_it_was(square_clip: Path) -> None:
    main = sys.modules["__main__"]
    before = (main.__dict__.get("__file__"), main.__dict__.get("__spec__"), "__file__" in main.__dict__)
    video_to_landmarks(square_clip, backend_factory=fakes.SquareTracker, workers=1)
    after = (main.__dict__.get("__file__"), main.__dict__.get("__spec__"), "__file__" in main.__dict__)
    assert after == before
