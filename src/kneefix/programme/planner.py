"""Turn a protocol and a person's settings into dated sessions they can actually do.

Three decisions live here and nowhere else:

* **when**: sessions fall on the person's training days, either the weekdays they chose or N days per
  week spread evenly from their start date;
* **what**: each session follows the phase's slots in the article's step order (inhibit, lengthen,
  activate, integrate), then the guideline hip additions when the person keeps them on;
* **with what**: an exercise needing equipment the person lacks is swapped along its ``substitutes``
  until one fits, or dropped with a note. A session never asks for equipment the person does not have.

Pure logic: content objects and settings come in as arguments; nothing is read from disk.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kneefix.content.schemas import STEP_ORDER, Dose, Equipment, Exercise, Phase, Protocol, SessionSlot, Step
from kneefix.errors import ContentError, InputError
from kneefix.jsonvalues import record_fields
from kneefix.limits import check_days_per_week
from kneefix.programme.progression import DOSE_LIMITS, DoseState, cap_state
from kneefix.programme.records import PersonSettings

GUIDELINE_MODULE = "guideline_additions"

LOAD_STEPS: frozenset[str] = frozenset({"activate", "integrate", "hip"})
"""Steps that load the knee: the rules ease and progress these. Rolling and stretching are optional."""


@dataclass(frozen=True)
class PlannedExercise:
    """One exercise as prescribed for one session, with the dose already scaled."""

    exercise_id: str
    name: str
    step: Step
    origin: str
    dose: Dose
    equipment: tuple[str, ...]
    cues: tuple[str, ...]
    why: str
    substitution_note: str | None = None
    replaces: str | None = None  # the exercise id the protocol asked for, when substituted
    variant_of: str | None = None  # set when an easier or harder version stands in for this exercise
    variant_level: int = 0  # -1: one step easier than the plan's exercise, +1: one step harder
    easier_id: str | None = None  # the easier version, one tap away
    easier_name: str | None = None

    @property
    def slot_id(self) -> str:
        """The exercise the plan asks for here (after equipment swaps), whichever version is done."""
        return self.variant_of or self.exercise_id

    @property
    def load_bearing(self) -> bool:
        """Strengthening work: eased and progressed by the rules; rolling and stretching are not."""
        return self.step in LOAD_STEPS

    @property
    def dose_text(self) -> str:
        return format_dose(self.dose)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = record_fields(self)
        result["dose_text"] = self.dose_text
        return result


@dataclass(frozen=True)
class PlannedSession:
    """One dated training session: its place in the programme and its exercises in step order."""

    date: dt.date
    number: int  # 1-based position in the plan it belongs to
    week: int  # programme week, counted from the person's start date
    phase_index: int
    phase_id: str
    phase_name: str
    exercises: tuple[PlannedExercise, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = record_fields(self)
        result["exercises"] = [exercise.to_dict() for exercise in self.exercises]
        return result


@dataclass(frozen=True)
class PlannedRun:
    """A return-to-running run in the forecast: its date, stage and what to do."""

    date: dt.date
    stage: int
    description: str


@dataclass(frozen=True)
class PlanWeek:
    week: int
    sessions: tuple[PlannedSession, ...]


@dataclass(frozen=True)
class Plan:
    """A dated programme, grouped by programme week. ``notes`` explain swaps and dropped exercises."""

    protocol_id: str
    protocol_name: str
    start_date: dt.date
    weeks: tuple[PlanWeek, ...]
    notes: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()  # the protocol's own notes, e.g. where its rules were validated
    status: str = "active"  # active | paused | maintenance
    runs: tuple[PlannedRun, ...] = ()

    @property
    def sessions(self) -> tuple[PlannedSession, ...]:
        return tuple(session for week in self.weeks for session in week.sessions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol_id": self.protocol_id,
            "protocol_name": self.protocol_name,
            "start_date": self.start_date.isoformat(),
            "status": self.status,
            "notes": list(self.notes),
            "caveats": list(self.caveats),
            "runs": [record_fields(run) for run in self.runs],
            "weeks": [
                {"week": week.week, "sessions": [session.to_dict() for session in week.sessions]}
                for week in self.weeks
            ],
        }


# --- when -------------------------------------------------------------------------------------------


def validate_settings(settings: PersonSettings) -> None:
    """Reject settings no plan can be built from, with a message the person can act on."""
    if settings.training_weekdays is not None:
        days = settings.training_weekdays
        if not days:
            raise InputError("Choose at least one training day of the week.")
        if any(day not in range(7) for day in days):
            raise InputError("Training days must be weekday numbers from 0 (Monday) to 6 (Sunday).")
        if len(set(days)) != len(days):
            raise InputError("Each training day of the week may be listed only once.")
    else:
        check_days_per_week(settings.days_per_week, "Days per week")


def sessions_per_week(settings: PersonSettings) -> int:
    if settings.training_weekdays is not None:
        return len(set(settings.training_weekdays))
    return settings.days_per_week


def _even_offsets(per_week: int) -> frozenset[int]:
    """Day offsets within each 7-day block from the start date: 3 a week gives days 0, 2 and 5."""
    return frozenset(math.floor(i * 7 / per_week + 0.5) % 7 for i in range(per_week))


def is_training_day(settings: PersonSettings, day: dt.date) -> bool:
    if settings.training_weekdays is not None:
        return day.weekday() in settings.training_weekdays
    return (day - settings.start_date).days % 7 in _even_offsets(settings.days_per_week)


def training_dates(
    settings: PersonSettings, start: dt.date, *, count: int | None = None, end: dt.date | None = None
) -> list[dt.date]:
    """Training days from ``start`` (inclusive): the first ``count`` of them, or those up to ``end``."""
    validate_settings(settings)
    if count is None and end is None:
        raise ValueError("give count or end")
    dates: list[dt.date] = []
    day = start
    while (count is None or len(dates) < count) and (end is None or day <= end):
        if is_training_day(settings, day):
            dates.append(day)
        day += dt.timedelta(days=1)
    return dates


def programme_week(settings: PersonSettings, day: dt.date) -> int:
    return (day - settings.start_date).days // 7 + 1


# --- with what --------------------------------------------------------------------------------------


def available_equipment(
    settings: PersonSettings, equipment: Mapping[str, Equipment] | None = None
) -> frozenset[str]:
    """The person's equipment plus whatever the content marks ``always_available`` (a wall, say).

    Nothing is assumed by id: if the content has no such flag, only the person's own list counts.
    """
    always = {item_id for item_id, item in (equipment or {}).items() if item.always_available}
    return frozenset(settings.equipment) | frozenset(always)


@dataclass(frozen=True)
class Resolution:
    """The exercise to do instead of a requested one (``None``: nothing fits) and why."""

    exercise: Exercise | None
    note: str | None


def resolve_exercise(
    exercise_id: str,
    exercises: Mapping[str, Exercise],
    available: frozenset[str],
    equipment: Mapping[str, Equipment] | None = None,
) -> Resolution:
    """Follow ``substitutes`` (depth first, in the order listed, never revisiting) until one fits."""
    requested = _exercise(exercise_id, exercises)

    def search(current: Exercise, seen: frozenset[str]) -> list[tuple[Exercise, str]] | None:
        missing = [item for item in current.equipment if item not in available]
        if not missing:
            return []
        for substitute in current.substitutes:
            if substitute.when_missing not in missing or substitute.use in seen:
                continue
            candidate = _exercise(substitute.use, exercises)
            rest = search(candidate, seen | {candidate.id})
            if rest is not None:
                return [(candidate, substitute.note), *rest]
        return None

    chain = search(requested, frozenset({requested.id}))
    if chain is None:
        missing = [item for item in requested.equipment if item not in available]
        names = _names(missing, equipment)
        return Resolution(
            None, f"{requested.name} left out: it needs {names}, and no alternative fits your equipment."
        )
    if not chain:
        return Resolution(requested, None)
    chosen = chain[-1][0]
    written = [note for _, note in chain if note]
    if written:
        return Resolution(chosen, " ".join(written))
    missing = [item for item in requested.equipment if item not in available]
    return Resolution(
        chosen,
        f"{chosen.name} instead of {requested.name}, because you have no {_names(missing, equipment)}.",
    )


def _exercise(exercise_id: str, exercises: Mapping[str, Exercise]) -> Exercise:
    try:
        return exercises[exercise_id]
    except KeyError:
        raise ContentError(
            f"The programme refers to an exercise '{exercise_id}' that does not exist."
        ) from None


def _names(ids: Sequence[str], equipment: Mapping[str, Equipment] | None) -> str:
    names = [equipment[item].name.lower() if equipment and item in equipment else item for item in ids]
    return " or ".join(names) if names else "no equipment"


# --- how much ---------------------------------------------------------------------------------------


def _half_up(value: float) -> int:
    return math.floor(value + 0.5)


def _bounded(field: str, value: int) -> int:
    low, high = DOSE_LIMITS[field]
    return min(max(value, low), high)


def prescribe(exercise: Exercise, phase: Phase, state: DoseState, slot_id: str | None = None) -> Dose:
    """The exercise's base dose scaled by the phase and the person's factor, then their adjustments.

    The person's factor applies to load-bearing work only: easing never shortens rolling or stretching.
    Reps are whole numbers; holds of 10 s or more and durations move in 5-second steps (a person can
    time those); sets are never scaled (a 10% step on 3 sets means nothing) but rules may add or remove
    them. ``slot_id`` is the exercise the plan asks for, which keys the adjustments. Results stay within
    Dose's limits.
    """
    base = exercise.dose
    key = slot_id or exercise.id
    person = state.dose_scale if exercise.step in LOAD_STEPS else 1.0
    factor = phase.dose_scale * person
    values: dict[str, int | None] = {}
    for field in ("sets", "reps", "hold_s", "duration_s"):
        raw: int | None = getattr(base, field)
        if raw is None:
            values[field] = None
            continue
        if field == "sets":
            scaled = raw
        elif field == "duration_s" or (field == "hold_s" and raw >= 10):
            scaled = max(5, 5 * _half_up(raw * factor / 5))
        else:
            scaled = _half_up(raw * factor)
        values[field] = _bounded(field, scaled + state.delta(key, field))
    return base.model_copy(update=values)


def variant_chain(
    exercise: Exercise, exercises: Mapping[str, Exercise], available: frozenset[str]
) -> tuple[list[Exercise], list[Exercise]]:
    """The usable easier versions (nearest first) and harder versions (nearest first) of an exercise.

    A version needing equipment the person lacks is passed over; a loop in the content ends the walk.
    """

    def walk(direction: str) -> list[Exercise]:
        found: list[Exercise] = []
        seen = {exercise.id}
        current = exercise
        while True:
            next_id = getattr(current, direction)
            if next_id is None or next_id in seen or next_id not in exercises:
                return found
            seen.add(next_id)
            current = exercises[next_id]
            if all(item in available for item in current.equipment):
                found.append(current)

    return walk("easier"), walk("harder")


def version(
    exercise: Exercise, level: int, exercises: Mapping[str, Exercise], available: frozenset[str]
) -> Exercise:
    """The version ``level`` steps easier (negative) or harder (positive), bounded by what exists."""
    if level == 0:
        return exercise
    easier, harder = variant_chain(exercise, exercises, available)
    chain = easier if level < 0 else harder
    if not chain:
        return exercise
    return chain[min(abs(level), len(chain)) - 1]


def format_dose(dose: Dose) -> str:
    """A dose in plain words: ``3 × 10 reps each side, hold 5 s, rest 30 s``."""
    parts: list[str] = []
    side = " each side" if dose.per_side else ""
    sets = f"{dose.sets} × " if dose.sets else ""
    if dose.reps:
        parts.append(f"{sets}{dose.reps} reps{side}")
        if dose.hold_s:
            parts.append(f"hold {dose.hold_s} s")
    elif dose.hold_s:
        parts.append(f"{sets}{dose.hold_s} s hold{side}")
    if dose.duration_s:
        parts.append(f"{sets if not parts else ''}{_seconds(dose.duration_s)}{side if not parts else ''}")
    if dose.rest_s and (dose.sets or 1) > 1:
        parts.append(f"rest {dose.rest_s} s")
    return ", ".join(parts) if parts else "as comfortable"


def _seconds(seconds: int) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds // 60} min"
    if seconds > 60:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds} s"


# --- what -------------------------------------------------------------------------------------------


def slot_included(slot: SessionSlot, settings: PersonSettings) -> bool:
    """Hip work and other guideline additions appear only while the person keeps them switched on."""
    if settings.guideline_additions:
        return True
    return slot.optional_module != GUIDELINE_MODULE and slot.step != "hip"


def ordered_slots(phase: Phase, settings: PersonSettings) -> list[SessionSlot]:
    """The phase's slots in step order (a stable sort, so the file's order breaks ties)."""
    included = [slot for slot in phase.slots if slot_included(slot, settings)]
    return sorted(included, key=lambda slot: STEP_ORDER.index(slot.step))


def session_content(
    protocol: Protocol,
    exercises: Mapping[str, Exercise],
    settings: PersonSettings,
    state: DoseState,
    equipment: Mapping[str, Equipment] | None = None,
) -> tuple[tuple[PlannedExercise, ...], tuple[str, ...]]:
    """The exercises of one session in the state's phase, and notes on swaps and omissions."""
    phase = protocol.phases[_phase_index(protocol, state.phase_index)]
    available = available_equipment(settings, equipment)
    planned: list[PlannedExercise] = []
    notes: list[str] = []
    used: set[str] = set()
    for slot in ordered_slots(phase, settings):
        for exercise_id in slot.exercises:
            resolution = resolve_exercise(exercise_id, exercises, available, equipment)
            resolved = resolution.exercise
            if resolved is None:
                notes.append(resolution.note or f"{exercise_id} left out.")
                continue
            level = state.variant(resolved.id)
            chosen = version(resolved, level, exercises, available)
            if chosen.id in used and chosen.id != resolved.id:
                chosen = resolved  # the other version is already in the session: keep this one distinct
            if chosen.id in used:
                if resolution.note:
                    notes.append(f"{chosen.name} is already in this session, so it is not repeated.")
                continue
            used.add(chosen.id)
            if resolution.note:
                notes.append(resolution.note)
            easier_versions, _ = variant_chain(chosen, exercises, available)
            easier = easier_versions[0] if easier_versions else None
            is_variant = chosen.id != resolved.id
            planned.append(
                PlannedExercise(
                    exercise_id=chosen.id,
                    name=chosen.name,
                    step=slot.step,
                    origin=chosen.origin,
                    dose=prescribe(chosen, phase, state, resolved.id),
                    equipment=tuple(chosen.equipment),
                    cues=tuple(chosen.cues),
                    why=chosen.why,
                    substitution_note=resolution.note,
                    replaces=exercise_id if resolved.id != exercise_id else None,
                    variant_of=resolved.id if is_variant else None,
                    variant_level=level if is_variant else 0,
                    easier_id=easier.id if easier is not None else None,
                    easier_name=easier.name if easier is not None else None,
                )
            )
    return tuple(planned), tuple(dict.fromkeys(notes))


def _phase_index(protocol: Protocol, index: int) -> int:
    return min(max(index, 0), len(protocol.phases) - 1)


def plan_session(
    protocol: Protocol,
    exercises: Mapping[str, Exercise],
    settings: PersonSettings,
    state: DoseState,
    day: dt.date,
    *,
    number: int = 1,
    equipment: Mapping[str, Equipment] | None = None,
) -> PlannedSession:
    """The session for one date in the given state."""
    index = _phase_index(protocol, state.phase_index)
    phase = protocol.phases[index]
    planned, notes = session_content(protocol, exercises, settings, state, equipment)
    return PlannedSession(
        date=day,
        number=number,
        week=programme_week(settings, day),
        phase_index=index,
        phase_id=phase.id,
        phase_name=phase.name,
        exercises=planned,
        notes=notes,
    )


def sessions_needed(phase: Phase, settings: PersonSettings) -> int:
    """Sessions that make up a phase's minimum length: ``min_weeks`` of the person's weekly sessions."""
    return phase.min_weeks * sessions_per_week(settings)


FORECAST_NOTE = (
    "Dates and doses are a forecast from where you are today. They move with how your knee responds: "
    "a later phase starts only when your pain allows, and never at a harder dose than you have reached."
)
MAINTENANCE_WEEKS = 4  # how far ahead a finished programme's maintenance sessions are shown


def build_plan(
    protocol: Protocol,
    exercises: Mapping[str, Exercise],
    settings: PersonSettings,
    equipment: Mapping[str, Equipment] | None = None,
    *,
    state: DoseState | None = None,
    start: dt.date | None = None,
    done_in_phase: int = 0,
    status: str = "active",
    status_note: str | None = None,
    runs: Sequence[PlannedRun] = (),
) -> Plan:
    """A dated plan from ``start`` (default: the person's start date) to the end of the last phase.

    It is a forecast from ``state`` (what ``replay`` computes): the rest of the current phase at today's
    dose, then each later phase for its ``min_weeks``, no harder than today's dose exercise by exercise
    (a progression has not happened yet, so none is shown). ``status`` ``paused`` gives no sessions at
    all; ``maintenance`` gives the finished programme's fewer weekly sessions at the dose reached.
    """
    validate_settings(settings)
    current = state or DoseState()
    first = _phase_index(protocol, current.phase_index)
    if first != current.phase_index:
        current = DoseState(phase_index=first)
    layout: list[DoseState] = []
    dated_settings = settings
    if status == "maintenance" and protocol.maintenance is not None:
        dated_settings = replace(
            settings, days_per_week=protocol.maintenance.days_per_week, training_weekdays=None
        )
        layout = [current] * (protocol.maintenance.days_per_week * MAINTENANCE_WEEKS)
    elif status != "paused":
        limit = {
            item.slot_id: item.dose
            for item in session_content(protocol, exercises, settings, current, equipment)[0]
        }
        for index in range(first, len(protocol.phases)):
            needed = sessions_needed(protocol.phases[index], settings)
            if index == first:
                layout.extend([current] * max(needed - done_in_phase, 1))
                continue
            later = DoseState(index, min(current.dose_scale, 1.0), variants=current.variants)
            doses = {
                item.slot_id: item.dose
                for item in session_content(protocol, exercises, settings, later, equipment)[0]
            }
            layout.extend([cap_state(later, doses, limit)] * needed)
    dates = training_dates(dated_settings, start or settings.start_date, count=len(layout)) if layout else []
    content: dict[DoseState, tuple[tuple[PlannedExercise, ...], tuple[str, ...]]] = {}
    sessions: list[PlannedSession] = []
    for number, (day, session_state) in enumerate(zip(dates, layout, strict=True), start=1):
        if session_state not in content:
            content[session_state] = session_content(protocol, exercises, settings, session_state, equipment)
        planned, notes = content[session_state]
        phase = protocol.phases[session_state.phase_index]
        sessions.append(
            PlannedSession(
                day,
                number,
                programme_week(settings, day),
                session_state.phase_index,
                phase.id,
                phase.name,
                planned,
                notes,
            )
        )
    weeks: dict[int, list[PlannedSession]] = {}
    for session in sessions:
        weeks.setdefault(session.week, []).append(session)
    all_notes = dict.fromkeys(note for session in sessions for note in session.notes)
    lead = [status_note] if status_note else []
    return Plan(
        protocol_id=protocol.id,
        protocol_name=protocol.name,
        start_date=settings.start_date,
        weeks=tuple(PlanWeek(week, tuple(items)) for week, items in weeks.items()),
        notes=tuple([*lead, *all_notes, FORECAST_NOTE]),
        caveats=tuple(protocol.notes),
        status=status,
        runs=tuple(runs),
    )
