"""The landmark CSV is a public contract: it must round-trip and reject malformed files clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kneefix.errors import InputError
from kneefix.motion.landmarks_csv import landmark_columns, read_landmarks_csv, write_landmarks_csv
from kneefix.motion.types import LANDMARK_NAMES, LandmarkSeries
from tests.motion.synthetic import Noise, random_reps, squat_clip


def _clip_series() -> LandmarkSeries:
    rng = np.random.default_rng(0)
    return squat_clip(random_reps(rng, 1), rng, noise=Noise(dropout_rate=0.05)).series


def test_header_follows_mediapipe_order() -> None:
    columns = landmark_columns()
    assert columns[:6] == ["frame", "time_s", "nose_x", "nose_y", "nose_z", "nose_visibility"]
    assert columns[-1] == "right_foot_index_visibility"
    assert len(columns) == 2 + 4 * len(LANDMARK_NAMES)


def test_round_trip_keeps_values_and_missing_frames(tmp_path: Path) -> None:
    series = _clip_series()
    path = tmp_path / "landmarks.csv"
    write_landmarks_csv(series, path)
    back = read_landmarks_csv(path)
    assert len(back) == len(series)
    np.testing.assert_array_equal(back.frame, series.frame)
    np.testing.assert_allclose(back.time_s, series.time_s, atol=1e-6)
    missing = np.isnan(series.xy)
    assert missing.any(), "the clip should contain dropped frames"
    np.testing.assert_array_equal(np.isnan(back.xy), missing)
    np.testing.assert_allclose(back.xy[~missing], series.xy[~missing], atol=1e-3)
    seen = ~missing[..., 0]
    np.testing.assert_allclose(back.visibility[seen], series.visibility[seen], atol=1e-4)
    assert np.all(back.visibility[~seen] == 0)
    assert back.size_inferred
    assert back.width >= np.nanmax(series.xy[..., 0])


def test_no_person_row_has_empty_cells(tmp_path: Path) -> None:
    series = _clip_series()
    gone = int(np.flatnonzero(np.isnan(series.xy[:, 0, 0]))[0])
    path = tmp_path / "landmarks.csv"
    write_landmarks_csv(series, path)
    row = path.read_text().splitlines()[gone + 1].split(",")
    assert row[2:] == [""] * (4 * len(LANDMARK_NAMES))


def test_missing_columns_are_named(tmp_path: Path) -> None:
    columns = [c for c in landmark_columns() if not c.startswith("left_knee")]
    path = tmp_path / "bad.csv"
    path.write_text(",".join(columns) + "\n" + ",".join(["0"] * len(columns)) + "\n")
    with pytest.raises(InputError) as err:
        read_landmarks_csv(path)
    message = str(err.value)
    assert "bad.csv" in message
    assert "missing 4 column(s)" in message
    for name in ("left_knee_x", "left_knee_y", "left_knee_z", "left_knee_visibility"):
        assert name in message


def test_many_missing_columns_are_summarised(tmp_path: Path) -> None:
    path = tmp_path / "other_tool.csv"
    path.write_text("frame,time_s,nose_x\n0,0.0,1\n")
    with pytest.raises(InputError, match=r"missing 131 column\(s\): nose_y, .* and 123 more"):
        read_landmarks_csv(path)


@pytest.mark.parametrize(
    ("cell", "value", "expected"),
    [
        ("left_knee_x", "abc", r"line 3, column left_knee_x: 'abc' is not a number"),
        ("time_s", "", r"line 3, column time_s: a time is required"),
        ("frame", "1.5", r"line 3, column frame: expected a whole number"),
        ("nose_visibility", "3", r"line 3, column nose_visibility: 3.0 is outside 0-1"),
        ("nose_x", "inf", r"not a finite number"),
    ],
)
def test_bad_cells_name_line_and_column(tmp_path: Path, cell: str, value: str, expected: str) -> None:
    columns = landmark_columns()
    good = ["0", "0.0"] + ["1"] * (len(columns) - 2)
    bad = ["1", "0.04"] + ["1"] * (len(columns) - 2)
    bad[columns.index(cell)] = value
    path = tmp_path / "cells.csv"
    path.write_text("\n".join(",".join(r) for r in (columns, good, bad)) + "\n")
    with pytest.raises(InputError, match=expected):
        read_landmarks_csv(path)


def test_times_must_increase(tmp_path: Path) -> None:
    columns = landmark_columns()
    rows = [["0", "0.10"] + ["1"] * (len(columns) - 2), ["1", "0.05"] + ["1"] * (len(columns) - 2)]
    path = tmp_path / "time.csv"
    path.write_text("\n".join(",".join(r) for r in [columns, *rows]) + "\n")
    with pytest.raises(InputError, match="line 3, column time_s: times must increase"):
        read_landmarks_csv(path)


def test_empty_binary_and_absent_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        read_landmarks_csv(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(landmark_columns()) + "\n")
    with pytest.raises(InputError, match="no frame rows"):
        read_landmarks_csv(header_only)
    binary = tmp_path / "video.csv"
    binary.write_bytes(b"\x00\x00\x00\x18ftypmp42\xff\xfe\xfd")
    with pytest.raises(InputError):
        read_landmarks_csv(binary)
    with pytest.raises(InputError, match="no such file"):
        read_landmarks_csv(tmp_path / "absent.csv")


def test_extra_columns_and_missing_visibility_are_accepted(tmp_path: Path) -> None:
    columns = [*landmark_columns(), "note"]
    row = ["0", "0.0"] + ["0.9" if c.endswith("_visibility") else "5" for c in columns[2:-1]] + ["hello"]
    row[columns.index("nose_visibility")] = ""
    path = tmp_path / "extra.csv"
    path.write_text(",".join(columns) + "\n" + ",".join(row) + "\n")
    series = read_landmarks_csv(path)
    assert series.visibility[0, 0] == 1.0
    assert series.xy[0, 0, 0] == 5.0
