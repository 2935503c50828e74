"""All of one person's data out as versioned JSON (and CSV tables), and back in.

Format version 2 added runs as their own kind of log (``kind``, ``run_minutes``,
``run_distance_km``), the "this hurt" marks (``hurt``) and the return-to-running readiness checks
(``run_checks``). Version 1 files still import: their logs become sessions with nothing marked, except
that a log whose ``exercises_done`` holds ``"run"`` (how version 1 recorded a run) becomes a run without
that entry, as the database migration does.

The JSON holds no database ids, so it can be imported into any kneefix database, SQLite or
PostgreSQL, and exporting the imported profile gives the same document again. Files on disk (videos
and analysis outputs) are not part of it; technique checks travel as their results only, and
unfinished ones are left out.

Import validates the whole document with pydantic before writing anything, reports the exact field
path of every problem, and refuses to replace an existing profile unless asked to.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from kneefix import __version__
from kneefix.errors import InputError
from kneefix.jsonvalues import to_json_value
from kneefix.limits import DaysPerWeek
from kneefix.motion.types import Movement
from kneefix.programme.records import LOG_KIND_RUN, LOG_KIND_SESSION
from kneefix.storage.guards import require_profile, require_user
from kneefix.storage.models import (
    MAX_RUN_DISTANCE_KM,
    MAX_RUN_MINUTES,
    PlanAdjustment,
    PlanChangeRow,
    Profile,
    RunCheckRow,
    Score,
    Screening,
    SessionLogRow,
    TechniqueCheck,
)
from kneefix.storage.profiles import clean_profile_name, delete_profile
from kneefix.storage.users import local_user_id

FORMAT = "kneefix-profile"
FORMAT_VERSION = 2
LEGACY_RUN_ENTRY = "run"  # version 1: a run was a log whose exercises_done held this entry
MAX_REPORTED_PROBLEMS = 8

Pain = Annotated[int, Field(ge=0, le=10)]
ShortText = Annotated[str, Field(min_length=1, max_length=100)]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SettingsDoc(_Doc):
    equipment: list[ShortText]
    days_per_week: DaysPerWeek
    runs: bool
    start_date: dt.date
    protocol_id: ShortText
    guideline_additions: bool
    training_weekdays: list[Annotated[int, Field(ge=0, le=6)]] | None


class ProfileDoc(_Doc):
    name: str = Field(min_length=1, max_length=100)
    birth_year: int | None = Field(default=None, ge=1900, le=2200)
    created_at: AwareDatetime
    settings: SettingsDoc | None


class ScreeningDoc(_Doc):
    taken_at: AwareDatetime
    answers: dict[str, Any]
    verdict: str = Field(min_length=1, max_length=40)
    red_flags: list[ShortText]
    messages: list[str]


class ScoreDoc(_Doc):
    instrument: Literal["kujala", "nprs"]
    date: dt.date
    score: float = Field(ge=0, le=100)
    answers: list[str]
    created_at: AwareDatetime


class SessionLogDoc(_Doc):
    date: dt.date
    completed: float = Field(ge=0, le=1)
    pain_during: Pain | None
    pain_after: Pain | None
    next_morning_pain: Pain | None
    exercises_done: list[ShortText]
    note: str = Field(max_length=5000)
    created_at: AwareDatetime
    updated_at: AwareDatetime
    # Format version 2; the defaults are what a version 1 log means.
    kind: Literal["session", "run"] = "session"
    hurt: list[ShortText] = Field(default_factory=list)
    run_minutes: float | None = Field(default=None, gt=0, le=MAX_RUN_MINUTES)
    run_distance_km: float | None = Field(default=None, gt=0, le=MAX_RUN_DISTANCE_KM)

    @model_validator(mode="after")
    def _run_fields_on_runs_only(self) -> SessionLogDoc:
        if self.kind != LOG_KIND_RUN and (self.run_minutes is not None or self.run_distance_km is not None):
            raise ValueError("run_minutes and run_distance_km belong to runs only (kind 'run')")
        return self


class RunCheckDoc(_Doc):
    date: dt.date
    walk_pain: Pain
    hop_pain: Pain
    created_at: AwareDatetime


class PlanChangeDoc(_Doc):
    date: dt.date
    rule_id: ShortText
    kind: str = Field(min_length=1, max_length=40)
    explanation: str
    details: dict[str, Any]
    source: Literal["rules", "clinician"]
    created_at: AwareDatetime


class PlanAdjustmentDoc(_Doc):
    created_at: AwareDatetime
    kind: str = Field(min_length=1, max_length=40)
    payload: dict[str, Any]
    note: str
    active: bool


class TechniqueCheckDoc(_Doc):
    created_at: AwareDatetime
    movement: Movement  # one kneefix checks: another would reach pages and reports that know none
    side: Literal["left", "right", "auto"] | None = None  # as asked; "auto": the analysis chose
    status: Literal["done", "failed"]
    error: str | None
    original_filename: str | None = Field(default=None, max_length=255)
    report: dict[str, Any] | None
    summary: dict[str, Any] | None
    finished_at: AwareDatetime | None


class ExportDoc(_Doc):
    format: Literal["kneefix-profile"]
    format_version: int = Field(ge=1)
    generator: str = ""
    profile: ProfileDoc
    screenings: list[ScreeningDoc] = Field(default_factory=list)
    scores: list[ScoreDoc] = Field(default_factory=list)
    session_logs: list[SessionLogDoc] = Field(default_factory=list)
    plan_changes: list[PlanChangeDoc] = Field(default_factory=list)
    plan_adjustments: list[PlanAdjustmentDoc] = Field(default_factory=list)
    technique_checks: list[TechniqueCheckDoc] = Field(default_factory=list)
    run_checks: list[RunCheckDoc] = Field(default_factory=list)


# --- export -------------------------------------------------------------------------------------


def _settings_doc(row: Profile) -> SettingsDoc | None:
    if row.days_per_week is None or row.start_date is None or row.runs is None:
        return None
    return SettingsDoc(
        equipment=sorted(row.equipment or []),
        days_per_week=row.days_per_week,
        runs=row.runs,
        start_date=row.start_date,
        protocol_id=row.protocol_id,
        guideline_additions=row.guideline_additions,
        training_weekdays=row.training_weekdays,
    )


def build_export(session: Session, profile_id: int) -> ExportDoc:
    """The export as a validated model (see :func:`export_profile` for the JSON-ready form)."""
    profile = require_profile(session, profile_id)

    def rows(model: Any, *order: Any) -> list[Any]:
        return list(session.scalars(select(model).where(model.profile_id == profile_id).order_by(*order)))

    return ExportDoc(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        generator=f"kneefix {__version__}",
        profile=ProfileDoc(
            name=profile.name,
            birth_year=profile.birth_year,
            created_at=profile.created_at,
            settings=_settings_doc(profile),
        ),
        screenings=[
            ScreeningDoc(
                taken_at=r.taken_at,
                answers=r.answers,
                verdict=r.verdict,
                red_flags=r.red_flags,
                messages=r.messages,
            )
            for r in rows(Screening, Screening.taken_at, Screening.id)
        ],
        scores=[
            ScoreDoc(
                instrument=r.instrument,
                date=r.date,
                score=r.score,
                answers=r.answers,
                created_at=r.created_at,
            )
            for r in rows(Score, Score.date, Score.id)
        ],
        session_logs=[
            SessionLogDoc(
                date=r.date,
                completed=r.completed,
                pain_during=r.pain_during,
                pain_after=r.pain_after,
                next_morning_pain=r.next_morning_pain,
                exercises_done=r.exercises_done,
                note=r.note,
                created_at=r.created_at,
                updated_at=r.updated_at,
                kind=r.kind,
                hurt=r.hurt,
                run_minutes=r.run_minutes,
                run_distance_km=r.run_distance_km,
            )
            for r in rows(SessionLogRow, SessionLogRow.date, SessionLogRow.id)
        ],
        plan_changes=[
            PlanChangeDoc(
                date=r.date,
                rule_id=r.rule_id,
                kind=r.kind,
                explanation=r.explanation,
                details=r.details,
                source=r.source,
                created_at=r.created_at,
            )
            for r in rows(PlanChangeRow, PlanChangeRow.date, PlanChangeRow.id)
        ],
        plan_adjustments=[
            PlanAdjustmentDoc(
                created_at=r.created_at, kind=r.kind, payload=r.payload, note=r.note, active=r.active
            )
            for r in rows(PlanAdjustment, PlanAdjustment.created_at, PlanAdjustment.id)
        ],
        technique_checks=[
            TechniqueCheckDoc(
                created_at=r.created_at,
                movement=r.movement,
                side=r.side,
                status=r.status,
                error=r.error,
                original_filename=r.original_filename,
                report=r.report,
                summary=r.summary,
                finished_at=r.finished_at,
            )
            for r in rows(TechniqueCheck, TechniqueCheck.created_at, TechniqueCheck.id)
            if r.status in ("done", "failed")
        ],
        run_checks=[
            RunCheckDoc(date=r.date, walk_pain=r.walk_pain, hop_pain=r.hop_pain, created_at=r.created_at)
            for r in rows(RunCheckRow, RunCheckRow.date, RunCheckRow.id)
        ],
    )


def export_profile(session: Session, profile_id: int) -> dict[str, Any]:
    """Everything kept about one profile, as a JSON-ready dict with ``format_version``."""
    data: dict[str, Any] = build_export(session, profile_id).model_dump(mode="json")
    return data


def dump_export(data: Mapping[str, Any]) -> str:
    """The export as stable, readable JSON text (sorted keys, so two exports can be diffed)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- import -------------------------------------------------------------------------------------


def _describe_problems(error: ValidationError) -> str:
    lines = []
    for problem in error.errors()[:MAX_REPORTED_PROBLEMS]:
        path = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"  - {path}: {problem['msg']}")
    more = error.error_count() - MAX_REPORTED_PROBLEMS
    if more > 0:
        lines.append(f"  - ... and {more} more")
    return "\n".join(lines)


def parse_export(data: object) -> ExportDoc:
    """Validate an export document; InputError naming each bad field's path."""
    if not isinstance(data, Mapping):
        raise InputError("This is not a kneefix export: the file must hold one JSON object.")
    version = data.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise InputError(
            f"This export was made by a newer kneefix (format version {version}; this one reads up to "
            f"{FORMAT_VERSION}). Update kneefix to import it."
        )
    try:
        doc = ExportDoc.model_validate(dict(data))
    except ValidationError as error:
        raise InputError(f"This is not a valid kneefix export:\n{_describe_problems(error)}") from error
    if doc.format_version < 2:
        _mark_legacy_runs(doc)
    return doc


def _mark_legacy_runs(doc: ExportDoc) -> None:
    """Version 1 logged a run as a log whose ``exercises_done`` held ``"run"``; make those runs."""
    for log in doc.session_logs:
        if log.kind == LOG_KIND_SESSION and LEGACY_RUN_ENTRY in log.exercises_done:
            log.kind = "run"
            log.exercises_done = [entry for entry in log.exercises_done if entry != LEGACY_RUN_ENTRY]


def load_export_file(path: Path) -> dict[str, Any]:
    """Read an export file; InputError if it is missing, unreadable or not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise InputError(f"There is no file {path}.") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"Cannot read {path}: {error}.") from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"{path} is not JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from error
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a kneefix export: it must hold one JSON object.")
    return data


def import_profile(
    session: Session,
    data: object,
    name: str | None = None,
    *,
    user_id: int | None = None,
    overwrite: bool = False,
) -> int:
    """Create a profile from an export and return its id.

    ``name`` overrides the profile name in the file. An existing profile with that name is kept and
    the import refused, unless ``overwrite`` is set; then it is replaced in the same transaction, so a
    failure leaves the old one intact.
    """
    doc = parse_export(data)
    owner = local_user_id(session) if user_id is None else require_user(session, user_id).id
    target = clean_profile_name(name if name is not None else doc.profile.name)
    existing = session.scalar(select(Profile).where(Profile.user_id == owner, Profile.name == target))
    if existing is not None:
        if not overwrite:
            raise InputError(
                f"A profile named {target!r} already exists. Import it under another name, or choose "
                "to replace the existing one."
            )
        delete_profile(session, existing.id)

    profile = Profile(
        user_id=owner,
        name=target,
        birth_year=doc.profile.birth_year,
        created_at=doc.profile.created_at,
        updated_at=doc.profile.created_at,
    )
    settings = doc.profile.settings
    if settings is not None:
        profile.equipment = sorted(settings.equipment)
        profile.days_per_week = settings.days_per_week
        profile.runs = settings.runs
        profile.start_date = settings.start_date
        profile.protocol_id = settings.protocol_id
        profile.guideline_additions = settings.guideline_additions
        profile.training_weekdays = settings.training_weekdays
    session.add(profile)
    session.flush()
    pid = profile.id
    _check_score_ranges(doc)

    session.add_all(
        Screening(
            profile_id=pid,
            taken_at=s.taken_at,
            answers=to_json_value(s.answers, strict=True, where="screenings.answers"),
            verdict=s.verdict,
            red_flags=s.red_flags,
            messages=s.messages,
        )
        for s in doc.screenings
    )
    session.add_all(
        Score(
            profile_id=pid,
            instrument=s.instrument,
            date=s.date,
            score=s.score,
            answers=s.answers,
            created_at=s.created_at,
        )
        for s in doc.scores
    )
    session.add_all(
        SessionLogRow(
            profile_id=pid,
            date=log.date,
            completed=log.completed,
            pain_during=log.pain_during,
            pain_after=log.pain_after,
            next_morning_pain=log.next_morning_pain,
            exercises_done=log.exercises_done,
            note=log.note,
            created_at=log.created_at,
            updated_at=log.updated_at,
            kind=log.kind,
            hurt=log.hurt,
            run_minutes=log.run_minutes,
            run_distance_km=log.run_distance_km,
        )
        for log in doc.session_logs
    )
    session.add_all(
        PlanChangeRow(
            profile_id=pid,
            date=c.date,
            rule_id=c.rule_id,
            kind=c.kind,
            explanation=c.explanation,
            details=to_json_value(c.details, strict=True, where="plan_changes.details"),
            source=c.source,
            created_at=c.created_at,
        )
        for c in doc.plan_changes
    )
    session.add_all(
        PlanAdjustment(
            profile_id=pid,
            created_at=a.created_at,
            kind=a.kind,
            payload=to_json_value(a.payload, strict=True, where="plan_adjustments.payload"),
            note=a.note,
            active=a.active,
        )
        for a in doc.plan_adjustments
    )
    session.add_all(
        TechniqueCheck(
            profile_id=pid,
            created_at=c.created_at,
            movement=c.movement,
            side=c.side,
            status=c.status,
            progress=1.0 if c.status == "done" else 0.0,
            error=c.error,
            original_filename=c.original_filename,
            report=c.report,
            summary=c.summary,
            attempts=0,
            finished_at=c.finished_at,
        )
        for c in doc.technique_checks
    )
    session.add_all(
        RunCheckRow(
            profile_id=pid, date=c.date, walk_pain=c.walk_pain, hop_pain=c.hop_pain, created_at=c.created_at
        )
        for c in doc.run_checks
    )
    session.flush()
    return pid


def _check_score_ranges(doc: ExportDoc) -> None:
    for index, score in enumerate(doc.scores):
        if score.instrument == "nprs" and score.score > 10:
            raise InputError(
                f"This is not a valid kneefix export:\n  - scores.{index}.score: an NPRS score is 0 to 10, "
                f"got {score.score:g}"
            )


# --- CSV ----------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def _write_csv(path: Path, columns: list[str], records: list[dict[str, Any]]) -> None:
    """Write via a temporary file and rename, so a failure never leaves half a table."""
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".csv", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(columns)
            for record in records:
                writer.writerow([_cell(record.get(column)) for column in columns])
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


CSV_TABLES: dict[str, list[str]] = {
    "screenings": list(ScreeningDoc.model_fields),
    "scores": list(ScoreDoc.model_fields),
    "session_logs": list(SessionLogDoc.model_fields),
    "plan_changes": list(PlanChangeDoc.model_fields),
    "plan_adjustments": list(PlanAdjustmentDoc.model_fields),
    "technique_checks": list(TechniqueCheckDoc.model_fields),
    "run_checks": list(RunCheckDoc.model_fields),
}
PROFILE_COLUMNS = ["name", "birth_year", "created_at", *SettingsDoc.model_fields]


def export_csv(session: Session, profile_id: int, folder: Path) -> list[Path]:
    """Write one CSV per table (``profile.csv``, ``session_logs.csv``, ...) into ``folder``.

    Lists and nested values are JSON text inside their cell. Returns the files written.
    """
    data = export_profile(session, profile_id)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        profile = dict(data["profile"])
        settings = profile.pop("settings") or {}
        profile_path = folder / "profile.csv"
        _write_csv(profile_path, PROFILE_COLUMNS, [{**profile, **settings}])
        written.append(profile_path)
        for table, columns in CSV_TABLES.items():
            path = folder / f"{table}.csv"
            _write_csv(path, columns, data[table])
            written.append(path)
    except OSError as error:
        raise InputError(f"Cannot write the CSV files into {folder}: {error.strerror or error}.") from error
    return written
