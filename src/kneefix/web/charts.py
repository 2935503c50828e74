"""Small inline SVG charts for the progress page, drawn on the server.

Why not a chart library: inline SVG needs no script, loads nothing from elsewhere, scales to any screen,
prints, and carries a ``<title>``/``<desc>`` for screen readers; the page also shows the same numbers in
a table. The numbers come from the progress summary; this module only draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 480
HEIGHT = 300
LEFT = 52
RIGHT = 14
TOP = 16
BOTTOM = 58

# Colour-blind-safe palette (Okabe-Ito), each with enough contrast on white for lines and labels.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#6b5a00")


@dataclass(frozen=True)
class Series:
    """One line: a name for the legend and a value (or a gap) per x position."""

    name: str
    values: Sequence[float | None]
    dashed: bool = False


def _x(index: int, count: int) -> float:
    span = WIDTH - LEFT - RIGHT
    if count <= 1:
        return LEFT + span / 2
    return LEFT + span * index / (count - 1)


def _y(value: float, y_max: float) -> float:
    span = HEIGHT - TOP - BOTTOM
    return TOP + span * (1 - max(0.0, min(value, y_max)) / y_max)


def _frame(title: str, description: str) -> list[str]:
    return [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
    ]


def _y_axis(y_max: float, ticks: Sequence[float], unit: str) -> list[str]:
    parts: list[str] = []
    for tick in ticks:
        y = _y(tick, y_max)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e1e6ec"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="17" text-anchor="end" fill="#4a5566">'
            f"{tick:g}{escape(unit)}</text>"
        )
    return parts


def _x_labels(labels: Sequence[str]) -> list[str]:
    count = len(labels)
    step = max(1, round(count / 6))
    parts = []
    for index, label in enumerate(labels):
        if index % step and index != count - 1:
            continue
        anchor = "middle" if 0 < index < count - 1 or count == 1 else ("start" if index == 0 else "end")
        parts.append(
            f'<text x="{_x(index, count):.1f}" y="{HEIGHT - BOTTOM + 20}" font-size="17" '
            f'text-anchor="{anchor}" fill="#4a5566">{escape(label)}</text>'
        )
    return parts


def _legend(names: Sequence[tuple[str, str, bool]]) -> list[str]:
    parts = []
    x = LEFT
    for name, colour, dashed in names:
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        parts.append(
            f'<line x1="{x}" x2="{x + 22}" y1="{HEIGHT - 10}" y2="{HEIGHT - 10}" stroke="{colour}" '
            f'stroke-width="3"{dash}/>'
        )
        parts.append(
            f'<text x="{x + 28}" y="{HEIGHT - 5}" font-size="17" fill="#1b2430">{escape(name)}</text>'
        )
        x += 46 + 9 * len(name)
    return parts


def line_chart(
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    y_max: float,
    ticks: Sequence[float],
    unit: str = "",
    reference: tuple[float, str] | None = None,
) -> str:
    """Lines over shared x positions; gaps (``None``) break a line, single points show as dots."""
    parts = _frame(title, description)
    parts += _y_axis(y_max, ticks, unit)
    if reference is not None:
        level, label = reference
        y = _y(level, y_max)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#a31515" '
            'stroke-dasharray="3 3"/>'
        )
        parts.append(
            f'<text x="{WIDTH - RIGHT}" y="{y - 5:.1f}" font-size="17" text-anchor="end" fill="#a31515">'
            f"{escape(label)}</text>"
        )
    count = len(labels)
    legend: list[tuple[str, str, bool]] = []
    for number, line in enumerate(series):
        colour = COLOURS[number % len(COLOURS)]
        legend.append((line.name, colour, line.dashed))
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        run: list[str] = []
        for index, value in enumerate(line.values):
            if value is None:
                if len(run) > 1:
                    parts.append(_polyline(run, colour, dash))
                run = []
                continue
            point = f"{_x(index, count):.1f},{_y(value, y_max):.1f}"
            run.append(point)
            parts.append(
                f'<circle cx="{_x(index, count):.1f}" cy="{_y(value, y_max):.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(line.name)}, {escape(labels[index])}: {value:g}{escape(unit)}</title>"
                "</circle>"
            )
        if len(run) > 1:
            parts.append(_polyline(run, colour, dash))
    parts += _x_labels(labels)
    parts += _legend(legend)
    parts.append("</svg>")
    return "".join(parts)


def _polyline(points: Sequence[str], colour: str, dash: str) -> str:
    return (
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2.5" '
        f'stroke-linejoin="round"{dash}/>'
    )


def bar_chart(
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    y_max: float,
    ticks: Sequence[float],
    unit: str = "",
) -> str:
    """Vertical bars (``None`` draws nothing, e.g. a week with no planned session)."""
    parts = _frame(title, description)
    parts += _y_axis(y_max, ticks, unit)
    count = len(labels)
    span = (WIDTH - LEFT - RIGHT) / max(count, 1)
    width = max(4.0, span * 0.6)
    for index, value in enumerate(values):
        if value is None:
            continue
        centre = LEFT + span * (index + 0.5)
        top = _y(value, y_max)
        height = HEIGHT - BOTTOM - top
        parts.append(
            f'<rect x="{centre - width / 2:.1f}" y="{top:.1f}" width="{width:.1f}" height="{height:.1f}" '
            f'fill="{COLOURS[2]}"><title>{escape(labels[index])}: {value:g}{escape(unit)}</title></rect>'
        )
    for index, label in enumerate(labels):
        if count > 8 and index % 2:
            continue
        centre = LEFT + span * (index + 0.5)
        parts.append(
            f'<text x="{centre:.1f}" y="{HEIGHT - BOTTOM + 20}" font-size="17" text-anchor="middle" '
            f'fill="#4a5566">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
