"""Angles as files other tools open: ``angles.csv`` and OpenSim's ``.mot`` (storage) format.

The ``.mot`` header is the one OpenSim's Storage reader expects (name line, ``version=1``, ``nRows``,
``nColumns`` counting the time column, ``inDegrees=yes``, ``endheader``) followed by a tab-separated
table. The columns are kneefix's 2-D angles, named after the analysed side (``_l``/``_r``); they are
NOT an OpenSim model's generalised coordinates (e.g. gait2392 counts knee flexion negative), so load
them as data for plotting and comparison, not as a motion to drive a model. Unknown samples are ``NaN``
in ``.mot`` and empty cells in the CSV.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from kneefix.motion.kinematics import Kinematics

CSV_COLUMNS = {
    "hip_flexion": "hip_flexion_deg",
    "knee_flexion": "knee_flexion_deg",
    "ankle_dorsiflexion": "ankle_dorsiflexion_deg",
    "trunk_inclination": "trunk_inclination_deg",
    "valgus_left": "valgus_left_deg",
    "valgus_right": "valgus_right_deg",
}


def mot_column_names(kin: Kinematics) -> list[str]:
    """Column names after ``time``, with the analysed side's suffix on the sagittal angles."""
    suffix = "_l" if kin.side == "left" else "_r"
    return [
        f"hip_flexion{suffix}",
        f"knee_flexion{suffix}",
        f"ankle_dorsiflexion{suffix}",
        "trunk_inclination",
        "valgus_l",
        "valgus_r",
    ]


def _mot_cell(value: float) -> str:
    return "NaN" if not math.isfinite(value) else f"{value:.4f}"


def write_mot(kin: Kinematics, path: Path) -> None:
    """Write the angles as an OpenSim ``.mot`` file (degrees, time in seconds)."""
    columns = list(kin.angle_columns().values())
    names = mot_column_names(kin)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(f"{path.stem}\n")
        handle.write("version=1\n")
        handle.write(f"nRows={len(kin)}\n")
        handle.write(f"nColumns={len(names) + 1}\n")
        handle.write("inDegrees=yes\n")
        handle.write("endheader\n")
        handle.write("\t".join(["time", *names]) + "\n")
        for i in range(len(kin)):
            cells = [f"{float(kin.time_s[i]):.6f}", *(_mot_cell(float(c[i])) for c in columns)]
            handle.write("\t".join(cells) + "\n")


def write_angles_csv(kin: Kinematics, path: Path) -> None:
    """Write the angles as CSV: ``frame``, ``time_s``, then one ``*_deg`` column per angle."""
    tracks = kin.angle_columns()
    frames = kin.frame if kin.frame.shape[0] == len(kin) else range(len(kin))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["frame", "time_s", *(CSV_COLUMNS[name] for name in tracks)])
        for i, frame in enumerate(frames):
            row = [str(int(frame)), f"{float(kin.time_s[i]):.6f}"]
            row.extend(
                "" if not math.isfinite(float(v[i])) else f"{float(v[i]):.3f}" for v in tracks.values()
            )
            writer.writerow(row)
