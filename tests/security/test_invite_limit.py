"""Invite creation is rate limited per clinician (issue 11: "a fuzzer created 1,839 invites"; ASVS
V11.1.4 anti-automation): 20 an hour and 100 a day, with a clear message and a 429 in the API."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI

from kneefix.services import clinic
from kneefix.storage import rates
from kneefix.storage import users as user_store
from kneefix.storage.db import Database
from tests.security.helpers import new_clinician
from tests.web.helpers import csrf_of, form_token_of, notices

NOW = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


def test_the_api_answers_429_past_the_hourly_limit_and_counts_per_clinician(app: FastAPI) -> None:
    """Issue 11: the 21st invite within an hour is refused with 429; another clinician is not affected."""
    doctor = new_clinician(app, "doc@example.org")
    headers = {"X-CSRF-Token": csrf_of(doctor.get("/clinician"))}
    with app.state.database.session() as session:  # 19 made just now, the 20th through the API
        doctor_id = user_store.find_user_by_email(session, "doc@example.org").id  # type: ignore[union-attr]
        for _ in range(19):
            clinic.create_invite(session, doctor_id)
    assert doctor.post("/api/v1/clinician/invites", json={}, headers=headers).status_code == 201
    refused = doctor.post("/api/v1/clinician/invites", json={}, headers=headers)
    assert refused.status_code == 429 and "20 invites in the last hour" in refused.json()["detail"]
    assert refused.headers["retry-after"] == "3600"
    assert len(doctor.get("/api/v1/clinician/invites").json()) == 20  # the refused one was not made
    other = new_clinician(app, "other@example.org")
    other_headers = {"X-CSRF-Token": csrf_of(other.get("/clinician"))}
    assert other.post("/api/v1/clinician/invites", json={}, headers=other_headers).status_code == 201
    # The page says so too, and a refused form can be sent again once the limit allows.
    page = doctor.get("/clinician")
    response = doctor.post(
        "/clinician/invites",
        data={"csrf_token": csrf_of(page), "form_token": form_token_of(page), "note": ""},
    )
    assert any("20 invites in the last hour" in text for text in notices(response))


def test_the_daily_limit_holds_across_hours(app: FastAPI) -> None:
    """Issue 11: at most 100 invites a day, even spread over the hours; refusals count nothing."""
    database = app.state.database
    with database.session() as session:
        doctor = user_store.create_user(session, email="day@example.org", password_hash="x", role="clinician")
    for hour in range(5):
        moment = NOW + dt.timedelta(minutes=61 * hour)
        with database.session() as session:
            for _ in range(20):
                clinic.create_invite(session, doctor.id, now=moment)
    with (
        database.session() as session,
        pytest.raises(clinic.InviteLimitError, match="100 invites in the last day"),
    ):
        clinic.create_invite(session, doctor.id, now=NOW + dt.timedelta(hours=6))
    with database.session() as session:  # a day after the first ones, room again
        clinic.create_invite(session, doctor.id, now=NOW + dt.timedelta(days=1, minutes=1))


def test_a_refused_invite_counts_nothing(app: FastAPI) -> None:
    """Issue 11: the refusal rolls back its own count, so retrying never pushes the window further."""
    database = app.state.database
    with database.session() as session:
        doctor = user_store.create_user(
            session, email="hour@example.org", password_hash="x", role="clinician"
        )
        for _ in range(20):
            clinic.create_invite(session, doctor.id, now=NOW)
    for _ in range(3):
        with pytest.raises(clinic.InviteLimitError), database.session() as session:
            clinic.create_invite(session, doctor.id, now=NOW + dt.timedelta(minutes=30))
    with database.session(write=False) as session:
        assert (
            rates.count_recent(
                session, clinic.INVITE_BUCKET, str(doctor.id), window=dt.timedelta(days=1), now=NOW
            )
            == 20
        )


def test_a_burst_on_postgresql_makes_exactly_the_hourly_limit(fresh_postgres_url: str) -> None:
    """Issue 11 / ASVS V11.1.4 on PostgreSQL: 30 invites at once from 6 threads, exactly 20 made."""
    database = Database(fresh_postgres_url)
    try:
        with database.session() as session:
            doctor = user_store.create_user(
                session, email="pg@example.org", password_hash="x", role="clinician"
            )

        def one() -> bool:
            try:
                with database.session() as session:
                    clinic.create_invite(session, doctor.id, now=NOW)
                return True
            except clinic.InviteLimitError:
                return False

        with ThreadPoolExecutor(max_workers=6) as pool:
            made = list(pool.map(lambda _: one(), range(30)))
        assert made.count(True) == 20
        with database.session(write=False) as session:
            assert len(clinic.list_invites(session, doctor.id)) == 20
    finally:
        database.close()
