"""The ``--out`` folder: every result of one analysis as files a person or another tool can open.

``report.json`` (the public report), ``landmarks.csv`` (public landmark format), ``angles.csv`` and
``angles.mot`` (OpenSim), ``angles.png`` and, for video input, ``annotated.mp4``. Each file is written
in a hidden ``.partial`` folder and moved into place when complete, so an interrupted run never leaves a
half-written file under a real name, and a file from an earlier run is only replaced by a complete one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from kneefix.errors import InputError
from kneefix.motion.landmarks_csv import write_landmarks_csv
from kneefix.motion.pipeline import ProgressCallback
from kneefix.motion.types import LandmarkSeries, Report
from kneefix.motion.video import VideoInfo

if TYPE_CHECKING:
    from kneefix.motion.kinematics import Kinematics

REPORT = "report.json"
LANDMARKS = "landmarks.csv"
ANGLES_CSV = "angles.csv"
ANGLES_MOT = "angles.mot"
ANGLES_PNG = "angles.png"
ANNOTATED = "annotated.mp4"
PARTIAL_DIR = ".partial"


def prepare_out_dir(out_dir: Path) -> Path:
    """Create the folder (and parents); refuse a path that is a file. Called before the slow work."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir}: this is a file, not a folder.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"--out {out_dir}: cannot create the folder ({error.strerror}).") from error
    if not os.access(out_dir, os.W_OK):
        raise InputError(f"--out {out_dir}: the folder is not writable.")
    return out_dir


def write_report(report: Report, path: Path) -> None:
    """``report.json``: the report exactly as ``--json`` prints it."""
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """Yield a path of the same name in a hidden folder beside ``path``; move it into place only if the
    block succeeds. (Same name: some formats, such as .mot, record their own file name inside.)"""
    staging = path.parent / PARTIAL_DIR
    staging.mkdir(exist_ok=True)
    temporary = staging / path.name
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            staging.rmdir()  # only once empty


def _write(path: Path, writer: Callable[[Path], None]) -> Path:
    try:
        with _atomic(path) as temporary:
            writer(temporary)
    except OSError as error:
        raise InputError(f"Cannot write {path}: {error.strerror or error}.") from error
    return path


def write_outputs(
    out_dir: Path,
    report: Report,
    series: LandmarkSeries,
    kin: Kinematics,
    video: VideoInfo | None = None,
    *,
    annotate: bool = True,
    progress: ProgressCallback | None = None,
) -> list[Path]:
    """Write every output file into ``out_dir`` and return their paths, the report last."""
    # Imported here, not at the top: ``prepare_out_dir`` must stay cheap to import for the CLI, and
    # these pull in SciPy, OpenCV and matplotlib.
    from kneefix.motion.mot import write_angles_csv, write_mot
    from kneefix.motion.overlay import write_annotated_video
    from kneefix.motion.plots import plot_angles

    prepare_out_dir(out_dir)
    written = [
        _write(out_dir / LANDMARKS, lambda p: write_landmarks_csv(series, p)),
        _write(out_dir / ANGLES_CSV, lambda p: write_angles_csv(kin, p)),
        _write(out_dir / ANGLES_MOT, lambda p: write_mot(kin, p)),
        _write(out_dir / ANGLES_PNG, lambda p: plot_angles(kin, report, p)),
    ]
    if video is not None and annotate:

        def annotated(path: Path) -> None:
            write_annotated_video(video, series, kin, report, path, progress)

        written.append(_write(out_dir / ANNOTATED, annotated))
    written.append(_write(out_dir / REPORT, lambda p: write_report(report, p)))
    return written
