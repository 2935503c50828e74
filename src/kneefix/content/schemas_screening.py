"""Pydantic schemas for the screening side of the content: questionnaires, red flags, symptoms,
education pages and the traceable list of the seed article's elements.

Like ``schemas.py`` every model forbids unknown keys and is immutable, so a typo in a data file is
reported with its file and field. Rules that the scoring code relies on (options lettered best-first,
Kujala maxima adding up to the scale's maximum) are checked here, at load time, so a bad edit never
reaches a person's score.
"""

from __future__ import annotations

from itertools import pairwise
from string import ascii_lowercase
from typing import Literal

from pydantic import Field, model_validator

from kneefix.content.schemas import Step, Strict

ARTICLE_ID_PATTERN = r"^article\.[a-z0-9_]+$"


class Option(Strict):
    """One answer to a multiple-choice item; ``letter`` is what a person types."""

    letter: str = Field(pattern=r"^[a-z]$")
    label: str = Field(min_length=1)
    points: int = Field(ge=0, le=100)


class Item(Strict):
    """A multiple-choice question whose options run from best (``a``) to worst."""

    number: int = Field(ge=1, le=100)
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    topic: str = Field(min_length=1)
    question: str = Field(min_length=1)
    options: list[Option] = Field(min_length=2, max_length=26)

    @model_validator(mode="after")
    def _best_first(self) -> Item:
        # Letters must be a, b, c... in order and points must fall strictly, so "a" is always the best
        # answer and a person's letters map to exactly one published score.
        for index, option in enumerate(self.options):
            if option.letter != ascii_lowercase[index]:
                raise ValueError(
                    f"option {index + 1} has letter {option.letter!r}; options must be lettered "
                    f"a, b, c... in order"
                )
        points = [option.points for option in self.options]
        if any(later >= earlier for earlier, later in pairwise(points)):
            raise ValueError(f"points must fall strictly from the best option to the worst, got {points}")
        return self

    @property
    def max_points(self) -> int:
        return self.options[0].points

    @property
    def letters(self) -> str:
        return "".join(option.letter for option in self.options)

    def option(self, letter: str) -> Option | None:
        """The option with this letter, or ``None`` when the item has no such option."""
        for candidate in self.options:
            if candidate.letter == letter:
                return candidate
        return None


class Anchor(Strict):
    """A labelled point on a numeric scale (e.g. 0 = no pain)."""

    value: int
    label: str = Field(min_length=1)


class Benchmark(Strict):
    """A published threshold for a change that matters, besides the main MCID."""

    id: str
    label: str
    points: float | None = Field(default=None, gt=0)
    percent: float | None = Field(default=None, gt=0, le=100)
    source: str = ""


class Questionnaire(Strict):
    """Either a multiple-choice instrument (Kujala) or a single numeric scale (NPRS)."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    short_name: str
    kind: Literal["choice", "numeric"]
    instructions: str
    higher_is_better: bool
    min_score: int = 0
    max_score: int = Field(ge=1)
    items: list[Item] = Field(default_factory=list)
    anchors: list[Anchor] = Field(default_factory=list)
    mcid: float = Field(gt=0, description="minimal clinically important difference, in points")
    mcid_source: str
    benchmarks: list[Benchmark] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    article_refs: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Questionnaire:
        if self.min_score >= self.max_score:
            raise ValueError(f"min_score {self.min_score} must be below max_score {self.max_score}")
        if self.kind == "choice":
            if not self.items:
                raise ValueError("a choice questionnaire needs items")
            numbers = [item.number for item in self.items]
            if numbers != list(range(1, len(self.items) + 1)):
                raise ValueError(f"items must be numbered 1..{len(self.items)} in order, got {numbers}")
            ids = [item.id for item in self.items]
            if len(set(ids)) != len(ids):
                raise ValueError("item ids must be unique")
            top = sum(item.max_points for item in self.items)
            if top != self.max_score:
                raise ValueError(f"the items' best answers add up to {top}, not max_score {self.max_score}")
        else:
            if self.items:
                raise ValueError("a numeric questionnaire has anchors, not items")
            for anchor in self.anchors:
                if not self.min_score <= anchor.value <= self.max_score:
                    raise ValueError(f"anchor {anchor.value} lies outside {self.min_score}..{self.max_score}")
        return self

    def item(self, number: int) -> Item:
        """The item with this 1-based number (``KeyError`` when there is none)."""
        for candidate in self.items:
            if candidate.number == number:
                return candidate
        raise KeyError(number)


Severity = Literal["emergency", "urgent", "see_clinician", "other_condition"]
"""How soon a red flag needs a clinician: emergency (today, emergency care), urgent (within days),
see_clinician (book a visit before starting), other_condition (another diagnosis is more likely)."""

SEVERITY_ORDER: tuple[Severity, ...] = ("emergency", "urgent", "see_clinician", "other_condition")


class AgeRange(Strict):
    """Whom a question is for; ``None`` leaves that end open."""

    min_years: int | None = Field(default=None, ge=0, le=120)
    max_years: int | None = Field(default=None, ge=0, le=120)

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if self.min_years is not None and self.max_years is not None and self.min_years > self.max_years:
            raise ValueError(f"min_years {self.min_years} is above max_years {self.max_years}")
        return self

    def contains(self, age: int) -> bool:
        low_ok = self.min_years is None or age >= self.min_years
        high_ok = self.max_years is None or age <= self.max_years
        return low_ok and high_ok

    @property
    def words(self) -> str:
        """Whom this is for, in words: "people aged 9 to 16", "people aged 13 or over", "everyone"."""
        if self.min_years is None and self.max_years is None:
            return "everyone"
        if self.max_years is None:
            return f"people aged {self.min_years} or over"
        if self.min_years is None:
            return f"people aged {self.max_years} or under"
        return f"people aged {self.min_years} to {self.max_years}"


class KujalaTrigger(Strict):
    """A Kujala answer that raises the red flag on its own: item ``item`` scored below ``below``."""

    item: int = Field(ge=1, le=13)
    below: int = Field(ge=1, le=10)


class RedFlag(Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    question: str = Field(description="a yes/no question; yes raises the flag")
    criteria: list[str] = Field(default_factory=list, description="details listed under the question")
    severity: Severity
    reason: str = Field(description="in plain words, what this may point to and why it matters")
    action: str = Field(description="what the person should do now")
    applies_to: AgeRange = Field(default_factory=AgeRange)
    audience_note: str = Field(default="", description="who this is most typical for, in words")
    kujala_trigger: KujalaTrigger | list[KujalaTrigger] | None = Field(
        default=None,
        description="Kujala answers that raise this flag on their own: one trigger, or a list (any of them)",
    )
    sources: list[str] = Field(default_factory=list, description="keys of clinical.md §8")

    @model_validator(mode="after")
    def _one_trigger_per_item(self) -> RedFlag:
        items = [trigger.item for trigger in self.kujala_triggers]
        if isinstance(self.kujala_trigger, list) and not items:
            raise ValueError("kujala_trigger: give at least one trigger, or leave the key out")
        if len(set(items)) != len(items):
            raise ValueError(f"kujala_trigger names a Kujala item more than once: {items}")
        return self

    def applies_to_age(self, age: int) -> bool:
        return self.applies_to.contains(age)

    @property
    def kujala_triggers(self) -> tuple[KujalaTrigger, ...]:
        """Every Kujala trigger of this flag; any one of them raises it."""
        if self.kujala_trigger is None:
            return ()
        if isinstance(self.kujala_trigger, KujalaTrigger):
            return (self.kujala_trigger,)
        return tuple(self.kujala_trigger)


SymptomRole = Literal["core_location", "core_activity", "non_essential"]
"""PFP's core criterion is pain around or behind the kneecap (``core_location``) made worse by at least
one activity loading the bent, weight-bearing knee (``core_activity``); the rest are ``non_essential``."""


class Symptom(Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str = Field(description="the checklist line a person ticks")
    role: SymptomRole
    note: str = ""
    article_refs: list[str] = Field(default_factory=list)

    @property
    def core(self) -> bool:
        return self.role != "non_essential"


class EducationPage(Strict):
    """A short page of plain-words education; the body is Markdown."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    order: int = Field(ge=0)
    summary: str
    body: str = Field(min_length=1)
    module: Literal["guideline_additions"] | None = Field(
        default=None, description="hidden when the person switches this module off"
    )
    related_exercises: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    article_refs: list[str] = Field(default_factory=list)


ArticleKind = Literal["symptom", "cause", "step", "option", "exercise", "cue"]


class ArticleElement(Strict):
    """One element of the seed article, so every piece of it can be traced to the content carrying it."""

    id: str = Field(pattern=ARTICLE_ID_PATTERN)
    order: int = Field(ge=1)
    kind: ArticleKind
    step: Step | None = None
    summary: str = Field(description="what the article says, in our own words")
    stance: str = Field(description="how kneefix treats it, given the evidence")
