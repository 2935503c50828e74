"""Issue 12: a person's record as a FHIR R4 (R4B) Bundle that validates, resolves and stays stable."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from fhir.resources.R4B.bundle import Bundle

from kneefix.content.loader import Content
from kneefix.errors import InputError, NotFoundError
from kneefix.programme.planner import training_dates
from kneefix.programme.records import SessionLog
from kneefix.services import fhir_bindings, fhir_export, fhir_import, logbook, screening
from kneefix.services import plan as plan_service
from kneefix.storage import logs as log_store
from kneefix.storage import profiles as profile_store
from kneefix.storage import screenings as screening_store
from kneefix.storage import users as user_store
from kneefix.storage.db import Database
from kneefix.storage.files import FolderStore
from kneefix.storage.models import TechniqueCheck
from tests.services.fhir_helpers import (
    TODAY,
    as_transaction,
    bundle_file,
    export,
    linked_export,
    observations,
    refused_whole,
    resources,
    rich_record,
)
from tests.services.helpers import START, typical_answers


def _references(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for value in node.values() for r in _references(value)]
    if isinstance(node, list):
        return [r for value in node for r in _references(value)]
    return []


def test_a_bundle_validates_resolves_and_keeps_its_ids(
    db: Database, content: Content, profile_id: int
) -> None:
    """Issue 12: every exported Bundle validates (R4B models), references resolve, ids are stable."""
    rich_record(db, content, profile_id)
    first = export(db, content, profile_id)
    Bundle.model_validate(first)  # raises on any invalid field
    assert first["type"] == "collection"
    urls = {entry["fullUrl"] for entry in first["entry"]}
    references = _references(first)
    assert references and set(references) <= urls
    kinds = {e["resource"]["resourceType"] for e in first["entry"]}
    assert {"Patient", "Practitioner", "Questionnaire", "QuestionnaireResponse", "Observation"} <= kinds
    assert {"Flag", "CarePlan"} <= kinds
    second = export(db, content, profile_id)
    assert [e["fullUrl"] for e in second["entry"]] == [e["fullUrl"] for e in first["entry"]]
    assert second == first
    ids = [e["resource"]["id"] for e in first["entry"]]
    assert len(ids) == len(set(ids)) and "kujala-score-2" in ids and "nprs-score-1" in ids


def test_the_patient_holds_a_name_and_a_birth_year_only(
    db: Database, content: Content, profile_id: int
) -> None:
    """Issue 12: Patient has only what kneefix holds (name, birth year)."""
    patient = resources(export(db, content, profile_id), "Patient")[0]
    assert set(patient) == {"resourceType", "id", "name", "birthDate", "text"}
    assert re.fullmatch(r"\d{4}", patient["birthDate"])


def test_every_resource_has_a_safe_narrative_telling_what_it_holds(
    db: Database, content: Content, profile_id: int
) -> None:
    """A clinic's system shows a resource it cannot interpret (kneefix's own codes) by its narrative:
    each has one, XHTML in its namespace with paragraphs and lists only (no script, style or
    attribute: FHIR's narrative rules), and it says the resource's own values."""
    rich_record(db, content, profile_id)
    bundle = export(db, content, profile_id)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert resource["text"]["status"] == "generated", resource["id"]
        root = ElementTree.fromstring(resource["text"]["div"])
        assert root.tag == "{http://www.w3.org/1999/xhtml}div" and root.attrib == {}
        tags = {element.tag.split("}")[1] for element in root.iter()} - {"div"}
        assert tags <= {"p", "ul", "li"} and all(e.attrib == {} for e in root.iter()), resource["id"]
    by_id = {e["resource"]["id"]: e["resource"]["text"]["div"] for e in bundle["entry"]}
    assert (
        "Pain severity - 0-10 verbal numeric rating [Score] - Reported, 2025-03-03 (final): 3"
        in by_id["nprs-score-1"]
    )
    squat = next(text for key, text in by_id.items() if key.startswith("technique-check-"))
    assert "<li>Rep 1: knee onset after hip onset: 42.0 ms</li>" in squat
    assert "<li>Rep 2: initiation: no value (hips hidden)</li>" in squat
    flag = next(text for key, text in by_id.items() if key.startswith("red-flag-"))
    assert "(inactive)" in flag
    # A response carries its questions and the chosen options' labels, so it reads on its own.
    (form,) = resources(bundle, "Questionnaire")[:1]
    response = next(r for r in resources(bundle, "QuestionnaireResponse") if r["id"].startswith("kujala-"))
    first = form["item"][0]
    chosen = response["item"][0]["answer"][0]["valueCoding"]
    label = next(
        o["valueCoding"]["display"]
        for o in first["answerOption"]
        if o["valueCoding"]["code"] == chosen["code"]
    )
    assert response["item"][0]["text"] == first["text"] and chosen["display"] == label
    assert f"<li>{first['text']} {label}</li>" in by_id[response["id"]]


def test_on_a_server_with_a_public_address_the_patient_has_that_servers_identifier(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """A clinic's system matches a later export to the same Patient by identifier: the server's address
    and the person's number there. A terminal profile's export (no address) has none; on import the
    identifier is reported, not kept (the record becomes a new person on the importing server)."""
    with db.session(write=False) as session:
        bundle = fhir_export.build_bundle(
            session, content, profile_id, TODAY, public_url="https://k.example/"
        )
    (identifier,) = resources(bundle, "Patient")[0]["identifier"]
    assert identifier["system"] == "https://k.example/fhir/identifier/person"
    assert identifier["value"] == str(profile_id) and identifier["use"] == "secondary"
    assert "identifier" not in resources(export(db, content, profile_id), "Patient")[0]
    _, reader = fhir_import.read_bundle(bundle)
    assert any(
        f"identifier https://k.example/fhir/identifier/person|{profile_id} not kept" in line
        for line in reader.skipped
    )


def test_clinicians_are_a_care_team_and_the_person_is_the_source_of_what_they_reported(
    db: Database, content: Content, profile_id: int
) -> None:
    """A linked physio or coach is not the person's GP (``Patient.generalPractitioner``): they are the
    CareTeam the CarePlan names. A Practitioner's name is their display name, their email a work
    contact. What the person reported (ratings, sessions, answers) names them as performer or source."""
    rich_record(db, content, profile_id)
    bundle = export(db, content, profile_id)
    patient = resources(bundle, "Patient")[0]
    assert "generalPractitioner" not in patient
    (practitioner,) = resources(bundle, "Practitioner")
    assert practitioner["name"] == [{"text": "Dr Who"}]
    assert practitioner["telecom"] == [{"system": "email", "value": "doc@example.org", "use": "work"}]
    (team,) = resources(bundle, "CareTeam")
    urls = {e["resource"]["id"]: e["fullUrl"] for e in bundle["entry"]}
    assert [p["member"]["reference"] for p in team["participant"]] == [urls[practitioner["id"]]]
    assert resources(bundle, "CarePlan")[0]["careTeam"] == [{"reference": urls[team["id"]]}]
    me = {"reference": urls[patient["id"]]}
    for prefix in ("nprs-score-", "kujala-score-", "session-log-"):
        assert all(o["performer"] == [me] for o in observations(bundle, prefix)), prefix
    assert all(r["source"] == me for r in resources(bundle, "QuestionnaireResponse"))


def test_red_flag_answers_follow_the_questionnaires_order(
    db: Database, content: Content, profile_id: int
) -> None:
    """FHIR: a response's items keep their Questionnaire's order; the stored answers are a mapping
    (here given in reverse), so the export orders them by the content's red flags."""
    asked = [flag.id for flag in content.red_flags][:4]
    with db.session() as session:
        screening_store.save_screening(
            session,
            profile_id,
            answers={"age": 30, "red_flags": {flag: False for flag in reversed(asked)}},
            verdict="go",
            red_flags=[],
            messages=[],
            taken_at=dt.datetime(2025, 3, 5, 8, 0, tzinfo=dt.UTC),
        )
    bundle = export(db, content, profile_id)
    (form,) = [q for q in resources(bundle, "Questionnaire") if q["id"] == "screening"]
    order = [
        item["linkId"] for group in form["item"] if group["linkId"] == "red-flags" for item in group["item"]
    ]
    response = [r for r in resources(bundle, "QuestionnaireResponse") if r["id"].startswith("screening-")][-1]
    (given,) = [item for item in response["item"] if item["linkId"] == "red-flags"]
    links = [item["linkId"] for item in given["item"]]
    assert links == [link for link in order if link in links] and len(links) == 4


def test_scores_carry_loinc_for_nprs_and_the_kneefix_code_for_kujala(
    db: Database, content: Content, profile_id: int
) -> None:
    """Issue 12: NPRS with LOINC 72514-3; the Kujala total (no LOINC code exists) a kneefix score code.
    Each Kujala option is a code of its own, item and letter, with its points as ``ordinalValue``: a
    receiver recomputes the stored total from the response alone; the response names the
    Questionnaire's version, which changes when its items do."""
    bundle = export(db, content, profile_id)
    by_id = {o["id"]: o for o in resources(bundle, "Observation")}
    nprs = by_id["nprs-score-1"]["code"]["coding"][0]
    assert (nprs["system"], nprs["code"]) == ("http://loinc.org", "72514-3")
    assert by_id["nprs-score-1"]["valueInteger"] == 3
    kujala = by_id["kujala-score-2"]
    assert kujala["code"]["coding"][0] == {
        "system": "https://kneefix.org/fhir/CodeSystem/score",
        "code": "kujala-total",
        "display": "Kujala AKPS total score",
    }
    (form,) = [q for q in resources(bundle, "Questionnaire") if q["id"] == "kujala"]
    assert len(form["item"]) == 13 and form["copyright"].startswith("The Kujala Anterior Knee Pain Scale")
    options = [o["valueCoding"] for item in form["item"] for o in item["answerOption"]]
    assert options[0]["code"] == "1-a" and len({o["code"] for o in options}) == len(options)
    points = {o["code"]: o["extension"][0]["valueDecimal"] for o in options}
    assert all(o["extension"][0]["url"] == fhir_export.EXT_ORDINAL for o in options)
    (response,) = [r for r in resources(bundle, "QuestionnaireResponse") if r["id"].startswith("kujala-")]
    assert response["questionnaire"] == f"{form['url']}|{form['version']}"
    recomputed = sum(points[item["answer"][0]["valueCoding"]["code"]] for item in response["item"])
    assert recomputed == kujala["valueQuantity"]["value"] == 90
    reworded = {**content.questionnaires, "kujala": _reworded(content)}
    changed = fhir_export.kujala_questionnaire(dataclasses.replace(content, questionnaires=reworded))
    assert changed["version"] != form["version"]


def _reworded(content: Content) -> Any:
    form = content.questionnaires["kujala"]
    first = form.items[0].model_copy(update={"question": "Do you limp?"})
    return form.model_copy(update={"items": [first, *form.items[1:]]})


def test_times_carry_the_persons_offset_and_the_cleared_flag_is_inactive(
    db: Database, content: Content, profile_id: int
) -> None:
    """Issue 12: dates in the person's time zone; a cleared red flag is inactive, with who cleared it,
    when and their note in the clearance (not in ``author``, which FHIR reads as who raised the flag),
    and points at the screening response that raised it."""
    doctor = rich_record(db, content, profile_id)
    bundle = export(db, content, profile_id)
    flag = resources(bundle, "Flag")[0]
    assert flag["status"] == "inactive" and "author" not in flag
    assert flag["period"] == {"start": "2025-03-05T09:00:00+01:00", "end": "2025-03-05T18:00:00+01:00"}
    assert flag["category"][0]["coding"][0]["code"] == "clinical"
    extensions = {extension["url"]: extension for extension in flag["extension"]}
    clearance = {part["url"]: part for part in extensions[fhir_export.EXT_CLEARANCE]["extension"]}
    assert clearance["note"]["valueString"] == "Examined: no locking."
    assert clearance["cleared-at"]["valueDateTime"] == "2025-03-05T18:00:00+01:00"
    assert clearance["cleared-by"]["valueReference"] == {
        "reference": fhir_export.full_url("Practitioner", f"practitioner-{doctor}"),
        "display": "Dr Who",
    }
    detail = extensions[fhir_export.EXT_FLAG_DETAIL]["valueReference"]["reference"]
    raised_by = next(e for e in bundle["entry"] if e["fullUrl"] == detail)["resource"]
    assert (
        raised_by["resourceType"] == "QuestionnaireResponse"
        and raised_by["authored"] == flag["period"]["start"]
    )
    check = next(o for o in resources(bundle, "Observation") if o["id"].startswith("technique-check-"))
    assert check["effectiveDateTime"] == "2025-03-04T10:30:00+01:00"


def test_technique_checks_have_components_and_unknown_calls_are_absent(
    db: Database, content: Content, profile_id: int
) -> None:
    """Issue 12: per-rep lag/initiation/depth and per-landing flexion; "unknown" is a dataAbsentReason."""
    rich_record(db, content, profile_id)
    observations = resources(export(db, content, profile_id), "Observation")
    squat, landing = (o for o in observations if o["id"].startswith("technique-check-"))
    texts = {c["code"]["text"]: c for c in squat["component"]}
    assert texts["Rep 1: knee onset after hip onset"]["valueQuantity"]["value"] == 42.0
    assert texts["Rep 1: initiation"]["valueCodeableConcept"]["coding"][0]["code"] == "hips"
    unknown = texts["Rep 2: initiation"]
    assert "valueCodeableConcept" not in unknown and unknown["dataAbsentReason"]["text"] == "hips hidden"
    assert "dataAbsentReason" in texts["Rep 2: depth"]
    landed = {c["code"]["text"]: c for c in landing["component"]}
    assert landed["Landing 1: knee flexion at initial contact"]["valueQuantity"]["value"] == 21.0
    assert landed["Landing 1: hip flexion at initial contact"]["valueQuantity"]["value"] == 30.0
    session = next(o for o in observations if o["id"].startswith("session-log-"))
    pains = {c["code"]["text"]: c["valueInteger"] for c in session["component"] if "valueInteger" in c}
    assert pains == {"Pain during (0-10 numeric rating)": 3, "Pain after (0-10 numeric rating)": 2}
    # Each pain is told apart by its own code, not by a LOINC code all three would share.
    codes = [coding["code"] for c in session["component"] for coding in c["code"]["coding"]]
    assert "72514-3" not in codes and {"pain-during", "pain-after"} <= set(codes)


def test_the_filmed_knee_is_the_side_the_analysis_measured(
    db: Database, content: Content, profile_id: int
) -> None:
    """A check asked for "auto" names the leg its analysis chose; one with no leg named has no site."""
    with db.session() as session:
        for side, report in (("auto", {"side": "right", "reps": []}), ("auto", {"reps": []})):
            session.add(
                TechniqueCheck(
                    profile_id=profile_id, movement="squat", side=side, status="done", report=report
                )
            )
    chose, unknown = observations(export(db, content, profile_id), "technique-check-")
    assert chose["bodySite"]["text"] == "right knee" and chose["bodySite"]["coding"][0]["code"] == "6757004"
    assert "bodySite" not in unknown


def test_a_checks_measures_name_their_rep_or_landing_and_each_code_system_one_kind(
    db: Database, content: Content, profile_id: int
) -> None:
    """Which rep a measure belongs to is data (an extension), not only words in ``code.text``; the
    movement, the measures, the calls and the files each have their own code system; the filmed
    side is a SNOMED CT knee."""
    rich_record(db, content, profile_id)
    bundle = export(db, content, profile_id)
    squat, landing = observations(bundle, "technique-check-")
    assert squat["code"]["coding"][0] == {
        "system": fhir_export.SYSTEM_MOVEMENT,
        "code": "squat",
        "display": "Squat",
    }
    assert squat["bodySite"]["coding"] == [
        {"system": "http://snomed.info/sct", "code": "82169009", "display": "Structure of left knee region"}
    ]
    numbers = [(c["extension"][0]["url"], c["extension"][0]["valuePositiveInt"]) for c in squat["component"]]
    assert numbers == [(fhir_export.EXT_REP, 1)] * 3 + [(fhir_export.EXT_REP, 2)] * 3
    assert {c["code"]["coding"][0]["system"] for c in squat["component"]} == {fhir_export.SYSTEM_MEASURE}
    called = squat["component"][1]["valueCodeableConcept"]["coding"][0]
    assert called == {"system": fhir_export.SYSTEM_INITIATION, "code": "hips", "display": "Hips first"}
    assert {c["extension"][0]["url"] for c in landing["component"]} == {fhir_export.EXT_LANDING}
    # The importer reads the numbers, not the text: renumbered, the reps come back renumbered.
    for component in squat["component"]:
        component["code"]["text"] = "something else"
        component["extension"][0]["valuePositiveInt"] += 10
    document, _ = fhir_import.read_bundle(bundle)
    reps = next(c for c in document["technique_checks"] if c["movement"] == "squat")["report"]["reps"]
    assert [r["rep"] for r in reps] == [11, 12] and reps[0]["initiation"] == "hips"


def test_the_care_plan_is_active_with_doses_and_on_hold_when_paused(
    db: Database, content: Content, profile_id: int
) -> None:
    """Issue 12: CarePlan status from the plan's state; a red-flag re-screening pauses it (on-hold)."""
    plan = resources(export(db, content, profile_id), "CarePlan")[0]
    assert plan["status"] == "active"
    assert plan["activity"] and all(a["detail"]["description"] for a in plan["activity"])
    with db.session() as session:
        screening_store.save_screening(
            session,
            profile_id,
            answers={"age": 30, "red_flags": {"true_locking": True}},
            verdict="refer_now",
            red_flags=["true_locking"],
            taken_at=dt.datetime(2025, 3, 4, 8, 0, tzinfo=dt.UTC),
        )
    paused = export(db, content, profile_id)
    assert resources(paused, "CarePlan")[0]["status"] == "on-hold"
    assert resources(paused, "Flag")[0]["status"] == "active"
    Bundle.model_validate(paused)


def test_only_the_owner_or_a_linked_clinician_gets_the_bundle(
    db: Database, content: Content, profile_id: int
) -> None:
    """Issue 12: the person and a linked clinician only; the download is in the audit log."""
    doctor = rich_record(db, content, profile_id)
    with db.session() as session:
        owner = user_store.get_user(session, profile_store.get_profile(session, profile_id).user_id)
        linked = user_store.get_user(session, doctor)
        stranger = user_store.create_user(
            session, email="x@example.org", display_name="X", role="clinician", password_hash="x"
        )
        person = user_store.create_user(
            session, email="p@example.org", display_name="P", role="person", password_hash="x"
        )
    for user in (owner, linked):
        with db.session(write=False) as session:
            bundle = fhir_export.export_for(session, content, user, profile_id, TODAY)
        assert bundle["id"] == f"kneefix-profile-{profile_id}"
    for user in (stranger, person):
        with db.session(write=False) as session, pytest.raises(NotFoundError):
            fhir_export.export_for(session, content, user, profile_id, TODAY)


def _without_ids(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: ("*" if k in ("id", "fullUrl", "reference") else _without_ids(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_without_ids(v) for v in node]
    return node


def test_a_rich_record_round_trips_and_what_cannot_is_reported(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """Issue 12: export -> import -> export gives the same Bundle (time zone, checks, runs, a red flag);
    the clinician, who needs an account, is reported as not imported, saying why and what to do."""
    rich_record(db, content, profile_id, clear=False)
    with db.session() as session:
        run = SessionLog(
            date=START + dt.timedelta(days=1), completed=1.0, pain_during=2, kind="run", run_minutes=20
        )
        log_store.add_log(session, profile_id, run)
        marked = SessionLog(
            date=START + dt.timedelta(days=2),
            completed=0.5,
            pain_during=4,
            exercises_done=("hamstring_stretch", "wall_sit_leg_raise_12"),
            hurt=("wall_sit_leg_raise_12",),
        )
        log_store.add_log(session, profile_id, marked)
    first = export(db, content, profile_id)
    path = tmp_path / "bundle.json"
    path.write_text(fhir_export.bundle_text(first))
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with other.session() as session:
            result = fhir_import.import_fhir(session, path)
        (practitioner,) = [line for line in result.not_imported if line.startswith("Practitioner")]
        assert "cannot become a kneefix clinician account" in practitioner
        assert "ask the clinician to link again with an invite" in practitioner
        with other.session(write=False) as session:  # no account was made for the Practitioner
            assert user_store.list_users(session, role="clinician") == []
        again = export(other, content, result.profile.id)
    finally:
        other.close()
    drop = {"Practitioner", "CareTeam"}

    def comparable(bundle: dict[str, Any]) -> Any:
        kept = [e for e in bundle["entry"] if e["resource"]["resourceType"] not in drop]
        for entry in kept:
            entry["resource"].pop("careTeam", None)
        return _without_ids(kept)

    assert comparable(again) == comparable(first)
    runs = observations(again, "run-log-")
    assert runs and runs[0]["component"][-1]["valueQuantity"]["value"] == 20
    # The exercises ticked and the "this hurt" marks come back: the plan's easier versions read them.
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with other.session(write=False) as session:
            (back,) = [log for log in log_store.list_logs(session, result.profile.id) if log.hurt]
    finally:
        other.close()
    assert back.exercises_done == ("hamstring_stretch", "wall_sit_leg_raise_12")
    assert back.hurt == ("wall_sit_leg_raise_12",)


def test_a_checks_files_are_document_references_linked_on_the_public_address(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """Issue 12: the annotated video and chart as DocumentReference links (absolute, on the configured
    public address), referenced by the check's Observation.derivedFrom; only files that exist."""
    bundle = linked_export(db, content, profile_id, tmp_path / "store")
    Bundle.model_validate(bundle)
    documents = {d["id"]: d for d in resources(bundle, "DocumentReference")}
    squat = next(
        o
        for o in resources(bundle, "Observation")
        if o["id"].startswith("technique-check-") and o.get("derivedFrom")
    )
    check_id = squat["id"].removeprefix("technique-check-")
    assert set(documents) == {f"check-{check_id}-annotated", f"check-{check_id}-angles"}
    video = documents[f"check-{check_id}-annotated"]["content"][0]["attachment"]
    assert video["contentType"] == "video/mp4" and video["title"]
    assert video["url"] == f"https://knee.example.org/c/{check_id}/annotated.mp4"
    chart = documents[f"check-{check_id}-angles"]["content"][0]["attachment"]
    assert chart["contentType"] == "image/png"
    # The chart travels inside the Bundle (a clinic's system cannot sign in to open a link), with its
    # size and SHA-1; the video, megabytes, is a link with its size and hash for checking the download.
    digest = base64.b64encode(hashlib.sha1(b"x").digest()).decode()
    assert base64.b64decode(chart["data"]) == b"x" and (chart["size"], chart["hash"]) == (1, digest)
    assert "data" not in video and (video["size"], video["hash"]) == (1, digest)
    assert documents[f"check-{check_id}-angles"]["context"]["related"] == [
        {"reference": fhir_export.full_url("Observation", squat["id"])}
    ]
    with db.session(write=False) as session:  # the terminal's export: the store, no address
        links = fhir_export.FileLinks(None, FolderStore(tmp_path / "store"))
        terminal = fhir_export.build_bundle(session, content, profile_id, TODAY, links=links)
    (embedded,) = resources(terminal, "DocumentReference")
    assert embedded["id"].endswith("-angles") and "url" not in embedded["content"][0]["attachment"]
    assert squat["derivedFrom"] == [
        {"reference": fhir_export.full_url("DocumentReference", d)} for d in sorted(documents, reverse=True)
    ]
    patient = fhir_export.full_url("Patient", f"patient-{profile_id}")
    assert all(d["subject"]["reference"] == patient for d in documents.values())
    assert set(_references(bundle)) <= {e["fullUrl"] for e in bundle["entry"]}
    with db.session(write=False) as session:
        plain = fhir_export.build_bundle(session, content, profile_id, TODAY)
    assert not resources(plain, "DocumentReference")  # no public address: no links


def test_linked_files_are_reported_on_import_and_the_rest_round_trips(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """Issue 12: the files are not in the Bundle, so their links are reported as not imported; apart
    from them (and the clinician) export -> import -> export is equal."""
    first = linked_export(db, content, profile_id, tmp_path / "store")
    path = tmp_path / "bundle.json"
    path.write_text(fhir_export.bundle_text(first))
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with other.session() as session:
            result = fhir_import.import_fhir(session, path)
        again = export(other, content, result.profile.id)
    finally:
        other.close()
    reported = [line for line in result.not_imported if line.startswith("DocumentReference check-")]
    assert len(reported) == 2
    chart, video = sorted(reported)  # check-N-angles, check-N-annotated
    assert "annotated" in video and "the file is not in the Bundle, so it is not imported" in video
    assert "angles" in chart and "it is in the Bundle, but a check comes back with its measures" in chart

    def comparable(bundle: dict[str, Any]) -> Any:
        kept = [
            e
            for e in bundle["entry"]
            if e["resource"]["resourceType"] not in ("Practitioner", "CareTeam", "DocumentReference")
        ]
        for entry in kept:
            entry["resource"].pop("careTeam", None)
            entry["resource"].pop("identifier", None)  # the exporting server's, not kept on import
            if entry["resource"]["id"].startswith("technique-check-"):
                entry["resource"].pop("derivedFrom", None)
        return _without_ids(kept)

    assert comparable(again) == comparable(first)


def test_a_finished_programme_stays_an_active_care_plan_in_maintenance(
    db: Database, content: Content
) -> None:
    """Issue 12: CarePlan status from the plan's state: seven weeks of settled sessions finish the
    programme (maintenance). The person keeps doing the maintenance exercises, so the CarePlan stays
    active (``completed`` would tell a clinic the plan is over), and its description says maintenance."""
    with db.session() as session:
        answers = typical_answers(content, runs=False)
        start = screening.run_start(session, content, "fin", screening.StartRequest(answers), today=START)
        profile = start.profile
        assert profile.settings is not None
        end = START + dt.timedelta(weeks=7)
        days = training_dates(profile.settings, START, end=end - dt.timedelta(days=1))
        for day in days:
            log = SessionLog(date=day, completed=1.0, pain_during=2, pain_after=2, next_morning_pain=1)
            log_store.add_log(session, profile.id, log)
    midway = resources(export(db, content, profile.id, days[5] + dt.timedelta(days=1)), "CarePlan")[0]
    assert midway["status"] == "active"
    finished = export(db, content, profile.id, end)
    Bundle.model_validate(finished)
    plan = resources(finished, "CarePlan")[0]
    assert plan["status"] == "active" and "(programme complete: maintenance)" in plan["description"]
    assert plan["activity"] and {a["detail"]["status"] for a in plan["activity"]} == {"in-progress"}
    assert "finished the programme" in plan["note"][-1]["text"]


def test_the_import_takes_a_collection_or_transaction_with_one_patient_only(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """Issue 12: a Bundle of another type, or with no Patient or two, is refused with a message naming
    the Bundle field, and nothing is imported."""
    bundle = export(db, content, profile_id)
    searchset = {**bundle, "type": "searchset"}
    patient = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    second = {
        "fullUrl": fhir_export.full_url("Patient", "patient-999"),
        "resource": {**patient["resource"], "id": "patient-999"},
    }
    # without the Patient and what refers to it (references must resolve, or that is the message)
    no_patient = {
        **bundle,
        "entry": [e for e in bundle["entry"] if e is not patient and "subject" not in e["resource"]],
    }
    two = {**bundle, "entry": [*bundle["entry"], second]}
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        for name, data, fragments in (
            ("searchset.json", searchset, ("Bundle, field type", "'searchset'", "collection or transaction")),
            ("none.json", no_patient, ("Bundle, field entry", "holds one Patient, this holds 0")),
            ("two.json", two, ("Bundle, field entry", "holds one Patient, this holds 2")),
        ):
            with other.session() as session, pytest.raises(InputError) as raised:
                fhir_import.import_fhir(session, bundle_file(tmp_path, data, name))
            assert all(fragment in str(raised.value) for fragment in fragments), (name, raised.value)
            with other.session(write=False) as session:
                assert profile_store.list_profiles(session) == [], name  # nothing imported
        with other.session() as session:
            result = fhir_import.import_fhir(
                session, bundle_file(tmp_path, as_transaction(bundle), "transaction.json")
            )
        assert result.profile.settings is not None
    finally:
        other.close()


def test_a_session_mark_without_an_exercise_is_refused_and_nothing_is_imported(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """Issue 12: an "exercise done" or "this hurt" component must name one kneefix exercise."""
    with db.session() as session:
        log = SessionLog(
            date=START, completed=1.0, exercises_done=("hamstring_stretch",), hurt=("hamstring_stretch",)
        )
        log_store.add_log(session, profile_id, log)
    bundle = export(db, content, profile_id)
    (observation,) = observations(bundle, "session-log-")
    marks = [c for c in observation["component"] if "valueCodeableConcept" in c]
    assert len(marks) == 2  # one done, one hurt
    marks[1]["valueCodeableConcept"] = {"coding": [{"system": "http://example.org/other", "code": "x"}]}
    refused_whole(tmp_path, bundle, r"valueCodeableConcept.*one exercise")


def test_readiness_checks_travel_and_the_running_gate_reads_the_same_after_import(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """The return-to-running gate opens only on a passed readiness check, so a rebuilt record must keep
    them: walk and hop pain come back, and the imported record's running state is the original's."""
    with db.session() as session:
        logbook.log_run_check(
            session,
            content,
            profile_id,
            day=START + dt.timedelta(days=1),
            today=TODAY,
            walk_pain=1,
            hop_pain=2,
        )
    first = export(db, content, profile_id)
    (check,) = observations(first, "run-check-")
    pains = {c["code"]["coding"][0]["code"]: c["valueInteger"] for c in check["component"]}
    assert pains == {"walk-pain": 1, "hop-pain": 2}
    assert check["code"]["coding"][0]["code"] == "run-readiness-check"
    assert check["code"]["coding"][0] not in [c for c in check["component"][0]["code"]["coding"]]
    path = tmp_path / "bundle.json"
    path.write_text(fhir_export.bundle_text(first))
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with other.session() as session:
            result = fhir_import.import_fhir(session, path)
        assert not [line for line in result.not_imported if line.startswith("Observation")]
        again = export(other, content, result.profile.id)
        with other.session(write=False) as session:
            imported = plan_service.running_dict(
                plan_service.plan_state(session, content, result.profile.id, TODAY).running
            )
    finally:
        other.close()
    with db.session(write=False) as session:
        original = plan_service.running_dict(
            plan_service.plan_state(session, content, profile_id, TODAY).running
        )
    (back,) = observations(again, "run-check-")
    assert _without_ids(back) == _without_ids(check)
    assert imported == original


def test_a_readiness_check_without_its_hop_pain_is_refused_and_nothing_is_imported(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    with db.session() as session:
        logbook.log_run_check(session, content, profile_id, day=START, today=TODAY, walk_pain=0, hop_pain=0)
    bundle = export(db, content, profile_id)
    (check,) = observations(bundle, "run-check-")
    check["component"] = [c for c in check["component"] if c["code"]["coding"][0]["code"] != "hop-pain"]
    refused_whole(tmp_path, bundle, r"Observation run-check-\d+, field component: the hop pain")


def test_failed_and_unfinished_checks_are_cancelled_and_registeredobservations(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """A failed analysis is a ``cancelled`` Observation carrying the reason the person was given (and
    comes back failed); one still queued is ``registered`` with no results, and is reported on import."""
    with db.session() as session:
        for status, error in (("failed", "No person found in the video."), ("queued", None)):
            session.add(
                TechniqueCheck(
                    profile_id=profile_id,
                    movement="squat",
                    side="left",
                    status=status,
                    error=error,
                    created_at=dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.UTC),
                )
            )
    bundle = export(db, content, profile_id)
    checks = {
        o["status"]: o for o in resources(bundle, "Observation") if o["id"].startswith("technique-check-")
    }
    assert set(checks) == {"cancelled", "registered"}
    assert checks["cancelled"]["dataAbsentReason"]["coding"][0]["code"] == "error"
    assert checks["cancelled"]["dataAbsentReason"]["text"] == "No person found in the video."
    assert checks["registered"]["dataAbsentReason"]["coding"][0]["code"] == "temp-unknown"
    assert all("component" not in o and "derivedFrom" not in o for o in checks.values())
    path = bundle_file(tmp_path, bundle, "checks.json")
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with other.session() as session:
            result = fhir_import.import_fhir(session, path)
        (unfinished,) = [line for line in result.not_imported if "had not finished" in line]
        assert unfinished.startswith("Observation technique-check-")
        again = export(other, content, result.profile.id)
    finally:
        other.close()
    (back,) = observations(again, "technique-check-")
    assert _without_ids(back) == _without_ids(checks["cancelled"])


def test_an_observation_entered_in_error_is_not_imported(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    with db.session() as session:
        logbook.log_session(session, content, profile_id, day=START, today=TODAY, pain_during=3, pain_after=2)
    bundle = export(db, content, profile_id)
    (log,) = observations(bundle, "session-log-")
    log["status"] = "entered-in-error"
    path = bundle_file(tmp_path, bundle, "withdrawn.json")
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with other.session() as session:
            result = fhir_import.import_fhir(session, path)
            assert log_store.list_logs(session, result.profile.id) == []
        assert any("entered-in-error" in line for line in result.not_imported)
    finally:
        other.close()


# Codes the export writes in bindings FHIR makes extensible or preferred (the required ones are checked
# by kneefix.services.fhir_bindings, the export's and the import's one table).
ABSENT_CODES = frozenset(
    [
        "unknown",
        "asked-unknown",
        "temp-unknown",
        "not-asked",
        "asked-declined",
        "masked",
        "not-applicable",
        "unsupported",
        "as-text",
        "error",
        "not-a-number",
        "negative-infinity",
        "positive-infinity",
        "not-performed",
        "not-permitted",
    ]
)
CATEGORY_CODES = frozenset(
    [
        "social-history",
        "vital-signs",
        "imaging",
        "laboratory",
        "procedure",
        "survey",
        "exam",
        "therapy",
        "activity",
    ]
)


def _coded(node: Any, key: str) -> list[Any]:
    """Every value of ``key`` anywhere under ``node``."""
    if isinstance(node, dict):
        return ([node[key]] if key in node else []) + [
            v for value in node.values() for v in _coded(value, key)
        ]
    if isinstance(node, list):
        return [v for value in node for v in _coded(value, key)]
    return []


def test_every_code_in_a_required_binding_is_in_its_fhir_value_set(
    db: Database, content: Content, profile_id: int
) -> None:
    rich_record(db, content, profile_id, clear=True)
    with db.session() as session:
        logbook.log_run_check(session, content, profile_id, day=START, today=TODAY, walk_pain=1, hop_pain=1)
        session.add(
            TechniqueCheck(
                profile_id=profile_id,
                movement="squat",
                status="failed",
                error="No person found.",
                created_at=dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.UTC),
            )
        )
        session.add(
            TechniqueCheck(
                profile_id=profile_id,
                movement="squat",
                status="running",
                created_at=dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.UTC),
            )
        )
    bundle = export(db, content, profile_id)
    assert list(fhir_bindings.problems(bundle)) == []
    seen: set[str] = set()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        kind = resource["resourceType"]
        seen |= {f"{kind}.{field}" for field in ("status", "intent") if field in resource}
        for absent in _coded(resource, "dataAbsentReason"):
            assert {c["code"] for c in absent["coding"]} <= ABSENT_CODES
            seen.add("dataAbsentReason")
        for category in resource.get("category", ()) if kind == "Observation" else ():
            for coding in category["coding"]:
                assert coding["system"] == "http://terminology.hl7.org/CodeSystem/observation-category"
                assert coding["code"] in CATEGORY_CODES
    # The test is not blind: each field it checks was in the Bundle.
    assert {"Observation.status", "CarePlan.status", "CarePlan.intent", "Flag.status"} <= seen
    assert {"QuestionnaireResponse.status", "Questionnaire.status", "dataAbsentReason"} <= seen
    statuses = {
        e["resource"]["status"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    }
    assert {"final", "cancelled", "registered"} <= statuses


def test_the_export_refuses_to_write_a_code_outside_its_required_binding(
    db: Database, content: Content, profile_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export's own check is wired in: a mapping that wrote "failed" as an Observation status (not
    a FHIR code) is a bug the export stops on, rather than a record a clinic's system misreads."""
    with db.session() as session:
        session.add(TechniqueCheck(profile_id=profile_id, movement="squat", status="failed", error="x"))
    monkeypatch.setitem(fhir_export.CHECK_STATUS, "failed", "failed")
    with pytest.raises(RuntimeError, match="Observation technique-check-1, field status: 'failed' is not"):
        export(db, content, profile_id)
