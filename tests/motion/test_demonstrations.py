"""Every exercise's demonstration, rendered: the angles read back from the drawn SVG are the declared
ones, the foot-from-above inset turns as declared, the animation loops through every pose, and the PNG
strip is a real picture."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kneefix.content.loader import load_content
from kneefix.content.schemas import Demonstration, Exercise, KeyPose
from kneefix.motion.body import angle_from_down
from kneefix.motion.demo_render import animated_svg, strip_png, strip_svg

SVG = "{http://www.w3.org/2000/svg}"
EXERCISES = sorted(load_content().exercises.values(), key=lambda e: e.id)
TOLERANCE_DEG = 0.6  # coordinates are rounded to 0.1 px at 160 px per metre


def _lines(group: ET.Element) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """Each drawn body segment's end points, in metres-like units with y up."""
    found = {}
    for line in group.iter(f"{SVG}line"):
        part = line.get("data-part")
        if part:
            a = (float(line.get("x1", 0)), -float(line.get("y1", 0)))
            b = (float(line.get("x2", 0)), -float(line.get("y2", 0)))
            found[part] = (a, b)
    return found


def _direction(segment: tuple[tuple[float, float], tuple[float, float]]) -> float:
    return angle_from_down(*segment)


def _wrap(degrees: float) -> float:
    return (degrees + 180.0) % 360.0 - 180.0


def _read_back(
    lines: dict[str, tuple[tuple[float, float], tuple[float, float]]], front: bool
) -> dict[str, float]:
    """The planar joint angles of one drawn pose (see kneefix.motion.body for the conventions)."""
    trunk = _wrap(180.0 - _direction(lines["trunk"]))
    angles = {"trunk": trunk}
    for side, prefix, sign in (("near", "", -1.0), ("far", "other_", 1.0)):
        s = sign if front else 1.0
        thigh = _direction(lines[f"{side}_thigh"])
        shank = _direction(lines[f"{side}_shank"])
        angles[f"{prefix}hip"] = _wrap((thigh + trunk) * s)
        angles[f"{prefix}knee"] = _wrap((thigh - shank) * s)
        if not front:
            angles[f"{prefix}ankle"] = _wrap(_direction(lines[f"{side}_foot"]) - shank - 90.0)
    upper = _direction(lines["near_upper_arm"])
    angles["shoulder"] = _wrap((upper + trunk) * (-1.0 if front else 1.0))
    angles["elbow"] = _wrap((_direction(lines["near_forearm"]) - upper) * (-1.0 if front else 1.0))
    return angles


def _declared(pose: KeyPose, front: bool) -> dict[str, float]:
    values = {
        "trunk": pose.trunk,
        "hip": pose.hip,
        "knee": pose.knee,
        "other_hip": pose.hip if pose.other_hip is None else pose.other_hip,
        "other_knee": pose.knee if pose.other_knee is None else pose.other_knee,
        "shoulder": pose.shoulder,
        "elbow": pose.elbow,
    }
    if not front:
        values["ankle"] = pose.ankle
        values["other_ankle"] = pose.ankle if pose.other_ankle is None else pose.other_ankle
    return values


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_the_drawn_angles_are_the_declared_poses(exercise: Exercise) -> None:
    demo = exercise.demo
    assert demo is not None
    root = ET.fromstring(strip_svg(demo, exercise.name))
    groups = [g for g in root.iter(f"{SVG}g") if g.get("data-pose") is not None]
    assert len(groups) == len(demo.poses)
    for group, pose in zip(groups, demo.poses, strict=True):
        drawn = _read_back(_lines(group), demo.view == "front")
        for joint, value in _declared(pose, demo.view == "front").items():
            assert abs(_wrap(drawn[joint] - value)) <= TOLERANCE_DEG, (
                exercise.id,
                group.get("data-pose"),
                joint,
            )
        inset = [g for g in group.iter(f"{SVG}g") if g.get("data-part") == "foot_from_above"]
        assert len(inset) == (1 if demo.foot_from_above else 0)
        if inset:
            assert float(inset[0].get("data-rotation", "nan")) == pytest.approx(pose.foot_rotation)
        cue = "".join(next(t for t in group.iter(f"{SVG}text") if t.get("data-part") == "cue").itertext())
        assert pose.cue.split()[0] in cue


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_the_animation_loops_through_every_pose_and_shows_each_cue(exercise: Exercise) -> None:
    demo = exercise.demo
    assert demo is not None
    root = ET.fromstring(animated_svg(demo, exercise.name))
    assert exercise.name in (root.findtext(f"{SVG}title") or "")
    cues = [t for t in root.iter(f"{SVG}text") if t.get("data-part") == "cue"]
    assert len(cues) == len(demo.poses)
    moving = [a for a in root.iter(f"{SVG}animate") if a.get("attributeName") in ("x1", "y1", "x2", "y2")]
    assert moving, "a demonstration whose figure never moves"
    for animation in moving:
        values = (animation.get("values") or "").split(";")
        times = [float(t) for t in (animation.get("keyTimes") or "").split(";")]
        assert len(values) == len(times) and times[0] == 0.0 and times[-1] == 1.0
        assert values[0] == values[-1]  # it loops back to the first pose
        assert all(a <= b for a, b in itertools.pairwise(times))


def _two_pose_demo(**first: float) -> Demonstration:
    return Demonstration(
        view="side",
        poses=[KeyPose(cue="Stand tall", **first), KeyPose(cue="Squat down", hip=90, knee=90)],
    )


def _first_pose(svg: str) -> ET.Element:
    return next(g for g in ET.fromstring(svg).iter(f"{SVG}g") if g.get("data-pose") == "0")


def test_a_pose_changes_what_is_drawn() -> None:
    """The read-back is not a tautology: a different declared knee angle draws a different knee."""
    straight = _read_back(_lines(_first_pose(strip_svg(_two_pose_demo(), "x"))), front=False)
    bent = _read_back(_lines(_first_pose(strip_svg(_two_pose_demo(knee=30, hip=30), "x"))), front=False)
    assert abs(straight["knee"]) < TOLERANCE_DEG and abs(bent["knee"] - 30) < TOLERANCE_DEG


def test_the_png_strip_is_a_picture_with_one_panel_per_pose(tmp_path: Path) -> None:
    exercise = next(e for e in EXERCISES if e.id == "seated_leg_extension_2")
    assert exercise.demo is not None
    out = tmp_path / "demo.png"
    strip_png(exercise.demo, exercise.name, out)
    image = np.asarray(Image.open(out).convert("L"), dtype=np.float64)
    assert image.shape[1] > 250 * len(exercise.demo.poses)
    dark = image < 100  # the figure's strokes
    panel = image.shape[1] // len(exercise.demo.poses)
    for index in range(len(exercise.demo.poses)):
        assert dark[:, index * panel : (index + 1) * panel].mean() > 0.01
    assert math.isfinite(float(image.mean()))
