"""Pydantic schemas for the programme content (exercises, protocols, progression rules).

Content is data: a clinician edits YAML files under ``content/data`` and ``kneefix content check``
validates them against these models. Every model forbids unknown keys so a typo in a file is reported
with its file and field instead of being silently ignored.

Questionnaire, red-flag, symptom, education and technique-cue schemas live in ``schemas_screening.py``.
"""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kneefix.limits import AgeYears, DaysPerWeek, Pain

Step = Literal["inhibit", "lengthen", "activate", "integrate", "hip"]
"""The article's four steps in order, plus ``hip``: hip strengthening added from the clinical guidelines."""

STEP_ORDER: tuple[Step, ...] = ("inhibit", "lengthen", "activate", "integrate", "hip")

Origin = Literal["article", "guideline"]
"""Where an element comes from: the seed article, or an addition from the clinical guidelines."""


class Strict(BaseModel):
    """Base for content models: unknown keys are errors, instances are immutable, and every number is
    finite (YAML reads ``.nan`` and ``.inf`` as floats, and NaN passes every ``ge``/``le`` bound)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Equipment(Strict):
    id: str
    name: str
    description: str = ""
    always_available: bool = Field(
        default=False, description="found in any home (a wall, a chair): assumed even if not ticked"
    )


class Dose(Strict):
    """How much of an exercise one session holds. Unused fields stay ``None``."""

    sets: int | None = Field(default=None, ge=1, le=10)
    reps: int | None = Field(default=None, ge=1, le=50)
    hold_s: int | None = Field(default=None, ge=1, le=600, description="isometric or stretch hold per rep")
    duration_s: int | None = Field(default=None, ge=5, le=900, description="continuous work, e.g. rolling")
    rest_s: int = Field(default=30, ge=0, le=300)
    per_side: bool = True


DemoView = Literal["side", "front"]
"""The plane a demonstration is drawn in: the side (bending) or the front (moving out to the side)."""

Prop = Literal[
    "chair",
    "wall",
    "floor_mat",
    "foam_roller",
    "lacrosse_ball",
    "tennis_ball",
    "stability_ball",
    "bottles",
    "band_knees",
    "band_ankles",
    "towel",
    "towel_roll",
    "step",
    "ankle_weight",
]
"""What a demonstration draws besides the figure; each is placed by the body's own joints."""

ANGLE_RANGES: dict[DemoView, dict[str, tuple[float, float]]] = {
    "side": {
        "trunk": (-130.0, 130.0),
        "hip": (-30.0, 140.0),
        "knee": (0.0, 160.0),
        "ankle": (-50.0, 35.0),
        "shoulder": (-60.0, 180.0),
        "elbow": (0.0, 150.0),
    },
    "front": {
        "trunk": (-130.0, 130.0),
        "hip": (-20.0, 70.0),
        "knee": (-30.0, 90.0),
        "ankle": (0.0, 0.0),
        "shoulder": (0.0, 180.0),
        "elbow": (0.0, 150.0),
    },
}
"""The anatomical range of each declared angle, by view (degrees; ``kneefix content check`` enforces them)."""


class KeyPose(Strict):
    """One key pose of a demonstration: planar joint angles (see :mod:`kneefix.motion.body`), how
    long the figure takes to move into it and stays in it, and the cue shown meanwhile.

    ``other_*`` angles are the other leg's (the far leg from the side, the left leg from the front);
    left out, that leg copies the working leg. ``foot_rotation`` turns the working foot outwards from
    twelve o'clock (0) as seen from above: 60 is two o'clock.
    """

    cue: str = Field(min_length=3, max_length=90)
    move_s: float = Field(default=1.0, ge=0.2, le=10.0, description="seconds to move here from the last pose")
    hold_s: float = Field(default=0.0, ge=0.0, le=60.0)
    trunk: float = 0.0
    hip: float = 0.0
    knee: float = 0.0
    ankle: float = 0.0
    other_hip: float | None = None
    other_knee: float | None = None
    other_ankle: float | None = None
    shoulder: float = 0.0
    elbow: float = 0.0
    foot_rotation: float = Field(default=0.0, ge=-30.0, le=90.0)


class Demonstration(Strict):
    """How to draw an exercise: the view, the props, and two or more key poses played in a loop."""

    view: DemoView
    anchor: Literal["feet", "hips", "hands", "shoulders", "back"] = Field(
        default="feet",
        description="what stays in place from pose to pose: the working heel (feet), the hips, the wrists, "
        "the shoulders, or the back against a wall (back)",
    )
    props: list[Prop] = Field(default_factory=list)
    foot_from_above: bool = Field(
        default=False, description="add the working foot seen from above, on a clock face"
    )
    poses: list[KeyPose] = Field(min_length=2, max_length=8)


class Substitute(Strict):
    """Use another exercise when a piece of equipment is missing."""

    when_missing: str = Field(description="equipment id")
    use: str = Field(description="exercise id to use instead")
    note: str = ""


class Exercise(Strict):
    id: str
    name: str
    step: Step
    origin: Origin
    article_refs: list[str] = Field(default_factory=list, description="ids of article elements it carries")
    purpose: str
    why: str = Field(description="plain-words reason, honest about the evidence")
    equipment: list[str] = Field(default_factory=list, description="equipment ids, all required")
    how_to: list[str] = Field(min_length=1)
    cues: list[str] = Field(min_length=1)
    mistakes: list[str] = Field(default_factory=list)
    safety: list[str] = Field(default_factory=list)
    dose: Dose
    easier: str | None = Field(default=None, description="exercise id of the easier variant")
    harder: str | None = Field(default=None, description="exercise id of the harder variant")
    substitutes: list[Substitute] = Field(default_factory=list)
    demo: Demonstration | None = Field(
        default=None, description="the drawn demonstration (content check: required)"
    )


class SessionSlot(Strict):
    """One place in a session: a step and the exercises that fill it, in order."""

    step: Step
    exercises: list[str] = Field(min_length=1)
    optional_module: Literal["guideline_additions"] | None = Field(
        default=None, description="slot dropped when the person switches this module off"
    )


class Phase(Strict):
    id: str
    name: str
    goal: str
    min_weeks: int = Field(ge=1, le=52)
    max_weeks: int | None = Field(default=None, ge=1, le=52)
    dose_scale: float = Field(default=1.0, gt=0, le=3, description="multiplies reps/holds/durations")
    slots: list[SessionSlot] = Field(min_length=1)
    advance_when: str = Field(description="plain-words criteria to move on (the rules enforce them)")


class Condition(Strict):
    """Which logged sessions qualify a rule (wger-style: the previous window must meet it).

    "Settled", "flare" and "rated" are judged against the person's baseline (see ``PainModel`` and
    docs/progression.md), never against the previous morning alone.
    """

    window_sessions: int = Field(ge=1, le=30, description="how many most recent sessions are looked at")
    require: Literal["every", "fraction"] = "every"
    fraction: float = Field(default=1.0, gt=0, le=1)
    pain_during_max: Pain | None = Field(default=None)
    pain_during_min: Pain | None = Field(default=None)
    pain_after_max: Pain | None = Field(default=None)
    pain_after_min: Pain | None = Field(default=None)
    next_morning_settled: bool | None = Field(
        default=None,
        description="True: next-morning pain rated and within baseline + tolerance (and the ceiling); "
        "False: rated and above it",
    )
    next_morning_rated: bool | None = Field(default=None, description="whether next-morning pain was rated")
    flare: bool | None = Field(
        default=None, description="True: pain during/after above the ceiling, or the next morning not settled"
    )
    completed_min: float | None = Field(
        default=None, ge=0, le=1, description="share of the strengthening work done (optional steps excluded)"
    )
    weekly_not_rising: bool | None = Field(
        default=None, description="True: the weekly next-morning mean did not rise against the week before"
    )

    @model_validator(mode="after")
    def _minimum_not_above_maximum(self) -> Self:
        for low, high in (("pain_during_min", "pain_during_max"), ("pain_after_min", "pain_after_max")):
            least, most = getattr(self, low), getattr(self, high)
            if least is not None and most is not None and least > most:
                raise ValueError(f"{low} {least} is above {high} {most}: no session could match")
        return self


EXPLAIN_PLACEHOLDERS: frozenset[str] = frozenset(
    {
        # from the rule's window (programme.progression.window_facts)
        "window", "pain_during_max", "pain_after_max", "next_morning", "completed_pct", "flares",
        "reference", "tolerance",
        # from the change it made (the replay)
        "value", "dose_pct", "previous_dose_pct", "phase", "phase_number", "previous_phase", "step",
    }
)  # fmt: skip
"""Names a rule's ``explain`` text may use as ``{name}``: the facts the programme fills in. Defined here,
below the programme, so the content check refuses a misspelt one before a person reads ``{flare}``."""

PLACEHOLDER = re.compile(r"\{(\w+)\}")
"""A ``{name}`` placeholder in an explanation template."""


def explain_placeholders(template: str) -> set[str]:
    """The ``{name}`` placeholders used in an explanation template."""
    return set(PLACEHOLDER.findall(template))


class Change(Strict):
    """What a rule does to the dose or the plan."""

    target: Literal["reps", "sets", "hold_s", "duration_s", "dose_scale", "phase", "variant"]
    op: Literal["add", "subtract", "replace", "percent", "harder", "easier"]
    value: float
    floor: float | None = None
    ceiling: float | None = None
    exercises: list[str] | None = Field(
        default=None,
        description="reps/sets/hold_s/duration_s only: exercise ids it touches; None = every exercise "
        "in the session that uses that field. floor/ceiling bound the value the change produces",
    )

    @model_validator(mode="after")
    def _bounds_in_order(self) -> Self:
        if self.floor is not None and self.ceiling is not None and self.floor > self.ceiling:
            raise ValueError(f"floor {self.floor:g} is above ceiling {self.ceiling:g}")
        if self.op == "percent" and self.value <= -100:
            raise ValueError(f"a percent change of {self.value:g} would leave no dose at all")
        return self

    def raises(self) -> str | None:
        """Why this change could make the plan harder (an ``ease`` may not), or None when it cannot.

        ``replace`` sets a number whatever it was, so only a ``dose_scale`` at or below the full dose (1)
        counts as easing; a step up is ``add``/``percent`` above 0, ``subtract`` below 0, or ``harder``.
        """
        if self.op == "harder":
            return "op harder makes it harder"
        if self.op in ("add", "percent") and self.value > 0:
            return f"op {self.op} with value {self.value:g} raises the {self.target}"
        if self.op == "subtract" and self.value < 0:
            return f"op subtract with value {self.value:g} raises the {self.target}"
        if self.op == "replace" and not (self.target == "dose_scale" and self.value <= 1):
            return f"op replace sets the {self.target} to {self.value:g}, which may be more than before"
        return None


class ProgressionRule(Strict):
    id: str
    kind: Literal["progress", "hold", "ease"]
    then: list[Change] = Field(
        default_factory=list,
        description="progress only: further changes tried in order when ``change`` would change nothing "
        "(one variable at a time: reps, then a harder version, then load)",
    )
    when: Condition
    change: Change | None = None
    priority: int = Field(default=0, description="higher wins when several rules fire")
    explain: str = Field(description="shown to the person, in plain words, when the rule fires")

    @field_validator("explain")
    @classmethod
    def _known_placeholders(cls, text: str) -> str:
        unknown = sorted(explain_placeholders(text) - EXPLAIN_PLACEHOLDERS)
        if unknown:
            named = ", ".join(f"{{{name}}}" for name in unknown)
            allowed = ", ".join(f"{{{name}}}" for name in sorted(EXPLAIN_PLACEHOLDERS))
            raise ValueError(f"unknown placeholder {named}; the programme fills only {allowed}")
        return text

    @model_validator(mode="after")
    def _ease_never_raises(self) -> Self:
        if self.kind == "ease" and self.change is not None:
            why = self.change.raises()
            if why is not None:
                raise ValueError(f"an ease rule must not raise any dose, but its change: {why}")
        return self


class RunStage(Strict):
    stage: int = Field(ge=1)
    rpe: int = Field(ge=1, le=10)
    walk_min: float = Field(ge=0)
    run_min: float | None = Field(default=None, ge=0, description="None = continuous running")
    distance_km: float = Field(gt=0)
    repeats_at_least: int = Field(default=2, ge=1)


class RunCheckCriteria(Strict):
    """The readiness check before the first run: pain on a brisk walk and on single-leg hops."""

    walk_minutes: AgeYears = Field(default=30)
    hops: int = Field(default=10, ge=1, le=50)
    walk_pain_max: Pain = Field(default=2)
    hop_pain_max: Pain = Field(default=2)
    valid_days_before: int = Field(
        default=14,
        ge=0,
        le=60,
        description="a check this many days before the criteria were met still counts",
    )


class ReturnToRunning(Strict):
    opens_when: str
    check: RunCheckCriteria = Field(default_factory=RunCheckCriteria)
    run_pain_good_max: Pain = Field(default=3, description="a good run: pain at most this")
    min_good_sessions: int = Field(ge=1)
    pain_max: Pain
    rest_days_between_runs: int = Field(default=1, ge=0)
    from_phase: str | None = Field(default=None, description="phase id from which running may open")
    completed_min: float = Field(default=0.8, ge=0, le=1, description="a good session did at least this")
    stages: list[RunStage] = Field(min_length=1)


class BreakPolicy(Strict):
    """What a break in training does: missed sessions shift the plan and never pile up."""

    hold_after_days: int = Field(
        default=7, ge=1, le=60, description="after this many days without a session, no step up"
    )
    ease_after_days: int = Field(default=14, ge=1, le=90, description="after this many days, one step down")
    ease: Change | None = Field(
        default=None, description="the step down; None = the mildest dose_scale ease rule, else -10%"
    )

    @field_validator("ease")
    @classmethod
    def _ease_never_raises(cls, change: Change | None) -> Change | None:
        why = None if change is None else change.raises()
        if why is not None:
            raise ValueError(f"the step down after a break must not raise any dose: {why}")
        return change


class PainModel(Strict):
    """The numbers of the pain-monitoring model (docs/progression.md §1, §3)."""

    tolerance: int = Field(default=2, ge=0, le=5, description="next morning may be this far above baseline")
    ceiling: Pain = Field(default=5, description="pain above this is a flare")
    reference_sessions: int = Field(
        default=6, ge=1, le=30, description="rated mornings in the rolling reference"
    )
    week_min_ratings: DaysPerWeek = Field(default=2, description="ratings a weekly mean needs")
    rising_weeks: int = Field(default=3, ge=2, le=8, description="weeks of rising mean that pause the plan")
    rising_step: float = Field(default=0.5, ge=0, le=5, description="a week 'rises' by at least this much")
    over_baseline_points: int = Field(default=2, ge=1, le=10)
    over_baseline_weeks: int = Field(default=2, ge=1, le=8)
    high_pain_weeks: int = Field(default=2, ge=1, le=8)
    kujala_worse_points: float = Field(default=10, gt=0, le=100, description="Kujala MCID (Crossley 2004)")
    nprs_worse_points: float = Field(default=1.16, gt=0, le=10, description="NPRS MCID in PFP (Piva 2009)")
    review_after_weeks: int = Field(
        default=8, ge=2, le=52, description="no meaningful change by then: review"
    )
    review_adherent_weeks: int = Field(default=6, ge=1, le=52)
    review_min_baseline: Pain = Field(default=2, description="skip the no-change check below it")


class StartingPoint(Strict):
    """Where a person of one severity starts (docs/progression.md §4)."""

    phase: int = Field(default=1, ge=1, le=20, description="1-based phase number")
    dose_scale: float = Field(default=1.0, ge=0.5, le=1.0, description="load-bearing work")
    easier_variants: bool = False
    explain: str


class StartingPoints(Strict):
    mild: StartingPoint
    moderate: StartingPoint
    severe: StartingPoint


class Maintenance(Strict):
    """After the last phase: fewer sessions a week at the dose reached."""

    days_per_week: DaysPerWeek = Field(default=2)
    explain: str


class Protocol(Strict):
    id: str
    name: str
    condition: str
    summary: str
    default_days_per_week: DaysPerWeek
    kujala_every_weeks: int = Field(default=3, ge=1, le=12)
    phases: list[Phase] = Field(min_length=1)
    rules: list[ProgressionRule] = Field(min_length=1)
    return_to_running: ReturnToRunning | None = None
    notes: list[str] = Field(
        default_factory=list, description="caveats shown with the plan, e.g. where the rules were validated"
    )
    after_break: BreakPolicy = Field(default_factory=BreakPolicy)
    pain_model: PainModel = Field(default_factory=PainModel)
    starting_points: StartingPoints | None = None
    maintenance: Maintenance | None = None
