"""A persona simulator: people who log week after week, replayed through the real protocol.

Each persona is a baseline and a function that says, for the n-th session, what the person reports.
``simulate`` plays the persona against the packaged ``runners_knee`` protocol, session by session on
the plan's own training days (the plan decides what is prescribed; the persona decides how it felt),
and records the plan's state at the end of every programme week.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kneefix.content.loader import load_content
from kneefix.programme.planner import training_dates
from kneefix.programme.records import (
    LOG_KIND_RUN,
    PersonSettings,
    ReviewEvent,
    RunCheck,
    ScoreRecord,
    SessionLog,
)
from kneefix.programme.replay import PlanState, current_state

START = dt.date(2025, 3, 3)  # a Monday
EQUIPMENT = frozenset(
    {"foam_roller", "lacrosse_ball", "stability_ball", "dumbbells", "band", "chair", "wall"}
)


@dataclass(frozen=True)
class Report:
    """What the person says about one session (None = not logged: a missed session)."""

    pain_during: int | None
    pain_after: int | None
    next_morning: int | None
    completed: float = 1.0
    optional_done: bool = True
    hurt: tuple[str, ...] = ()


@dataclass
class Persona:
    name: str
    baseline: int
    report: Callable[[int], Report | None]  # session number (0-based) -> report
    runs: bool = False
    severity: str = "mild"
    run_report: Callable[[int], Report] | None = None
    run_check_on_week: int | None = None
    kujala: Sequence[tuple[int, float]] = ()  # (week, score)


@dataclass
class Simulation:
    persona: Persona
    logs: list[SessionLog] = field(default_factory=list)
    weekly: list[PlanState] = field(default_factory=list)  # state at the end of each week
    run_checks: list[RunCheck] = field(default_factory=list)
    events: Sequence[ReviewEvent] = ()

    def final(self) -> PlanState:
        return self.weekly[-1]

    def kinds(self) -> list[str]:
        return [change.kind for change in self.final().changes]

    def week_of(self, change_date: dt.date) -> int:
        return (change_date - START).days // 7 + 1

    def first(self, kind: str) -> int | None:
        """The programme week of the first change of this kind, or None."""
        for change in self.final().changes:
            if change.kind == kind:
                return self.week_of(change.date)
        return None


def settings(runs: bool = False) -> PersonSettings:
    return PersonSettings(equipment=EQUIPMENT, days_per_week=3, runs=runs, start_date=START)


def _state(sim: Simulation, today: dt.date) -> PlanState:
    content = load_content()
    persona = sim.persona
    scores = [ScoreRecord("nprs", START, float(persona.baseline))]
    scores += [
        ScoreRecord("kujala", START + dt.timedelta(weeks=week), score) for week, score in persona.kujala
    ]
    return current_state(
        content.protocols["runners_knee"],
        content,
        settings(persona.runs),
        sim.logs,
        today,
        persona.baseline,
        scores=scores,
        run_checks=sim.run_checks,
        severity=persona.severity,
        events=sim.events,
    )


def simulate(persona: Persona, weeks: int, events: Sequence[ReviewEvent] = ()) -> Simulation:
    """Play ``weeks`` programme weeks; a session is logged on each planned day the persona reports."""
    sim = Simulation(persona, events=events)
    days = training_dates(
        settings(persona.runs), START, end=START + dt.timedelta(weeks=weeks) - dt.timedelta(days=1)
    )
    number = 0
    runs_done = 0
    for day in days:
        state = _state(sim, day)
        if state.paused:
            continue
        report = persona.report(number)
        number += 1
        if report is not None and state.next_session is not None:
            planned = state.next_session.exercises
            done = tuple(item.exercise_id for item in planned if report.optional_done or item.load_bearing)
            sim.logs.append(
                SessionLog(
                    day,
                    report.completed,
                    report.pain_during,
                    report.pain_after,
                    report.next_morning,
                    exercises_done=done,
                    hurt=report.hurt,
                    id=len(sim.logs) + 1,
                )
            )
        due_check = persona.run_check_on_week is not None and sim.week_of(day) >= persona.run_check_on_week
        if due_check and not sim.run_checks:
            sim.run_checks.append(RunCheck(day, 1, 1))
        run_day = day + dt.timedelta(days=1)
        if persona.run_report is not None and state.running.open and not state.running.finished:
            after = _state(sim, run_day)
            due = after.running.next_run_from
            if after.running.status == "open" and due is not None and due <= run_day:
                run = persona.run_report(runs_done)
                runs_done += 1
                sim.logs.append(
                    SessionLog(
                        run_day,
                        1.0,
                        run.pain_during,
                        run.pain_after,
                        run.next_morning,
                        kind=LOG_KIND_RUN,
                        run_minutes=25.0,
                        id=len(sim.logs) + 1,
                    )
                )
    for week in range(1, weeks + 1):
        sim.weekly.append(_state(sim, START + dt.timedelta(weeks=week) - dt.timedelta(days=1)))
    return sim


def steady(number: int) -> Report:
    """Low pain that settles every time: the person the programme is made for."""
    return Report(2, 2, 1)


def flare_in_week_3(number: int) -> Report:
    if 6 <= number <= 8:
        return Report(7, 6, 6)
    return Report(2, 2, 1)


def missed_weeks(number: int) -> Report | None:
    """Steady, then nothing for sessions 6-11 (two weeks away), then steady again."""
    return None if 6 <= number <= 11 else Report(2, 2, 1)


def slow_creep(number: int) -> Report:
    """Next-morning pain creeping up a point a week (three sessions a week) from 1 to 7."""
    morning = min(1 + number // 3, 7)
    return Report(min(2 + number // 3, 7), min(2 + number // 3, 7), morning)


def constant_high(number: int) -> Report:
    return Report(7, 7, 7)


def noise(number: int) -> Report:
    """Baseline 2; mornings wobble 1-2-3 (within one point), pain during 2-3."""
    return Report(2 + number % 2, 2, (1, 2, 3, 2)[number % 4])


def skips_optional(number: int) -> Report:
    """Does every strengthening exercise but never rolls or stretches."""
    return Report(2, 2, 1, completed=0.7, optional_done=False)


def never_rates_mornings(number: int) -> Report:
    return Report(2, 2, None)


def baseline_two_bad_mornings(number: int) -> Report:
    """The reviewer's case: baseline 2, next mornings 6, 6, 6, 4, 4, 4, then 4s."""
    return Report(3, 3, (6, 6, 6, 4, 4, 4)[number] if number < 6 else 4)


def good_runs(number: int) -> Report:
    return Report(1, 1, 1)


def hurt_once(number: int) -> Report:
    """Steady, but the twelve o'clock leg extension hurt in the third session."""
    return Report(2, 2, 1, hurt=("seated_leg_extension_12",) if number == 2 else ())


def roller_hurt_once(number: int) -> Report:
    """Steady, but rolling the hamstrings on the foam roller hurt in the third session."""
    return Report(2, 2, 1, hurt=("hamstring_roll_foam_roller",) if number == 2 else ())
