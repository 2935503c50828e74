"""Video files made for the tests with PyAV: synthetic clips, rotated copies of real clips, damaged files.

Real clips stay in ../shared/data; whatever a test derives from them is written into its tmp_path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray

TIME_BASE = Fraction(1, 90000)


def write_video(
    path: Path,
    frames: Iterable[NDArray[np.uint8]],
    times_s: Sequence[float] | None = None,
    *,
    fps: int = 30,
    rotation: int | None = None,
) -> Path:
    """Encode RGB frames as H.264 in ``path``; ``times_s`` gives each frame's own timestamp (VFR)."""
    container = av.open(str(path), mode="w", format="mp4")
    stream = container.add_stream("libx264", rate=fps)
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = TIME_BASE
    if rotation is not None:
        stream.set_display_rotation(rotation)
    for i, rgb in enumerate(frames):
        if i == 0:
            stream.height, stream.width = rgb.shape[:2]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        when = times_s[i] if times_s is not None else i / fps
        frame.pts = round(when / TIME_BASE)
        frame.time_base = TIME_BASE
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
    container.close()
    return path


def read_frames(path: Path, limit: int | None = None, step: int = 1) -> list[NDArray[np.uint8]]:
    """Raw decoded pixels (no rotation applied), for building test clips from a real one."""
    frames: list[NDArray[np.uint8]] = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if limit is not None and len(frames) >= limit:
                break
            if i % step == 0:
                frames.append(np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8))
    return frames


def stored_rotated(
    upright: list[NDArray[np.uint8]], path: Path, display_rotation: int, fps: int = 30
) -> Path:
    """Store upright frames the way a phone does: pixels turned, plus a display matrix undoing it.

    A player turns the stored picture counter-clockwise by ``display_rotation`` degrees, so the pixels
    are stored turned by the opposite angle.
    """
    turns = -round(display_rotation / 90)
    stored = [np.ascontiguousarray(np.rot90(frame, turns)) for frame in upright]
    return write_video(path, stored, fps=fps, rotation=display_rotation)


def blank_wall(path: Path, frames: int = 45, size: tuple[int, int] = (360, 640)) -> Path:
    """A textured grey wall with gentle camera noise and nobody in it."""
    rng = np.random.default_rng(7)
    height, width = size
    base = np.linspace(150, 200, width, dtype=np.float64)[None, :, None] * np.ones((height, 1, 3))
    images = (np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8) for _ in range(frames))
    return write_video(path, images)


def moving_square(path: Path, frames: int, times_s: Sequence[float] | None = None) -> Path:
    """A white square on black moving one pixel right per frame: each frame can be told apart."""
    images = []
    for i in range(frames):
        img = np.zeros((96, 256, 3), dtype=np.uint8)
        x = 8 + i % 200
        img[40:56, x : x + 16] = 255
        images.append(img)
    return write_video(path, images, times_s)


def cut_copy(source: Path, target: Path, keep_fraction: float) -> Path:
    """The first part of a file, as a download or a copy interrupted midway would leave it."""
    data = source.read_bytes()
    target.write_bytes(data[: max(1, int(len(data) * keep_fraction))])
    return target


def audio_only(path: Path) -> Path:
    """An mp4 holding one second of AAC sound and no picture."""
    container = av.open(str(path), mode="w")
    stream = container.add_stream("aac", rate=44100)
    samples = (np.sin(np.linspace(0, 2 * np.pi * 440, 44100)) * 0.2).astype(np.float32)[None, :]
    frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
    frame.sample_rate = 44100
    frame.pts = 0
    container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
    container.close()
    return path
