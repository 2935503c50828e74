"""A clinician's standing adjustments folded into the programme content (pure; no database).

An adjustment swaps one exercise for another in every phase, sets an exercise's base dose, or moves
the person to a phase from a date. They are applied in the order they were made, so a later one wins;
the result is the content the rules then replay the person's logs against, plus the phase moves in
date order (see :func:`kneefix.programme.replay.current_state`'s ``phase_overrides``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kneefix.content.loader import Content
from kneefix.content.schemas import Dose, Protocol
from kneefix.programme.progression import DOSE_FIELDS


@dataclass(frozen=True)
class PhaseOverride:
    """From ``start``, the person is in phase ``phase_index`` (0-based), at that phase's base dose."""

    start: dt.date
    phase_index: int


@dataclass(frozen=True)
class AdjustedProgramme:
    """The content with a clinician's adjustments folded in, and their phase moves in date order."""

    content: Content
    phase_overrides: tuple[PhaseOverride, ...] = field(default=())


def protocol_exercises(protocol: Protocol) -> set[str]:
    """Every exercise id any phase of the protocol prescribes."""
    return {exercise for phase in protocol.phases for slot in phase.slots for exercise in slot.exercises}


def _swap(protocol: Protocol, old: str, new: str) -> Protocol:
    phases = []
    for phase in protocol.phases:
        slots = [
            slot.model_copy(update={"exercises": [new if ex == old else ex for ex in slot.exercises]})
            for slot in phase.slots
        ]
        phases.append(phase.model_copy(update={"slots": slots}))
    return protocol.model_copy(update={"phases": phases})


def adjusted_dose(base: Dose, payload: Mapping[str, Any]) -> Dose:
    """``base`` with the payload's sets, reps, hold or duration; ValidationError for an impossible one."""
    values = base.model_dump()
    for name in DOSE_FIELDS:
        if payload.get(name) is not None:
            values[name] = int(payload[name])
    return Dose.model_validate(values)


def fold_adjustments(
    content: Content, protocol_id: str, adjustments: Iterable[tuple[str, Mapping[str, Any]]]
) -> AdjustedProgramme:
    """Apply ``(kind, payload)`` adjustments, oldest first, to the content of ``protocol_id``."""
    steps = list(adjustments)
    if not steps or protocol_id not in content.protocols:
        return AdjustedProgramme(content)
    protocol = content.protocols[protocol_id]
    exercises = dict(content.exercises)
    overrides: list[PhaseOverride] = []
    phase_ids = [phase.id for phase in protocol.phases]
    for kind, payload in steps:
        if kind == "swap" and payload.get("to") in exercises:
            protocol = _swap(protocol, str(payload.get("from")), str(payload["to"]))
        elif kind == "dose" and payload.get("exercise") in exercises:
            exercise = exercises[str(payload["exercise"])]
            exercises[exercise.id] = exercise.model_copy(
                update={"dose": adjusted_dose(exercise.dose, payload)}
            )
        elif kind == "phase" and payload.get("phase") in phase_ids:
            start = dt.date.fromisoformat(str(payload.get("start")))
            overrides.append(PhaseOverride(start, phase_ids.index(str(payload["phase"]))))
    protocols = {**content.protocols, protocol_id: protocol}
    overrides.sort(key=lambda item: item.start)
    return AdjustedProgramme(replace(content, exercises=exercises, protocols=protocols), tuple(overrides))
