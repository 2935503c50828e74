"""``annotated.mp4``: the clip again, with what the analysis saw drawn on every frame.

A person checks a number by looking: the skeleton shows whether the pose model followed the body, the
live hip and knee angles show what the numbers mean, and a flash at each onset, bottom and initial
contact shows *when* the analysis thinks it happened. A strip along the bottom shows the reps and events
of the whole clip with a cursor.

The clip is decoded a second time, streaming, and re-encoded as H.264 (libx264, yuv420p, even size,
``+faststart``) so every browser plays it. Frames keep their own timestamps, so a variable-rate phone
clip plays with its real timing. The long side is capped (``MAX_SIDE``): encoding, not drawing, is what
costs here, and a phone screen gains nothing from full 1080p.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from numpy.typing import NDArray

from kneefix.errors import VideoError
from kneefix.motion.kinematics import Kinematics
from kneefix.motion.pipeline import ProgressCallback, ProgressUpdate
from kneefix.motion.types import LANDMARK_INDEX, LandmarkSeries, Report
from kneefix.motion.video import VideoInfo, iter_frames, probe

MAX_SIDE = 960
PRESET = "ultrafast"  # ~2x faster to encode than "superfast" for a ~30% larger file; plays everywhere
CRF = 23
FLASH_S = 0.35  # how long an event's label stays up after the event
TIME_BASE = Fraction(1, 90000)

Colour = tuple[int, int, int]
WHITE: Colour = (255, 255, 255)
NEAR: Colour = (255, 150, 30)  # the analysed leg
FAR: Colour = (90, 170, 255)  # the other leg
EVENT_COLOURS: dict[str, Colour] = {
    "hip onset": (255, 120, 0),
    "knee onset": (40, 120, 255),
    "bottom": (220, 60, 220),
    "initial contact": (255, 40, 40),
    "peak knee flexion": (150, 80, 255),
}

_TORSO = (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
          ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"))  # fmt: skip
_ARM = (("shoulder", "elbow"), ("elbow", "wrist"))
_LEG = (
    ("hip", "knee"),
    ("knee", "ankle"),
    ("ankle", "heel"),
    ("heel", "foot_index"),
    ("ankle", "foot_index"),
)


@dataclass(frozen=True)
class Event:
    """Something the analysis located in time, drawn as a flash and a tick on the strip."""

    time_s: float
    kind: str  # a key of EVENT_COLOURS
    label: str  # e.g. "rep 2"


def events_of(report: Report) -> list[Event]:
    """Every onset, bottom, initial contact and knee-flexion peak in the report, in time order."""
    events: list[Event] = []
    for rep in report.reps:
        label = f"rep {rep.rep}"
        if rep.hip_onset_s is not None:
            events.append(Event(rep.hip_onset_s, "hip onset", label))
        if rep.knee_onset_s is not None:
            events.append(Event(rep.knee_onset_s, "knee onset", label))
        events.append(Event(rep.bottom_s, "bottom", label))
    for landing in report.landings:
        label = f"landing {landing.landing}"
        events.append(Event(landing.initial_contact_s, "initial contact", label))
        events.append(Event(landing.peak_knee_flexion_s, "peak knee flexion", label))
    return sorted(events, key=lambda event: event.time_s)


def _windows(report: Report) -> list[tuple[float, float, str]]:
    """Spans with a name: each rep start-end, each landing from contact to its knee-flexion peak."""
    spans = [(rep.start_s, rep.end_s, f"Rep {rep.rep}/{len(report.reps)}") for rep in report.reps]
    spans += [
        (
            land.initial_contact_s,
            land.peak_knee_flexion_s + FLASH_S,
            f"Landing {land.landing}/{len(report.landings)}",
        )
        for land in report.landings
    ]
    return spans


class _Painter:
    """Draws on one frame size; sizes of lines and text follow the frame so small clips stay legible."""

    def __init__(self, width: int, height: int, scale_xy: float, side: str, duration_s: float) -> None:
        self.width, self.height = width, height
        self.scale_xy = scale_xy
        self.side = side
        self.duration_s = max(duration_s, 1e-6)
        unit = min(width, height) / 540
        self.font_scale = 0.55 * unit
        self.thick = max(1, round(2 * unit))
        self.radius = max(2, round(3 * unit))
        self.line_h = max(12, round(24 * unit))

    def _point(self, xy: NDArray[np.float64], name: str) -> tuple[int, int] | None:
        x, y = xy[LANDMARK_INDEX[name]]
        if not (np.isfinite(x) and np.isfinite(y)):
            return None
        return round(float(x) * self.scale_xy), round(float(y) * self.scale_xy)

    def _segment(
        self, img: NDArray[np.uint8], xy: NDArray[np.float64], a: str, b: str, colour: Colour
    ) -> None:
        pa, pb = self._point(xy, a), self._point(xy, b)
        if pa is not None and pb is not None:
            cv2.line(img, pa, pb, colour, self.thick + 1, cv2.LINE_AA)

    def skeleton(self, img: NDArray[np.uint8], xy: NDArray[np.float64]) -> None:
        other = "right" if self.side == "left" else "left"
        for limb_side, colour in ((other, FAR), (self.side, NEAR)):  # the analysed side drawn on top
            for a, b in _ARM:
                self._segment(img, xy, f"{limb_side}_{a}", f"{limb_side}_{b}", colour)
            for a, b in _LEG:
                self._segment(img, xy, f"{limb_side}_{a}", f"{limb_side}_{b}", colour)
        for a, b in _TORSO:
            self._segment(img, xy, a, b, WHITE)
        for name in ("nose", f"{self.side}_hip", f"{self.side}_knee", f"{self.side}_ankle"):
            point = self._point(xy, name)
            if point is not None:
                cv2.circle(img, point, self.radius + 1, WHITE, -1, cv2.LINE_AA)

    def text(
        self, img: NDArray[np.uint8], text: str, origin: tuple[int, int], colour: Colour, scale: float = 1.0
    ) -> None:
        """Text with a dark outline, readable on any background."""
        size = self.font_scale * scale
        cv2.putText(img, text, origin, cv2.FONT_HERSHEY_SIMPLEX, size, (0, 0, 0), self.thick + 2, cv2.LINE_AA)
        cv2.putText(img, text, origin, cv2.FONT_HERSHEY_SIMPLEX, size, colour, self.thick, cv2.LINE_AA)

    def joint_angle(self, img: NDArray[np.uint8], xy: NDArray[np.float64], joint: str, value: float) -> None:
        point = self._point(xy, f"{self.side}_{joint}")
        if point is None or not np.isfinite(value):
            return
        self.text(img, f"{value:.0f}", (point[0] + 2 * self.radius, point[1] - self.radius), NEAR)

    def panel(self, img: NDArray[np.uint8], lines: list[tuple[str, Colour]]) -> None:
        """A translucent box at the top left holding the lines."""
        if not lines:
            return
        pad = self.line_h // 3
        widest = max(
            cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, self.font_scale, self.thick + 2)[0][0]
            for text, _ in lines
        )
        box_w = min(self.width, widest + 2 * pad)
        box_h = min(self.height, self.line_h * len(lines) + 2 * pad)
        roi = img[:box_h, :box_w]
        roi[:] = (roi * 0.45).astype(np.uint8)
        for row, (text, colour) in enumerate(lines):
            self.text(img, text, (pad, pad + self.line_h * (row + 1) - self.line_h // 4), colour)

    def strip(
        self, img: NDArray[np.uint8], now_s: float, spans: list[tuple[float, float, str]], events: list[Event]
    ) -> None:
        """The whole clip as a bar along the bottom: rep spans, event ticks, and where we are now."""
        bar_h = max(6, self.line_h // 2)
        top = self.height - bar_h
        roi = img[top:, :]
        roi[:] = (roi * 0.35).astype(np.uint8)

        def x_of(t: float) -> int:
            return min(self.width - 1, max(0, round(t / self.duration_s * (self.width - 1))))

        for start, end, _ in spans:
            cv2.rectangle(
                img, (x_of(start), top + bar_h // 3), (x_of(end), self.height - 1), (110, 110, 110), -1
            )
        for event in events:
            x = x_of(event.time_s)
            cv2.line(img, (x, top), (x, self.height - 1), EVENT_COLOURS[event.kind], max(1, self.thick))
        x = x_of(now_s)
        cv2.line(img, (x, top - bar_h // 2), (x, self.height - 1), WHITE, self.thick + 1)


def _frame_index(kin_times: NDArray[np.float64], time_s: float) -> int:
    i = int(np.searchsorted(kin_times, time_s))
    if i >= len(kin_times):
        return len(kin_times) - 1
    if i > 0 and time_s - kin_times[i - 1] < kin_times[i] - time_s:
        return i - 1
    return i


def _value(values: NDArray[np.float64], i: int) -> float:
    return float(values[i]) if 0 <= i < len(values) else float("nan")


def _annotated_frames(
    info: VideoInfo, series: LandmarkSeries, kin: Kinematics, report: Report
) -> Iterator[tuple[float, NDArray[np.uint8]]]:
    events = events_of(report)
    spans = _windows(report)
    points = kin.xy if kin.xy.shape == series.xy.shape else series.xy
    title = f"{report.movement.replace('-', ' ')}  -  {kin.side} side, {kin.view} view"
    painter: _Painter | None = None
    for frame in iter_frames(info, max_side=MAX_SIDE):
        img = frame.rgb
        height, width = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2
        if (height, width) != img.shape[:2]:
            img = np.ascontiguousarray(img[:height, :width])
        if painter is None:
            painter = _Painter(width, height, frame.rgb.shape[1] / info.width, kin.side, info.duration_s)
        i = _frame_index(series.time_s, frame.time_s)
        xy = points[i]
        painter.skeleton(img, xy)
        hip, knee = _value(kin.hip_flexion, i), _value(kin.knee_flexion, i)
        painter.joint_angle(img, xy, "hip", hip)
        painter.joint_angle(img, xy, "knee", knee)
        lines: list[tuple[str, Colour]] = [(title, WHITE)]
        lines += [(name, WHITE) for start, end, name in spans if start <= frame.time_s <= end]
        if np.isfinite(hip) or np.isfinite(knee):
            lines.append((f"hip {hip:.0f} deg   knee {knee:.0f} deg", NEAR))
        if kin.view == "front":
            left, right = _value(kin.valgus_left, i), _value(kin.valgus_right, i)
            if np.isfinite(left) or np.isfinite(right):
                lines.append((f"knee inward: L {left:.0f}  R {right:.0f} deg", WHITE))
        lines += [
            (f"{event.kind.upper()} ({event.label})", EVENT_COLOURS[event.kind])
            for event in events
            if 0 <= frame.time_s - event.time_s <= FLASH_S
        ]
        painter.panel(img, lines)
        painter.strip(img, frame.time_s, spans, events)
        yield frame.time_s, img


def write_annotated_video(
    video: Path | VideoInfo,
    series: LandmarkSeries,
    kin: Kinematics,
    report: Report,
    out_path: Path,
    progress: ProgressCallback | None = None,
) -> None:
    """Decode ``video`` again and write the annotated H.264 copy to ``out_path``."""
    info = video if isinstance(video, VideoInfo) else probe(video)
    if len(series) == 0:
        raise VideoError("No frames to annotate.")
    total = max(info.frame_count, len(series))
    container = av.open(str(out_path), mode="w", format="mp4", options={"movflags": "+faststart"})
    try:
        stream = container.add_stream("libx264", rate=Fraction(round(info.fps or 30)))
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": PRESET, "crf": str(CRF)}
        stream.codec_context.time_base = TIME_BASE
        done = 0
        last_pts = -1
        for time_s, img in _annotated_frames(info, series, kin, report):
            if done == 0:
                stream.height, stream.width = img.shape[:2]
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = max(round(time_s / TIME_BASE), last_pts + 1)
            frame.time_base = TIME_BASE
            last_pts = frame.pts
            container.mux(stream.encode(frame))
            done += 1
            if progress is not None and done % 8 == 0:
                progress(ProgressUpdate("overlay", done, total, 0.0))
        container.mux(stream.encode(None))
    finally:
        container.close()
    if progress is not None:
        progress(ProgressUpdate("overlay", done, max(total, done), 0.0))
