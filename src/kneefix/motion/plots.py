"""``angles.png``: the joint angles over the whole clip, with the moments the analysis picked out.

One picture answers "did it find my reps, and where did each joint start to bend?": the hip and knee
curves with each onset marked on its own curve, the bottoms, the initial contacts, and every rep shaded.
Front-view clips get a second panel with the knee's frontal-plane projection angle (valgus), shown as a
screening angle, with the ~8 degree band below which a change between days is noise (clinical.md 6.2).

Uses matplotlib's object API with the Agg canvas (no pyplot): no global state, safe in a web worker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray

from kneefix.motion.kinematics import Kinematics
from kneefix.motion.types import Report

HIP = "#e07000"
KNEE = "#1f5fd0"
ANKLE = "#2a9d4b"
TRUNK = "#777777"
CONTACT = "#d62828"
BOTTOM = "#b03cb0"
VALGUS_NOISE_DEG = 8.0
AXIS_LIMITS = (-60.0, 180.0)  # degrees shown at most; human joints stay well inside this range


def _value_at(time_s: NDArray[np.float64], values: NDArray[np.float64], when: float) -> float:
    finite = np.isfinite(values)
    if not finite.any():
        return float("nan")
    return float(np.interp(when, time_s[finite], values[finite]))


def _has(values: NDArray[np.float64]) -> bool:
    return bool(np.isfinite(values).any())


def _shade_reps(ax: Axes, report: Report, top: float) -> None:
    for rep in report.reps:
        colour = "#dddddd" if rep.rep % 2 else "#eeeeee"
        ax.axvspan(rep.start_s, rep.end_s, color=colour, zorder=0, lw=0)
        ax.text(
            (rep.start_s + rep.end_s) / 2,
            top,
            f"rep {rep.rep}",
            ha="center",
            va="top",
            fontsize=8,
            color="#444444",
        )


def _mark_squat_events(ax: Axes, kin: Kinematics, report: Report) -> None:
    t = kin.time_s
    labelled: set[str] = set()

    def once(name: str) -> str | None:
        if name in labelled:
            return None
        labelled.add(name)
        return name

    for rep in report.reps:
        onsets = (
            (rep.hip_onset_s, kin.hip_flexion, "v", HIP, "hip onset"),
            (rep.knee_onset_s, kin.knee_flexion, "^", KNEE, "knee onset"),
        )
        for onset_s, angles, marker, colour, label in onsets:
            if onset_s is None:
                continue
            y = _value_at(t, angles, onset_s)
            ax.plot(
                [onset_s], [y], marker, color=colour, ms=8, mec="black", mew=0.6, label=once(label), zorder=5
            )
        ax.axvline(rep.bottom_s, color=BOTTOM, ls=":", lw=1.2, label=once("bottom"), zorder=2)


def _mark_landings(ax: Axes, kin: Kinematics, report: Report) -> None:
    t = kin.time_s
    for n, landing in enumerate(report.landings):
        ax.axvline(
            landing.initial_contact_s, color=CONTACT, lw=1.4, label="initial contact" if n == 0 else None
        )
        y = _value_at(t, kin.knee_flexion, landing.peak_knee_flexion_s)
        ax.plot(
            [landing.peak_knee_flexion_s],
            [y],
            "o",
            color=KNEE,
            ms=7,
            mec="black",
            mew=0.6,
            label="peak knee flexion" if n == 0 else None,
            zorder=5,
        )
        ax.text(
            landing.initial_contact_s,
            1.0,
            f" contact {landing.landing}",
            transform=ax.get_xaxis_transform(),
            va="top",
            fontsize=8,
            color=CONTACT,
        )


def _valgus_panel(ax: Axes, kin: Kinematics, report: Report) -> None:
    t = kin.time_s
    ax.axhspan(-VALGUS_NOISE_DEG / 2, VALGUS_NOISE_DEG / 2, color="#f3f3f3", zorder=0, lw=0)
    ax.plot(t, kin.valgus_left, color="#6a3d9a", lw=1.4, label="left knee")
    ax.plot(t, kin.valgus_right, color="#33a02c", lw=1.4, label="right knee")
    ax.axhline(0, color="black", lw=0.6)
    for rep in report.reps:
        ax.axvspan(rep.start_s, rep.end_s, color="#eeeeee", zorder=0, lw=0)
    ax.set_ylabel("valgus (deg)\n+ = knee inwards")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    ax.grid(alpha=0.3)
    ax.text(
        0.01,
        0.03,
        "screening angle, not a diagnosis; changes under ~8 deg are within measurement noise",
        transform=ax.transAxes,
        fontsize=7,
        color="#555555",
    )


def plot_angles(kin: Kinematics, report: Report, out_path: Path) -> None:
    """Write the angle plot as a PNG (about 1400 x 800 pixels)."""
    with_valgus = kin.view == "front" and (_has(kin.valgus_left) or _has(kin.valgus_right))
    fig = Figure(figsize=(11.5, 6.6 if with_valgus else 5.2), dpi=120)
    FigureCanvasAgg(fig)
    # Fixed margins (room on the right for the legend) rather than a constrained layout: the same
    # picture, and a third of the plot's time saved, which counts in every analysis (bench/).
    fig.subplots_adjust(left=0.075, right=0.835, top=0.93, bottom=0.1 if with_valgus else 0.11, hspace=0.12)
    if with_valgus:
        ax, ax_valgus = fig.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
    else:
        ax, ax_valgus = fig.subplots(1, 1), None
    t = kin.time_s
    tracks = [
        (kin.hip_flexion, HIP, "-", 2.0, "hip flexion"),
        (kin.knee_flexion, KNEE, "-", 2.0, "knee flexion"),
        (kin.ankle_dorsiflexion, ANKLE, "-", 1.2, "ankle dorsiflexion"),
        (kin.trunk_inclination, TRUNK, "--", 1.2, "trunk inclination"),
    ]
    drawn = [values for values, *_ in tracks if _has(values)]
    top = float(np.nanmax([np.nanmax(v) for v in drawn])) if drawn else 90.0
    bottom = float(np.nanmin([np.nanmin(v) for v in drawn])) if drawn else 0.0
    # A wild value (a joint the model lost for a moment) must not squash the curves that matter.
    top = min(max(top, 10.0), AXIS_LIMITS[1]) + 12
    bottom = max(min(bottom, 0.0), AXIS_LIMITS[0])
    _shade_reps(ax, report, top - 2)
    for values, colour, style, width, label in tracks:
        if _has(values):
            ax.plot(t, values, style, color=colour, lw=width, label=label)
    _mark_squat_events(ax, kin, report)
    _mark_landings(ax, kin, report)
    ax.set_ylim(bottom - 5, top)
    if len(t):
        ax.set_xlim(float(t[0]), float(t[-1]))
    ax.set_ylabel("angle (deg), 0 = standing upright")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, framealpha=0.9)
    movement = report.movement.replace("-", " ")
    ax.set_title(f"{movement}: {kin.side} side, {kin.view} view  ({report.source or 'clip'})", fontsize=11)
    if ax_valgus is not None:
        _valgus_panel(ax_valgus, kin, report)
        ax_valgus.set_xlabel("time (s)")
    else:
        ax.set_xlabel("time (s)")
    fig.savefig(out_path, format="png")
