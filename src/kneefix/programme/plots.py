"""Draw the progress summary as one PNG: weekly pain, Kujala scores and weekly adherence.

Uses matplotlib's object API on a private ``Figure`` (Agg), never ``pyplot``'s global state, so it is
safe inside the web server's threads and needs no display.
"""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from kneefix.errors import InputError
from kneefix.programme.progress import KUJALA_MCID, ProgressSummary

PAIN_LINES = (
    ("pain_during", "During the session", "#d62728", "o"),
    ("pain_after", "After the session", "#ff7f0e", "s"),
    ("next_morning_pain", "Next morning", "#1f77b4", "^"),
)
MIN_WEEKS_SHOWN = 4
ZONES = ((0, 2, "#e6f4ea", "low"), (2, 5, "#fff4e0", "acceptable"), (5, 10, "#fde8e8", "too high"))


def progress_chart(summary: ProgressSummary, path: Path | None = None) -> bytes:
    """Render the chart; write it to ``path`` when given. Returns the PNG bytes either way."""
    figure = Figure(figsize=(9, 10), dpi=100, layout="constrained")
    pain_axes, kujala_axes, adherence_axes = figure.subplots(3, 1)
    figure.suptitle(f"Your progress to {summary.today:%d %b %Y}", fontsize=15, fontweight="bold")
    _pain(pain_axes, summary)
    _kujala(kujala_axes, summary)
    _adherence(adherence_axes, summary)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    png = buffer.getvalue()
    if path is not None:
        try:
            path.write_bytes(png)
        except OSError as error:
            raise InputError(f"Could not save the chart to {path}: {error.strerror or error}.") from error
    return png


def _week_ticks(axes: Axes, summary: ProgressSummary) -> None:
    count = max(len(summary.weeks), MIN_WEEKS_SHOWN)  # a lone first week should not be one giant bar
    axes.set_xlim(0.4, count + 0.6)
    step = 1 if count <= 16 else (count + 15) // 16
    axes.set_xticks(range(1, count + 1, step))
    axes.set_xlabel("Programme week")


def _pain(axes: Axes, summary: ProgressSummary) -> None:
    for low, high, colour, label in ZONES:
        axes.axhspan(low, high, color=colour, zorder=0)
        axes.text(1.005, (low + high) / 2, label, transform=axes.get_yaxis_transform(), va="center",
                  fontsize=9, color="#555555")  # fmt: skip
    plotted = False
    for measure, label, colour, marker in PAIN_LINES:
        points = [(week.week, getattr(week, measure)) for week in summary.weeks]
        known = [(x, y) for x, y in points if y is not None]
        if known:
            plotted = True
            axes.plot([x for x, _ in known], [y for _, y in known], marker=marker, color=colour,
                      label=label, linewidth=2)  # fmt: skip
    axes.set_ylim(-0.3, 10)  # room for markers sitting on zero
    axes.set_ylabel("Pain (0-10), weekly mean")
    axes.set_title("Pain", loc="left", fontsize=12)
    _week_ticks(axes, summary)
    if plotted:
        axes.legend(loc="upper right", fontsize=9, framealpha=0.9)
    else:
        _empty(axes, "No pain ratings logged yet")
    axes.grid(axis="y", alpha=0.3)


def _kujala(axes: Axes, summary: ProgressSummary) -> None:
    points = summary.kujala.points
    axes.set_ylim(0, 100)
    axes.set_ylabel("Kujala score (0-100)")
    axes.set_title("Knee function (Kujala, higher is better)", loc="left", fontsize=12)
    weeks = [(day - summary.start_date).days / 7 + 1 for day, _ in points]
    scores = [score for _, score in points]
    if points:
        axes.plot(weeks, scores, color="#2ca02c", marker="o", markersize=8, linewidth=1.5)
        for x, y in zip(weeks, scores, strict=True):
            axes.annotate(
                f"{y:g}", (x, y), textcoords="offset points", xytext=(0, 9), ha="center", fontsize=9
            )
        target = min(scores[0] + KUJALA_MCID, 100)
        axes.axhline(target, color="#2ca02c", linestyle="--", linewidth=1)
        axes.text(0.01, target + 1.5, f"first score + {KUJALA_MCID:g} (a change that matters)",
                  transform=axes.get_yaxis_transform(), fontsize=9, color="#2ca02c")  # fmt: skip
    else:
        _empty(axes, "No Kujala questionnaire yet")
    _week_ticks(axes, summary)
    if weeks:
        axes.set_xlim(0.4, max(len(summary.weeks), max(weeks)) + 0.6)
    axes.grid(axis="y", alpha=0.3)


def _adherence(axes: Axes, summary: ProgressSummary) -> None:
    weeks = [week for week in summary.weeks if week.planned]
    values = [week.adherence_pct or 0.0 for week in weeks]
    bars = axes.bar([week.week for week in weeks], values, color="#9467bd", width=0.6)
    for bar, week in zip(bars, weeks, strict=True):
        top = (bar.get_x() + bar.get_width() / 2, bar.get_height())
        label = f"{min(week.done, week.planned)}/{week.planned}"
        axes.annotate(label, top, textcoords="offset points", xytext=(0, 3), ha="center", fontsize=9)
    axes.set_ylim(0, 115)
    axes.set_yticks([0, 25, 50, 75, 100])
    axes.set_ylabel("Sessions done (%)")
    overall = summary.adherence_pct
    title = "Sessions done each week" + (f" (overall {overall:g}%)" if overall is not None else "")
    axes.set_title(title, loc="left", fontsize=12)
    _week_ticks(axes, summary)
    if not weeks:
        _empty(axes, "No sessions planned yet")
    axes.grid(axis="y", alpha=0.3)


def _empty(axes: Axes, text: str) -> None:
    axes.text(
        0.5, 0.5, text, transform=axes.transAxes, ha="center", va="center", fontsize=11, color="#777777"
    )
