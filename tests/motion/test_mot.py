"""angles.mot must open in OpenSim (valid Storage header) and angles.csv must match the kinematics."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from kneefix.motion.kinematics import Kinematics, compute_kinematics
from kneefix.motion.mot import write_angles_csv, write_mot
from tests.motion.synthetic import Noise, random_reps, squat_clip


def _kinematics() -> Kinematics:
    rng = np.random.default_rng(21)
    return compute_kinematics(
        squat_clip(random_reps(rng, 1), rng, noise=Noise(dropout_rate=0.05)).series, "squat"
    )


def test_mot_header_and_table_are_valid(tmp_path: Path) -> None:
    kin = _kinematics()
    path = tmp_path / "angles.mot"
    write_mot(kin, path)
    lines = path.read_text().splitlines()
    end = lines.index("endheader")
    header = dict(line.split("=", 1) for line in lines[1:end] if "=" in line)
    assert lines[0] == "angles"
    assert header["version"] == "1"
    assert header["inDegrees"] == "yes"
    columns = lines[end + 1].split("\t")
    rows = [line.split("\t") for line in lines[end + 2 :]]
    assert columns[0] == "time"
    assert int(header["nColumns"]) == len(columns) == 7
    assert int(header["nRows"]) == len(rows) == len(kin)
    assert all(len(row) == len(columns) for row in rows)
    side = "_r" if kin.side == "right" else "_l"
    assert f"knee_flexion{side}" in columns
    times = np.array([float(row[0]) for row in rows])
    np.testing.assert_allclose(times, kin.time_s, atol=1e-6)
    knee = np.array([float(row[columns.index(f"knee_flexion{side}")]) for row in rows])  # "NaN" parses
    np.testing.assert_allclose(knee, kin.knee_flexion, atol=1e-3)


def test_angles_csv_matches_kinematics(tmp_path: Path) -> None:
    kin = _kinematics()
    path = tmp_path / "angles.csv"
    write_angles_csv(kin, path)
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(kin)
    assert list(rows[0]) == [
        "frame",
        "time_s",
        "hip_flexion_deg",
        "knee_flexion_deg",
        "ankle_dorsiflexion_deg",
        "trunk_inclination_deg",
        "valgus_left_deg",
        "valgus_right_deg",
    ]
    knee = np.array([float(r["knee_flexion_deg"]) if r["knee_flexion_deg"] else np.nan for r in rows])
    np.testing.assert_allclose(knee, kin.knee_flexion, atol=1e-3)
    assert all(r["valgus_left_deg"] == "" for r in rows)  # side view: no valgus, empty cells
