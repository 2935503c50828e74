"""The FHIR tests' record and their export/import steps (tests/services/test_fhir_*.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from kneefix.content.loader import Content
from kneefix.errors import InputError
from kneefix.services import fhir_export, fhir_import, logbook, profiles
from kneefix.storage import clinic as clinic_store
from kneefix.storage import profiles as profile_store
from kneefix.storage import screenings as screening_store
from kneefix.storage import users as user_store
from kneefix.storage.db import Database
from kneefix.storage.files import FolderStore
from kneefix.storage.models import TechniqueCheck
from tests.services.helpers import START

TODAY = START + dt.timedelta(days=3)
ZONE = "Europe/Madrid"  # +01:00 in March 2025 (summer time starts on the 30th)
SQUAT_REPORT = {
    "reps": [
        {"rep": 1, "lag_ms": 42.0, "initiation": "hips", "depth_deg": 95.5},
        {
            "rep": 2,
            "lag_ms": None,
            "initiation": "unknown",
            "depth_deg": None,
            "initiation_note": "hips hidden",
        },
    ]
}
LANDING_REPORT = {
    "landings": [
        {
            "landing": 1,
            "knee_flexion_ic_deg": 21.0,
            "peak_knee_flexion_deg": 80.2,
            "hip_flexion_ic_deg": 30.0,
            "hip_flexion_at_peak_knee_deg": 60.0,
            "less_total_measured": 3,
        }
    ]
}


def rich_record(db: Database, content: Content, profile_id: int, *, clear: bool = True) -> int:
    """A session, a squat and a landing check, a linked clinician, and a red flag (cleared unless not)."""
    with db.session() as session:
        profiles.set_time_zone(session, profile_id, ZONE)
        logbook.log_session(session, content, profile_id, day=START, today=TODAY, pain_during=3, pain_after=2)
        for movement, report in (("squat", SQUAT_REPORT), ("landing", LANDING_REPORT)):
            session.add(
                TechniqueCheck(
                    profile_id=profile_id,
                    movement=movement,
                    side="left",
                    status="done",
                    report=report,
                    created_at=dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.UTC),
                )
            )
        doctor = user_store.create_user(
            session, email="doc@example.org", display_name="Dr Who", role="clinician", password_hash="x"
        )
        clinic_store.link_clinician(session, doctor.id, profile_id)
        flagged = screening_store.save_screening(
            session,
            profile_id,
            answers={"age": 30, "red_flags": {"true_locking": True}, "not_asked": ["pain_now"]},
            verdict="refer_now",
            red_flags=["true_locking"],
            messages=["See a clinician first."],
            taken_at=dt.datetime(2025, 3, 5, 8, 0, tzinfo=dt.UTC),
        )
        if not clear:
            return doctor.id
        screening_store.clear_red_flags(
            session,
            profile_id,
            flagged.id,
            cleared_at=dt.datetime(2025, 3, 5, 17, 0, tzinfo=dt.UTC),
            cleared_by_user_id=doctor.id,
            cleared_by_name="Dr Who",
            note="Examined: no locking.",
        )
    return doctor.id


def export(db: Database, content: Content, profile_id: int, today: dt.date = TODAY) -> dict[str, Any]:
    with db.session(write=False) as session:
        return fhir_export.build_bundle(session, content, profile_id, today)


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def observations(bundle: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """The Bundle's Observations whose id starts with ``prefix`` (``run-check-``, ``session-log-``, ...)."""
    return [o for o in resources(bundle, "Observation") if o["id"].startswith(prefix)]


def bundle_file(tmp_path: Path, bundle: dict[str, Any], name: str) -> Path:
    path = tmp_path / name
    path.write_text(fhir_export.bundle_text(bundle))
    return path


def refused_whole(tmp_path: Path, bundle: dict[str, Any], message: str) -> None:
    """Importing the Bundle fails with ``message`` and leaves the database without any profile."""
    path = bundle_file(tmp_path, bundle, "refused.json")
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with other.session() as session, pytest.raises(InputError, match=message):
            fhir_import.import_fhir(session, path)
        with other.session(write=False) as session:
            assert profile_store.list_profiles(session) == []
    finally:
        other.close()


def as_transaction(bundle: dict[str, Any]) -> dict[str, Any]:
    """The Bundle as a transaction: each entry a POST of its resource (FHIR invariant bdl-3)."""
    entries = [
        {**entry, "request": {"method": "POST", "url": entry["resource"]["resourceType"]}}
        for entry in bundle["entry"]
    ]
    return {**bundle, "type": "transaction", "entry": entries}


def linked_export(db: Database, content: Content, profile_id: int, store: Path) -> dict[str, Any]:
    """The rich record with the squat check's annotated video and chart in a file store, exported with
    links on https://knee.example.org (the landing check has no files)."""
    rich_record(db, content, profile_id, clear=False)
    with db.session() as session:
        squat = session.query(TechniqueCheck).filter_by(profile_id=profile_id, movement="squat").one()
        squat.output_dir = f"analyses/{profile_id}/squat"
        squat_id = squat.id
    folder = store / "analyses" / str(profile_id) / "squat"
    folder.mkdir(parents=True)
    for name in ("annotated.mp4", "angles.png"):
        (folder / name).write_bytes(b"x")
    links = fhir_export.FileLinks(
        "https://knee.example.org/", FolderStore(store), lambda check, name: f"/c/{check}/{name}"
    )
    with db.session(write=False) as session:
        bundle = fhir_export.build_bundle(session, content, profile_id, TODAY, links=links)
    assert any(r["id"] == f"technique-check-{squat_id}" for r in resources(bundle, "Observation"))
    return bundle
