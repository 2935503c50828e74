"""Shaping service results for the page templates: the month calendar, exercise cards, chart inputs.

Pure functions from records to plain values; the routes call the services, these arrange what came
back for display. Nothing here decides anything about the programme.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from kneefix.content.loader import Content
from kneefix.content.schemas import STEP_ORDER
from kneefix.programme.planner import PlannedExercise, PlannedRun, PlannedSession
from kneefix.programme.progress import ProgressSummary
from kneefix.programme.records import SessionLog
from kneefix.web import charts

STEP_TITLES = {
    "inhibit": "1 · Loosen (roll)",
    "lengthen": "2 · Stretch",
    "activate": "3 · Strengthen the thigh",
    "integrate": "4 · Whole movement",
    "hip": "Hip strength (from the guidelines)",
}


# ----- calendar --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCell:
    day: dt.date
    in_month: bool
    is_today: bool
    status: str = ""  # planned | done | partial | missed | ""
    label: str = ""
    run_status: str = ""  # planned | done | ""
    run_label: str = ""


@dataclass(frozen=True)
class MonthView:
    year: int
    month: int
    title: str
    weeks: list[list[DayCell]]
    previous: str
    next: str


def parse_month(text: str | None, today: dt.date) -> tuple[int, int]:
    """``YYYY-MM`` from the query string; anything else means the current month."""
    if text:
        try:
            year, month = (int(part) for part in text.split("-", 1))
            if 1900 < year < 3000 and 1 <= month <= 12:
                return year, month
        except ValueError:
            pass
    return today.year, today.month


def _shift(year: int, month: int, delta: int) -> str:
    index = year * 12 + (month - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_view(
    year: int,
    month: int,
    today: dt.date,
    upcoming: Iterable[PlannedSession],
    logs: Iterable[SessionLog],
    past_planned: Iterable[dt.date],
    done_fraction: float = 0.8,
    runs: Iterable[PlannedRun] = (),
) -> MonthView:
    """A Monday-first month grid marking sessions done, partly done, missed and still to come, and runs
    logged or forecast."""
    planned = {session.date: session for session in upcoming}
    planned_runs = {run.date: run for run in runs}
    by_day: dict[dt.date, list[SessionLog]] = {}
    ran: dict[dt.date, SessionLog] = {}
    for log in logs:
        if log.is_run:
            ran[log.date] = log
        else:
            by_day.setdefault(log.date, []).append(log)
    missed_candidates = set(past_planned)
    weeks: list[list[DayCell]] = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        row: list[DayCell] = []
        for day in week:
            status, label = "", ""
            if day in by_day:
                best = max(log.completed for log in by_day[day])
                status = "done" if best >= done_fraction else "partial"
                label = "Done" if status == "done" else f"{round(best * 100)}% done"
            elif day in planned and day >= today:
                session = planned[day]
                status, label = "planned", f"Week {session.week}"
            elif day in missed_candidates and day < today:
                status, label = "missed", "Not done"
            run_status, run_label = _run_cell(day, today, ran, planned_runs)
            row.append(DayCell(day, day.month == month, day == today, status, label, run_status, run_label))
        weeks.append(row)
    title = dt.date(year, month, 1).strftime("%B %Y")
    return MonthView(year, month, title, weeks, _shift(year, month, -1), _shift(year, month, 1))


def _run_cell(
    day: dt.date, today: dt.date, ran: Mapping[dt.date, SessionLog], planned: Mapping[dt.date, PlannedRun]
) -> tuple[str, str]:
    if day in ran:
        minutes = ran[day].run_minutes
        return "done", f"Ran {minutes:g} min" if minutes else "Ran"
    if day in planned and day >= today:
        return "planned", f"Run, stage {planned[day].stage}"
    return "", ""


# ----- exercise cards --------------------------------------------------------------------------


@dataclass(frozen=True)
class EasierVersion:
    """The exercise's easier version, shown beside it so it is one tap away."""

    exercise_id: str
    name: str
    how_to: Sequence[str]
    cues: Sequence[str]


@dataclass(frozen=True)
class ExerciseCard:
    """Everything the guided session shows for one exercise, including what the timers need."""

    planned: PlannedExercise
    how_to: Sequence[str]
    mistakes: Sequence[str]
    safety: Sequence[str]
    equipment_names: Sequence[str]
    sets: int
    reps: int | None
    hold_s: int | None
    duration_s: int | None
    rest_s: int
    per_side: bool
    easier: EasierVersion | None = None

    @property
    def timed_seconds(self) -> int | None:
        """Seconds of one timed effort (a rolling bout or a hold), for the countdown."""
        return self.duration_s or self.hold_s


@dataclass(frozen=True)
class StepGroup:
    step: str
    title: str
    cards: list[ExerciseCard] = field(default_factory=list)


def easier_version(planned: PlannedExercise, content: Content) -> EasierVersion | None:
    """What the plan named as this exercise's easier version, with its instructions from the content."""
    if planned.easier_id is None:
        return None
    exercise = content.exercises.get(planned.easier_id)
    return EasierVersion(
        exercise_id=planned.easier_id,
        name=planned.easier_name or (exercise.name if exercise else planned.easier_id),
        how_to=list(exercise.how_to) if exercise else [],
        cues=list(exercise.cues) if exercise else [],
    )


def session_cards(session: PlannedSession | None, content: Content) -> list[StepGroup]:
    """The session's exercises grouped by step, in the article's order (then the hip additions).

    No session (a paused plan) gives no cards.
    """
    if session is None:
        return []
    groups: dict[str, StepGroup] = {}
    for planned in session.exercises:
        exercise = content.exercises.get(planned.exercise_id)
        dose = planned.dose
        card = ExerciseCard(
            planned=planned,
            how_to=list(exercise.how_to) if exercise else [],
            mistakes=list(exercise.mistakes) if exercise else [],
            safety=list(exercise.safety) if exercise else [],
            equipment_names=[
                content.equipment[item].name if item in content.equipment else item
                for item in planned.equipment
            ],
            sets=dose.sets or 1,
            reps=dose.reps,
            hold_s=dose.hold_s,
            duration_s=dose.duration_s,
            rest_s=dose.rest_s,
            per_side=dose.per_side,
            easier=easier_version(planned, content),
        )
        group = groups.setdefault(
            planned.step, StepGroup(planned.step, STEP_TITLES.get(planned.step, planned.step))
        )
        group.cards.append(card)
    order: dict[str, int] = {step: index for index, step in enumerate(STEP_ORDER)}
    return sorted(groups.values(), key=lambda group: order.get(group.step, len(order)))


# ----- progress charts -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressCharts:
    pain: str
    kujala: str
    adherence: str
    running: str | None = None  # only once a run is logged


def has_runs(summary: ProgressSummary) -> bool:
    return any(week.runs for week in summary.weeks)


def progress_charts(summary: ProgressSummary) -> ProgressCharts:
    """The charts of the progress page as inline SVG (running minutes only once there are runs)."""
    weeks = summary.weeks
    labels = [f"W{week.week}" for week in weeks]
    pain = charts.line_chart(
        "Pain by week (0 to 10)",
        "Weekly mean pain during sessions, after them and the next morning. Lower is better; "
        "the dashed red line marks 5, the upper limit while exercising.",
        labels or ["W1"],
        [
            charts.Series("During", [week.pain_during for week in weeks] or [None]),
            charts.Series("After", [week.pain_after for week in weeks] or [None]),
            charts.Series("Next morning", [week.next_morning_pain for week in weeks] or [None], dashed=True),
        ],
        y_max=10,
        ticks=(0, 2, 4, 6, 8, 10),
        reference=(5, "limit 5/10"),
    )
    points = summary.kujala.points
    kujala = charts.line_chart(
        "Kujala knee score (0 to 100)",
        "Each Kujala score you recorded. Higher is better; a rise of 10 points is a change that matters.",
        [day.strftime("%d %b") for day, _ in points] or ["-"],
        [charts.Series("Kujala", [score for _, score in points] or [None])],
        y_max=100,
        ticks=(0, 20, 40, 60, 80, 100),
    )
    adherence = charts.bar_chart(
        "Sessions done per week (% of planned)",
        "For each programme week, the share of planned sessions you logged as done.",
        labels or ["W1"],
        [week.adherence_pct for week in weeks] or [None],
        y_max=100,
        ticks=(0, 25, 50, 75, 100),
        unit="%",
    )
    running = None
    if has_runs(summary):
        most = max(week.run_minutes for week in weeks)
        top = max(30, -(-int(most) // 30) * 30)
        running = charts.bar_chart(
            "Running minutes per week",
            "Minutes on your feet in return-to-running runs each programme week, walking breaks included.",
            labels,
            [week.run_minutes for week in weeks],
            y_max=top,
            ticks=tuple(range(0, top + 1, top // 3)),
        )
    return ProgressCharts(pain, kujala, adherence, running)


def pain_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def logs_by_id(logs: Iterable[SessionLog]) -> Mapping[int, SessionLog]:
    return {log.id: log for log in logs if log.id is not None}
