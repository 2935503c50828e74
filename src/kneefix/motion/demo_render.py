"""Drawing a demonstration: an animated SVG for the web, the key poses side by side as SVG (for people
who ask for reduced motion, and for print) and as a PNG strip (PDF handouts, ``kneefix exercises show``).

All three draw the same shapes (:mod:`kneefix.motion.demo_scene`). The animation moves every shape's
coordinates from key pose to key pose with SMIL ``<animate>`` (eased, looping; it needs no script),
shows each pose's cue while the figure moves into that pose and holds it, and turns the foot on the
clock face where the exercise is about where the foot points. Every line carries ``data-part`` with
the segment it draws, so what was drawn can be read back and checked against the declared angles.
"""

from __future__ import annotations

import math
import textwrap
from html import escape
from pathlib import Path

from kneefix.content.schemas import Demonstration
from kneefix.motion.demo_scene import PoseScene, Shape, build_scenes

SCALE = 160.0  # SVG pixels per metre
MARGIN = 0.18  # metres around the figure
CUE_BAND = 0.42  # metres of room under the figure for the cue text
CLOCK_RADIUS = 0.2  # the foot-from-above inset, metres
MIN_WIDTH = 2.1  # metres: the narrowest picture, so that a cue fits in three lines under it

COLOURS = {
    "near": "#1d4e89",
    "far": "#8fb0d6",
    "trunk": "#1d4e89",
    "head": "#1d4e89",
    "floor": "#5b5b5b",
    "prop": "#b9ad97",
    "ball": "#e07b39",
    "band": "#c2185b",
    "towel": "#6a9f58",
}
WIDTHS = {"near": 0.075, "far": 0.065, "trunk": 0.11, "prop": 0.03, "band": 0.02, "towel": 0.025}


def _style(shape: Shape) -> tuple[str, float]:
    """Colour and line width (metres) of a shape."""
    name = shape.name
    if name.startswith("near_"):
        return COLOURS["near"], WIDTHS["near"]
    if name.startswith("far_"):
        return COLOURS["far"], WIDTHS["far"]
    if name == "trunk":
        return COLOURS["trunk"], WIDTHS["trunk"]
    if name == "head":
        return COLOURS["head"], 0.0
    if name == "floor":
        return COLOURS["floor"], 0.0
    if name == "prop_band":
        return COLOURS["band"], WIDTHS["band"]
    if name == "prop_towel":
        return COLOURS["towel"], WIDTHS["towel"]
    if name == "prop_towel_roll":
        return COLOURS["towel"], 0.0
    if name in ("prop_foam_roller", "prop_lacrosse_ball", "prop_tennis_ball", "prop_ankle_weight"):
        return COLOURS["ball"], 0.0
    return COLOURS["prop"], WIDTHS["prop"]


class _Frame:
    """Metres (y up) to SVG pixels (y down) over the box that holds every pose."""

    def __init__(self, scenes: list[PoseScene], foot_inset: bool) -> None:
        xs: list[float] = []
        ys: list[float] = []
        for scene in scenes:
            for shape in scene.shapes:
                if shape.name in ("floor", "prop_wall"):
                    continue
                c = shape.coords
                if shape.kind == "line":
                    xs += [c[0], c[2]]
                    ys += [c[1], c[3]]
                elif shape.kind == "circle":
                    xs += [c[0] - c[2], c[0] + c[2]]
                    ys += [c[1] - c[2], c[1] + c[2]]
                else:
                    xs += [c[0], c[0] + c[2]]
                    ys += [c[1], c[1] + c[3]]
        walls = [s.coords[0] for sc in scenes for s in sc.shapes if s.name == "prop_wall"]
        self.left = min([*xs, *walls]) - MARGIN
        self.right = max(xs) + MARGIN + (2 * CLOCK_RADIUS + 0.1 if foot_inset else 0.0)
        if self.right - self.left < MIN_WIDTH:  # room for the cue text under a narrow figure
            grow = (MIN_WIDTH - (self.right - self.left)) / 2
            self.left, self.right = self.left - grow, self.right + grow
        self.top = max([*ys, 0.5]) + MARGIN
        self.bottom = -0.05 - CUE_BAND
        self.width = (self.right - self.left) * SCALE
        self.height = (self.top - self.bottom) * SCALE

    def x(self, metres: float) -> float:
        return round((metres - self.left) * SCALE, 1)

    def y(self, metres: float) -> float:
        return round((self.top - metres) * SCALE, 1)

    def attributes(self, shape: Shape) -> dict[str, float]:
        c = shape.coords
        if shape.kind == "line":
            return {"x1": self.x(c[0]), "y1": self.y(c[1]), "x2": self.x(c[2]), "y2": self.y(c[3])}
        if shape.kind == "circle":
            return {"cx": self.x(c[0]), "cy": self.y(c[1]), "r": round(c[2] * SCALE, 1)}
        if shape.name == "floor":  # the floor spans the picture, whatever the pose
            return {
                "x": 0.0,
                "y": self.y(0.0),
                "width": round(self.width, 1),
                "height": round(0.03 * SCALE, 1),
            }
        return {
            "x": self.x(c[0]),
            "y": self.y(c[1] + c[3]),
            "width": round(c[2] * SCALE, 1),
            "height": round(c[3] * SCALE, 1),
        }


def _timeline(demo: Demonstration) -> tuple[float, list[float], list[float]]:
    """Total loop seconds, and when each pose is reached and left (the loop returns to pose 0)."""
    arrive, leave, t = [], [], 0.0
    for index, pose in enumerate(demo.poses):
        if index:
            t += pose.move_s
        arrive.append(t)
        t += pose.hold_s
        leave.append(t)
    total = t + demo.poses[0].move_s
    return total, arrive, leave


def _element(shape: Shape, attrs: dict[str, float], extra: str = "") -> str:
    colour, width = _style(shape)
    tag = shape.kind
    values = " ".join(f'{k}="{v}"' for k, v in attrs.items())
    part = f' data-part="{shape.name}"'
    if tag == "line":
        paint = f'stroke="{colour}" stroke-width="{round(width * SCALE, 1)}" stroke-linecap="round"'
        return f"<line{part} {values} {paint}>{extra}</line>"
    if tag == "circle":
        ring = ' stroke="#8a4b1f" stroke-width="1.5"' if shape.name.startswith("prop_") else ""
        fill = "#f3c9a0" if shape.name == "prop_stability_ball" else colour
        return f'<circle{part} {values} fill="{fill}"{ring}>{extra}</circle>'
    return f'<rect{part} {values} fill="{colour}" rx="2">{extra}</rect>'


def _clock_centre(frame: _Frame) -> tuple[float, float]:
    """Where the foot-from-above inset sits (metres): the picture's top right corner."""
    return frame.right - MARGIN / 2 - CLOCK_RADIUS, frame.top - MARGIN / 2 - CLOCK_RADIUS


def _foot_inset(frame: _Frame, rotation: float, spin: str = "") -> str:
    """The working foot from above on a clock face: twelve o'clock straight ahead, two o'clock 60 deg
    out; ``spin`` (an ``animateTransform``) turns the foot in the animation."""
    cx, cy = _clock_centre(frame)
    px, py, r = frame.x(cx), frame.y(cy), CLOCK_RADIUS * SCALE

    def at(hour: float, radius: float) -> tuple[float, float]:
        a = math.radians(hour * 30)
        return px + radius * math.sin(a), py - radius * math.cos(a)

    marks = "".join(
        '<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#777" stroke-width="1.5"/>'.format(
            *at(hour, 0.9 * r), *at(hour, r)
        )
        for hour in range(12)
    )
    spots = {hour: at(hour, 0.76 * r) for hour in (0, 2)}
    labels = "".join(
        f'<text x="{x:.1f}" y="{y + 4:.1f}" font-size="11" text-anchor="middle" fill="#333">'
        f"{hour or 12}</text>"
        for hour, (x, y) in spots.items()
    )
    s = r / 0.62  # the foot outline, toes up: heel to toe about 1.1 clock radii
    outline = [(0.0, 0.36), (-0.1, 0.36), (-0.12, 0.1), (-0.1, -0.1), (-0.09, -0.3), (0.1, -0.32)]
    outline += [(0.1, -0.12), (0.11, 0.1), (0.1, 0.36), (0.0, 0.36)]
    xy = [f"{px + u * s:.1f} {py + v * s:.1f}" for u, v in outline]
    foot = f"M {xy[0]} C {xy[1]} {xy[2]} {xy[3]} C {xy[4]} {xy[5]} {xy[6]} C {xy[7]} {xy[8]} {xy[9]} Z"
    return (
        f'<g data-part="foot_from_above" data-rotation="{rotation:g}">'
        f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{r:.1f}" fill="#fff" stroke="#999" stroke-width="1.5"/>'
        f"{marks}{labels}"
        f'<g transform="rotate({rotation:g} {px:.1f} {py:.1f})">{spin}'
        f'<path d="{foot}" fill="{COLOURS["near"]}" opacity="0.85"/></g>'
        f'<text x="{px:.1f}" y="{py + r + 13:.1f}" font-size="11" text-anchor="middle" fill="#333">'
        "foot from above</text></g>"
    )


def _cue_text(frame: _Frame, text: str, x_centre: float, extra: str = "") -> str:
    lines = textwrap.wrap(text, max(20, int(frame.width / 7.6))) or [""]
    y0 = frame.y(-0.05) + 22
    spans = "".join(
        f'<tspan x="{x_centre:.1f}" y="{y0 + 17 * i:.1f}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text font-size="14" text-anchor="middle" fill="#222" data-part="cue">{spans}{extra}</text>'


def animated_svg(demo: Demonstration, title: str, moving: bool = True) -> str:
    """The looping animation: the figure moves through the key poses, each cue shown in its phase.

    With ``moving=False``, the same picture holding its first pose and cue: a still of the animation,
    the same size, for a page to show while the animation is off the screen (no layout shift)."""
    scenes = build_scenes(demo)
    frame = _Frame(scenes, demo.foot_from_above)
    total, arrive, leave = _timeline(demo)
    times = [0.0]
    order = [0]
    for index in range(len(scenes)):
        if index:
            times.append(arrive[index])
            order.append(index)
        if leave[index] > arrive[index]:
            times.append(leave[index])
            order.append(index)
    times.append(total)
    order.append(0)
    key_times = ";".join(f"{t / total:.4f}" for t in times)
    splines = ";".join(["0.45 0 0.55 1"] * (len(times) - 1))
    timing = f'dur="{total:.2f}s" repeatCount="indefinite" keyTimes="{key_times}"'
    timing += f' calcMode="spline" keySplines="{splines}"'
    body: list[str] = []
    for k, shape in enumerate(scenes[0].shapes):
        per_pose = [frame.attributes(scene.shapes[k]) for scene in scenes]
        animations = ""
        for attr in per_pose[0]:
            values = [per_pose[i][attr] for i in order]
            if len(set(values)) > 1:
                animations += (
                    f'<animate attributeName="{attr}" values="{";".join(map(str, values))}" {timing}/>'
                )
        body.append(_element(shape, per_pose[0], animations if moving else ""))
    if demo.foot_from_above:
        rotations = [scenes[i].foot_rotation for i in order]
        spin = ""
        if len(set(rotations)) > 1:
            cx, cy = _clock_centre(frame)
            turns = ";".join(f"{r:g} {frame.x(cx)} {frame.y(cy)}" for r in rotations)
            spin = f'<animateTransform attributeName="transform" type="rotate" values="{turns}" {timing}/>'
        body.append(_foot_inset(frame, rotations[0], spin if moving else ""))
    loop = f'dur="{total:.2f}s" repeatCount="indefinite"'
    for index, pose in enumerate(demo.poses):
        if index == 0:  # shown while held, and while the loop returns to it
            cue_times = f"0;{max(leave[0] / total, 0.001):.4f};{(total - pose.move_s) / total:.4f}"
            cue_values = "1;0;1"
        else:  # shown while moving into this pose and holding it
            cue_times = f"0;{(arrive[index] - pose.move_s) / total:.4f};{leave[index] / total:.4f}"
            cue_values = "0;1;0"
        shown = (
            f'<animate attributeName="opacity" calcMode="discrete" keyTimes="{cue_times}" '
            f'values="{cue_values}" {loop}/>'
        )
        if not moving and index:
            continue
        cue = _cue_text(frame, f"{index + 1}. {pose.cue}", frame.width / 2, shown if moving else "")
        body.append(cue.replace("<text ", f'<text opacity="{1 if index == 0 else 0}" ', 1))
    return _svg(frame.width, frame.height, title, demo, "".join(body), "kneefix-demo demo-animated")


def strip_svg(demo: Demonstration, title: str) -> str:
    """The key poses side by side, numbered, each with its cue (no motion)."""
    scenes = build_scenes(demo)
    frame = _Frame(scenes, demo.foot_from_above)
    panels: list[str] = []
    for index, (scene, pose) in enumerate(zip(scenes, demo.poses, strict=True)):
        shapes = "".join(_element(shape, frame.attributes(shape)) for shape in scene.shapes)
        if demo.foot_from_above:
            shapes += _foot_inset(frame, scene.foot_rotation)
        cue = _cue_text(frame, f"{index + 1}. {pose.cue}", frame.width / 2)
        panels.append(
            f'<g data-pose="{index}" transform="translate({index * frame.width:.1f} 0)">{shapes}{cue}</g>'
        )
    width = frame.width * len(scenes)
    return _svg(width, frame.height, title, demo, "".join(panels), "kneefix-demo demo-strip")


def _svg(width: float, height: float, title: str, demo: Demonstration, body: str, css_class: str) -> str:
    steps = " ".join(f"{i + 1}. {pose.cue}" for i, pose in enumerate(demo.poses))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{escape(title)}: {escape(steps)}" '
        f'font-family="system-ui, sans-serif"><title>{escape(title)}</title><desc>{escape(steps)}</desc>'
        f'<rect width="100%" height="100%" fill="#fbfaf7"/>{body}</svg>'
    )


def strip_png(demo: Demonstration, title: str, out_path: Path) -> None:
    """The key poses side by side as a PNG (about 330 px per pose), drawn with matplotlib."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, PathPatch, Rectangle
    from matplotlib.path import Path as MplPath
    from matplotlib.transforms import Affine2D

    scenes = build_scenes(demo)
    frame = _Frame(scenes, demo.foot_from_above)
    aspect = (frame.top - frame.bottom) / (frame.right - frame.left)
    panel_w = 3.3
    fig = Figure(figsize=(panel_w * len(scenes), panel_w * aspect + 0.45), dpi=100)
    FigureCanvasAgg(fig)
    fig.suptitle(title, fontsize=13, x=0.01, ha="left")
    for index, (scene, pose) in enumerate(zip(scenes, demo.poses, strict=True)):
        ax = fig.add_axes((index / len(scenes), 0.0, 1 / len(scenes), 1 - 0.45 / (panel_w * aspect + 0.45)))
        ax.set_xlim(frame.left, frame.right)
        ax.set_ylim(frame.bottom, frame.top)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.add_patch(
            Rectangle(
                (frame.left, frame.bottom),
                frame.right - frame.left,
                frame.top - frame.bottom,
                color="#fbfaf7",
                zorder=0,
            )
        )
        for z, shape in enumerate(scene.shapes, start=1):
            colour, width = _style(shape)
            c = shape.coords
            if shape.kind == "line":
                ax.plot(
                    [c[0], c[2]],
                    [c[1], c[3]],
                    color=colour,
                    lw=width * SCALE * 0.62,
                    solid_capstyle="round",
                    zorder=z,
                )
            elif shape.kind == "circle":
                fill = "#f3c9a0" if shape.name == "prop_stability_ball" else colour
                ax.add_patch(Circle((c[0], c[1]), c[2], color=fill, zorder=z))
            elif shape.name == "floor":
                ax.add_patch(
                    Rectangle((frame.left, -0.03), frame.right - frame.left, 0.03, color=colour, zorder=z)
                )
            else:
                ax.add_patch(Rectangle((c[0], c[1]), c[2], c[3], color=colour, zorder=z))
        if demo.foot_from_above:
            cx, cy = frame.right - MARGIN / 2 - CLOCK_RADIUS, frame.top - MARGIN / 2 - CLOCK_RADIUS
            ax.add_patch(Circle((cx, cy), CLOCK_RADIUS, facecolor="white", edgecolor="#999", zorder=50))
            for hour in (0, 2):
                a = math.radians(hour * 30)
                ax.text(
                    cx + 0.76 * CLOCK_RADIUS * math.sin(a),
                    cy + 0.76 * CLOCK_RADIUS * math.cos(a),
                    str(hour or 12),
                    ha="center",
                    va="center",
                    fontsize=8,
                    zorder=52,
                )
            s = CLOCK_RADIUS / 0.62
            outline = MplPath(
                [
                    (0, -0.36 * s),
                    (-0.11 * s, -0.2 * s),
                    (-0.1 * s, 0.2 * s),
                    (0, 0.32 * s),
                    (0.1 * s, 0.2 * s),
                    (0.11 * s, -0.2 * s),
                    (0, -0.36 * s),
                ],
                closed=True,
            )
            turn = Affine2D().rotate_deg(-scene.foot_rotation).translate(cx, cy) + ax.transData
            ax.add_patch(PathPatch(outline, facecolor=COLOURS["near"], alpha=0.85, transform=turn, zorder=51))
        cue = "\n".join(textwrap.wrap(f"{index + 1}. {pose.cue}", 34))
        ax.text((frame.left + frame.right) / 2, -0.1, cue, ha="center", va="top", fontsize=10, zorder=60)
    fig.savefig(out_path, format="png", facecolor="white")
