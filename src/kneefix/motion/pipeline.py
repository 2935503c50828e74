"""Video -> landmarks: decode, run the pose model on every frame, and check the result is usable.

The pose model runs in spawned worker processes, not in the caller: its native threads write log lines
straight to file descriptor 2 at unpredictable moments, and a crash in native code must not take a web
server down with it. Pose inference is the bottleneck (~30-38 frames/s on one core), and the tracker
carries each frame's result into the next, so the frames cannot simply be shared out: a tracker that
starts cold at a cut gives other landmarks for a second or more (median 30-66 px on two real clips).
Long clips use two workers that *hand off* instead (:class:`_Handoff`): the second starts a second
before the middle, the first runs on past it until both place the body alike on three frames in a
row, and only then does the second's track take over; if they never agree, the first runs to the end.
Either way every frame's landmarks are those of a tracker that has followed the person continuously.
Frames are streamed, so memory holds only the landmarks. Short clips use one worker: a second one's
start-up (~1-2 s to import and load the model) would cost more than it saves.

The pose model sees each frame shrunk to ``POSE_MAX_SIDE`` on its long side when it is larger (a 4K or
8K clip); BlazePose resizes its input to 256 px anyway, so nothing it could see is lost, and a frame's
pixels no longer cost 25-100 MB each. Landmarks are scaled back and always reported in the *original*
upright picture's pixels (``series.width`` x ``series.height`` = the video's size), so the landmark CSV,
the report and the annotated video (which scales them to its own size) agree whatever the pose input was.

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
_PROGRESS_EVERY = 8  # frames between landmark chunks (and progress) from a worker
WARM_UP_S = 1.0  # the second worker starts this long before the cut, so its tracker has locked on
HANDOFF_FRAMES = 3  # consecutive agreeing frames needed before the second worker's track is used
HANDOFF_TOLERANCE = 0.002  # of the picture's long side: ~2 px at 960 px, ~4 px at 1920
BODY_LANDMARKS = [11, 12, *range(23, 33)]  # shoulders, hips, knees, ankles, heels, toes
# Long side of the frames the pose model sees: 1080p phone clips (1920 px) pass unchanged, 4K is halved.
POSE_MAX_SIDE = 1920

BoolArray = NDArray[np.bool_]


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
    on_chunk: Callable[[NDArray[np.float64], NDArray[np.float32]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> _Segment:
    """Pose on the frames from ``start_s`` to ``stop_s`` with one backend: one continuous track.

    ``on_chunk`` receives the landmarks every ``_PROGRESS_EVERY`` frames (a worker streams them to the
    parent); ``should_stop`` ends the run early when the parent needs no more frames.
    """
    notes = DecodeNotes()
    times: list[float] = []
    rows: list[NDArray[np.float32]] = []
    sent = 0
    missing = np.full((N_LANDMARKS, 4), np.nan, dtype=np.float32)

    def flush() -> None:
        nonlocal sent
        if on_chunk is not None and len(times) > sent:
            on_chunk(np.asarray(times[sent:], dtype=np.float64), np.stack(rows[sent:]))
            sent = len(times)

    backend = factory()
    try:
        for frame in iter_frames(info, start_s=start_s, stop_s=stop_s, max_side=POSE_MAX_SIDE, notes=notes):
            landmarks = backend.process(frame.rgb)
            if landmarks is not None and frame.rgb.shape[:2] != (info.height, info.width):
                landmarks = to_original_pixels(landmarks, frame.rgb.shape[1], frame.rgb.shape[0], info)
            times.append(frame.time_s)
            rows.append(missing if landmarks is None else landmarks.astype(np.float32))
            on_frame(len(times))
            if len(times) % _PROGRESS_EVERY == 0:
                flush()
                if should_stop is not None and should_stop():
                    break
        flush()
    finally:
        backend.close()
    points = np.stack(rows) if rows else np.empty((0, N_LANDMARKS, 4), dtype=np.float32)
    return _Segment(np.asarray(times, dtype=np.float64), points, notes.warnings)


def to_original_pixels(
    landmarks: NDArray[np.float64], width: int, height: int, info: VideoInfo
) -> NDArray[np.float64]:
    """Landmarks found on a ``width`` x ``height`` copy of a frame, in the original frame's pixels
    (x and z by the width's ratio, y by the height's; visibility unchanged)."""
    scale_x, scale_y = info.width / width, info.height / height
    out = landmarks.copy()
    out[:, 0] *= scale_x
    out[:, 1] *= scale_y
    out[:, 2] *= scale_x
    return out


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
    stop: Any,  # multiprocessing.Event or None
    out: Any,  # multiprocessing.Queue
) -> None:
    """Entry point of a spawned worker: landmark chunks as they come, then done or the error text.

    It also stops when its parent is gone (killed, even with SIGKILL, which no clean-up code sees):
    the parent's ``finally`` reaps it otherwise, but a dead parent cannot, and an orphan would spend
    the core on a video nobody waits for.
    """
    _silence_native_stderr()
    parent = os.getppid()

    def should_stop() -> bool:
        return os.getppid() != parent or (stop is not None and bool(stop.is_set()))

    try:
        segment = _run_segment(
            info,
            factory,
            start_s,
            None,
            lambda done: None,
            on_chunk=lambda times, points: out.put(("points", part, (times, points))),
            should_stop=should_stop,
        )
    except KneefixError as error:
        out.put(("error", part, str(error)))
    except Exception as error:  # redone in the parent, where a real bug shows its traceback
        out.put(("crash", part, f"{type(error).__name__}: {error}"))
    else:
        out.put(("done", part, segment.warnings))


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


def _cut_s(info: VideoInfo) -> float:
    """Where the second worker's kept frames begin: a little past the middle, because it also decodes
    ``WARM_UP_S`` before the cut and the first worker usually runs a few frames past it."""
    return min(info.duration_s / 2 + WARM_UP_S / 4, info.duration_s)


class _Track:
    """One worker's landmarks so far, in frame order, in buffers that grow by doubling: chunks arrive
    every few frames and the handoff search reads the whole track, so nothing is re-concatenated."""

    def __init__(self) -> None:
        self._times = np.empty(0, dtype=np.float64)
        self._points = np.empty((0, N_LANDMARKS, 4), dtype=np.float32)
        self.count = 0
        self.warnings: list[str] = []
        self.finished = False

    def add(self, times: NDArray[np.float64], points: NDArray[np.float32]) -> None:
        end = self.count + len(times)
        if end > len(self._times):
            size = max(end, 2 * len(self._times), 256)
            self._times = np.resize(self._times, size)
            grown = np.empty((size, N_LANDMARKS, 4), dtype=np.float32)
            grown[: self.count] = self._points[: self.count]
            self._points = grown
        self._times[self.count : end] = times
        self._points[self.count : end] = points
        self.count = end

    @property
    def times(self) -> NDArray[np.float64]:
        return self._times[: self.count]

    @property
    def points(self) -> NDArray[np.float32]:
        return self._points[: self.count]

    def segment(self) -> _Segment:
        return _Segment(self.times.copy(), self.points.copy(), self.warnings)


def agreeing_frames(
    first: NDArray[np.float32], second: NDArray[np.float32], tolerance_px: float
) -> BoolArray:
    """Frames where two tracks of the same frames tell the same story: both saw nobody, or every body
    landmark (shoulders to toes) that both placed is within ``tolerance_px`` of the other."""
    a, b = first[:, BODY_LANDMARKS, :2], second[:, BODY_LANDMARKS, :2]
    seen_a, seen_b = np.isfinite(a[..., 0]).any(axis=1), np.isfinite(b[..., 0]).any(axis=1)
    with np.errstate(invalid="ignore"):
        distance = np.linalg.norm(a.astype(np.float64) - b, axis=2)
    worst = np.where(np.isfinite(distance), distance, 0.0).max(axis=1)
    same: BoolArray = (~seen_a & ~seen_b) | (seen_a & seen_b & (worst <= tolerance_px))
    return same


class _Handoff:
    """Finds the frame from which the second worker's track can stand in for the first one's.

    The first worker runs from the start and keeps going past the cut; the second starts
    ``WARM_UP_S`` before the cut, so its tracker has locked on by then. From the cut on, both place
    landmarks on the same frames; the first run of ``HANDOFF_FRAMES`` frames where they agree (see
    :func:`agreeing_frames`) is the handoff: the first worker stops, and the merged track is the first
    worker's continuous track up to there and the second's after. If they never agree, the first worker
    runs to the end and the second's work is dropped: the result is then exactly one continuous pass.
    """

    def __init__(self, cut_s: float, tolerance_px: float) -> None:
        self.cut_s = cut_s
        self.tolerance_px = tolerance_px
        self.first = _Track()
        self.second = _Track()
        self.at: int | None = None  # index in the first track where the second takes over
        self._offset: int | None = None  # index in the first track of the second's first frame
        self._checked = 0
        self._run = 0

    def add(self, part: int, times: NDArray[np.float64], points: NDArray[np.float32]) -> None:
        (self.first if part == 0 else self.second).add(times, points)
        if self.at is None:
            self._search()

    def _search(self) -> None:
        first, second = self.first, self.second
        if not first.count or not second.count:
            return
        if self._offset is None:
            offset = int(np.searchsorted(first.times, second.times[0]))
            if offset >= len(first.times):
                return
            if first.times[offset] != second.times[0]:
                self._offset = -1  # the two decodes do not share frame times: never hand off
                return
            self._offset = offset
        if self._offset < 0:
            return
        at_cut = int(np.searchsorted(second.times, self.cut_s - 1e-6))
        if at_cut >= len(second.times):
            return  # the second worker is still warming up
        self._checked = max(self._checked, self._offset + at_cut)
        stop = min(len(first.times), self._offset + len(second.times))
        if stop <= self._checked:
            return
        same = agreeing_frames(
            first.points[self._checked : stop],
            second.points[self._checked - self._offset : stop - self._offset],
            self.tolerance_px,
        )
        for k, agrees in enumerate(same):
            self._run = self._run + 1 if agrees else 0
            if self._run >= HANDOFF_FRAMES:
                self.at = self._checked + k + 1 - HANDOFF_FRAMES
                return
        self._checked = stop

    def covered(self) -> int:
        """Frames of the clip with landmarks so far (for progress)."""
        first, second = self.first, self.second
        if not first.count or not second.count:
            return first.count + second.count
        beyond = second.count - int(np.searchsorted(second.times, first.times[-1], side="right"))
        return first.count + beyond

    def merged(self) -> list[_Segment]:
        first = self.first.segment()
        if self.at is None or self._offset is None or self._offset < 0:
            return [first]
        second = self.second.segment()
        head = _Segment(first.times[: self.at], first.points[: self.at], first.warnings)
        skip = self.at - self._offset
        return [head, _Segment(second.times[skip:], second.points[skip:], second.warnings)]


def _run_in_workers(
    info: VideoInfo, factory: BackendFactory, count: int, reporter: _Reporter
) -> list[_Segment]:
    """Pose in ``count`` (1 or 2) worker processes; with two, one continuous track's result on two
    cores (see :class:`_Handoff`).

    Workers are spawned (not forked: safe from threaded callers such as a web server). If a worker
    dies, the whole clip is redone here in one pass, so a crash never changes the answer.
    """
    context = multiprocessing.get_context("spawn")
    messages: Any = context.Queue()
    stop_first = context.Event()
    cut = _cut_s(info)
    handoff = _Handoff(cut, HANDOFF_TOLERANCE * max(info.width, info.height))
    bounds: list[tuple[float | None, Any]] = [(None, stop_first), (max(cut - WARM_UP_S, 0.0), None)]
    bounds = bounds[:count]
    workers = [
        context.Process(
            target=_segment_worker,
            args=(part, info, factory, start, stop, messages),
            daemon=True,
            name=f"kneefix-pose-{part}",
        )
        for part, (start, stop) in enumerate(bounds)
    ]
    crashed = False
    try:
        with _main_module_hidden():
            for worker in workers:
                worker.start()
        while not crashed:
            if handoff.at is not None:
                stop_first.set()
            if handoff.first.finished and (handoff.at is None or handoff.second.finished):
                break
            try:
                kind, part, payload = messages.get(timeout=0.5)
            except queue.Empty:
                crashed = any(
                    not worker.is_alive() and not track.finished
                    for worker, track in zip(workers, (handoff.first, handoff.second), strict=False)
                )
                continue
            track = handoff.first if part == 0 else handoff.second
            if kind == "points":
                handoff.add(part, *payload)
                reporter.update(0, handoff.covered())
            elif kind == "done":
                track.warnings = payload
                track.finished = True
            elif kind == "error":
                raise VideoError(payload)
            else:
                crashed = True
    finally:
        for worker, track in zip(workers, (handoff.first, handoff.second), strict=False):
            if worker.pid is None:  # never started
                continue
            if track.finished:
                # Its "done" was its last message, so everything it sent has arrived; what is left is
                # MediaPipe's teardown (~0.4 s), which nobody needs to wait for.
                worker.terminate()
            worker.join(timeout=5 if crashed else 0.5)
            if worker.is_alive():
                worker.kill()
                worker.join()
        messages.close()
    if crashed:
        return [_run_segment(info, factory, None, None, functools.partial(reporter.update, 0))]
    return handoff.merged()


def _merge(parts: list[_Segment]) -> tuple[NDArray[np.float64], NDArray[np.float32], list[str]]:
    times = np.concatenate([p.times for p in parts])
    points = np.concatenate([p.points for p in parts])
    warnings = list(dict.fromkeys(w for p in parts for w in p.warnings))
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
    reporter = _Reporter(info.frame_count, 1, progress)
    if count == 0:
        parts = [_run_segment(info, backend_factory, None, None, functools.partial(reporter.update, 0))]
    else:
        parts = _run_in_workers(info, backend_factory, count, reporter)
    times, points, warnings = _merge(parts)
    if len(times) == 0:
        raise VideoError(f"{info.path.name}: no frame could be decoded; the file is damaged or cut short.")
    series = _to_series(info, times, points)
    return series, warnings + check_series(series)
