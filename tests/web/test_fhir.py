"""Issue 12: the FHIR Bundle from the API and the pages, for the person and a linked clinician only."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle

from kneefix.storage.models import TechniqueCheck
from tests.web.helpers import person_with_plan, sign_up
from tests.web.test_clinician import clinician, linked  # noqa: F401  (fixtures)

FHIR_JSON = "application/fhir+json"


def test_the_person_and_a_linked_clinician_download_it_and_no_one_else(
    app: FastAPI,
    client: TestClient,
    clinician: TestClient,  # noqa: F811
    linked: int,  # noqa: F811
) -> None:
    """Issue 12: GET /api/v1/people/{id}/fhir for the person and a linked clinician; others 404."""
    path = f"/api/v1/people/{linked}/fhir"
    for caller in (client, clinician):
        response = caller.get(path)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(FHIR_JSON)
        assert "fhirVersion" not in response.headers["content-type"]  # R4 and R4B alike (docs/fhir.md)
        assert dt.datetime.fromisoformat(response.json()["timestamp"]).tzinfo is not None
        assert "attachment" in response.headers["content-disposition"]
        assert Bundle.model_validate(response.json()).type == "collection"
        kinds = {entry["resource"]["resourceType"] for entry in response.json()["entry"]}
        assert {"Patient", "Practitioner", "CarePlan", "Observation"} <= kinds
    stranger = TestClient(app)
    sign_up(stranger, "otherdoc@example.org", role="clinician")
    assert stranger.get(path).status_code == 404
    other_person = TestClient(app)
    person_with_plan(other_person, "other@example.org")
    assert other_person.get(path).status_code == 404
    assert TestClient(app).get(path).status_code == 401
    assert client.get("/api/v1/people/999999/fhir").status_code == 404


def test_the_pages_link_to_it_and_the_download_is_in_the_audit_log(
    client: TestClient,
    clinician: TestClient,  # noqa: F811
    linked: int,  # noqa: F811
) -> None:
    """Issue 12: download buttons on the account page and the clinician's person page; export.downloaded
    with format fhir in the person's "who saw my record"."""
    assert "/account/record.fhir.json" in client.get("/account").text
    assert f"/api/v1/people/{linked}/fhir" in clinician.get(f"/clinician/people/{linked}").text
    own = client.get("/account/record.fhir.json")
    assert own.status_code == 200 and own.headers["content-type"].startswith(FHIR_JSON)
    assert own.json()["id"] == f"kneefix-profile-{linked}"
    assert clinician.get("/account/record.fhir.json").status_code in (403, 404)
    assert clinician.get(f"/api/v1/people/{linked}/fhir").status_code == 200
    lines = client.get("/api/v1/me/audit").json()
    downloads = [line for line in lines if line["action"] == "export.downloaded"]
    assert {line["role"] for line in downloads} == {"person", "clinician"}
    assert all("FHIR" in line["what"] for line in downloads)


def test_check_files_are_linked_on_the_public_address_for_whoever_downloads(
    app: FastAPI,
    client: TestClient,
    clinician: TestClient,  # noqa: F811
    linked: int,  # noqa: F811
) -> None:
    """Issue 12: with KNEEFIX_PUBLIC_URL set, a finished check's annotated video and chart are
    DocumentReference links on that address (never the request's Host), to the page the downloader
    can open; without it, no links, and the chart (small) is embedded either way."""
    with app.state.database.session() as session:
        check = TechniqueCheck(
            profile_id=linked,
            movement="squat",
            side="left",
            status="done",
            report={"reps": []},
            output_dir=f"analyses/{linked}/check",
            created_at=dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC),
        )
        session.add(check)
        session.flush()
        check_id = check.id
    folder = Path(app.state.settings.file_store_folder) / "analyses" / str(linked) / "check"
    folder.mkdir(parents=True)
    (folder / "annotated.mp4").write_bytes(b"video")
    (folder / "angles.png").write_bytes(b"chart")
    # Without a public address: the chart inside the Bundle, no links (the video is not in it).
    plain = client.get("/account/record.fhir.json").json()
    (document,) = [
        e["resource"] for e in plain["entry"] if e["resource"]["resourceType"] == "DocumentReference"
    ]
    assert document["id"] == f"check-{check_id}-angles" and "url" not in document["content"][0]["attachment"]
    assert base64.b64decode(document["content"][0]["attachment"]["data"]) == b"chart"
    app.state.settings = app.state.settings.with_changes(public_url="https://knee.example.org")

    def links(caller: TestClient, path: str) -> dict[str, str]:
        bundle = caller.get(path, headers={"host": "evil.example.com"}).json()
        Bundle.model_validate(bundle)
        return {
            e["resource"]["id"]: e["resource"]["content"][0]["attachment"]["url"]
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "DocumentReference"
        }

    own = links(client, "/account/record.fhir.json")
    assert own == {
        f"check-{check_id}-annotated": f"https://knee.example.org/technique/checks/{check_id}/files/annotated.mp4",
        f"check-{check_id}-angles": f"https://knee.example.org/technique/checks/{check_id}/files/angles.png",
    }
    shared = links(clinician, f"/api/v1/people/{linked}/fhir")
    assert set(shared) == set(own)
    for caller, urls in ((client, own), (clinician, shared)):
        for url in urls.values():
            response = caller.get(url.removeprefix("https://knee.example.org"))
            assert response.status_code == 200 and response.content in (b"video", b"chart"), url
    assert shared[f"check-{check_id}-angles"].startswith(
        f"https://knee.example.org/clinician/people/{linked}/checks/{check_id}/files/"
    )


def test_the_code_systems_and_extensions_are_served_to_anyone(app: FastAPI) -> None:
    """Content only, no one's data: a clinic's interface engineer fetches them without an account."""
    response = TestClient(app).get("/fhir/definitions.json")
    assert response.status_code == 200 and response.headers["content-type"].startswith(FHIR_JSON)
    kinds = [e["resource"]["resourceType"] for e in response.json()["entry"]]
    assert (kinds.count("CodeSystem"), kinds.count("StructureDefinition")) == (10, 6)
