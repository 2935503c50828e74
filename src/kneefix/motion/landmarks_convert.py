"""Other tools' landmark tables into kneefix's public landmark CSV (``kneefix landmarks convert``).

Formats read (``--format``):

* ``kneefix``: the public landmark CSV itself (all 33 landmarks, ``frame``, ``time_s``), possibly in
  MediaPipe's normalised scales; it is rewritten in pixels.
* ``mediapipe-wide``: one row per frame, four columns per landmark named after BlazePose's landmarks:
  ``<name>_x``, ``<name>_y``, optionally ``<name>_z`` and a visibility column ``<name>_v``,
  ``<name>_vis`` or ``<name>_visibility``; any subset of the 33 landmarks (the rest are written empty).
  Optional columns: ``frame`` (or ``frame_index``, ``frame_idx``, ``frame_number``), a time (``time_s``
  or ``time`` in seconds, ``time_ms`` or ``timestamp_ms`` in milliseconds) and a clip column
  (``clip``, ``clip_id``, ``video``, ``video_id``, ``video_name``, ``file``, ``filename``, or the one
  named with ``--clip-column``). Without a time, rows are consecutive frames at ``--fps`` (default 30);
  without a frame column, frames count from 0 in each clip. Every other column (e.g. a ``label``) is
  carried over as an extra column, which the reader ignores.
* ``auto``: ``kneefix`` when every public column is there, else ``mediapipe-wide``.

Coordinates are pixels or MediaPipe's normalised scales, recognised and converted exactly as when
reading the public CSV (:func:`kneefix.motion.landmarks_csv.to_pixels`); the decision is taken once for
the whole file. A file holding several clips (a clip column with several values) is written as one file
per clip, ``OUT_<clip>.csv``, or only the clip chosen with ``--clip`` to ``OUT``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

from kneefix.errors import InputError
from kneefix.motion.landmarks_csv import (
    ImageSize,
    landmark_columns,
    name_list,
    number_cell,
    read_csv_rows,
    read_landmarks_csv,
    series_in_pixels,
    write_landmarks_csv,
)
from kneefix.motion.types import LANDMARK_INDEX, LANDMARK_NAMES, LandmarkSeries

Format = Literal["auto", "kneefix", "mediapipe-wide"]
FORMATS: tuple[str, ...] = get_args(Format)

FRAME_COLUMNS = ("frame", "frame_index", "frame_idx", "frame_number")
TIME_COLUMNS = {"time_s": 1.0, "time": 1.0, "time_ms": 0.001, "timestamp_ms": 0.001}
CLIP_COLUMNS = ("clip", "clip_id", "video", "video_id", "video_name", "file", "filename")
VISIBILITY_SUFFIXES = ("visibility", "vis", "v")
DEFAULT_FPS = 30.0
JUMP_LEGS = 0.3  # the hips moving a third of a leg length between two rows: not consecutive frames
JUMPS_NAMED = 6
NOT_ABOUT_THE_FILE = ("--", "-o ", "Cannot write")  # messages about an option or the output, not the input

FloatArray = NDArray[np.float64]


@dataclass
class Written:
    path: Path
    clip: str | None
    frames: int
    frames_with_person: int


@dataclass
class Conversion:
    """What ``convert_landmarks`` did: the format it read, the files written, and the warnings."""

    format: str
    written: list[Written] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Table:
    """A parsed wide table, all rows, in the file's own units."""

    landmarks: list[str]
    frame: NDArray[np.int64] | None
    time_s: FloatArray | None
    xy: FloatArray
    z: FloatArray
    visibility: FloatArray
    clips: list[str] | None
    extra: dict[str, list[str]]
    dropped: list[str]  # columns left out: named like the landmark CSV's own (e.g. a lone left_heel_z)


def detect_format(header: list[str]) -> Literal["kneefix", "mediapipe-wide"]:
    """``kneefix`` when every public column is present, ``mediapipe-wide`` when some landmark has x and y."""
    names = set(header)
    if all(column in names for column in landmark_columns()):
        return "kneefix"
    if any(f"{name}_x" in names and f"{name}_y" in names for name in LANDMARK_NAMES):
        return "mediapipe-wide"
    raise InputError(
        "cannot tell the format: expected kneefix's landmark CSV (frame, time_s, nose_x, nose_y, ...) or a "
        "MediaPipe table with one row per frame and columns named after BlazePose's landmarks "
        "(left_knee_x, left_knee_y, left_knee_z, left_knee_v, ...)."
    )


def _first(header_index: dict[str, int], candidates: tuple[str, ...]) -> str | None:
    return next((name for name in candidates if name in header_index), None)


def _parse_wide(rows: list[list[str]], clip_column: str | None) -> _Table:
    header = [cell.strip() for cell in rows[0]]
    index = {name: i for i, name in enumerate(header)}
    half = [n for n in LANDMARK_NAMES if (f"{n}_x" in index) != (f"{n}_y" in index)]
    if half:
        raise InputError(f"landmark(s) with only one of the x and y columns: {name_list(half)}")
    landmarks = [n for n in LANDMARK_NAMES if f"{n}_x" in index]
    if not landmarks:
        detect_format(header)  # raises the "cannot tell the format" message
    if clip_column is not None and clip_column not in index:
        raise InputError(f"--clip-column {clip_column}: no such column; the columns are {name_list(header)}")
    clip_name = clip_column or _first(index, CLIP_COLUMNS)
    frame_name = _first(index, FRAME_COLUMNS)
    time_name = _first(index, tuple(TIME_COLUMNS))
    used: set[str] = {c for c in (frame_name, time_name) if c}  # the clip column is carried over
    columns: list[tuple[int, int, int | None, int | None]] = []
    for name in landmarks:
        vis_name = next((f"{name}_{s}" for s in VISIBILITY_SUFFIXES if f"{name}_{s}" in index), None)
        z_name = f"{name}_z" if f"{name}_z" in index else None
        used.update(c for c in (f"{name}_x", f"{name}_y", z_name, vis_name) if c)
        columns.append(
            (
                index[f"{name}_x"],
                index[f"{name}_y"],
                index[z_name] if z_name else None,
                index[vis_name] if vis_name else None,
            )
        )
    public = set(landmark_columns())
    extra_names = [name for name in header if name and name not in used and name not in public]
    shadowed = [name for name in header if name not in used and name in public]

    data = rows[1:]
    if not data:
        raise InputError("the header is there but no frame rows follow")
    n, m = len(data), len(LANDMARK_NAMES)
    xy = np.full((n, m, 2), np.nan)
    z = np.full((n, m), np.nan)
    visibility = np.zeros((n, m))
    frame = np.zeros(n, dtype=np.int64) if frame_name else None
    time_s = np.zeros(n) if time_name else None
    clips: list[str] | None = [] if clip_name else None
    extra: dict[str, list[str]] = {name: [] for name in extra_names}
    width_needed = len(header)
    for r, row in enumerate(data):
        line = r + 2
        if len(row) < width_needed:
            row = row + [""] * (width_needed - len(row))
        if frame is not None and frame_name is not None:
            value = number_cell(row[index[frame_name]], line, frame_name)
            if math.isnan(value) or value != int(value) or value < 0:
                raise InputError(f"line {line}, column {frame_name}: expected a whole number >= 0")
            frame[r] = int(value)
        if time_s is not None and time_name is not None:
            t = number_cell(row[index[time_name]], line, time_name)
            if math.isnan(t):
                raise InputError(f"line {line}, column {time_name}: a time is required on every row")
            time_s[r] = t * TIME_COLUMNS[time_name]
        if clips is not None and clip_name is not None:
            clips.append(row[index[clip_name]].strip())
        for name in extra_names:
            extra[name].append(row[index[name]])
        for name, (cx, cy, cz, cv) in zip(landmarks, columns, strict=True):
            j = LANDMARK_INDEX[name]
            x = number_cell(row[cx], line, f"{name}_x")
            y = number_cell(row[cy], line, f"{name}_y")
            if math.isnan(x) or math.isnan(y):
                continue
            xy[r, j] = (x, y)
            if cz is not None:
                z[r, j] = number_cell(row[cz], line, header[cz])
            vis = number_cell(row[cv], line, header[cv]) if cv is not None else math.nan
            if math.isnan(vis):
                vis = 1.0
            if not 0.0 <= vis <= 1.0:
                raise InputError(f"line {line}, column {header[cv or 0]}: {vis} is outside 0-1")
            visibility[r, j] = vis
    return _Table(landmarks, frame, time_s, xy, z, visibility, clips, extra, shadowed)


def _clip_groups(table: _Table, clip: str | None) -> list[tuple[str | None, NDArray[np.intp]]]:
    """Row indices per clip, in order of first appearance; only ``clip`` when it is given."""
    n = table.xy.shape[0]
    if table.clips is None:
        if clip is not None:
            raise InputError(
                f"--clip {clip}: the file has no clip column ({', '.join(CLIP_COLUMNS)}); name the column "
                f"with --clip-column, or leave --clip out to convert every row as one clip."
            )
        return [(None, np.arange(n))]
    values = list(dict.fromkeys(table.clips))
    if clip is not None:
        if clip not in values:
            raise InputError(f"--clip {clip}: no such clip; the file holds {name_list(values)}")
        values = [clip]
    labels = np.array(table.clips, dtype=object)
    return [(value, np.flatnonzero(labels == value)) for value in values]


def _safe_name(value: str) -> str:
    stem = Path(value).stem if value else ""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")
    return safe or "clip"


def _targets(target: Path, clips: list[str | None]) -> list[Path]:
    if len(clips) == 1:
        return [target]
    suffix = target.suffix or ".csv"
    paths: list[Path] = []
    for value in clips:
        base = f"{target.stem}_{_safe_name(value or '')}"
        path, k = target.with_name(base + suffix), 2
        while path in paths:
            path, k = target.with_name(f"{base}-{k}{suffix}"), k + 1
        paths.append(path)
    return paths


def _timing(
    table: _Table, rows: NDArray[np.intp], fps: float | None, clip: str | None
) -> tuple[NDArray[np.int64], FloatArray, list[str]]:
    """Frame numbers and times for one clip's rows; times must increase."""
    notes: list[str] = []
    where = f" in clip {clip}" if clip is not None else ""
    frame = table.frame[rows] if table.frame is not None else np.arange(rows.size, dtype=np.int64)
    if table.time_s is not None:
        time_s = table.time_s[rows]
        if fps is not None:
            notes.append("--fps was not used: the file has a time column.")
    else:
        rate = fps or DEFAULT_FPS
        if table.frame is not None:
            time_s = (frame - frame[0]).astype(np.float64) / rate
            notes.append(
                f"The file has no time column; times are its frame numbers at {rate:g} frames/s"
                f"{'' if fps else ' (--fps to change)'}."
            )
        else:
            time_s = np.arange(rows.size, dtype=np.float64) / rate
            notes.append(
                f"The file has no time or frame column; its rows were taken as consecutive frames at "
                f"{rate:g} frames/s{'' if fps else ' (--fps to change)'}."
            )
    steps = np.diff(time_s)
    if steps.size and np.any(steps <= 0):
        bad = int(rows[int(np.argmax(steps <= 0)) + 1]) + 2
        column = "time" if table.time_s is not None else "frame"
        raise InputError(f"line {bad}: the {column} must increase from row to row{where}")
    return frame, time_s, notes


def _jumps(series: LandmarkSeries, rows: NDArray[np.intp]) -> list[int]:
    """File lines where the hips move over ``JUMP_LEGS`` leg lengths from the previous row."""
    xy = series.xy
    hips = (xy[:, LANDMARK_INDEX["left_hip"]] + xy[:, LANDMARK_INDEX["right_hip"]]) / 2
    legs = np.concatenate(
        [
            np.linalg.norm(xy[:, LANDMARK_INDEX[f"{s}_hip"]] - xy[:, LANDMARK_INDEX[f"{s}_ankle"]], axis=1)
            for s in ("left", "right")
        ]
    )
    legs = legs[np.isfinite(legs)]
    if legs.size == 0 or len(series) < 2:
        return []
    step = np.linalg.norm(np.diff(hips, axis=0), axis=1)
    with np.errstate(invalid="ignore"):
        big = np.flatnonzero(step > JUMP_LEGS * float(np.median(legs))) + 1
    return [int(rows[i]) + 2 for i in big]


def _check_target(target: Path, source: Path) -> None:
    if target.exists() and target.is_dir():
        raise InputError(f"-o {target}: this is a folder; give a file name such as landmarks.csv.")
    if not target.parent.exists():
        raise InputError(f"-o {target}: the folder {target.parent} does not exist.")
    if target.resolve() == source.resolve():
        raise InputError(f"-o {target}: this is the input file; write the converted landmarks elsewhere.")


def _write(series: LandmarkSeries, path: Path, extra: dict[str, list[str]] | None = None) -> None:
    try:
        write_landmarks_csv(series, path, extra)
    except OSError as error:
        raise InputError(f"Cannot write {path}: {error.strerror or error}.") from error


def _found(series: LandmarkSeries) -> int:
    return int(np.isfinite(series.xy[:, :, 0]).any(axis=1).sum())


def convert_landmarks(
    source: Path,
    target: Path,
    *,
    fmt: str = "auto",
    image_size: ImageSize | None = None,
    fps: float | None = None,
    clip: str | None = None,
    clip_column: str | None = None,
) -> Conversion:
    """Convert ``source`` into the public landmark CSV at ``target`` (one file per clip, see module doc).

    Every problem is an ``InputError`` naming the file and the line, column or option; every conversion
    of scale and every guess (times from a frame rate, rows that jump) is in the returned warnings.
    """
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt}: choose one of {', '.join(FORMATS)}.")
    if fps is not None and not (0 < fps <= 10000):
        raise InputError(f"--fps {fps:g}: expected a frame rate above 0, e.g. 30.")
    _check_target(target, source)
    rows = [row for row in read_csv_rows(source) if any(cell.strip() for cell in row)]
    try:
        if not rows:
            raise InputError("the file is empty; expected a header row and one row per frame")
        header = [cell.strip() for cell in rows[0]]
        kind = detect_format(header) if fmt == "auto" else fmt
        if kind == "kneefix":
            if clip is not None or clip_column is not None:
                raise InputError(
                    "--clip and --clip-column are for --format mediapipe-wide, not kneefix's CSV."
                )
            return _convert_public(source, target, image_size, fps)
        return _convert_wide(rows, source, target, image_size, fps, clip, clip_column)
    except InputError as err:
        if str(err).startswith((f"{source.name}:", *NOT_ABOUT_THE_FILE)):
            raise
        raise InputError(f"{source.name}: {err}") from None


def _convert_public(source: Path, target: Path, size: ImageSize | None, fps: float | None) -> Conversion:
    series = read_landmarks_csv(source, size)
    _write(series, target)
    warnings = list(series.warnings)
    if fps is not None:
        warnings.append("--fps was not used: the file has a time column.")
    if not warnings:
        warnings.append("The file was already kneefix's landmark CSV in pixels; nothing was converted.")
    return Conversion("kneefix", [Written(target, None, len(series), _found(series))], warnings)


def _convert_wide(
    rows: list[list[str]],
    source: Path,
    target: Path,
    size: ImageSize | None,
    fps: float | None,
    clip: str | None,
    clip_column: str | None,
) -> Conversion:
    table = _parse_wide(rows, clip_column)
    groups = _clip_groups(table, clip)
    # One scale decision for the whole file (all clips): convert everything at once, then split.
    whole = series_in_pixels(
        np.arange(table.xy.shape[0], dtype=np.int64),
        np.arange(table.xy.shape[0], dtype=np.float64),
        table.xy,
        table.z,
        table.visibility,
        size,
        str(source),
    )
    conversion = Conversion("mediapipe-wide", warnings=list(whole.warnings))
    missing = [n for n in LANDMARK_NAMES if n not in table.landmarks]
    if missing:
        conversion.warnings.append(
            f"The file has {len(table.landmarks)} of BlazePose's 33 landmarks; the other {len(missing)} "
            f"({name_list(missing)}) are written empty."
        )
    if table.dropped:
        conversion.warnings.append(
            f"Column(s) {name_list(table.dropped)} were left out: they are named like the landmark CSV's own "
            f"columns, but the file has no matching x and y columns."
        )
    notes: list[str] = []
    for (value, picked), path in zip(groups, _targets(target, [g[0] for g in groups]), strict=True):
        frame, time_s, timing_notes = _timing(table, picked, fps, value)
        notes.extend(note for note in timing_notes if note not in notes)
        series = LandmarkSeries(
            frame=frame,
            time_s=time_s,
            xy=whole.xy[picked],
            z=whole.z[picked],
            visibility=whole.visibility[picked],
            width=whole.width,
            height=whole.height,
            source=str(source),
            size_inferred=whole.size_inferred,
        )
        jumps = _jumps(series, picked)
        if jumps:
            lines = ", ".join(map(str, jumps[:JUMPS_NAMED])) + (" ..." if len(jumps) > JUMPS_NAMED else "")
            where = f"clip {value}" if value is not None else "the file"
            notes.append(
                f"In {where} the body jumps by over a third of a leg length from one row to the next "
                f"{len(jumps)} time(s) (lines {lines}): those rows are not consecutive frames (cut or "
                f"joined recordings); an analysis treats them as one clip."
            )
        extra = {name: [cells[i] for i in picked] for name, cells in table.extra.items()}
        _write(series, path, extra)
        conversion.written.append(Written(path, value, len(series), _found(series)))
    conversion.warnings.extend(notes)
    return conversion
