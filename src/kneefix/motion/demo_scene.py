"""An exercise demonstration as drawable shapes: the figure in each key pose, placed on the floor, with
its props.

A :class:`~kneefix.content.schemas.Demonstration` declares key poses as joint angles; here each pose
becomes the same list of named shapes (a line per body segment, a circle for the head, the props), in
metres with y up. Because every pose has the same shapes in the same order, a renderer can animate
between poses by interpolating coordinates (:mod:`kneefix.motion.demo_render`), and a test can read
the joint angles back from what was drawn.

**Placing the figure.** Angles say nothing about where the body is, so:

* horizontally, the demonstration's ``anchor`` stays put in every pose: the working foot's heel
  (``feet``), the hips (``hips``), the wrists (``hands``), the shoulders (``shoulders``) or the back
  (``back``: the rearmost of hips and shoulders, for a back against a wall or ball);
* vertically, the lowest point of the body rests on what carries it: the floor; a step under the
  working foot; a chair seat under the hips (unless the person has stood up); a roller or ball under
  the working thigh.

Nothing here forces the feet to stay where they were from pose to pose: the content's angles must be
consistent (for a flat foot, hip = knee - ankle + trunk), and looking at the rendered strip is how that
is checked.

Props are then drawn from the placed joints (a wall behind the back of the first pose, a stability
ball between the lower back and that wall, bottles in the hands, a band around the knees, ...), so they
follow the body without coordinates of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kneefix.content.schemas import Demonstration, KeyPose
from kneefix.motion.body import HEAD_RADIUS, Arm, Leg, Point, pose_joints

ShapeKind = Literal["line", "circle", "rect"]

SEAT_HEIGHT = 0.44
SEATED_HIP = 0.07  # the hip joint above the seat it sits on
STEP_HEIGHT = 0.15
ROLLER_RADIUS = 0.075
LACROSSE_RADIUS = 0.032
TENNIS_RADIUS = 0.034
STABILITY_BALL_RADIUS = 0.30
BACK_DEPTH = 0.06  # from the hip-shoulder line to the surface of the back (half the drawn trunk)
FLOOR_MARGIN = 0.02  # the thickness of a foot, heel or buttock below its joint point

SEGMENTS: tuple[tuple[str, str, str], ...] = (
    ("far_thigh", "far_hip", "far_knee"),
    ("far_shank", "far_knee", "far_ankle"),
    ("far_foot", "far_heel", "far_toe"),
    ("far_upper_arm", "far_shoulder", "far_elbow"),
    ("far_forearm", "far_elbow", "far_wrist"),
    ("trunk", "hip_mid", "shoulder"),
    ("near_thigh", "near_hip", "near_knee"),
    ("near_shank", "near_knee", "near_ankle"),
    ("near_foot", "near_heel", "near_toe"),
    ("near_upper_arm", "near_shoulder", "near_elbow"),
    ("near_forearm", "near_elbow", "near_wrist"),
)
"""Body segments, back to front (the far limbs are drawn first, behind the trunk)."""


FIXED_PROPS = frozenset(
    {"prop_wall", "prop_chair_seat", "prop_chair_back", "prop_chair_leg", "prop_step", "prop_mat"}
)
"""Props that stand still and are drawn behind the figure."""


@dataclass(frozen=True)
class Shape:
    """One drawn element: a line (x1, y1, x2, y2), a circle (cx, cy, r) or a rect (x, y, w, h), in metres
    with y up; ``name`` says what it is (``near_thigh``, ``head``, ``prop_wall``, ...)."""

    kind: ShapeKind
    name: str
    coords: tuple[float, ...]


@dataclass(frozen=True)
class PoseScene:
    shapes: tuple[Shape, ...]
    joints: dict[str, Point]
    foot_rotation: float


def _legs(pose: KeyPose) -> tuple[Leg, Leg]:
    near = Leg(pose.hip, pose.knee, pose.ankle)
    far = Leg(
        pose.hip if pose.other_hip is None else pose.other_hip,
        pose.knee if pose.other_knee is None else pose.other_knee,
        pose.ankle if pose.other_ankle is None else pose.other_ankle,
    )
    return near, far


def raw_joints(demo: Demonstration, pose: KeyPose) -> dict[str, Point]:
    """The pose's joints before placing (hip centre at the origin)."""
    near, far = _legs(pose)
    arm = Arm(pose.shoulder, pose.elbow)
    points = dict(pose_joints(pose.trunk, near, far, arm, arm, demo.view == "front").points)
    left, right = points["near_hip"], points["far_hip"]
    points["hip_mid"] = ((left[0] + right[0]) / 2, (left[1] + right[1]) / 2)
    return points


def _support(demo: Demonstration) -> str:
    props = set(demo.props)
    if "chair" in props:
        return "chair"
    if "step" in props:
        return "step"
    for prop in ("foam_roller", "lacrosse_ball", "tennis_ball"):
        if prop in props:
            return prop
    return "floor"


def _ball_radius(prop: str) -> float:
    return {"foam_roller": ROLLER_RADIUS, "lacrosse_ball": LACROSSE_RADIUS, "tennis_ball": TENNIS_RADIUS}[
        prop
    ]


def _mid(a: Point, b: Point) -> Point:
    return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)


def _lowest(points: dict[str, Point], names: list[str] | None = None) -> float:
    chosen = points if names is None else {k: points[k] for k in names}
    low = min(p[1] for p in chosen.values())
    head = points["head"][1] - HEAD_RADIUS
    return min(low, head) if names is None else low


def _anchor_point(demo: Demonstration, points: dict[str, Point]) -> Point:
    if demo.anchor == "hips":
        return points["hip_mid"]
    if demo.anchor == "hands":
        return _mid(points["near_wrist"], points["far_wrist"])
    if demo.anchor == "shoulders":
        return points["shoulder"]
    if demo.anchor == "back":
        return (min(points["hip_mid"][0], points["shoulder"][0]), 0.0)
    return points["near_heel"]


def place(demo: Demonstration, pose: KeyPose, anchor_x: float | None) -> dict[str, Point]:
    """The pose's joints placed on its support; ``anchor_x`` is where the anchor stands (None: at 0)."""
    points = raw_joints(demo, pose)
    support = _support(demo)
    if support == "chair":  # seated, or standing up from the chair (then the floor carries the body)
        dy = max(SEAT_HEIGHT + SEATED_HIP - points["hip_mid"][1], FLOOR_MARGIN - _lowest(points))
    elif support == "step":
        standing = ["near_heel", "near_toe"]
        dy = STEP_HEIGHT + FLOOR_MARGIN - _lowest(points, standing)
        # the other foot may not go below the floor
        dy = max(dy, FLOOR_MARGIN - _lowest(points))
    elif support in ("foam_roller", "lacrosse_ball", "tennis_ball"):
        thigh = _mid(points["near_hip"], points["near_knee"])
        dy = 2 * _ball_radius(support) + 0.06 - thigh[1]
        dy = max(dy, FLOOR_MARGIN - _lowest(points))
    else:
        dy = FLOOR_MARGIN - _lowest(points)
    ax, _ = _anchor_point(demo, points)
    dx = (anchor_x if anchor_x is not None else 0.0) - ax
    return {name: (x + dx, y + dy) for name, (x, y) in points.items()}


def _props(demo: Demonstration, points: dict[str, Point], first: dict[str, Point]) -> list[Shape]:
    """The props for one pose; fixed ones (wall, chair, step) are placed from the ``first`` pose."""
    shapes: list[Shape] = []
    props = set(demo.props)
    behind = min(first["hip_mid"][0], first["shoulder"][0]) - BACK_DEPTH
    if "stability_ball" in props:  # the ball touches the lower back; the wall touches the ball
        behind = _mid(first["hip_mid"], first["shoulder"])[0] - BACK_DEPTH - 2 * STABILITY_BALL_RADIUS
    if "wall" in props or "stability_ball" in props:
        shapes.append(Shape("rect", "prop_wall", (behind - 0.08, 0.0, 0.08, 2.0)))
    if "chair" in props:
        hip = first["hip_mid"]
        shapes.append(Shape("rect", "prop_chair_seat", (hip[0] - 0.22, SEAT_HEIGHT - 0.04, 0.44, 0.04)))
        shapes.append(Shape("line", "prop_chair_back", (hip[0] - 0.22, SEAT_HEIGHT, hip[0] - 0.25, 0.95)))
        shapes.append(Shape("line", "prop_chair_leg", (hip[0] - 0.2, SEAT_HEIGHT - 0.04, hip[0] - 0.2, 0.0)))
        shapes.append(Shape("line", "prop_chair_leg", (hip[0] + 0.2, SEAT_HEIGHT - 0.04, hip[0] + 0.2, 0.0)))
    if "step" in props:
        heel = first["near_heel"]
        shapes.append(Shape("rect", "prop_step", (heel[0] - 0.1, 0.0, 0.37, STEP_HEIGHT)))  # toes at its edge
    if "floor_mat" in props:
        xs = [p[0] for p in first.values()]
        shapes.append(Shape("rect", "prop_mat", (min(xs) - 0.15, 0.0, max(xs) - min(xs) + 0.3, 0.012)))
    for prop in ("foam_roller", "lacrosse_ball", "tennis_ball"):
        if prop in props:  # it stays where it was put (the body rolls over it): under the first thigh
            r = _ball_radius(prop)
            x = _mid(first["near_hip"], first["near_knee"])[0]
            y = SEAT_HEIGHT + r if "chair" in props else r  # on the chair's seat, under the thigh
            shapes.append(Shape("circle", f"prop_{prop}", (x, y, r)))
    if "stability_ball" in props:
        r = STABILITY_BALL_RADIUS
        low_back = _mid(points["hip_mid"], points["shoulder"])
        shapes.append(Shape("circle", "prop_stability_ball", (low_back[0] - BACK_DEPTH - r, low_back[1], r)))
    if "bottles" in props:
        for side in ("far", "near"):
            wx, wy = points[f"{side}_wrist"]
            shapes.append(Shape("rect", "prop_bottle", (wx - 0.035, wy - 0.02, 0.07, 0.2)))
    if "ankle_weight" in props:
        ax, ay = points["near_ankle"]
        shapes.append(Shape("circle", "prop_ankle_weight", (ax, ay, 0.05)))
    if "band_knees" in props:
        shapes.append(Shape("line", "prop_band", (*points["near_knee"], *points["far_knee"])))
    if "band_ankles" in props:
        shapes.append(Shape("line", "prop_band", (*points["near_ankle"], *points["far_ankle"])))
    if "towel_roll" in props:
        kx, _ = points["near_knee"]
        shapes.append(Shape("circle", "prop_towel_roll", (kx, 0.045, 0.045)))
    if "towel" in props:
        shapes.append(Shape("line", "prop_towel", (*points["near_wrist"], *points["near_toe"])))
    return shapes


def build_scenes(demo: Demonstration) -> list[PoseScene]:
    """Every key pose as shapes, in the demonstration's order."""
    first = place(demo, demo.poses[0], None)
    anchor_x = _anchor_point(demo, first)[0]
    scenes: list[PoseScene] = []
    for pose in demo.poses:
        points = place(demo, pose, anchor_x)
        shapes = [Shape("rect", "floor", (-3.0, -0.03, 6.0, 0.03))]
        props = _props(demo, points, first)
        shapes += [s for s in props if s.name in FIXED_PROPS]
        shapes += [Shape("line", name, (*points[a], *points[b])) for name, a, b in SEGMENTS[:5]]
        shapes += [s for s in props if s.name not in FIXED_PROPS]
        shapes += [Shape("line", name, (*points[a], *points[b])) for name, a, b in SEGMENTS[5:]]
        shapes.append(Shape("circle", "head", (*points["head"], HEAD_RADIUS)))
        scenes.append(PoseScene(tuple(shapes), points, pose.foot_rotation))
    return scenes
