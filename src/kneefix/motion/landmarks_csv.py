"""The landmark CSV: a public, plain file that lets landmarks enter or leave the pipeline.

Format (documented in README): one header row, then one row per frame with ``frame``, ``time_s`` and, for
each of BlazePose's 33 landmarks in MediaPipe's order, ``<name>_x``, ``<name>_y`` (image pixels, origin
top-left, y down), ``<name>_z`` (may be empty) and ``<name>_visibility`` (0-1). A frame with no person has
empty landmark cells. Extra columns are ignored so a file annotated by another tool still loads.

The CSV holds no image size; the reader estimates it from the largest coordinates and marks the series
``size_inferred`` so later stages do not treat the estimated border as the real edge of the frame.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from kneefix.errors import InputError
from kneefix.motion.types import LANDMARK_NAMES, LandmarkSeries

FIELDS = ("x", "y", "z", "visibility")
MAX_ERRORS_NAMED = 8


def landmark_columns() -> list[str]:
    """The header in order: ``frame``, ``time_s`` then four columns per landmark."""
    columns = ["frame", "time_s"]
    for name in LANDMARK_NAMES:
        columns.extend(f"{name}_{field}" for field in FIELDS)
    return columns


def _cell(value: float, digits: int) -> str:
    return "" if not math.isfinite(value) else f"{value:.{digits}f}"


def write_landmarks_csv(series: LandmarkSeries, path: Path) -> None:
    """Write ``series`` in the public landmark CSV format (empty cells where no person was found)."""
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
                row.extend(
                    [
                        _cell(x, 3),
                        _cell(y, 3),
                        _cell(float(series.z[i, j]), 5),
                        _cell(float(series.visibility[i, j]), 4),
                    ]
                )
            writer.writerow(row)


def _number(text: str, line: int, column: str) -> float:
    text = text.strip()
    if text == "":
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"line {line}, column {column}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"line {line}, column {column}: {text!r} is not a finite number")
    return value


def _plural(items: list[str]) -> str:
    named = ", ".join(items[:MAX_ERRORS_NAMED])
    more = len(items) - MAX_ERRORS_NAMED
    return named + (f" and {more} more" if more > 0 else "")


def read_landmarks_csv(path: Path) -> LandmarkSeries:
    """Read a landmark CSV; every problem is an ``InputError`` naming the file and the line or columns."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path.name}: not a text CSV file (it holds binary data)") from None
    except (OSError, csv.Error) as err:
        raise InputError(f"{path.name}: cannot be read as CSV ({err})") from None
    try:
        return _parse_rows(rows, path)
    except InputError as err:
        raise InputError(f"{path.name}: {err}") from None


def _parse_rows(rows: list[list[str]], path: Path) -> LandmarkSeries:
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise InputError("the file is empty; expected a header row and one row per frame")
    header = [cell.strip() for cell in rows[0]]
    index = {name: i for i, name in enumerate(header)}
    missing = [name for name in landmark_columns() if name not in index]
    if missing:
        raise InputError(f"missing {len(missing)} column(s): {_plural(missing)}")
    data = rows[1:]
    if not data:
        raise InputError("the header is there but no frame rows follow")

    n, m = len(data), len(LANDMARK_NAMES)
    frame = np.zeros(n, dtype=np.int64)
    time_s = np.zeros(n, dtype=np.float64)
    xy = np.full((n, m, 2), np.nan)
    z = np.full((n, m), np.nan)
    visibility = np.zeros((n, m))
    columns = [[index[f"{name}_{field}"] for field in FIELDS] for name in LANDMARK_NAMES]
    width_needed = max(index.values()) + 1

    for r, row in enumerate(data):
        line = r + 2
        if len(row) < width_needed:
            row = row + [""] * (width_needed - len(row))
        frame_value = _number(row[index["frame"]], line, "frame")
        if math.isnan(frame_value) or frame_value != int(frame_value) or frame_value < 0:
            raise InputError(f"line {line}, column frame: expected a whole number >= 0")
        frame[r] = int(frame_value)
        t = _number(row[index["time_s"]], line, "time_s")
        if math.isnan(t):
            raise InputError(f"line {line}, column time_s: a time is required on every row")
        time_s[r] = t
        for j, (cx, cy, cz, cv) in enumerate(columns):
            name = LANDMARK_NAMES[j]
            x = _number(row[cx], line, f"{name}_x")
            y = _number(row[cy], line, f"{name}_y")
            if math.isnan(x) or math.isnan(y):
                continue
            xy[r, j] = (x, y)
            z[r, j] = _number(row[cz], line, f"{name}_z")
            vis = _number(row[cv], line, f"{name}_visibility")
            if math.isnan(vis):
                vis = 1.0
            if not 0.0 <= vis <= 1.0:
                raise InputError(f"line {line}, column {name}_visibility: {vis} is outside 0-1")
            visibility[r, j] = vis

    steps = np.diff(time_s)
    if steps.size and np.any(steps <= 0):
        bad = int(np.argmax(steps <= 0)) + 3
        raise InputError(f"line {bad}, column time_s: times must increase from row to row")

    finite = np.isfinite(xy)
    width = math.ceil(float(np.nanmax(xy[..., 0]))) + 1 if finite.any() else 0
    height = math.ceil(float(np.nanmax(xy[..., 1]))) + 1 if finite.any() else 0
    return LandmarkSeries(
        frame=frame,
        time_s=time_s,
        xy=xy,
        z=z,
        visibility=visibility,
        width=max(width, 0),
        height=max(height, 0),
        source=str(path),
        size_inferred=True,
    )
