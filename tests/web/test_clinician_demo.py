"""``kneefix serve --demo``: a clinician and people with weeks of history, seeded once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient

from kneefix.services.demo import CLINICIAN_EMAIL, PERSON_EMAIL, seed_demo
from kneefix.settings import Settings
from kneefix.web.app import create_app
from tests.web.helpers import sign_in


def test_the_demo_gives_a_living_product_and_seeds_only_once(web_settings: Settings, tmp_path: Path) -> None:
    app = create_app(web_settings)
    database = app.state.database
    today = dt.date.today()
    first = seed_demo(database, web_settings.data_dir, today=today)
    again = seed_demo(database, web_settings.data_dir, today=today)
    assert first.created and not again.created
    assert first.password != again.password and again.password.startswith("demo-")
    assert any(again.password in line for line in again.lines())

    doctor = TestClient(app, follow_redirects=True)
    signed = sign_in(doctor, CLINICIAN_EMAIL, again.password)
    assert signed.url.path == "/clinician"
    rows = doctor.get("/api/v1/clinician/people").json()
    assert len(rows) == 3  # seeding twice did not add anyone
    alex = next(row for row in rows if row["email"] == PERSON_EMAIL)
    assert alex["started"] and alex["adherence_pct"] > 60
    assert alex["pain_trend"] == "easing" and alex["kujala_change"] >= 10
    assert any(row["red_flags"] for row in rows)
    assert any(row["pain_trend"] == "rising" for row in rows)

    person = TestClient(app, follow_redirects=True)
    assert sign_in(person, PERSON_EMAIL, first.password).url.path == "/signin"  # the old password is gone
    sign_in(person, PERSON_EMAIL, again.password)
    changes = person.get("/changes").text
    assert "Your clinician set" in changes
    assert len(person.get("/api/v1/logs").json()) >= 8
