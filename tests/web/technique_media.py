"""Small real media for the technique-check tests: a valid MP4 made on the spot, a fake analysis.

The upload path sniffs and decodes what it receives, so the tests need a genuine video; a dozen tiny
frames encoded with PyAV is enough and takes milliseconds. The stand-in analysis writes the files the
real pipeline writes, so pages and downloads can be checked without running the pose model.
"""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from kneefix.errors import VideoError
from kneefix.motion.types import Report, RepResult


def tiny_mp4(frames: int = 12, size: int = 64) -> bytes:
    """A short H.264 MP4 (moving grey square) that any decoder accepts."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width = size
        stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(frames):
            image = np.full((size, size, 3), 40, dtype=np.uint8)
            image[8 + index : 24 + index, 8:24] = 220
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def tiny_png() -> bytes:
    """A valid 1x1 PNG (an image, not a video)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def sample_report(movement: str = "squat") -> Report:
    rep = RepResult(
        rep=1,
        start_s=0.1,
        bottom_s=0.5,
        end_s=0.9,
        hip_onset_s=0.1,
        knee_onset_s=0.18,
        lag_ms=80.0,
        initiation="hips",
        peak_hip_flexion_deg=95.0,
        peak_knee_flexion_deg=88.0,
        lowering_s=0.4,
    )
    return Report(
        movement=movement,
        fps=12.0,
        side="left",
        view="side",
        duration_s=1.0,
        feedback=["Start each rep by sending the hips back, then let the knees bend."],
        reps=[rep],
    )


Progress = Callable[[float], None]


def fake_analysis(
    video: bytes, report_of: Callable[[str], Report] | None = None
) -> Callable[[Path, str, str, Path, Progress], Report]:
    """A stand-in for the pipeline: reports progress and writes the usual output files."""

    def analyse(input_path: Path, movement: str, side: str, out_dir: Path, progress: Progress) -> Report:
        progress(0.4)
        report = (report_of or sample_report)(movement)
        (out_dir / "annotated.mp4").write_bytes(video)
        (out_dir / "angles.png").write_bytes(tiny_png())
        (out_dir / "report.json").write_text(report.model_dump_json(), encoding="utf-8")
        progress(0.9)
        return report

    return analyse


def failing_analysis(message: str) -> Callable[[Path, str, str, Path, Progress], Report]:
    """An analysis that fails the way a bad clip does (a VideoError naming the server's path)."""

    def analyse(input_path: Path, movement: str, side: str, out_dir: Path, progress: Progress) -> Report:
        raise VideoError(f"{input_path}: {message}")

    return analyse


def slow_analysis(
    started: threading.Event, steps: list[int] | None = None
) -> Callable[[Path, str, str, Path, Progress], Report]:
    """Writes a partial result, then reports progress for up to 20 s: long enough to be stopped or
    cancelled mid-run. Each step it reached is appended to ``steps``."""

    def analyse(input_path: Path, movement: str, side: str, out_dir: Path, progress: Progress) -> Report:
        (out_dir / "partial.json").write_text("{}")
        started.set()
        for step in range(400):
            if steps is not None:
                steps.append(step)
            progress(0.05 + step / 1000)
            time.sleep(0.05)
        return sample_report(movement)

    return analyse
