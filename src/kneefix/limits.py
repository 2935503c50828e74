"""The ranges a person's numbers must fall in, defined once for every layer.

Pain is the 0-10 numeric rating scale (NPRS); training days are 1 to 7 a week; an age is 5 to 120
years (the screening's red flags cover children from 5; younger is outside what the programme is for).
The content schemas, the screening, the records, the API models and the database's CHECK constraints
all take their limits from here, so a value one part accepts is never refused by another.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kneefix.errors import InputError

PAIN_MIN, PAIN_MAX = 0, 10
DAYS_MIN, DAYS_MAX = 1, 7
AGE_MIN, AGE_MAX = 5, 120

Pain = Annotated[int, Field(ge=PAIN_MIN, le=PAIN_MAX)]
"""A 0-10 pain rating, as a pydantic field type."""
DaysPerWeek = Annotated[int, Field(ge=DAYS_MIN, le=DAYS_MAX)]
AgeYears = Annotated[int, Field(ge=AGE_MIN, le=AGE_MAX)]


def whole_number(value: object) -> int | None:
    """``value`` as an int when it is one (``4``, ``4.0``, ``"4"``), else None; never a bool."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _refusal(what: str, value: object, low: str, high: str) -> InputError:
    number = whole_number(value)
    if number is None:
        return InputError(f"{what} must be a whole number from {low} to {high}; got {value!r}.")
    return InputError(f"{what} must be from {low} to {high}; got {number}.")


def check_pain(value: object, what: str = "Pain") -> int:
    """A 0-10 whole-number pain rating from an int or a string like ``"4"``; InputError otherwise."""
    number = whole_number(value)
    if number is None or not PAIN_MIN <= number <= PAIN_MAX:
        raise _refusal(what, value, f"{PAIN_MIN} (no pain)", f"{PAIN_MAX} (worst imaginable)")
    return number


def check_days_per_week(value: object, what: str = "Training days per week") -> int:
    number = whole_number(value)
    if number is None or not DAYS_MIN <= number <= DAYS_MAX:
        raise _refusal(what, value, str(DAYS_MIN), str(DAYS_MAX))
    return number


def check_age(value: object, what: str = "Age") -> int:
    """Whole years, 5 to 120."""
    number = whole_number(value)
    if number is None or not AGE_MIN <= number <= AGE_MAX:
        raise _refusal(what, value, str(AGE_MIN), str(AGE_MAX))
    return number


# --- videos ------------------------------------------------------------------------------------------
# A video's header says how big its frames are and how long it runs before anything is decoded, and a
# decoded frame costs width x height x 1.5 bytes whatever the file's size: a 199 KB clip of 8192x8192
# frames took a server from 288 MB to 1.6 GB. So sizes past these are refused from the header.
VIDEO_MAX_SIDE = 8192
"""Pixels on either side of a frame (8K UHD is 7680x4320)."""
VIDEO_MAX_PIXELS = 40_000_000
"""Pixels in one frame: 8K UHD (33.2 MP) fits; 8192x8192 (67 MP) does not."""
VIDEO_MAX_DURATION_S = 600.0
"""A technique clip is seconds of movement; ten minutes is already far more than the analysis needs."""
VIDEO_MAX_FRAMES = 36_000
"""Frames in one video: ten minutes at 60 frames/s (a 240 frames/s slow-motion clip: 2.5 minutes)."""


def video_size_problem(width: int, height: int) -> str | None:
    """Why frames of ``width`` x ``height`` are refused, or None when they are within the limits."""
    if width <= VIDEO_MAX_SIDE and height <= VIDEO_MAX_SIDE and width * height <= VIDEO_MAX_PIXELS:
        return None
    return (
        f"its frames are {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); kneefix takes "
        f"at most {VIDEO_MAX_SIDE} pixels on a side and {VIDEO_MAX_PIXELS / 1e6:.0f} megapixels "
        "(8K video). Record at 4K or less, or scale the video down first."
    )


def video_length_problem(duration_s: float, frames: int) -> str | None:
    """Why a video this long is refused, or None when it is within the limits."""
    if duration_s > VIDEO_MAX_DURATION_S:
        return (
            f"it runs {duration_s / 60:.1f} minutes; kneefix analyses at most "
            f"{VIDEO_MAX_DURATION_S / 60:.0f} minutes. Trim it to the few seconds of the movement."
        )
    if frames > VIDEO_MAX_FRAMES:
        return (
            f"it has {frames} frames; kneefix analyses at most {VIDEO_MAX_FRAMES}. Trim it to the few "
            "seconds of the movement."
        )
    return None
