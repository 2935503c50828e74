"""Video -> landmarks: decode, run the pose model on every frame, and check the result is usable.

The pose model runs in spawned worker processes, not in the caller: its native threads write log lines
straight to file descriptor 2 at unpredictable moments, and a crash in native code must not take a web
server down with it. Pose inference is the bottleneck (~30-38 frames/s on one core), so a long clip is
cut in two halves at its middle timestamp, one worker each (``../shared/docs/perf.md``: ~1.8x faster;
the pose tracker restarts at the cut). Frames are streamed, so memory holds only the landmarks. Short
clips use one worker: a second one's start-up (~1-2 s to import and load the model) would cost more
than it saves.

After pose, cheap checks turn silent failure into words: nobody found (an error), the body partly
outside the picture, and the tracked body leaping between places (a second person, or a lost track).
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import pickle
import queue
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from kneefix.errors import KneefixError, VideoError
from kneefix.motion.pose import N_LANDMARKS, BackendFactory, MediaPipePose
from kneefix.motion.pose_checks import find_identity_jumps, find_parts_out_of_frame
from kneefix.motion.types import LandmarkSeries
from kneefix.motion.video import DecodeNotes, VideoInfo, iter_frames, probe

# Below this many frames a second worker's start-up and model load cost about what it saves: measured on
# this 2-core machine kind while busy, two workers lost at 49 and 72 frames and broke even at 175.
TWO_WORKER_MIN_FRAMES = 240
_PROGRESS_EVERY = 8  # frames between progress messages from a worker


@dataclass(frozen=True)
class ProgressUpdate:
    """Where a long step stands, for a progress bar. ``total`` is an estimate from the header."""

    stage: Literal["pose", "overlay"]
    done: int
    total: int
    fps: float


ProgressCallback = Callable[[ProgressUpdate], None]


@dataclass
class _Segment:
    """The landmarks of one stretch of frames: ``points`` is (n, 33, 4) float32, NaN rows = no person."""

    times: NDArray[np.float64]
    points: NDArray[np.float32]
    warnings: list[str] = field(default_factory=list)


def _run_segment(
    info: VideoInfo,
    factory: BackendFactory,
    start_s: float | None,
    stop_s: float | None,
    on_frame: Callable[[int], None],
) -> _Segment:
    notes = DecodeNotes()
    times: list[float] = []
    rows: list[NDArray[np.float32]] = []
    missing = np.full((N_LANDMARKS, 4), np.nan, dtype=np.float32)
    backend = factory()
    try:
        for frame in iter_frames(info, start_s=start_s, stop_s=stop_s, notes=notes):
            landmarks = backend.process(frame.rgb)
            times.append(frame.time_s)
            rows.append(missing if landmarks is None else landmarks.astype(np.float32))
            on_frame(len(times))
    finally:
        backend.close()
    points = np.stack(rows) if rows else np.empty((0, N_LANDMARKS, 4), dtype=np.float32)
    return _Segment(np.asarray(times, dtype=np.float64), points, notes.warnings)


def _silence_native_stderr() -> None:
    """In a worker, send fd 2 to /dev/null for good: MediaPipe's native threads log there at random
    moments, and nothing else the worker prints is meant for a person (errors travel by the queue)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:  # pragma: no cover - fd 2 already closed
        pass


def _segment_worker(
    part: int,
    info: VideoInfo,
    factory: BackendFactory,
    start_s: float | None,
    stop_s: float | None,
    out: Any,  # multiprocessing.Queue
) -> None:
    """Entry point of a spawned worker: progress messages, then the result or the error text."""
    _silence_native_stderr()

    def report(done: int) -> None:
        if done % _PROGRESS_EVERY == 0:
            out.put(("progress", part, done))

    try:
        segment = _run_segment(info, factory, start_s, stop_s, report)
    except KneefixError as error:
        out.put(("error", part, str(error)))
    except Exception as error:  # retried in the parent, where a real bug shows its traceback
        out.put(("crash", part, f"{type(error).__name__}: {error}"))
    else:
        out.put(("progress", part, len(segment.times)))
        out.put(("done", part, segment))


def _picklable(factory: BackendFactory) -> bool:
    try:
        pickle.dumps(factory)
    except Exception:
        return False
    return True


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def choose_workers(frame_count: int, workers: int | Literal["auto"]) -> int:
    """Two worker processes for long clips on a machine with two or more cores, else one.

    ``0`` runs the pose model in this process (tests with fake backends; nothing to spawn).
    """
    if workers != "auto":
        if workers not in (0, 1, 2):
            raise VideoError(f"workers must be 0, 1, 2 or 'auto', not {workers!r}.")
        return workers
    return 2 if _cores() >= 2 and frame_count >= TWO_WORKER_MIN_FRAMES else 1


class _Reporter:
    """Adds up the frames done by every part and turns them into ``ProgressUpdate``s.

    The rate is measured from the first frame done, so the workers' start-up (loading the model) does
    not drag the frames/s figure down for the rest of the run.
    """

    def __init__(self, total: int, parts: int, progress: ProgressCallback | None) -> None:
        self.total = total
        self.progress = progress
        self.done = [0] * parts
        self.first: tuple[float, int] | None = None

    def update(self, part: int, done: int) -> None:
        self.done[part] = done
        if self.progress is None:
            return
        done_all = sum(self.done)
        now = time.perf_counter()
        if self.first is None:
            self.first = (now, done_all)
        since, base = self.first
        fps = (done_all - base) / (now - since) if now > since else 0.0
        self.progress(ProgressUpdate("pose", done_all, max(self.total, done_all), fps))


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start workers without re-running the caller's main script in each of them.

    A spawned child first re-imports the parent's ``__main__`` (for the ``kneefix`` command: the whole
    CLI, storage and web layers, ~1-3 s of CPU per worker) so that objects defined there can be
    unpickled. Workers need nothing from ``__main__`` (backend factories must live in importable
    modules), so ``__main__`` shows no file or spec while they start.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {n: main.__dict__[n] for n in ("__file__", "__spec__") if n in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def _bounds(info: VideoInfo, parts: int) -> list[tuple[float | None, float | None]]:
    """Cut points in seconds; every frame falls in exactly one part (see ``iter_frames``)."""
    if parts == 1:
        return [(None, None)]
    cuts = [info.duration_s * k / parts for k in range(1, parts)]
    starts: list[float | None] = [None, *cuts]
    stops: list[float | None] = [*cuts, None]
    return list(zip(starts, stops, strict=True))


def _run_in_workers(
    info: VideoInfo, factory: BackendFactory, parts: int, reporter: _Reporter
) -> list[_Segment]:
    """Run each part in its own spawned process (spawn, not fork: safe from threaded callers such as a
    web server) and collect the results in order. A part whose worker dies is redone here."""
    bounds = _bounds(info, parts)
    context = multiprocessing.get_context("spawn")
    messages: Any = context.Queue()
    workers = [
        context.Process(
            target=_segment_worker,
            args=(part, info, factory, start, stop, messages),
            daemon=True,
            name=f"kneefix-pose-{part}",
        )
        for part, (start, stop) in enumerate(bounds)
    ]
    results: dict[int, _Segment] = {}
    crashed: set[int] = set()
    try:
        with _main_module_hidden():
            for worker in workers:
                worker.start()
        while len(results) + len(crashed) < parts:
            try:
                kind, part, payload = messages.get(timeout=0.5)
            except queue.Empty:
                crashed.update(
                    part
                    for part, worker in enumerate(workers)
                    if not worker.is_alive() and part not in results
                )
                continue
            if kind == "progress":
                reporter.update(part, payload)
            elif kind == "done":
                results[part] = payload
            elif kind == "error":
                raise VideoError(payload)
            else:
                crashed.add(part)
    finally:
        for worker in workers:
            if worker.pid is None:  # never started
                continue
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
                worker.join()
        messages.close()
    for part in sorted(crashed - results.keys()):
        start, stop = bounds[part]
        results[part] = _run_segment(info, factory, start, stop, functools.partial(reporter.update, part))
    return [results[part] for part in range(parts)]


def _merge(parts: list[_Segment]) -> tuple[NDArray[np.float64], NDArray[np.float32], list[str]]:
    times = np.concatenate([p.times for p in parts])
    points = np.concatenate([p.points for p in parts])
    warnings = [w for p in parts for w in p.warnings]
    keep = np.concatenate([[True], np.diff(times) > 0]) if len(times) else np.zeros(0, dtype=bool)
    if not keep.all():  # a muxer bug can repeat a timestamp; a repeated frame adds nothing
        times, points = times[keep], points[keep]
    return times, points, warnings


def _to_series(info: VideoInfo, times: NDArray[np.float64], points: NDArray[np.float32]) -> LandmarkSeries:
    data = points.astype(np.float64)
    visibility = np.nan_to_num(data[:, :, 3], nan=0.0)
    return LandmarkSeries(
        frame=np.arange(len(times), dtype=np.int64),
        time_s=times,
        xy=data[:, :, :2],
        z=data[:, :, 2],
        visibility=visibility,
        width=info.width,
        height=info.height,
        source=info.path.name,
    )


def check_series(series: LandmarkSeries) -> list[str]:
    """Warnings about a usable but doubtful pose track; ``VideoError`` if nobody was found at all."""
    found = ~np.isnan(series.xy[:, :, 0]).all(axis=1)
    if not found.any():
        raise VideoError(
            f"No person found in {series.source or 'the video'}: the pose model saw nobody in any of its "
            f"{len(series)} frames. Film the whole body, well lit, from 2-4 m away."
        )
    warnings: list[str] = []
    share = found.mean()
    if share < 0.8:
        warnings.append(
            f"A person was found in only {share:.0%} of the frames; the rest were left out of the analysis."
        )
    warnings.extend(find_parts_out_of_frame(series))
    warnings.extend(find_identity_jumps(series))
    return warnings


def video_to_landmarks(
    path: Path | str | VideoInfo,
    backend_factory: BackendFactory = MediaPipePose,
    progress: ProgressCallback | None = None,
    workers: int | Literal["auto"] = "auto",
) -> tuple[LandmarkSeries, list[str]]:
    """Landmarks for every frame of a video, plus warnings a person should read with the results.

    ``path`` may be a :class:`VideoInfo` from :func:`probe` when the caller has one already.

    ``backend_factory`` builds one pose backend per worker process, so it must be picklable (a class or
    a module-level function); one that is not runs here, in this process (``workers=0`` does the same).
    """
    info = path if isinstance(path, VideoInfo) else probe(path)
    count = choose_workers(info.frame_count, workers)
    if count and not _picklable(backend_factory):
        count = 0
    reporter = _Reporter(info.frame_count, max(count, 1), progress)
    if count == 0:
        parts = [_run_segment(info, backend_factory, None, None, functools.partial(reporter.update, 0))]
    else:
        parts = _run_in_workers(info, backend_factory, count, reporter)
    times, points, warnings = _merge(parts)
    if len(times) == 0:
        raise VideoError(f"{info.path.name}: no frame could be decoded; the file is damaged or cut short.")
    series = _to_series(info, times, points)
    return series, warnings + check_series(series)
