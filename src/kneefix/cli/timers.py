"""Countdown timers with progress bars for holds, rolling and rest in a guided session.

Time can be shrunk (``--fast`` or ``KNEEFIX_TIMER_SCALE``) so tests and demos run a whole session in a
moment while the person still sees the real number of seconds each hold is meant to last.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Column

from kneefix.settings import load_settings

FAST_SCALE = 0.01
"""How much ``--fast`` shrinks every timer (a 60 s hold then takes about 0.6 s)."""

SCALE_ENV = "KNEEFIX_TIMER_SCALE"


def timer_scale(fast: bool, environ: Mapping[str, str] | None = None) -> float:
    """Real seconds per programme second: ``--fast`` wins, then the ``timer_scale`` setting."""
    if fast:
        return FAST_SCALE
    return load_settings(environ=environ).timer_scale


@dataclass(frozen=True)
class Clock:
    """How timers pass: ``scale`` real seconds per programme second, through ``sleep``."""

    scale: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def wait(self, seconds: float) -> None:
        if self.scale > 0 and seconds > 0:
            self.sleep(seconds * self.scale)


def _bar(console: Console) -> Progress:
    # Refreshed by hand on every tick: no background thread per timer, and the bar always shows the
    # state the person is in.
    columns = (
        TextColumn("{task.description}", table_column=Column(min_width=32)),
        BarColumn(),
        TextColumn("{task.fields[left]:>4} s left"),
    )
    return Progress(*columns, console=console, transient=False, auto_refresh=False)


def countdown(console: Console, label: str, seconds: int, clock: Clock) -> None:
    """Show ``label`` with a bar that fills over ``seconds`` (scaled), one tick per second."""
    if seconds <= 0:
        return
    with _bar(console) as progress:
        task = progress.add_task(label, total=seconds, left=seconds)
        progress.refresh()
        for elapsed in range(1, seconds + 1):
            clock.wait(1)
            progress.update(task, completed=elapsed, left=seconds - elapsed)
            progress.refresh()


def rep_countdown(console: Console, label: str, reps: int, hold_s: int, relax_s: int, clock: Clock) -> None:
    """One bar for a set of held repetitions: "rep 3/10: hold", then a short relax, and so on.

    A bar per repetition would fill the screen; one per set keeps the count and the time in view.
    """
    if reps <= 0 or hold_s <= 0:
        return
    total = reps * hold_s + (reps - 1) * relax_s
    with _bar(console) as progress:
        task = progress.add_task(label, total=total, left=total)
        elapsed = 0
        for rep in range(1, reps + 1):
            phases = [("hold", hold_s)] + ([("relax", relax_s)] if rep < reps else [])
            for phase, seconds in phases:
                progress.update(task, description=f"{label} rep {rep}/{reps}: {phase}")
                for _ in range(seconds):
                    clock.wait(1)
                    elapsed += 1
                    progress.update(task, completed=elapsed, left=total - elapsed)
                    progress.refresh()
