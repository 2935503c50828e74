"""Technique cues: what the programme tells a person after a video check, as validated data.

The motion analysis finds *what happened* (knees led the lowering, a stiff landing, a knee drifting
inward); the words that say *what to do instead* live in ``data/technique_cues.yaml`` so a coach can edit
them without touching code. Each cue is honest about its evidence: the programme's cues plausibly move
load from the knee to the hip, but none has been tested as a way to prevent runner's knee.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kneefix.content.yaml_safe import load_yaml
from kneefix.errors import ContentError

CueMovement = Literal["squat", "deadlift", "landing", "single-leg-squat"]

TECHNIQUE_CUES_FILE = "technique_cues.yaml"


class TechniqueCue(BaseModel):
    """One cue: the finding it answers, what to do, why, and how strong the evidence is."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str = Field(pattern=r"^cue\.[a-z0-9_]+$")
    movement: list[CueMovement] = Field(min_length=1, description="movements this cue applies to")
    article_refs: list[str] = Field(default_factory=list, description="ids of article elements it carries")
    finding: str = Field(min_length=1, description="what the analysis saw, in plain words")
    text: str = Field(min_length=1, description="what to do instead, in plain words")
    why: str = Field(min_length=1)
    evidence: str = Field(min_length=1, description="honest summary of what is and is not known")


def _default_path() -> Path:
    return Path(str(resources.files("kneefix.content") / "data" / TECHNIQUE_CUES_FILE))


def parse_technique_cues(raw: object, source: str) -> dict[str, TechniqueCue]:
    """Validate the YAML document (a list of cue mappings); errors name the file, item and field."""
    if not isinstance(raw, list):
        raise ContentError(f"{source}: expected a list of technique cues")
    cues: dict[str, TechniqueCue] = {}
    for index, item in enumerate(raw):
        try:
            cue = TechniqueCue.model_validate(item)
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "(item)"
            raise ContentError(f"{source}: item {index}: {field}: {first['msg']}") from err
        if cue.id in cues:
            raise ContentError(f"{source}: item {index}: id: duplicate cue id {cue.id!r}")
        cues[cue.id] = cue
    return cues


def load_technique_cues(path: Path | None = None) -> dict[str, TechniqueCue]:
    """The packaged technique cues by id (cached), or those in ``path`` when given."""
    if path is None:
        return _load_default()
    return _load(path)


@lru_cache(maxsize=1)
def _load_default() -> dict[str, TechniqueCue]:
    return _load(_default_path())


def _load(path: Path) -> dict[str, TechniqueCue]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ContentError(f"{path.name}: cannot be read ({err.strerror or err})") from err
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None)
        raise ContentError(
            f"{path.name}: not valid YAML{where}" + (f": {problem}" if problem else "")
        ) from err
    return parse_technique_cues(raw, path.name)
