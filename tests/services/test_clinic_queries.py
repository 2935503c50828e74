"""The clinician's dashboard: the same rows as reading each person on their own, from a fixed number of
SQL statements however many people a clinician has (before, 21 statements a person: 1075 for 50).

The rows are checked two ways: against :func:`reference_row`, the dashboard line built one person at a
time from the per-person services (what the dashboard did before it read everyone at once), and against
a snapshot of the rows captured before the change (``data/dashboard_rows.json``), so a change in the
shared plan code shows too. Set ``KNEEFIX_UPDATE_SNAPSHOTS=1`` to write the snapshot afresh after a
deliberate change of the content or the rules (and read the diff before committing it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.errors import KneefixError
from kneefix.services import clinic, uploads
from kneefix.services.progress import progress_summary
from kneefix.storage import clinic as clinic_store
from kneefix.storage import logs as log_store
from kneefix.storage import scores as score_store
from kneefix.storage import screenings as screening_store
from kneefix.storage import users as user_store
from kneefix.storage.db import Database
from kneefix.storage.records import ProfileInfo
from tests.services.clinic_seed import EVERY_VARIANT, TODAY, Clinic, seed_clinic
from tests.statements import counted

SNAPSHOT = Path(__file__).parent / "data" / "dashboard_rows.json"
SNAPSHOT_PEOPLE = EVERY_VARIANT


def reference_row(
    session: Session, content: Content, profile: ProfileInfo, today: dt.date
) -> clinic.PersonRow:
    """One person's dashboard line read on its own, through the per-person services."""
    screening = screening_store.latest_screening(session, profile.id)
    flags = clinic.red_flag_titles(content, screening.red_flags) if screening is not None else ()
    kujala_scores = score_store.list_scores(session, profile.id, "kujala")
    latest_kujala = kujala_scores[-1] if kujala_scores else None
    checks = [check for check in uploads.list_checks(session, profile.id, limit=5) if check.status == "done"]
    latest_check = checks[0] if checks else None
    logs = log_store.list_logs(session, profile.id)
    owner = user_store.get_user(session, profile.user_id)
    row = clinic.PersonRow(
        profile_id=profile.id,
        name=owner.display_name or owner.email or profile.name,
        email=owner.email,
        started=profile.settings is not None,
        kujala=latest_kujala.score if latest_kujala else None,
        kujala_change=None
        if latest_kujala is None or len(kujala_scores) < 2
        else round(latest_kujala.score - kujala_scores[0].score, 1),
        kujala_date=latest_kujala.date if latest_kujala else None,
        red_flags=flags,
        technique=(latest_check.summary or {}).get("headline") if latest_check else None,
        technique_date=latest_check.created_at.date() if latest_check else None,
        last_activity=max((log.date for log in logs), default=None),
    )
    if profile.settings is None:
        note = "Stopped at screening: see the red flags." if flags else "Has not finished screening yet."
        return dataclasses.replace(row, notes=(note,))
    try:
        summary = progress_summary(session, content, profile.id, today)
    except KneefixError as error:
        return dataclasses.replace(row, notes=(str(error),))
    recent = [week.pain_during for week in summary.weeks if week.pain_during is not None]
    slope = summary.pain_slopes.get("pain_during")
    return dataclasses.replace(
        row,
        phase=f"{summary.phase_index + 1}/{summary.phase_count} {summary.phase_name}",
        adherence_pct=summary.adherence_pct,
        pain_recent=round(recent[-1], 1) if recent else None,
        pain_slope=None if slope is None else round(slope, 2),
        pain_trend=clinic.trend_word(slope),
        reassess=summary.reassess or summary.paused_reason is not None,
        paused_reason=summary.paused_reason,
        notes=tuple(summary.messages),
    )


def reference_rows(
    session: Session, content: Content, clinician_id: int, today: dt.date
) -> list[clinic.PersonRow]:
    profiles = clinic_store.linked_profiles(session, clinician_id)
    return clinic.sort_rows([reference_row(session, content, profile, today) for profile in profiles])


def snapshot(session: Session, content: Content, clinician_id: int) -> dict[str, Any]:
    """The rows as JSON, and the order of the people for every sort column and direction."""
    rows = clinic.dashboard(session, content, clinician_id, TODAY)
    orders = {
        f"{key} {'desc' if descending else 'asc'}": [
            row.profile_id for row in clinic.sort_rows(rows, key, descending)
        ]
        for key in clinic.SORT_KEYS
        for descending in (False, True)
    }
    return {"today": TODAY.isoformat(), "rows": [row.to_dict() for row in rows], "orders": orders}


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory, content: Content
) -> Iterator[dict[int, tuple[Database, Clinic]]]:
    """Clinics of 5, 18 and 50 people, each seeded once for the module (the dashboard only reads)."""
    made: dict[int, tuple[Database, Clinic]] = {}
    for people in (5, SNAPSHOT_PEOPLE, 50):
        database = Database(f"sqlite:///{tmp_path_factory.mktemp(f'clinic{people}') / 'kneefix.db'}")
        made[people] = (database, seed_clinic(database, content, people))
    yield made
    for database, _ in made.values():
        database.close()


@pytest.mark.parametrize("people", [5, 50])
def test_the_dashboard_shows_each_person_as_reading_them_one_by_one_does(
    seeded: dict[int, tuple[Database, Clinic]], content: Content, people: int
) -> None:
    database, place = seeded[people]
    with database.session() as session:
        expected = reference_rows(session, content, place.clinician_id, TODAY)
    with database.session() as session:
        rows = clinic.dashboard(session, content, place.clinician_id, TODAY)
    assert [row.profile_id for row in rows] == [row.profile_id for row in expected]
    for row, wanted in zip(rows, expected, strict=True):
        assert row == wanted
    assert {row.profile_id for row in rows} == set(place.profile_ids)  # the colleague's stranger is not here


def test_the_dashboard_matches_the_rows_captured_before_it_read_everyone_at_once(
    seeded: dict[int, tuple[Database, Clinic]], content: Content
) -> None:
    database, place = seeded[SNAPSHOT_PEOPLE]
    with database.session() as session:
        current = snapshot(session, content, place.clinician_id)
    if os.environ.get("KNEEFIX_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        pytest.skip(f"wrote {SNAPSHOT}")
    assert current == json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def dashboard_statements(database: Database, content: Content, clinician_id: int) -> list[str]:
    """The statements one dashboard sends (after a first one, so the rules' changes are stored)."""
    with database.session() as session:
        clinic.dashboard(session, content, clinician_id, TODAY)
    with database.session() as session, counted(database.engine) as sent:
        clinic.dashboard(session, content, clinician_id, TODAY, sort="pain", descending=True)
    return sent


def test_fifty_people_cost_the_dashboard_no_more_statements_than_five(
    seeded: dict[int, tuple[Database, Clinic]], content: Content
) -> None:
    few = dashboard_statements(seeded[5][0], content, seeded[5][1].clinician_id)
    many = dashboard_statements(seeded[50][0], content, seeded[50][1].clinician_id)
    assert len(many) <= len(few) + 2, "\n".join(many)
    assert len(few) <= 15, "\n".join(few)  # a query per kind of record, not per person
