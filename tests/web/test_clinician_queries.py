"""The clinician's table of people, as the page and the API show it: the same as captured before the
dashboard read everyone at once (``data/clinician_people.html`` and ``.json``).

Set ``KNEEFIX_UPDATE_SNAPSHOTS=1`` to write the snapshots afresh after a deliberate change.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kneefix.content.loader import load_content
from kneefix.services.credentials import hash_password
from kneefix.settings import Settings
from kneefix.storage import users as user_store
from kneefix.web.app import create_app
from tests.services.clinic_seed import EVERY_VARIANT, TODAY, Clinic, seed_clinic
from tests.statements import counted
from tests.web.helpers import PASSWORD, pin, sign_in

DATA = Path(__file__).parent / "data"
TABLE = re.compile(r'<table class="people">.*?</table>', re.S)


@pytest.fixture
def clinic_app(web_settings: Settings) -> Iterator[tuple[FastAPI, Clinic]]:
    """The app on its own database with a clinic of every variant of every story, "today" pinned."""
    application = create_app(web_settings)
    pin(application, today=TODAY)
    database = application.state.database
    place = seed_clinic(database, load_content(), EVERY_VARIANT)
    with database.session() as session:
        user_store.set_password_hash(session, place.clinician_id, hash_password(PASSWORD))
    yield application, place
    database.close()


def check_snapshot(name: str, current: str) -> None:
    path = DATA / name
    if os.environ.get("KNEEFIX_UPDATE_SNAPSHOTS"):
        path.write_text(current, encoding="utf-8")
        return
    assert current == path.read_text(encoding="utf-8")


def test_the_page_and_the_api_show_the_people_as_before(clinic_app: tuple[FastAPI, Clinic]) -> None:
    application, _ = clinic_app
    doctor = TestClient(application, follow_redirects=True)
    assert sign_in(doctor, "doctor@clinic.invalid").url.path == "/clinician"
    page = doctor.get("/clinician")
    assert page.status_code == 200
    table = TABLE.search(page.text)
    assert table is not None
    check_snapshot("clinician_people.html", table.group(0) + "\n")
    by_pain = TABLE.search(doctor.get("/clinician?sort=pain&order=desc").text)
    assert by_pain is not None
    check_snapshot("clinician_people_by_pain.html", by_pain.group(0) + "\n")
    people = doctor.get("/api/v1/clinician/people")
    assert people.status_code == 200
    check_snapshot("clinician_people.json", json.dumps(people.json(), indent=1, ensure_ascii=False) + "\n")


def test_the_page_and_the_api_send_a_few_statements_not_a_few_per_person(
    clinic_app: tuple[FastAPI, Clinic],
) -> None:
    application, _ = clinic_app
    engine = application.state.database.engine
    doctor = TestClient(application, follow_redirects=True)
    sign_in(doctor, "doctor@clinic.invalid")
    doctor.get("/clinician")  # the rules' changes are stored by now
    for path in ("/clinician", "/api/v1/clinician/people"):
        with counted(engine) as sent:
            assert doctor.get(path).status_code == 200
        assert len(sent) <= 16, "\n".join(sent)  # before: about 21 a person, 18 people here
