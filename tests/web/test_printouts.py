"""PDF handout and progress report from the web (person and linked clinician) and the API."""

from __future__ import annotations

import io

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfReader

from kneefix.settings import Settings
from tests.web.helpers import api_token, bearer, person_with_plan, sign_up
from tests.web.test_clinician import clinician, linked  # noqa: F401  (fixtures)


def _text(response: object) -> str:
    body = response.content  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/pdf"  # type: ignore[attr-defined]
    assert body.startswith(b"%PDF-")
    return " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(body)).pages)


def test_the_person_prints_their_programme_and_report(client: TestClient) -> None:
    person_with_plan(client, "print@example.org")
    assert "/plan/handout.pdf" in client.get("/plan").text
    assert "/progress/report.pdf" in client.get("/progress").text
    handout = _text(client.get("/plan/handout.pdf"))
    assert "Your knee programme" in handout and "The pain rules the plan follows" in handout
    report = _text(client.get("/progress/report.pdf"))
    assert "Progress report" in report and "Pain by week" in report


def test_before_the_screening_there_is_nothing_to_print(client: TestClient) -> None:
    sign_up(client, "new@example.org")
    response = client.get("/plan/handout.pdf", follow_redirects=False)
    assert response.status_code in (302, 303) and "/screening" in response.headers["location"]


def test_a_linked_clinician_prints_the_report_and_no_one_else_can(
    app: FastAPI,
    client: TestClient,
    clinician: TestClient,  # noqa: F811
    linked: int,  # noqa: F811
) -> None:
    page = clinician.get(f"/clinician/people/{linked}")
    assert f"/clinician/people/{linked}/report.pdf" in page.text
    assert "Progress report" in _text(clinician.get(f"/clinician/people/{linked}/report.pdf"))
    assert "Your knee programme" in _text(clinician.get(f"/clinician/people/{linked}/handout.pdf"))
    assert "Progress report" in _text(clinician.get(f"/api/v1/clinician/people/{linked}/report.pdf"))
    other = TestClient(app)
    sign_up(other, "otherdoc@example.org", role="clinician")
    assert other.get(f"/clinician/people/{linked}/report.pdf").status_code == 404
    assert other.get(f"/api/v1/clinician/people/{linked}/report.pdf").status_code == 404
    assert client.get(f"/clinician/people/{linked}/report.pdf").status_code in (403, 404)


def test_the_api_gives_the_same_pdfs(app: FastAPI) -> None:
    api = TestClient(app)
    token = api_token(api, "apiprint@example.org")
    from tests.web.helpers import api_screening_body

    assert api.post("/api/v1/screening", json=api_screening_body(), headers=bearer(token)).status_code == 200
    assert "Your knee programme" in _text(api.get("/api/v1/handout.pdf", headers=bearer(token)))
    assert "Progress report" in _text(api.get("/api/v1/report.pdf", headers=bearer(token)))
    assert api.get("/api/v1/report.pdf").status_code == 401


def test_the_report_shows_each_finished_technique_check_with_its_chart(
    app: FastAPI, client: TestClient, web_settings: Settings
) -> None:
    from tests.web.test_technique import run_worker, upload

    person_with_plan(client, "squatter@example.org")
    upload(client)
    assert run_worker(app, web_settings) == 1
    body = client.get("/progress/report.pdf").content
    reader = PdfReader(io.BytesIO(body))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    assert "Squat: 1 rep" in text and "No technique checks yet" not in text
    images = [image for page in reader.pages for image in page.images]
    assert images, "the check's angle chart is embedded"
