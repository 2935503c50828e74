"""The landmark CSV: a public, plain file that lets landmarks enter or leave the pipeline.

Format (documented in README): one header row, then one row per frame with ``frame``, ``time_s`` and, for
each of BlazePose's 33 landmarks in MediaPipe's order, ``<name>_x``, ``<name>_y`` (image pixels, origin
top-left, y down), ``<name>_z`` (depth in the same pixel scale as x: MediaPipe's normalised z times the
image width; may be empty) and ``<name>_visibility`` (0-1). A frame with no person has empty landmark
cells. Extra columns are ignored so a file annotated by another tool still loads.

Files in MediaPipe's own scales are recognised, never silently misread (:func:`to_pixels`): x/y all
within [-0.5, 1.5] are MediaPipe's normalised image coordinates (pixels of a person reach far beyond);
z whose 95th-percentile magnitude is at most 1.5 and under 5% of the body's pixel extent is MediaPipe's
normalised depth (pixel depth measured 0.8-1.9 × that extent). Both convert given the image size
(``--image-size WxH``: x * width, y * height, z * width) and are refused without it; every conversion
becomes a warning in the series (and so in the report).

Without an image size the reader estimates it from the largest coordinates and marks the series
``size_inferred`` so later stages do not treat the estimated border as the real edge of the frame.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
from numpy.typing import NDArray

from kneefix.errors import InputError
from kneefix.motion.types import LANDMARK_NAMES, LandmarkSeries

FIELDS = ("x", "y", "z", "visibility")
MAX_ERRORS_NAMED = 8

XY_NORMALISED_RANGE = (-0.5, 1.5)  # MediaPipe's normalised x/y: 0-1 in the frame, a little beyond outside it
PIXEL_MAX_MIN = 4.0  # pixel coordinates of a person reach beyond this somewhere in the clip
Z_NORMALISED_MAX = 1.5  # |z| (95th percentile) of MediaPipe's normalised depth stays below this
Z_PIXEL_SHARE_MIN = 0.05  # pixel depth was 0.8-1.9 x the body's extent on real clips; normalised z, < 1%
SIZE_SLACK = 1.5  # pixel landmarks beyond 1.5 x the given image size: the size is wrong (or swapped)
SIZE_HINT = "--image-size WIDTHxHEIGHT (the video's size in pixels, e.g. --image-size 1280x720)"

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ImageSize:
    """The video frame's size in pixels, for converting MediaPipe's normalised coordinates."""

    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


def parse_image_size(text: str) -> ImageSize:
    """``"1280x720"`` -> ``ImageSize(1280, 720)``; anything else is an ``InputError`` saying what to write."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*[xX×*]\s*(\d{1,6})\s*", text)
    if match is None or int(match[1]) <= 0 or int(match[2]) <= 0:
        raise InputError(
            f"--image-size {text!r}: expected the video's width and height in pixels as WIDTHxHEIGHT, "
            f"e.g. 1280x720 (landscape) or 1080x1920 (portrait)."
        )
    return ImageSize(int(match[1]), int(match[2]))


def landmark_columns() -> list[str]:
    """The header in order: ``frame``, ``time_s`` then four columns per landmark."""
    columns = ["frame", "time_s"]
    for name in LANDMARK_NAMES:
        columns.extend(f"{name}_{field}" for field in FIELDS)
    return columns


def _cell(value: float, digits: int) -> str:
    return "" if not math.isfinite(value) else f"{value:.{digits}f}"


def write_landmarks_csv(
    series: LandmarkSeries, path: Path, extra: Mapping[str, Sequence[str]] | None = None
) -> None:
    """Write ``series`` in the public landmark CSV format (empty cells where no person was found).

    ``extra`` adds columns after the landmarks (one value per frame), e.g. another tool's frame labels.
    """
    extra = extra or {}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*landmark_columns(), *extra])
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
            writer.writerow([*row, *(values[i] for values in extra.values())])


def number_cell(text: str, line: int, column: str) -> float:
    """A cell's number (NaN when empty); anything else is an ``InputError`` naming the line and column."""
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


def name_list(items: list[str]) -> str:
    """``a, b, c and 5 more``: at most ``MAX_ERRORS_NAMED`` items named."""
    named = ", ".join(items[:MAX_ERRORS_NAMED])
    more = len(items) - MAX_ERRORS_NAMED
    return named + (f" and {more} more" if more > 0 else "")


@contextmanager
def _csv_errors(path: Path) -> Iterator[None]:
    """Turn what opening and reading a text CSV can raise into an ``InputError`` naming the file."""
    try:
        yield
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path.name}: not a text CSV file (it holds binary data)") from None
    except (OSError, csv.Error) as err:
        raise InputError(f"{path.name}: cannot be read as CSV ({err})") from None


def read_csv_rows(path: Path) -> list[list[str]]:
    """The rows of a text CSV; a missing, binary or unreadable file is an ``InputError`` naming it.

    All rows at once, as strings (~20x the file's size in memory): for other tools' tables, which
    ``kneefix landmarks convert`` reads. :func:`read_landmarks_csv` streams instead.
    """
    with _csv_errors(path), path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def _count_lines(path: Path) -> int:
    """Newlines in the file (plus one for a last line without one): an upper bound on its rows."""
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def read_landmarks_csv(path: Path, image_size: ImageSize | None = None) -> LandmarkSeries:
    """Read a landmark CSV; every problem is an ``InputError`` naming the file and the line or columns.

    ``image_size`` is the video's size: it converts
    coordinates in MediaPipe's normalised scales (see :func:`to_pixels`) and replaces the estimated size.

    The file is streamed row by row into arrays sized from its line count, so memory is about the
    arrays' size (~1 KB a frame, about the file's own size) instead of every cell as a string.
    """
    with _csv_errors(path):
        capacity = max(_count_lines(path) - 1, 0)
        with path.open(newline="", encoding="utf-8-sig") as handle:
            try:
                return _parse_stream(handle, capacity, path, image_size)
            except InputError as err:
                raise InputError(f"{path.name}: {err}") from None


MS_STEP_S = 1.0  # a median step this long (under 1 frame/s) is milliseconds written as seconds


def _check_header(header: list[str], path: Path) -> dict[str, int]:
    index = {name: i for i, name in enumerate(header)}
    missing = [name for name in landmark_columns() if name not in index]
    if missing:
        listed = f"missing {len(missing)} column(s): {name_list(missing)}"
        other_tool = any(f"{name}_x" in index for name in LANDMARK_NAMES) and (
            "frame" not in index
            or "time_s" not in index
            or any(f"{name}_{end}" in index for name in LANDMARK_NAMES for end in ("v", "vis"))
        )
        if other_tool:
            raise InputError(
                f"this looks like another tool's landmark table, not kneefix's landmark CSV ({listed}). "
                f"Convert it first: kneefix landmarks convert {path.name} -o landmarks.csv (add --image-size "
                f"WIDTHxHEIGHT if it is in MediaPipe's normalised coordinates)."
            )
        raise InputError(listed)
    return index


def _parse_stream(handle: TextIO, capacity: int, path: Path, size: ImageSize | None) -> LandmarkSeries:
    """Rows into preallocated arrays, checking each row as it comes; line numbers are the file's."""
    reader = csv.reader(handle)
    header: list[str] | None = None
    for row in reader:
        if any(cell.strip() for cell in row):
            header = [cell.strip() for cell in row]
            break
    if header is None:
        raise InputError("the file is empty; expected a header row and one row per frame")
    index = _check_header(header, path)

    m = len(LANDMARK_NAMES)
    frame = np.zeros(capacity, dtype=np.int64)
    time_s = np.zeros(capacity, dtype=np.float64)
    xy = np.full((capacity, m, 2), np.nan)
    z = np.full((capacity, m), np.nan)
    visibility = np.zeros((capacity, m))
    columns = [[index[f"{name}_{field}"] for field in FIELDS] for name in LANDMARK_NAMES]
    width_needed = max(index.values()) + 1
    at_frame, at_time = index["frame"], index["time_s"]
    r = 0
    previous_line = 0
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        line = reader.line_num
        if r >= capacity:  # cannot happen (rows <= lines), but never write past the arrays
            raise InputError(f"line {line}: more rows than lines in the file")
        if len(row) < width_needed:
            row = row + [""] * (width_needed - len(row))
        frame_value = number_cell(row[at_frame], line, "frame")
        if math.isnan(frame_value) or frame_value != int(frame_value) or frame_value < 0:
            raise InputError(f"line {line}, column frame: expected a whole number >= 0")
        frame[r] = int(frame_value)
        t = number_cell(row[at_time], line, "time_s")
        if math.isnan(t):
            raise InputError(f"line {line}, column time_s: a time is required on every row")
        if t < 0:
            raise InputError(
                f"line {line}, column time_s: {t:g} is negative; times are seconds from the start of the clip"
            )
        time_s[r] = t
        if r:
            if frame[r] == frame[r - 1]:
                raise InputError(
                    f"line {line}, column frame: frame {frame[r]} again (line {previous_line} has it too); "
                    "each row is one frame"
                )
            if frame[r] < frame[r - 1]:
                raise InputError(
                    f"line {line}, column frame: frame numbers must increase from row to row (frame "
                    f"{frame[r]} after frame {frame[r - 1]} on line {previous_line})"
                )
            if t <= time_s[r - 1]:
                raise InputError(
                    f"line {line}, column time_s: times must increase from row to row ({t:g} s after "
                    f"{time_s[r - 1]:g} s on line {previous_line})"
                )
        for j, (cx, cy, cz, cv) in enumerate(columns):
            name = LANDMARK_NAMES[j]
            x = number_cell(row[cx], line, f"{name}_x")
            y = number_cell(row[cy], line, f"{name}_y")
            if math.isnan(x) or math.isnan(y):
                continue
            xy[r, j] = (x, y)
            z[r, j] = number_cell(row[cz], line, f"{name}_z")
            vis = number_cell(row[cv], line, f"{name}_visibility")
            if math.isnan(vis):
                vis = 1.0
            if not 0.0 <= vis <= 1.0:
                raise InputError(f"line {line}, column {name}_visibility: {vis} is outside 0-1")
            visibility[r, j] = vis
        r += 1
        previous_line = line
    if r == 0:
        raise InputError("the header is there but no frame rows follow")
    if r < capacity:  # blank lines: drop the unused tail (copied only when it is worth it)
        keep = slice(0, r)
        copy = r < 0.9 * capacity
        frame = frame[keep].copy() if copy else frame[keep]
        time_s = time_s[keep].copy() if copy else time_s[keep]
        xy = xy[keep].copy() if copy else xy[keep]
        z = z[keep].copy() if copy else z[keep]
        visibility = visibility[keep].copy() if copy else visibility[keep]
    _check_time_unit(time_s)
    return series_in_pixels(frame, time_s, xy, z, visibility, size, str(path))


def _check_time_unit(time_s: FloatArray) -> None:
    """Refuse times that step by a second or more a frame: milliseconds (or frame numbers) as seconds."""
    if len(time_s) < 2:
        return
    step = float(np.median(np.diff(time_s)))
    if step >= MS_STEP_S:
        raise InputError(
            f"column time_s: the rows are a median of {step:g} s apart ({1 / step:.2g} frames per second): "
            "the times look like milliseconds (or frame numbers), not seconds. Write time_s in seconds "
            "(divide milliseconds by 1000)."
        )


def series_in_pixels(
    frame: NDArray[np.int64],
    time_s: FloatArray,
    xy: FloatArray,
    z: FloatArray,
    visibility: FloatArray,
    size: ImageSize | None,
    source: str,
) -> LandmarkSeries:
    """A series in pixels from landmarks in any of the scales :func:`to_pixels` recognises.

    The image size is ``size`` when given, else estimated from the largest coordinates (``size_inferred``).
    """
    xy, z, warnings = to_pixels(xy, z, size)
    if size is not None:
        width, height, inferred = size.width, size.height, False
    else:
        finite = np.isfinite(xy)
        width = math.ceil(float(np.nanmax(xy[..., 0]))) + 1 if finite.any() else 0
        height = math.ceil(float(np.nanmax(xy[..., 1]))) + 1 if finite.any() else 0
        width, height, inferred = max(width, 0), max(height, 0), True
    return LandmarkSeries(
        frame=frame,
        time_s=time_s,
        xy=xy,
        z=z,
        visibility=visibility,
        width=width,
        height=height,
        source=source,
        size_inferred=inferred,
        warnings=warnings,
    )


@dataclass(frozen=True)
class Scales:
    """What the numbers in a landmark table are: pixels, or MediaPipe's normalised scales."""

    xy_normalised: bool
    z_normalised: bool
    xy_low: float  # smallest and largest x or y
    xy_high: float
    z_level: float  # 95th percentile of |z|; 0 when there is no depth
    body_extent: float  # median over frames of the landmarks' extent (larger of x and y), x/y units


def detect_scales(xy: FloatArray, z: FloatArray) -> Scales:
    """Measure the scales of ``xy`` ``(N, M, 2)`` and ``z`` ``(N, M)`` (NaN = unknown); no decision raised.

    * x/y normalised: every finite x and y within ``XY_NORMALISED_RANGE`` ([-0.5, 1.5]).
    * z normalised: x/y in pixels, and the 95th percentile of |z| above 0, at most ``Z_NORMALISED_MAX``
      and under ``Z_PIXEL_SHARE_MIN`` (5%) of the body's median pixel extent. (With normalised x/y the
      z is taken to be normalised too; :func:`to_pixels` checks that it fits.)
    """
    values = xy[np.isfinite(xy)]
    if values.size == 0:
        return Scales(False, False, math.nan, math.nan, 0.0, 0.0)
    low, high = float(values.min()), float(values.max())
    xy_normalised = XY_NORMALISED_RANGE[0] <= low and high <= XY_NORMALISED_RANGE[1]
    depths = np.abs(z[np.isfinite(z)])
    z_level = float(np.percentile(depths, 95)) if depths.size else 0.0
    seen = np.isfinite(xy).all(axis=2).any(axis=1)  # frames with a person
    x, y = xy[seen, :, 0], xy[seen, :, 1]
    spans = np.fmax(np.nanmax(x, axis=1) - np.nanmin(x, axis=1), np.nanmax(y, axis=1) - np.nanmin(y, axis=1))
    body = float(np.median(spans)) if spans.size else 0.0
    z_normalised = (
        not xy_normalised and 0.0 < z_level <= Z_NORMALISED_MAX and z_level < Z_PIXEL_SHARE_MIN * body
    )
    return Scales(xy_normalised, z_normalised, low, high, z_level, body)


def _present(xy: FloatArray, z: FloatArray) -> tuple[list[str], list[str]]:
    """The landmark names with any x/y value, and those with any z value."""
    with_xy = np.isfinite(xy).all(axis=2).any(axis=0)
    with_z = np.isfinite(z).any(axis=0)
    names = list(LANDMARK_NAMES[: xy.shape[1]])
    return [n for n, ok in zip(names, with_xy, strict=True) if ok], [
        n for n, ok in zip(names, with_z, strict=True) if ok
    ]


def to_pixels(
    xy: FloatArray, z: FloatArray, size: ImageSize | None
) -> tuple[FloatArray, FloatArray, list[str]]:
    """``xy`` and ``z`` in pixels (z in x's pixel scale), and one warning per conversion made.

    Landmarks already in pixels come back unchanged (a given ``size`` must then hold them). MediaPipe's
    normalised scales (see :func:`detect_scales`) convert with ``size`` (x * width, y * height,
    z * width) or, without it, are refused with an ``InputError`` that names the columns and says what
    to pass. Values too small for pixels yet outside the normalised range are refused too.
    """
    scales = detect_scales(xy, z)
    named_xy, named_z = _present(xy, z)
    xy_columns = name_list([f"{n}_{axis}" for n in named_xy for axis in ("x", "y")])
    z_columns = name_list([f"{n}_z" for n in named_z])
    finite = xy[np.isfinite(xy)]
    if finite.size == 0:
        return xy, z, []
    if not scales.xy_normalised and float(np.abs(finite).max()) < PIXEL_MAX_MIN:
        raise InputError(
            f"the x and y columns ({xy_columns}) hold values from {scales.xy_low:.2f} to "
            f"{scales.xy_high:.2f}: too small for image pixels and outside MediaPipe's normalised 0-1 "
            f"range (MediaPipe's world landmarks, in metres, cannot be used). Write x and y in pixels of the "
            f"video frame, or as MediaPipe's normalised image coordinates with {SIZE_HINT}."
        )
    if scales.xy_normalised:
        z_max = float(np.nanmax(np.abs(z))) if named_z else 0.0
        if scales.z_level > Z_NORMALISED_MAX:
            raise InputError(
                f"the x and y columns are in MediaPipe's normalised 0-1 scale, but the z columns "
                f"({z_columns}) hold values up to {z_max:.0f}, too large for that scale. Write z in the "
                f"same scale as x (both normalised, or both in pixels), or leave the z cells empty."
            )
        with_z = scales.z_level > 0.0
        if size is None:
            which = "x, y and z columns" if with_z else "x and y columns"
            listed = name_list([f"{n}_{a}" for n in named_xy for a in ("x", "y", "z") if a != "z" or with_z])
            raise InputError(
                f"the {which} ({listed}) hold values from {scales.xy_low:.2f} to {scales.xy_high:.2f}: "
                f"MediaPipe's normalised image coordinates, not pixels. To convert them, give {SIZE_HINT}."
            )
        out_xy = xy * np.array([size.width, size.height], dtype=np.float64)
        out_z = z * float(size.width)
        if with_z:
            note = (
                f"The x, y and z columns were in MediaPipe's normalised 0-1 scale; converted to pixels with "
                f"the image size {size} (x and z × {size.width} px, y × {size.height} px)."
            )
        else:
            note = (
                f"The x and y columns were in MediaPipe's normalised 0-1 scale; converted to pixels with "
                f"the image size {size} (x × {size.width} px, y × {size.height} px)."
            )
        return out_xy, out_z, [note]
    if size is not None:
        _check_fits(xy, size)
    if scales.z_normalised:
        if size is None:
            raise InputError(
                f"the z columns ({z_columns}) hold depths within ±{scales.z_level:.2f} while x and y span "
                f"about {scales.body_extent:.0f} pixels: MediaPipe's normalised depth, not pixels. To "
                f"convert z with the image width (z × width), give {SIZE_HINT}; or leave the z cells empty."
            )
        note = (
            f"The z columns were in MediaPipe's normalised scale; converted with width {size.width} px "
            f"(z × {size.width})."
        )
        return xy, z * float(size.width), [note]
    return xy, z, []


def _check_fits(xy: FloatArray, size: ImageSize) -> None:
    """Pixel landmarks far outside the given frame mean the size is wrong (or width and height swapped)."""
    for axis, name, limit in ((0, "x", size.width), (1, "y", size.height)):
        values = xy[..., axis]
        if not np.isfinite(values).any():
            continue
        reach = float(np.nanmax(values))
        if reach > SIZE_SLACK * limit:
            dimension = "width" if axis == 0 else "height"
            raise InputError(
                f"{name} reaches {reach:.0f} px, far beyond the image {dimension} {limit} px given with "
                f"--image-size {size}; check the size (width first: WIDTHxHEIGHT)."
            )
