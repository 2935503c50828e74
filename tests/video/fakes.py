"""Pose backends that need no model, for testing the pipeline's plumbing quickly.

They live in a module (not inside a test) so spawned worker processes can import them by name.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from kneefix.errors import VideoError


class SquareTracker:
    """Puts every landmark on the centre of the bright square of ``media.moving_square`` frames."""

    def process(self, rgb: NDArray[np.uint8]) -> NDArray[np.float64] | None:
        ys, xs = np.nonzero(rgb[..., 0] > 128)
        if xs.size == 0:
            return None
        out = np.zeros((33, 4))
        out[:, 0], out[:, 1], out[:, 3] = xs.mean(), ys.mean(), 1.0
        return out

    def close(self) -> None:
        pass


class Refuses:
    """A backend that fails the way a real one reports an unusable input."""

    def process(self, rgb: NDArray[np.uint8]) -> NDArray[np.float64] | None:
        raise VideoError("the fake model refuses this frame")

    def close(self) -> None:
        pass


def square_x(index: int) -> float:
    """Where ``media.moving_square`` puts the square's centre (x, pixels) in frame ``index``."""
    return 8 + index % 200 + 7.5


class LaggingTracker:
    """A tracker with memory, like MediaPipe's: each output moves a tenth of the way from the last
    output towards the square, so a tracker that starts cold is off at first and closes in slowly."""

    def __init__(self) -> None:
        self._last: float | None = None

    def process(self, rgb: NDArray[np.uint8]) -> NDArray[np.float64] | None:
        ys, xs = np.nonzero(rgb[..., 0] > 128)
        if xs.size == 0:
            return None
        seen = float(xs.mean())
        self._last = seen + 40.0 if self._last is None else self._last + 0.1 * (seen - self._last)
        out = np.zeros((33, 4))
        out[:, 0], out[:, 1], out[:, 3] = self._last, ys.mean(), 1.0
        return out

    def close(self) -> None:
        pass


class CountingTracker:
    """A tracker whose output depends on how many frames it has seen: two of them never agree."""

    def __init__(self) -> None:
        self._seen = 0

    def process(self, rgb: NDArray[np.uint8]) -> NDArray[np.float64] | None:
        self._seen += 1
        out = np.zeros((33, 4))
        out[:, 0], out[:, 1], out[:, 3] = float(self._seen), 10.0, 1.0
        return out

    def close(self) -> None:
        pass
