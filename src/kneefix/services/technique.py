"""Technique check: a video or a landmark CSV in, a report (and optionally an output folder) out.

This is the one function the CLI (``kneefix analyze``) and the web worker call, so both give the same
results and the same messages. What the input is gets decided from its content and its name together
(:mod:`kneefix.motion.inputs`): a ``.csv`` text file is read as landmarks, anything else must be a
video, and a disagreement (a CSV renamed ``.mp4``, a video renamed ``.csv``) is refused, never guessed.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal, cast, get_args

import numpy as np

from kneefix.errors import InputError
from kneefix.motion.inputs import input_kind
from kneefix.motion.landmarks_csv import ImageSize, read_landmarks_csv, write_landmarks_csv
from kneefix.motion.outputs import prepare_out_dir, write_outputs
from kneefix.motion.pipeline import ProgressCallback, ProgressUpdate, video_to_landmarks
from kneefix.motion.types import LandmarkSeries, Movement, Report, SideChoice
from kneefix.motion.video import VideoInfo, probe

__all__ = [
    "ProgressCallback",
    "ProgressUpdate",
    "export_landmarks",
    "input_kind",
    "merge_warnings",
    "run_analysis",
]

# Imported in the background while the pose workers run (SciPy, OpenCV, matplotlib: ~1-1.5 s), so the
# workers start at once instead of after them; see ``_preload``.
_HEAVY_MODULES = ("kneefix.motion.analyze", "kneefix.motion.overlay", "kneefix.motion.plots")

MOVEMENTS: tuple[str, ...] = get_args(Movement)
SIDES: tuple[str, ...] = get_args(SideChoice)


def _preload() -> threading.Thread:
    """Start importing the analysis and output modules on another thread; join before using them."""

    def load() -> None:
        for name in _HEAVY_MODULES:
            importlib.import_module(name)

    loader = threading.Thread(target=load, name="kneefix-preload", daemon=True)
    loader.start()
    return loader


def _check_choices(movement: str, side: str) -> None:
    if movement not in MOVEMENTS:
        raise InputError(f"Unknown movement {movement!r}; choose one of: {', '.join(MOVEMENTS)}.")
    if side not in SIDES:
        raise InputError(f"Unknown side {side!r}; choose one of: {', '.join(SIDES)}.")


def _load(
    path: Path,
    progress: ProgressCallback | None,
    workers: int | Literal["auto"],
    image_size: ImageSize | None,
) -> tuple[LandmarkSeries, list[str], VideoInfo | None]:
    if input_kind(path) == "landmarks":
        return read_landmarks_csv(path, image_size), [], None
    info = probe(path)
    series, warnings = video_to_landmarks(info, progress=progress, workers=workers)
    return series, warnings, info


# Topics that both the pose-track checks (video input) and ``analyze_series`` (any input) warn about,
# as (phrase in the pipeline's warning, phrase in the analysis's). The pipeline's names the body parts
# and the times, so where both fire only it is kept: one problem, one message.
SAME_TOPIC = (
    ("outside the picture", "partly out of frame"),
    ("jumped suddenly", "jumps between places"),
    ("A person was found in only", "A person was found in only"),
)


def merge_warnings(pipeline: list[str], analysis: list[str]) -> list[str]:
    """The pipeline's warnings, then the analysis's minus those repeating a pipeline topic."""
    covered = [theirs for mine, theirs in SAME_TOPIC if any(mine in warning for warning in pipeline)]
    kept = [w for w in analysis if w not in pipeline and not any(phrase in w for phrase in covered)]
    return [*pipeline, *kept]


def _complete(report: Report, series: LandmarkSeries, source: str, pipeline_warnings: list[str]) -> Report:
    """Fill what only this layer knows (the input's name, the checks on the pose track)."""
    found = int(np.isfinite(series.xy[:, :, 0]).any(axis=1).sum())
    updates: dict[str, object] = {
        "source": source,
        "warnings": merge_warnings(pipeline_warnings, report.warnings),
    }
    if not report.frames:
        updates["frames"] = len(series)
    if not report.frames_with_person:
        updates["frames_with_person"] = found
    if not report.duration_s and len(series):
        updates["duration_s"] = round(float(series.time_s[-1] - series.time_s[0]), 3)
    return report.model_copy(update=updates)


def run_analysis(
    input_path: Path | str,
    movement: Movement | str,
    side: SideChoice | str = "auto",
    out_dir: Path | str | None = None,
    progress: ProgressCallback | None = None,
    quiet: bool = False,
    *,
    annotate: bool = True,
    workers: int | Literal["auto"] = "auto",
    image_size: ImageSize | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> Report:
    """Analyse one clip (video or landmark CSV) and, with ``out_dir``, write every output file there.

    ``progress`` receives :class:`ProgressUpdate`s (stage ``pose``, then ``overlay``) unless ``quiet``.
    ``annotate=False`` skips ``annotated.mp4``, the slowest output. ``image_size`` is the video's size for
    a landmark CSV in MediaPipe's normalised scales (it converts them; see ``motion/landmarks_csv.py``).
    Every problem a person can fix is a :class:`~kneefix.errors.KneefixError` with a clear message;
    files from an earlier run in ``out_dir`` are only replaced by complete new ones.

    ``checkpoint`` is called between the stages (read, analysis, outputs), quiet or not: a worker
    raises from it to stop a run whose check was deleted, even for a landmark CSV, which reports
    no progress of its own.
    """
    path = Path(input_path)
    _check_choices(str(movement), str(side))
    out = prepare_out_dir(Path(out_dir)) if out_dir is not None else None
    callback = None if quiet else progress
    loader = _preload()
    series, pipeline_warnings, info = _load(path, callback, workers, image_size)
    if checkpoint is not None:
        checkpoint()
    loader.join()
    from kneefix.motion.analyze import analyze_series  # loaded by now; see _HEAVY_MODULES

    report, kin = analyze_series(series, cast(Movement, movement), cast(SideChoice, side))
    report = _complete(report, series, path.name, pipeline_warnings)
    if checkpoint is not None:
        checkpoint()
    if out is not None:
        write_outputs(out, report, series, kin, info, annotate=annotate, progress=callback)
    return report


def export_landmarks(
    video_path: Path | str,
    csv_path: Path | str,
    progress: ProgressCallback | None = None,
    workers: int | Literal["auto"] = "auto",
) -> tuple[LandmarkSeries, list[str]]:
    """Run the pose model over a video and write the landmark CSV; returns the series and warnings."""
    target = Path(csv_path)
    if target.exists() and target.is_dir():
        raise InputError(f"-o {target}: this is a folder; give a file name such as landmarks.csv.")
    if not target.parent.exists():
        raise InputError(f"-o {target}: the folder {target.parent} does not exist.")
    series, warnings = video_to_landmarks(Path(video_path), progress=progress, workers=workers)
    try:
        write_landmarks_csv(series, target)
    except OSError as error:
        raise InputError(f"Cannot write {target}: {error.strerror or error}.") from error
    return series, warnings
