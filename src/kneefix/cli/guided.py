"""Walking a person through one planned session in the terminal: timers, set prompts and rest.

The runner only knows a :class:`PlannedSession` and how to talk to a console; it returns what was done
so the command can log it. Each exercise counts by the share of its sets finished, so skipping an
exercise (or stopping early) lowers the completed fraction honestly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from kneefix.cli.prompts import read_line
from kneefix.cli.timers import Clock, countdown, rep_countdown
from kneefix.content.schemas import Dose
from kneefix.programme.planner import PlannedExercise, PlannedSession

STEP_TITLES = {
    "inhibit": "Step 1 - Release (rolling)",
    "lengthen": "Step 2 - Lengthen (stretch)",
    "activate": "Step 3 - Strengthen the quadriceps",
    "integrate": "Step 4 - Put it together",
    "hip": "Addition from the clinical guidelines - hip strength",
}

REP_RELAX_S = 2
"""Seconds to relax between held repetitions (not a full rest)."""

SWITCH_SIDES_S = 5
"""Seconds to change position between the left and the right side."""


class StopRequestedError(Exception):
    """The person asked to stop (typed ``q`` or pressed Ctrl-C) part-way through."""


@dataclass
class SessionProgress:
    """Sets finished per exercise, filled in as the session goes."""

    planned: dict[str, int] = field(default_factory=dict)
    done: dict[str, int] = field(default_factory=dict)

    @property
    def completed(self) -> float:
        """Mean share of sets done over all planned exercises (0 when nothing was planned)."""
        if not self.planned:
            return 0.0
        shares = [min(self.done.get(ex, 0) / total, 1.0) for ex, total in self.planned.items() if total]
        return round(sum(shares) / len(self.planned), 3)

    @property
    def exercises_done(self) -> tuple[str, ...]:
        """Exercises with at least one set done, in session order."""
        return tuple(ex for ex in self.planned if self.done.get(ex, 0) > 0)


def sets_of(dose: Dose) -> int:
    return dose.sets or 1


class GuidedSession:
    """Runs a session: ``run()`` fills :attr:`progress` or raises :class:`StopRequestedError`."""

    def __init__(
        self,
        console: Console,
        session: PlannedSession,
        clock: Clock,
        stream: TextIO | None = None,
        equipment_names: Mapping[str, str] | None = None,
    ) -> None:
        self.console = console
        self.equipment_names = dict(equipment_names or {})
        self.stream = stream
        self.session = session
        self.clock = clock
        self.progress = SessionProgress(
            planned={ex.exercise_id: sets_of(ex.dose) for ex in session.exercises}
        )

    def run(self) -> SessionProgress:
        total = len(self.session.exercises)
        self.console.print(
            f"[bold]Session {self.session.number}[/] - {self.session.phase_name}, week {self.session.week}: "
            f"{total} exercises. At each prompt press Enter to go on, type [bold]s[/] to skip the exercise "
            "or [bold]q[/] to stop the session."
        )
        step = None
        try:
            for index, exercise in enumerate(self.session.exercises, start=1):
                if exercise.step != step:
                    step = exercise.step
                    self.console.rule(STEP_TITLES.get(step, step))
                self._exercise(index, total, exercise)
        except KeyboardInterrupt as interrupt:
            raise StopRequestedError from interrupt
        self.console.print("[bold green]Session complete. Well done.[/]")
        return self.progress

    def _ask(self, question: str) -> str:
        """Enter to go on; ``s`` skips the exercise; ``q`` stops everything."""
        answer = read_line(self.console, question, default="", stream=self.stream).strip().lower()
        if answer in {"q", "quit", "stop"}:
            raise StopRequestedError
        return "skip" if answer in {"s", "skip"} else "go"

    def _exercise(self, index: int, total: int, exercise: PlannedExercise) -> None:
        body = Text()
        body.append(f"{exercise.dose_text}\n", style="bold")
        for cue in exercise.cues:
            body.append(f"- {cue}\n")
        if exercise.equipment:
            names = [self.equipment_names.get(item, item) for item in exercise.equipment]
            body.append(f"Equipment: {', '.join(names)}\n", style="dim")
        if exercise.substitution_note:
            body.append(f"{exercise.substitution_note}\n", style="yellow")
        body.rstrip()
        self.console.print(Panel(body, title=f"{index}/{total} {exercise.name}", title_align="left"))
        if self._ask("Press Enter to start (s = skip this exercise)") == "skip":
            self.console.print(f"[yellow]Skipped {exercise.name}.[/]")
            return
        dose = exercise.dose
        sides = ("left side", "right side") if dose.per_side else ("",)
        sets = sets_of(dose)
        for number in range(1, sets + 1):
            prefix = f"Set {number}/{sets} " if sets > 1 else ""
            if dose.duration_s or dose.hold_s:
                self._timed_set(prefix, dose, sides)
            elif not self._rep_set(prefix, dose, sides):
                self.console.print(f"[yellow]Stopped {exercise.name} after {number - 1} set(s).[/]")
                return
            self.progress.done[exercise.exercise_id] = number
            if number < sets and dose.rest_s:
                countdown(self.console, "Rest", dose.rest_s, self.clock)

    def _rep_set(self, prefix: str, dose: Dose, sides: tuple[str, ...]) -> bool:
        """One set of plain reps, each side in turn with a switch between; False if the person stopped."""
        reps = f"{dose.reps} reps" if dose.reps else "the movement"
        for index, side in enumerate(sides):
            if index > 0:
                countdown(self.console, "Switch sides", SWITCH_SIDES_S, self.clock)
            where = f"{side.capitalize()}: " if side else ""
            lead = prefix or ("" if where else "Now ")
            if self._ask(f"{lead}{where}do {reps}, then press Enter (s = stop this exercise)") == "skip":
                return False
        return True

    def _timed_set(self, prefix: str, dose: Dose, sides: tuple[str, ...]) -> None:
        """Rolling, a stretch hold or held repetitions, one side after the other with a short switch."""
        for index, side in enumerate(sides):
            if index > 0:
                countdown(self.console, "Switch sides", SWITCH_SIDES_S, self.clock)
            where = f", {side}" if side else ""
            if dose.duration_s:
                countdown(self.console, f"{prefix}Rolling{where}", dose.duration_s, self.clock)
            elif dose.reps and dose.hold_s:
                label = f"{prefix}{side.capitalize() or 'Reps'}"
                rep_countdown(self.console, label, dose.reps, dose.hold_s, REP_RELAX_S, self.clock)
            elif dose.hold_s:
                countdown(self.console, f"{prefix}Hold{where}", dose.hold_s, self.clock)
