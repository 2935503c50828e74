"""Landmark CSVs in MediaPipe's own scales read as the same motion as the pixel CSV, or are refused.

The same synthetic clip is written three ways: in pixels (kneefix's format), with x, y and z all in
MediaPipe's normalised scale (x / width, y / height, z / width: what MediaPipe's Python API returns), and
with pixel x/y but normalised z (what a tool that scales only x and y writes). Read with the image size,
the last two must give the pixel CSV's analysis: rep count, view, initiation calls, and angles within 1°.
Without the size they are refused, naming the columns and ``--image-size``.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from kneefix.errors import InputError
from kneefix.motion.analyze import analyze_series
from kneefix.motion.kinematics import Kinematics
from kneefix.motion.landmarks_csv import (
    ImageSize,
    detect_scales,
    landmark_columns,
    parse_image_size,
    read_landmarks_csv,
    write_landmarks_csv,
)
from kneefix.motion.types import LANDMARK_NAMES, LandmarkSeries, Movement, Report
from tests.motion.synthetic import Clip, FloatArray, LandingSpec, landing_clip, random_reps, squat_clip

SIZE = ImageSize(1280, 1080)  # the synthetic clips' frame
ANGLE_TOLERANCE_DEG = 1.0


def write_scaled(
    series: LandmarkSeries, path: Path, xy_divisor: tuple[float, float], z_divisor: float
) -> None:
    """The public CSV's columns with x, y and z divided as given (7 decimals, enough for 0-1 values)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(landmark_columns())
        for i in range(len(series)):
            row = [str(int(series.frame[i])), f"{float(series.time_s[i]):.6f}"]
            for j in range(len(LANDMARK_NAMES)):
                x, y = float(series.xy[i, j, 0]), float(series.xy[i, j, 1])
                if not (math.isfinite(x) and math.isfinite(y)):
                    row.extend(["", "", "", ""])
                    continue
                z = float(series.z[i, j]) / z_divisor
                row.extend(
                    [
                        f"{x / xy_divisor[0]:.7f}",
                        f"{y / xy_divisor[1]:.7f}",
                        f"{z:.7f}",
                        f"{float(series.visibility[i, j]):.4f}",
                    ]
                )
            writer.writerow(row)


def three_files(series: LandmarkSeries, folder: Path) -> dict[str, Path]:
    paths = {name: folder / f"{name}.csv" for name in ("pixels", "normalised", "z_normalised")}
    write_landmarks_csv(series, paths["pixels"])
    write_scaled(series, paths["normalised"], (SIZE.width, SIZE.height), SIZE.width)
    write_scaled(series, paths["z_normalised"], (1.0, 1.0), SIZE.width)
    return paths


CLIPS: dict[str, tuple[Movement, int]] = {"squat-side": ("squat", 3), "squat-front": ("squat", 2)}
CLIPS["deadlift-side"] = ("deadlift", 3)
CLIPS["landing-side"] = ("landing", 0)


def make_clip(name: str) -> Clip:
    rng = np.random.default_rng(sum(map(ord, name)))
    movement, reps = CLIPS[name]
    if movement == "landing":
        return landing_clip(LandingSpec(), rng)
    view = "front" if name.endswith("front") else "side"
    return squat_clip(random_reps(rng, reps, movement), rng, view=view, valgus_shift_m=0.03)


def make_series(name: str) -> LandmarkSeries:
    return make_clip(name).series


ANGLE_FIELDS: tuple[str, ...] = ("hip_flexion", "knee_flexion", "ankle_dorsiflexion", "trunk_inclination")
ANGLE_FIELDS += ("valgus_left", "valgus_right")


def _max_difference(a: FloatArray, b: FloatArray) -> float:
    np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))
    both = np.isfinite(a) & np.isfinite(b)
    return float(np.max(np.abs(a[both] - b[both]))) if both.any() else 0.0


def assert_same_analysis(
    base: tuple[Report, Kinematics], other: tuple[Report, Kinematics], conversion_note: str
) -> float:
    """Same view, side, reps/landings, initiation calls; angles within 1°. Returns the largest difference."""
    (report, kin), (again, kin_again) = base, other
    assert again.view == report.view and again.side == report.side
    assert len(again.reps) == len(report.reps) and len(again.landings) == len(report.landings)
    assert [r.initiation for r in again.reps] == [r.initiation for r in report.reps]
    worst = max(_max_difference(getattr(kin, k), getattr(kin_again, k)) for k in ANGLE_FIELDS)
    for rep, rep_again in zip(report.reps, again.reps, strict=True):
        assert abs(rep.peak_knee_flexion_deg - rep_again.peak_knee_flexion_deg) < ANGLE_TOLERANCE_DEG
        assert abs(rep.peak_hip_flexion_deg - rep_again.peak_hip_flexion_deg) < ANGLE_TOLERANCE_DEG
        if rep.lag_ms is not None and rep_again.lag_ms is not None:
            assert abs(rep.lag_ms - rep_again.lag_ms) < 5.0
    for landing, landing_again in zip(report.landings, again.landings, strict=True):
        assert abs(landing.knee_flexion_ic_deg - landing_again.knee_flexion_ic_deg) < ANGLE_TOLERANCE_DEG
        assert abs(landing.peak_knee_flexion_deg - landing_again.peak_knee_flexion_deg) < ANGLE_TOLERANCE_DEG
    assert worst < ANGLE_TOLERANCE_DEG
    # Every conversion is said first; after it the warnings are the pixel CSV's.
    assert conversion_note in again.warnings[0]
    assert again.warnings[1:] == report.warnings
    return worst


@pytest.mark.parametrize("name", list(CLIPS))
def test_mediapipe_scales_give_the_pixel_answer(name: str, tmp_path: Path) -> None:
    movement = CLIPS[name][0]
    clip = make_clip(name)
    paths = three_files(clip.series, tmp_path)
    base = analyze_series(read_landmarks_csv(paths["pixels"]), movement)
    assert base[0].view == ("front" if name.endswith("front") else "side")
    assert len(base[0].reps) == len(clip.reps)
    assert len(base[0].landings) == len(clip.contacts)

    normalised = read_landmarks_csv(paths["normalised"], SIZE)
    assert (normalised.width, normalised.height, normalised.size_inferred) == (1280, 1080, False)
    note = "x, y and z columns were in MediaPipe's normalised 0-1 scale; converted to pixels"
    assert_same_analysis(base, analyze_series(normalised, movement), note)

    z_only = read_landmarks_csv(paths["z_normalised"], SIZE)
    note = "z columns were in MediaPipe's normalised scale; converted with width 1280 px"
    assert_same_analysis(base, analyze_series(z_only, movement), note)


def test_landmarks_match_the_pixels_to_a_thousandth_of_a_pixel(tmp_path: Path) -> None:
    series = make_series("squat-side")
    paths = three_files(series, tmp_path)
    seen = np.isfinite(series.xy)
    for key in ("normalised", "z_normalised"):
        back = read_landmarks_csv(paths[key], SIZE)
        np.testing.assert_allclose(back.xy[seen], series.xy[seen], atol=2e-3)
        np.testing.assert_allclose(back.z[seen[..., 0]], series.z[seen[..., 0]], atol=2e-3)


def test_normalised_coordinates_without_the_size_are_refused(tmp_path: Path) -> None:
    paths = three_files(make_series("squat-side"), tmp_path)
    with pytest.raises(InputError) as err:
        read_landmarks_csv(paths["normalised"])
    message = str(err.value)
    assert message.startswith("normalised.csv: the x, y and z columns (nose_x, nose_y, nose_z")
    assert "MediaPipe's normalised image coordinates, not pixels" in message
    assert "--image-size WIDTHxHEIGHT" in message


def test_normalised_depth_without_the_size_is_refused(tmp_path: Path) -> None:
    paths = three_files(make_series("squat-side"), tmp_path)
    with pytest.raises(InputError) as err:
        read_landmarks_csv(paths["z_normalised"])
    message = str(err.value)
    assert message.startswith("z_normalised.csv: the z columns (nose_z, left_eye_inner_z")
    assert "MediaPipe's normalised depth, not pixels" in message
    assert "--image-size WIDTHxHEIGHT" in message
    assert "leave the z cells empty" in message


def test_pixel_csv_is_read_as_before_and_the_size_only_fixes_the_frame(tmp_path: Path) -> None:
    series = make_series("squat-side")
    paths = three_files(series, tmp_path)
    plain = read_landmarks_csv(paths["pixels"])
    assert plain.size_inferred and plain.warnings == []
    sized = read_landmarks_csv(paths["pixels"], SIZE)
    assert (sized.width, sized.height, sized.size_inferred, sized.warnings) == (1280, 1080, False, [])
    np.testing.assert_array_equal(sized.xy, plain.xy)
    np.testing.assert_array_equal(sized.z, plain.z)


def test_a_size_the_landmarks_do_not_fit_is_refused(tmp_path: Path) -> None:
    paths = three_files(make_series("squat-side"), tmp_path)
    with pytest.raises(InputError, match=r"y reaches \d+ px, far beyond the image height 400 px"):
        read_landmarks_csv(paths["pixels"], ImageSize(1280, 400))


def test_depth_of_zeros_or_empty_needs_no_size(tmp_path: Path) -> None:
    series = make_series("squat-side")
    flat = dataclasses.replace(series, z=np.zeros_like(series.z))
    path = tmp_path / "flat.csv"
    write_landmarks_csv(flat, path)
    assert read_landmarks_csv(path).warnings == []
    empty = dataclasses.replace(series, z=np.full_like(series.z, np.nan))
    write_landmarks_csv(empty, path)
    assert read_landmarks_csv(path).warnings == []


def test_world_landmarks_in_metres_are_refused(tmp_path: Path) -> None:
    series = make_series("squat-side")
    hips = np.nanmean(series.xy[:, 23:25].reshape(-1, 2), axis=0)
    metres = (series.xy - hips) / 560.0  # hip-centred, about +-1 m: MediaPipe's world landmarks
    path = tmp_path / "world.csv"
    write_scaled(dataclasses.replace(series, xy=metres), path, (1.0, 1.0), 560.0)
    with pytest.raises(InputError, match="too small for image pixels and outside MediaPipe's normalised"):
        read_landmarks_csv(path, SIZE)


def test_detection_rules() -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(200, 900, (20, 33, 2))
    z = rng.uniform(-150, 150, (20, 33))
    pixels = detect_scales(xy, z)
    assert not pixels.xy_normalised and not pixels.z_normalised
    assert detect_scales(xy, z / 1280).z_normalised
    normalised = detect_scales(xy / 1280, z / 1280)
    assert normalised.xy_normalised and not normalised.z_normalised  # z goes with x/y then
    assert not detect_scales(xy, np.zeros_like(z)).z_normalised


@pytest.mark.parametrize(
    ("text", "size"), [("1280x720", ImageSize(1280, 720)), (" 1080 X 1920 ", ImageSize(1080, 1920))]
)
def test_image_size_parses(text: str, size: ImageSize) -> None:
    assert parse_image_size(text) == size


@pytest.mark.parametrize("text", ["1280", "1280x", "0x720", "-5x3", "wide", "1280x720x3"])
def test_bad_image_size_says_what_to_write(text: str) -> None:
    with pytest.raises(InputError, match=r"expected the video's width and height in pixels as WIDTHxHEIGHT"):
        parse_image_size(text)
