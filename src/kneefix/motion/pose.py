"""Pose estimation behind a two-method interface, so another estimator can replace MediaPipe.

A backend takes one upright RGB frame and returns BlazePose's 33 landmarks as a ``(33, 4)`` array of
``x, y`` (pixels of that frame, origin top-left, y down), ``z`` (MediaPipe's relative depth, scaled like
``x``) and ``visibility`` (0..1), or ``None`` when it sees no person. Backends are stateful (they track
the person from frame to frame), so one backend serves one stretch of consecutive frames.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from kneefix.errors import VideoError
from kneefix.motion.types import LANDMARK_NAMES

N_LANDMARKS = len(LANDMARK_NAMES)


class PoseBackend(Protocol):
    """What the pipeline needs from a pose estimator."""

    def process(self, rgb: NDArray[np.uint8]) -> NDArray[np.float64] | None:
        """Landmarks ``(33, 4)`` = x px, y px, z, visibility for one frame, or None if no person."""
        ...

    def close(self) -> None:
        """Free the model's resources."""
        ...


# A picklable callable (a class or a module-level function) so worker processes can build their own.
BackendFactory = Callable[[], PoseBackend]


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Hide the C++ log lines MediaPipe/TFLite print at start-up (XNNPACK, feedback tensors).

    They bypass Python's logging and would clutter a person's terminal; they carry nothing a person can
    act on. Only file descriptor 2 is redirected, only while the model starts and runs its first frame.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded interpreters): nothing to hide
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class MediaPipePose:
    """MediaPipe BlazePose (``mediapipe==0.10.21`` legacy ``solutions.pose``), full model.

    ``model_complexity=1`` is the only model the wheel ships, so nothing is downloaded. MediaPipe's own
    landmark smoothing is switched off: it is a causal filter that delays every movement by a few frames,
    which would bias the onset times; the kinematics stage filters with a zero-lag filter instead.
    """

    def __init__(
        self, *, min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5
    ) -> None:
        try:
            from mediapipe.python.solutions import pose as mp_pose
        except ImportError as error:  # pragma: no cover - depends on the installation
            raise VideoError(
                "The pose model (mediapipe 0.10.21) is not installed; run `make setup`."
            ) from error
        with _native_stderr_silenced():
            self._pose: Any = mp_pose.Pose(
                static_image_mode=False,
                model_complexity=1,
                smooth_landmarks=False,
                enable_segmentation=False,
                min_detection_confidence=min_detection_confidence,
                min_tracking_confidence=min_tracking_confidence,
            )
        self._first = True

    def process(self, rgb: NDArray[np.uint8]) -> NDArray[np.float64] | None:
        height, width = rgb.shape[:2]
        if self._first:
            self._first = False
            with _native_stderr_silenced():
                result = self._pose.process(rgb)
        else:
            result = self._pose.process(rgb)
        landmarks = result.pose_landmarks
        if landmarks is None:
            return None
        out = np.empty((N_LANDMARKS, 4), dtype=np.float64)
        for i, point in enumerate(landmarks.landmark):
            out[i] = (point.x * width, point.y * height, point.z * width, point.visibility)
        return out

    def close(self) -> None:
        self._pose.close()
