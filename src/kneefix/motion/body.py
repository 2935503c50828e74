"""The stick-figure body: segment lengths and planar forward kinematics from joint angles.

One body model serves two jobs: the exercise demonstrations draw it (:mod:`kneefix.motion.demo_scene`),
and the synthetic test skeletons (``tests/motion/synthetic.py``) are built from the same segment
lengths, so a demonstration and a synthetic clip of the same angles are the same body.

Angles are planar, in the plane of the view, in degrees:

* ``trunk``: the hip-to-shoulder line's tilt from vertical, positive towards the way the figure faces
  (side view: leaning forward) or to the picture's right (front view); -90 lies the figure on its back
  with the head behind it, 90 on its front;
* ``hip``: the thigh's angle from the trunk's downward line, positive forwards (side: flexion) or
  outwards (front: abduction); ``knee``: the shank's turn back from the thigh's line (side: flexion) or
  in towards the midline (front); ``ankle``: the foot's turn up from a right angle to the shank (side:
  dorsiflexion); ``shoulder``: the upper arm's angle from the trunk's downward line, forwards or
  outwards (180 is overhead); ``elbow``: the forearm's bend up from the upper arm's line.

Coordinates are metres, x to the right, y up, with the hip centre at the origin; the figure faces +x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Segment lengths (metres): an adult of about 1.75 m.
FOOT = 0.25
HEEL_BACK = 0.055  # the heel behind the ankle, along the foot
ANKLE_HEIGHT = 0.075  # the ankle above the sole
SHANK = 0.43
THIGH = 0.44
TRUNK = 0.50
NECK = 0.10
HEAD_RADIUS = 0.11
UPPER_ARM = 0.29
FOREARM = 0.26
HIP_WIDTH = 0.20
SHOULDER_WIDTH = 0.36

Point = tuple[float, float]


def direction(degrees_from_down: float) -> Point:
    """A unit vector at this angle from straight down, turning towards +x (the way the figure faces)."""
    r = math.radians(degrees_from_down)
    return (math.sin(r), -math.cos(r))


def along(start: Point, degrees_from_down: float, length: float) -> Point:
    dx, dy = direction(degrees_from_down)
    return (start[0] + length * dx, start[1] + length * dy)


def angle_from_down(start: Point, end: Point) -> float:
    """The inverse of :func:`along`: the direction of ``start`` -> ``end``, degrees from straight down."""
    return math.degrees(math.atan2(end[0] - start[0], -(end[1] - start[1])))


@dataclass(frozen=True)
class Leg:
    hip: float = 0.0
    knee: float = 0.0
    ankle: float = 0.0


@dataclass(frozen=True)
class Arm:
    shoulder: float = 0.0
    elbow: float = 0.0


@dataclass(frozen=True)
class Joints:
    """Where each joint of the figure is, for one pose (metres, hip centre at the origin)."""

    points: dict[str, Point]


def _leg(hip_point: Point, trunk: float, leg: Leg, side_sign: float, front: bool) -> dict[str, Point]:
    """One leg. From the front the two legs mirror each other, so "outwards" and "inwards" take the
    sign of the side (``side_sign``: -1 for the leg on the picture's left)."""
    sign = side_sign if front else 1.0
    thigh_dir = -trunk + sign * leg.hip
    knee = along(hip_point, thigh_dir, THIGH)
    shank_dir = thigh_dir - sign * leg.knee
    ankle = along(knee, shank_dir, SHANK)
    sole = along(ankle, shank_dir, ANKLE_HEIGHT)
    if front:  # the foot is seen end-on: a short mark under the ankle, pointing outwards
        return {
            "knee": knee,
            "ankle": ankle,
            "heel": sole,
            "toe": along(sole, shank_dir + side_sign * 90.0, 0.06),
        }
    sole_dir = shank_dir + 90.0 + leg.ankle  # along the foot, towards the toes
    return {
        "knee": knee,
        "ankle": ankle,
        "heel": along(sole, sole_dir, -HEEL_BACK),
        "toe": along(sole, sole_dir, FOOT - HEEL_BACK),
    }


def _arm(shoulder_point: Point, trunk: float, arm: Arm, side_sign: float, front: bool) -> dict[str, Point]:
    sign = side_sign if front else 1.0
    upper_dir = -trunk + sign * arm.shoulder
    elbow = along(shoulder_point, upper_dir, UPPER_ARM)
    return {"elbow": elbow, "wrist": along(elbow, upper_dir + sign * arm.elbow, FOREARM)}


def pose_joints(trunk: float, near: Leg, far: Leg, near_arm: Arm, far_arm: Arm, front: bool) -> Joints:
    """Every joint for one pose. ``near`` is the leg nearer the camera in a side view, the figure's
    right leg (on the picture's left) in a front view."""
    up = 180.0 - trunk
    points: dict[str, Point] = {}
    shoulder_mid = along((0.0, 0.0), up, TRUNK)
    points["shoulder"], points["head"] = shoulder_mid, along(shoulder_mid, up, NECK + HEAD_RADIUS)
    for name, leg, arm, sign in (("near", near, near_arm, -1.0), ("far", far, far_arm, 1.0)):
        if front:
            hip = along((0.0, 0.0), up - 90.0 * sign, HIP_WIDTH / 2)
            shoulder = along(shoulder_mid, up - 90.0 * sign, SHOULDER_WIDTH / 2)
        else:
            hip, shoulder = (0.0, 0.0), shoulder_mid
        points[f"{name}_hip"], points[f"{name}_shoulder"] = hip, shoulder
        for part, where in _leg(hip, trunk, leg, sign, front).items():
            points[f"{name}_{part}"] = where
        for part, where in _arm(shoulder, trunk, arm, sign, front).items():
            points[f"{name}_{part}"] = where
    return Joints(points)
