"""Streaming video decoding with PyAV: one RGB frame at a time, upright, timed by its own timestamp.

Phone videos are the input, so three things matter more than speed here:

* **Rotation.** Phones store portrait clips as landscape pixels plus a display matrix. PyAV reports it as
  ``frame.rotation``: the counter-clockwise angle a player turns the stored picture by, so the upright
  picture is ``np.rot90(pixels, rotation / 90)`` (checked against a real portrait clip re-stored
  landscape with a display matrix; see ``tests/video/test_video.py``).
* **Variable frame rate.** Times come from each frame's ``pts x time_base`` relative to the first frame,
  never from ``index / fps``.
* **Damaged files.** A clip cut short still decodes up to the damage; we keep those frames and say so.
* **Absurd sizes.** A decoded frame costs width x height x 1.5 bytes however small the file is, so frame
  sizes and lengths past :mod:`kneefix.limits` are refused from the header, before a frame is decoded,
  and again on every decoded frame (a header can lie). Decoder threads each hold frames in flight, so
  large frames get fewer threads (``DECODE_BUDGET_BYTES``).

Memory stays flat: frames are yielded one by one and dropped by the caller.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import filetype
import numpy as np
from numpy.typing import NDArray

from kneefix import limits
from kneefix.errors import VideoError

# Types ``filetype`` recognises that are certainly not videos: named in the error message. An animated
# GIF is a moving picture FFmpeg decodes (exercise libraries publish many), so it goes through.
_NOT_VIDEO_KINDS = ("image/", "audio/", "application/", "font/", "text/")
_MOVING_PICTURES = ("video/", "image/gif")
# What the decoder's threads may hold in decoded frames at once: each frame thread keeps one or more
# frames in flight, so 17 threads (16 cores) of 8K frames would hold ~850 MB; 4K and below never hit it.
DECODE_BUDGET_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class VideoInfo:
    """What a clip is, read from its header and first frame (no full decode)."""

    path: Path
    codec: str
    width: int  # after rotation, as a person sees the clip
    height: int
    rotation: int  # counter-clockwise degrees a player applies: 0, 90, 180 or 270
    fps: float  # nominal (container) rate; real times come from timestamps
    duration_s: float
    frame_count: int  # the container's count, or duration x fps when it has none
    first_pts: int  # timestamp of the first frame, in time_base units: time zero
    time_base: Fraction

    @property
    def stored_width(self) -> int:
        return self.height if self.rotation in (90, 270) else self.width

    @property
    def stored_height(self) -> int:
        return self.width if self.rotation in (90, 270) else self.height


@dataclass(frozen=True)
class DecodedFrame:
    """One upright RGB frame. ``index`` counts decoded frames from where decoding started."""

    index: int
    time_s: float
    rgb: NDArray[np.uint8]


@dataclass
class DecodeNotes:
    """Problems met while decoding that still leave an honest partial result."""

    warnings: list[str] = field(default_factory=list)
    damaged_at_s: float | None = None


def _check_file(path: Path) -> None:
    """Reject the obvious non-videos by content before FFmpeg gives a vaguer answer."""
    if not path.exists():
        raise VideoError(f"{path}: no such file.")
    if not path.is_file():
        raise VideoError(f"{path}: is not a file.")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: the file is empty (0 bytes); there is no video to analyse.")
    kind = filetype.guess(str(path))
    if (
        kind is not None
        and kind.mime.startswith(_NOT_VIDEO_KINDS)
        and not kind.mime.startswith(_MOVING_PICTURES)
    ):
        raise VideoError(
            f"{path}: this is a {kind.mime} file (.{kind.extension}), not a video. "
            "Give a video (mp4, mov, webm, avi) or a landmark CSV."
        )


def _open(path: Path) -> av.container.InputContainer:
    _check_file(path)
    try:
        # FFmpeg decodes a first frame while it opens the file (to learn the stream's details); with
        # ``max_pixels`` its decoder refuses an over-size frame instead of allocating it, and the size
        # still comes from the header, so the refusal below costs nothing.
        container = av.open(str(path), mode="r", options={"max_pixels": str(limits.VIDEO_MAX_PIXELS)})
    except av.error.FFmpegError as error:
        raise VideoError(
            f"{path}: cannot be read as a video (it is not a video, or it is damaged or cut short "
            f"before its index): {error.strerror or error}."
        ) from error
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: the file has no video stream (is it audio only?).")
    return container


class VideoLimitError(VideoError):
    """A readable video past the size or length limits; ``problem`` says which, without the file name
    (an upload names the file the person chose, not the draft it was saved as)."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: this video cannot be analysed: {problem}")
        self.problem = problem


def _refuse_size(name: str, width: int, height: int) -> None:
    problem = limits.video_size_problem(width, height)
    if problem is not None:
        raise VideoLimitError(name, problem)


def _refuse_length(name: str, duration_s: float, frames: int) -> None:
    problem = limits.video_length_problem(duration_s, frames)
    if problem is not None:
        raise VideoLimitError(name, problem)


def _decoder_threads(width: int, height: int, cores: int | None = None) -> int:
    """Frame threads for this size: FFmpeg's own choice (0: about one per core) unless that many
    threads' frames would pass the budget."""
    per_frame = max(1, width * height * 3 // 2)
    allowed = max(1, DECODE_BUDGET_BYTES // per_frame)
    return 0 if allowed > (cores or os.cpu_count() or 1) else int(allowed)


def _normalise_rotation(degrees: float) -> int:
    """Snap PyAV's rotation to a multiple of 90 in [0, 360); phones only write right angles."""
    return round(degrees / 90.0) % 4 * 90


def probe(path: Path | str) -> VideoInfo:
    """Read a clip's header and decode its first frame (for rotation and time zero)."""
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        time_base = stream.time_base or Fraction(1, 90000)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if stream.duration is not None:
            duration_s = float(stream.duration * time_base)
        elif container.duration is not None:
            duration_s = container.duration / 1_000_000
        else:
            duration_s = 0.0
        # Refused from the header, before the first frame is decoded (that alone costs its full size).
        _refuse_size(path.name, stream.codec_context.width, stream.codec_context.height)
        _refuse_length(path.name, duration_s, stream.frames or round(duration_s * fps))
        stream.thread_count = _decoder_threads(stream.codec_context.width, stream.codec_context.height)
        try:
            first = next(container.decode(stream))
        except (StopIteration, av.error.FFmpegError) as error:
            raise VideoError(
                f"{path}: not a single frame could be decoded; the file is damaged or cut short."
            ) from error
        _refuse_size(path.name, first.width, first.height)  # a header without a size (or a wrong one)
        rotation = _normalise_rotation(getattr(first, "rotation", 0) or 0)
        width, height = first.width, first.height
        if rotation in (90, 270):
            width, height = height, width
        frame_count = stream.frames or round(duration_s * fps)
        return VideoInfo(
            path=path,
            codec=stream.codec_context.name,
            width=width,
            height=height,
            rotation=rotation,
            fps=fps,
            duration_s=duration_s,
            frame_count=int(frame_count),
            first_pts=int(first.pts if first.pts is not None else 0),
            time_base=time_base,
        )
    finally:
        container.close()


def _note_if_cut_short(info: VideoInfo, last_time_s: float, notes: DecodeNotes | None) -> None:
    """Threaded decoders swallow the error of a truncated file: compare with the header's duration."""
    if notes is None or info.duration_s <= 0:
        return
    frame_s = 1.0 / info.fps if info.fps > 0 else 0.1
    if last_time_s < info.duration_s - max(0.5, 3 * frame_s):
        notes.damaged_at_s = last_time_s
        notes.warnings.append(
            f"The video ends at {last_time_s:.2f} s although its header says {info.duration_s:.2f} s: "
            "it is probably cut short or damaged; only the part before that was analysed."
        )


def _scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """Stored size after shrinking so the long side is at most ``max_side`` (even numbers)."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def iter_frames(
    info: VideoInfo,
    *,
    start_s: float | None = None,
    stop_s: float | None = None,
    max_side: int | None = None,
    notes: DecodeNotes | None = None,
) -> Iterator[DecodedFrame]:
    """Yield upright RGB frames with ``start_s <= time_s < stop_s``, streaming.

    ``start_s`` seeks to the keyframe before it and drops the frames before it, so two processes can
    share a clip without overlap or gap. ``max_side`` shrinks frames (long side, pixels) during the
    colour conversion; pixel coordinates are then in the shrunken frame. Decoding errors after the
    first frame end the iteration with a warning in ``notes`` instead of an exception. A frame past the
    size or length limits (a header that lied) is a ``VideoError`` whenever it comes.
    """
    container = _open(info.path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.thread_count = _decoder_threads(info.stored_width, info.stored_height)
        width, height = _scaled_size(info.stored_width, info.stored_height, max_side)
        turns = info.rotation // 90
        index = 0
        time_s = 0.0
        try:
            if start_s is not None and start_s > 0:
                target = info.first_pts + int(start_s / info.time_base)
                container.seek(target, stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                time_s = float((frame.pts - info.first_pts) * info.time_base)
                if start_s is not None and time_s < start_s - 1e-6:
                    continue
                if stop_s is not None and time_s >= stop_s - 1e-6:
                    break
                _refuse_size(info.path.name, frame.width, frame.height)
                _refuse_length(info.path.name, time_s, index + 1)
                rgb: NDArray[np.uint8] = np.asarray(
                    frame.to_ndarray(format="rgb24", width=width, height=height), dtype=np.uint8
                )
                if turns:
                    rgb = np.ascontiguousarray(np.rot90(rgb, turns))
                yield DecodedFrame(index=index, time_s=time_s, rgb=rgb)
                index += 1
            else:
                if index == 0 and start_s is None:
                    raise VideoError(
                        f"{info.path.name}: no frame could be decoded; the file is damaged or cut short."
                    )
                if index:  # a later segment past a cut-short end decodes nothing: the earlier one says so
                    _note_if_cut_short(info, time_s, notes)
        except av.error.FFmpegError as error:
            if index == 0 and start_s is None:
                raise VideoError(
                    f"{info.path.name}: no frame could be decoded; the file is damaged or cut short "
                    f"({error.strerror})."
                ) from error
            if notes is not None:
                notes.damaged_at_s = time_s
                notes.warnings.append(
                    f"The video is damaged or cut short after {time_s:.2f} s; only the part before "
                    "that was analysed."
                )
    finally:
        container.close()
