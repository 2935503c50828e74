"""Rows to records: the one place that knows both the ORM models and the plain records."""

from __future__ import annotations

from kneefix.programme.records import PersonSettings, PlanChange, RunCheck, ScoreRecord, SessionLog
from kneefix.storage.models import (
    ApiToken,
    AuditEvent,
    Invite,
    PlanAdjustment,
    PlanChangeRow,
    Profile,
    RunCheckRow,
    Score,
    Screening,
    SessionLogRow,
    TechniqueCheck,
    User,
)
from kneefix.storage.records import (
    ApiTokenInfo,
    AuditEntry,
    InviteInfo,
    PlanAdjustmentEntry,
    PlanChangeEntry,
    ProfileInfo,
    ScreeningEntry,
    TechniqueCheckInfo,
    UserInfo,
)


def settings_of(row: Profile) -> PersonSettings | None:
    """The plan settings, or None while the profile has not been set up by a screening."""
    if row.days_per_week is None or row.start_date is None or row.runs is None:
        return None
    weekdays = tuple(int(day) for day in row.training_weekdays) if row.training_weekdays is not None else None
    return PersonSettings(
        equipment=frozenset(row.equipment or ()),
        days_per_week=row.days_per_week,
        runs=row.runs,
        start_date=row.start_date,
        protocol_id=row.protocol_id,
        guideline_additions=row.guideline_additions,
        training_weekdays=weekdays,
    )


def apply_settings(row: Profile, settings: PersonSettings) -> None:
    """Copy settings onto the row's columns (equipment sorted, so exports are stable)."""
    row.equipment = sorted(settings.equipment)
    row.days_per_week = settings.days_per_week
    row.runs = settings.runs
    row.start_date = settings.start_date
    row.protocol_id = settings.protocol_id
    row.guideline_additions = settings.guideline_additions
    row.training_weekdays = (
        list(settings.training_weekdays) if settings.training_weekdays is not None else None
    )


def profile_info(row: Profile) -> ProfileInfo:
    return ProfileInfo(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        birth_year=row.birth_year,
        settings=settings_of(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
        time_zone=row.time_zone,
    )


def user_info(row: User) -> UserInfo:
    return UserInfo(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        role=row.role,
        created_at=row.created_at,
        is_local=row.local_name is not None,
        password_hash=row.password_hash,
        password_changed_at=row.password_changed_at,
        is_admin=bool(row.is_admin),
        requested_role=row.requested_role,
    )


def session_log(row: SessionLogRow) -> SessionLog:
    return SessionLog(
        id=row.id,
        date=row.date,
        completed=row.completed,
        pain_during=row.pain_during,
        pain_after=row.pain_after,
        next_morning_pain=row.next_morning_pain,
        exercises_done=tuple(row.exercises_done),
        note=row.note,
        hurt=tuple(row.hurt or ()),
        kind=row.kind,
        run_minutes=row.run_minutes,
        run_distance_km=row.run_distance_km,
    )


def run_check(row: RunCheckRow) -> RunCheck:
    return RunCheck(id=row.id, date=row.date, walk_pain=row.walk_pain, hop_pain=row.hop_pain)


def score_record(row: Score) -> ScoreRecord:
    return ScoreRecord(
        id=row.id,
        instrument=row.instrument,
        date=row.date,
        score=row.score,
        answers=tuple(row.answers),
    )


def plan_change(row: PlanChangeRow) -> PlanChange:
    return PlanChange(
        date=row.date,
        rule_id=row.rule_id,
        kind=row.kind,
        explanation=row.explanation,
        details=dict(row.details),
    )


def plan_change_entry(row: PlanChangeRow) -> PlanChangeEntry:
    return PlanChangeEntry(
        id=row.id,
        profile_id=row.profile_id,
        change=plan_change(row),
        source=row.source,
        clinician_user_id=row.clinician_user_id,
        created_at=row.created_at,
    )


def plan_adjustment_entry(row: PlanAdjustment) -> PlanAdjustmentEntry:
    return PlanAdjustmentEntry(
        id=row.id,
        profile_id=row.profile_id,
        clinician_user_id=row.clinician_user_id,
        created_at=row.created_at,
        kind=row.kind,
        payload=dict(row.payload),
        note=row.note,
        active=row.active,
    )


def screening_entry(row: Screening) -> ScreeningEntry:
    return ScreeningEntry(
        id=row.id,
        profile_id=row.profile_id,
        taken_at=row.taken_at,
        answers=dict(row.answers),
        verdict=row.verdict,
        red_flags=tuple(row.red_flags),
        messages=tuple(row.messages),
        cleared_at=row.cleared_at,
        cleared_by_user_id=row.cleared_by_user_id,
        cleared_by_name=row.cleared_by_name,
        clearance_note=row.clearance_note,
    )


def technique_check_info(row: TechniqueCheck) -> TechniqueCheckInfo:
    return TechniqueCheckInfo(
        id=row.id,
        profile_id=row.profile_id,
        created_at=row.created_at,
        movement=row.movement,
        side=row.side,
        status=row.status,
        progress=row.progress,
        error=row.error,
        input_path=row.input_path,
        original_filename=row.original_filename,
        output_dir=row.output_dir,
        report=row.report,
        summary=row.summary,
        attempts=row.attempts,
        worker_id=row.worker_id,
        lease_expires_at=row.lease_expires_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def invite_info(row: Invite) -> InviteInfo:
    return InviteInfo(
        id=row.id,
        code=row.code,
        clinician_user_id=row.clinician_user_id,
        note=row.note,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        used_by_profile_id=row.used_by_profile_id,
    )


def api_token_info(row: ApiToken) -> ApiTokenInfo:
    return ApiTokenInfo(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
    )


def audit_entry(row: AuditEvent) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor_user_id=row.actor_user_id,
        actor_role=row.actor_role,
        actor_name=row.actor_name,
        subject_user_id=row.subject_user_id,
        profile_id=row.profile_id,
        action=row.action,
        detail=dict(row.detail),
        ip=row.ip,
    )
