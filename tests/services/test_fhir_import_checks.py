"""Issue 12: what another system's Bundle must be for kneefix to import it, and what it leaves out.

Each refusal names the resource and the field and imports nothing; each status kneefix does not take
as a finished result is reported and left out while the rest imports."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kneefix.content.loader import Content
from kneefix.errors import InputError
from kneefix.services import fhir_export, fhir_import, logbook
from kneefix.services import scores as score_service
from kneefix.storage import screenings as screening_store
from kneefix.storage.db import Database
from tests.services.fhir_helpers import (
    TODAY,
    as_transaction,
    bundle_file,
    export,
    observations,
    refused_whole,
    resources,
    rich_record,
)
from tests.services.helpers import START

Bundle = dict[str, Any]


def _one(bundle: Bundle, kind: str, prefix: str = "") -> dict[str, Any]:
    return next(r for r in resources(bundle, kind) if r["id"].startswith(prefix))


def _modifier_on_a_component(bundle: Bundle) -> None:
    log = observations(bundle, "session-log-")[0]
    log["component"][0]["modifierExtension"] = [
        {"url": "https://other.example/not-done", "valueBoolean": True}
    ]


def _implicit_rules(bundle: Bundle) -> None:
    _one(bundle, "Patient")["implicitRules"] = "https://other.example/rules"


def _made_up_status(bundle: Bundle) -> None:
    observations(bundle, "nprs-score-")[0]["status"] = "foo"


def _made_up_intent(bundle: Bundle) -> None:
    _one(bundle, "CarePlan")["intent"] = "wish"


def _made_up_activity_kind(bundle: Bundle) -> None:
    _one(bundle, "CarePlan")["activity"][0]["detail"]["kind"] = "Exercise"


def _made_up_comparator(bundle: Bundle) -> None:
    observations(bundle, "kujala-score-")[0]["valueQuantity"]["comparator"] = "~"


def _made_up_gender(bundle: Bundle) -> None:
    _one(bundle, "Patient")["gender"] = "man"


def _value_and_absent_reason(bundle: Bundle) -> None:
    observations(bundle, "nprs-score-")[0]["dataAbsentReason"] = {"text": "not asked"}


def _same_full_url_twice(bundle: Bundle) -> None:
    bundle["entry"][-1]["fullUrl"] = bundle["entry"][0]["fullUrl"]


def _same_id_twice(bundle: Bundle) -> None:
    first, second = observations(bundle, "")[:2]
    second["id"] = first["id"]


def _subject_elsewhere(bundle: Bundle) -> None:
    practitioner = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Practitioner")
    observations(bundle, "nprs-score-")[0]["subject"] = {"reference": practitioner["fullUrl"]}


def _no_subject(bundle: Bundle) -> None:
    del observations(bundle, "nprs-score-")[0]["subject"]


def _request_in_a_collection(bundle: Bundle) -> None:
    bundle["entry"][0]["request"] = {"method": "POST", "url": "Patient"}


def _relative_in_a_urn_bundle(bundle: Bundle) -> None:
    observations(bundle, "nprs-score-")[0]["subject"] = {"reference": "Patient/patient-1"}


def _kujala_answer_of_another_item(bundle: Bundle) -> None:
    response = _one(bundle, "QuestionnaireResponse", "kujala-response-")
    response["item"][0]["answer"][0]["valueCoding"]["code"] = "2-a"


def _a_movement_kneefix_does_not_check(bundle: Bundle) -> None:
    observations(bundle, "technique-check-")[0]["code"]["coding"][0]["code"] = "cartwheel"


def _settings(bundle: Bundle) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = _one(bundle, "CarePlan")["extension"][0]["extension"]
    return parts


def _unknown_protocol(bundle: Bundle) -> None:
    next(p for p in _settings(bundle) if p["url"] == "protocol")["valueCode"] = "nope"


def _unknown_equipment(bundle: Bundle) -> None:
    _settings(bundle).append({"url": "equipment", "valueCode": "trampoline"})


def _screening(bundle: Bundle) -> dict[str, Any]:
    return next(r for r in resources(bundle, "QuestionnaireResponse") if r["id"].startswith("screening-"))


def _a_warning_sign_answered_yes_but_not_raised(bundle: Bundle) -> None:
    flags = next(item for item in _screening(bundle)["item"] if item["linkId"] == "red-flags")
    flags["item"][0]["answer"] = [{"valueBoolean": True}]


def _an_age_out_of_range(bundle: Bundle) -> None:
    next(item for item in _screening(bundle)["item"] if item["linkId"] == "age")["answer"] = [
        {"valueInteger": 300}
    ]


def _no_verdict(bundle: Bundle) -> None:
    del _screening(bundle)["extension"]


def _kujala_letter_not_an_option(bundle: Bundle) -> None:
    response = _one(bundle, "QuestionnaireResponse", "kujala-response-")
    response["item"][0]["answer"][0]["valueCoding"]["code"] = "1-z"


def _kujala_total_not_its_answers(bundle: Bundle) -> None:
    observations(bundle, "kujala-score-")[0]["valueQuantity"]["value"] = 95


def _flagged(bundle: Bundle) -> dict[str, Any]:
    return next(r for r in resources(bundle, "QuestionnaireResponse") if r["id"] == "screening-response-2")


def _warning_signs(response: dict[str, Any]) -> dict[str, Any]:
    return next(item for item in response["item"] if item["linkId"] == "red-flags")


def _unfinished_with_a_yes(bundle: Bundle) -> None:
    _flagged(bundle)["status"] = "in-progress"


def _active_flag_without_its_screening(bundle: Bundle) -> None:
    _flagged(bundle)["status"] = "entered-in-error"
    _one(bundle, "Flag")["status"] = "active"


def _warning_signs_left_out(bundle: Bundle) -> None:
    _screening(bundle)["item"].remove(_warning_signs(_screening(bundle)))


def _a_question_twice(bundle: Bundle) -> None:
    group = _warning_signs(_screening(bundle))
    group["item"].append({**group["item"][0], "answer": [{"valueBoolean": False}]})


def _two_answers_to_a_yes_no(bundle: Bundle) -> None:
    _warning_signs(_screening(bundle))["item"][0]["answer"] = [
        {"valueBoolean": False},
        {"valueBoolean": True},
    ]


def _a_warning_sign_outside_its_group(bundle: Bundle) -> None:
    _screening(bundle)["item"].append({"linkId": "red-flag-true-locking", "answer": [{"valueBoolean": True}]})


def _the_group_twice(bundle: Bundle) -> None:
    _screening(bundle)["item"].append(copy.deepcopy(_warning_signs(_screening(bundle))))


def _squat(bundle: Bundle) -> dict[str, Any]:
    return observations(bundle, "technique-check-")[0]


def _a_comparator(bundle: Bundle) -> None:
    observations(bundle, "kujala-score-")[0]["valueQuantity"]["comparator"] = ">"


def _lag_in_seconds(bundle: Bundle) -> None:
    quantity = _squat(bundle)["component"][0]["valueQuantity"]
    quantity.update(value=0.042, unit="s", code="s")


def _an_impossible_depth(bundle: Bundle) -> None:
    _squat(bundle)["component"][2]["valueQuantity"]["value"] = -4000


def _a_session_without_its_completion(bundle: Bundle) -> None:
    log = observations(bundle, "session-log-")[0]
    del log["valueQuantity"]
    log["dataAbsentReason"] = {"text": "not recorded"}


def _a_measure_twice(bundle: Bundle) -> None:
    squat = _squat(bundle)
    squat["component"].append(copy.deepcopy(squat["component"][0]))


def _a_call_kneefix_does_not_make(bundle: Bundle) -> None:
    _squat(bundle)["component"][1]["valueCodeableConcept"]["coding"][0]["code"] = "ankles"


def _a_second_plan(bundle: Bundle) -> None:
    plan = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan")
    second = copy.deepcopy(plan)
    second["resource"]["id"] = "careplan-other"
    second["fullUrl"] = "urn:uuid:6a1f3e2c-0000-4000-8000-000000000001"
    bundle["entry"].append(second)


def _an_inactive_patient(bundle: Bundle) -> None:
    _one(bundle, "Patient")["active"] = False


def _a_zone_that_is_not_one(bundle: Bundle) -> None:
    next(p for p in _settings(bundle) if p["url"] == "time-zone")["valueCode"] = "Mars/Olympus"


def _two_protocols(bundle: Bundle) -> None:
    _settings(bundle).append(dict(next(p for p in _settings(bundle) if p["url"] == "protocol")))


def _a_site_that_is_not_a_knee(bundle: Bundle) -> None:
    _squat(bundle)["bodySite"] = {"text": "front knee"}


def _a_pain_twice(bundle: Bundle) -> None:
    log = observations(bundle, "session-log-")[0]
    log["component"].append(copy.deepcopy(log["component"][0]))


REFUSED: list[tuple[str, Callable[[Bundle], None], str]] = [
    ("modifier", _modifier_on_a_component, r"component\[0\]\.modifierExtension\[0\]: modifier extension"),
    ("implicit rules", _implicit_rules, r"Patient patient-1, field implicitRules: 'https://other"),
    ("status", _made_up_status, r"nprs-score-1, field status: 'foo' is not a code FHIR allows"),
    ("intent", _made_up_intent, r"CarePlan careplan-1, field intent: 'wish'"),
    ("kind", _made_up_activity_kind, r"field activity\[0\]\.detail\.kind: 'Exercise'"),
    ("comparator", _made_up_comparator, r"field valueQuantity\.comparator: '~'"),
    ("gender", _made_up_gender, r"Patient patient-1, field gender: 'man'"),
    ("obs-6", _value_and_absent_reason, r"field dataAbsentReason: present together with a value"),
    ("fullUrl twice", _same_full_url_twice, r"field fullUrl: urn:uuid:\S+ is in the Bundle twice"),
    ("id twice", _same_id_twice, r"field id: Observation/\S+ is in the Bundle twice"),
    ("subject", _subject_elsewhere, r"nprs-score-1, field subject\.reference: urn:uuid:\S+ is not the"),
    ("relative", _relative_in_a_urn_bundle, r"subject\.reference: Patient/patient-1 does not resolve"),
    ("no subject", _no_subject, r"nprs-score-1, field subject: missing"),
    ("kujala answer", _kujala_answer_of_another_item, r"field item\[1\]\.answer\[0\]\.valueCoding: must be"),
    (
        "movement",
        _a_movement_kneefix_does_not_check,
        r"technique-check-1, field code\.coding: 'cartwheel' is not a movement kneefix checks",
    ),
    (
        "protocol",
        _unknown_protocol,
        r"CarePlan careplan-1, field settings\.protocol_id: nope: not a protocol",
    ),
    ("equipment", _unknown_equipment, r"field settings\.equipment: trampoline: not a piece of equipment"),
    (
        "warning sign",
        _a_warning_sign_answered_yes_but_not_raised,
        r"screening-response-1, field red_flags: warning sign \w+ answered yes, but the screening does not "
        r"raise it; kneefix does not import a screening whose warning sign the plan would run past",
    ),
    ("age", _an_age_out_of_range, r"screening-response-1, field answers\.age: 300 is outside 5 to 120"),
    ("verdict", _no_verdict, r"screening-response-1, field extension\[\S+\]\.verdict: missing"),
    ("kujala option", _kujala_letter_not_an_option, r"kujala-score-2, field answers: .*"),
    (
        "kujala total",
        _kujala_total_not_its_answers,
        r"kujala-score-2, field score: 95, but its answers add up to 90",
    ),
    (
        "unfinished",
        _unfinished_with_a_yes,
        r"screening-response-2, field status: in-progress, with a warning sign",
    ),
    ("active flag", _active_flag_without_its_screening, r"field code: active red flag true_locking, but no"),
    (
        "no warning signs",
        _warning_signs_left_out,
        r"screening-response-1, field item\[red-flags\]: \S+.* not answered",
    ),
    (
        "twice in group",
        _a_question_twice,
        r"item\[2\]\.item\[\d+\]\.linkId: red-flag-\S+ is in the group twice",
    ),
    (
        "two answers",
        _two_answers_to_a_yes_no,
        r"item\[2\]\.item\[0\]\.answer: a warning-sign question takes one",
    ),
    (
        "outside group",
        _a_warning_sign_outside_its_group,
        r"'red-flag-true-locking' is not a question of the kneefix",
    ),
    ("group twice", _the_group_twice, r"red-flags is in the response twice"),
    (
        "exact",
        _a_comparator,
        r"kujala-score-2, field valueQuantity\.comparator: '>': kneefix keeps exact values",
    ),
    ("unit", _lag_in_seconds, r"component\[0\]\.valueQuantity\.code: 's'; kneefix reads this value in ms"),
    ("depth", _an_impossible_depth, r"component\[2\]\.valueQuantity\.value: -4000 is outside -180 to 180"),
    ("no completion", _a_session_without_its_completion, r"session-log-1, field valueQuantity: missing"),
    ("measure twice", _a_measure_twice, r"field component\[6\]: rep 1's lag-ms is in the check twice"),
    ("call", _a_call_kneefix_does_not_make, r"'ankles' is not a call kneefix makes"),
    (
        "two plans",
        _a_second_plan,
        r"CarePlan careplan-other, field status: active, and CarePlan careplan-1 is",
    ),
    ("inactive", _an_inactive_patient, r"Patient patient-1, field active: false; the sender marks"),
    (
        "zone",
        _a_zone_that_is_not_one,
        r"careplan-1, field extension\[\S+\]\.time-zone: 'Mars/Olympus' is not",
    ),
    ("two protocols", _two_protocols, r"careplan-1, field extension\[\S+\]\.protocol: given more than once"),
    ("site", _a_site_that_is_not_a_knee, r"field bodySite: 'front knee' is not a left or right knee"),
    (
        "pain twice",
        _a_pain_twice,
        r"session-log-1, field component\[\d+\]: pain-during is in the session twice",
    ),
    ("request", _request_in_a_collection, r"entry\[0\]\.request: a collection Bundle carries no requests"),
]


@pytest.mark.parametrize(("case", "change", "message"), REFUSED, ids=[case for case, _, _ in REFUSED])
def test_a_bundle_breaking_a_fhir_rule_is_refused_whole(
    db: Database,
    content: Content,
    profile_id: int,
    tmp_path: Path,
    case: str,
    change: Callable[[Bundle], None],
    message: str,
) -> None:
    """Each break names the resource and field and imports nothing (the models accept all of these)."""
    rich_record(db, content, profile_id)
    bundle = export(db, content, profile_id)
    fhir_import.read_bundle(copy.deepcopy(bundle))  # the unchanged Bundle reads
    change(bundle)
    refused_whole(tmp_path, bundle, message)


def _without_requests(bundle: Bundle) -> None:
    del bundle["entry"][2]["request"]


def _a_delete(bundle: Bundle) -> None:
    bundle["entry"][2]["request"]["method"] = "DELETE"


def _conditional(bundle: Bundle) -> None:
    bundle["entry"][0]["request"]["ifNoneExist"] = "identifier=x|1"


def _url_of_another_type(bundle: Bundle) -> None:
    bundle["entry"][0]["request"]["url"] = "Observation"


def _a_put(bundle: Bundle) -> None:
    bundle["entry"][0]["request"] = {"method": "PUT", "url": "Patient/999"}


def _a_conditional_url(bundle: Bundle) -> None:
    bundle["entry"][0]["request"]["url"] = "Patient?identifier=x|1"


TRANSACTIONS: list[tuple[str, Callable[[Bundle], None], str]] = [
    ("no request", _without_requests, r"entry\[2\]\.request: every entry of a transaction needs a request"),
    ("delete", _a_delete, r"entry\[2\]\.request\.method: DELETE; an import creates a new record"),
    ("conditional", _conditional, r"entry\[0\]\.request\.ifNoneExist: kneefix does not carry out"),
    (
        "url",
        _url_of_another_type,
        r"entry\[0\]\.request\.url: 'Observation' does not name the entry's Patient",
    ),
]


@pytest.mark.parametrize(("case", "change", "message"), TRANSACTIONS, ids=[c for c, _, _ in TRANSACTIONS])
def test_a_transaction_is_imported_only_as_plain_creates(
    db: Database,
    content: Content,
    profile_id: int,
    tmp_path: Path,
    case: str,
    change: Callable[[Bundle], None],
    message: str,
) -> None:
    """A transaction's requests say what to do: kneefix does what a POST or PUT says, or refuses."""
    bundle = as_transaction(export(db, content, profile_id))
    fhir_import.read_bundle(copy.deepcopy(bundle))
    change(bundle)
    refused_whole(tmp_path, bundle, message)


def _import(tmp_path: Path, bundle: Bundle) -> tuple[fhir_import.FhirImport, Database]:
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    with other.session() as session:
        result = fhir_import.import_fhir(session, bundle_file(tmp_path, bundle, "sent.json"))
    return result, other


def test_what_is_not_a_finished_result_is_reported_and_left_out(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """A revoked plan, a screening entered in error, a preliminary pain rating and a flag entered in
    error are not the person's record: each is reported, and the rest is imported."""
    rich_record(db, content, profile_id, clear=False)
    bundle = export(db, content, profile_id)
    _one(bundle, "CarePlan")["status"] = "revoked"
    flagged = resources(bundle, "QuestionnaireResponse")
    flagged = [r for r in flagged if r["id"].startswith("screening-response-")]
    flagged[-1]["status"] = "entered-in-error"
    observations(bundle, "nprs-score-")[0]["status"] = "preliminary"
    _one(bundle, "Flag")["status"] = "entered-in-error"
    result, other = _import(tmp_path, bundle)
    try:
        with other.session(write=False) as session:
            assert result.profile.settings is None
            kept = screening_store.list_screenings(session, result.profile.id)
            assert len(kept) == len(flagged) - 1 and all(not s.red_flags for s in kept)
            instruments = [s.instrument for s in score_service.list_scores(session, result.profile.id)]
            assert "nprs" not in instruments and "kujala" in instruments
    finally:
        other.close()
    said = "\n".join(result.not_imported)
    assert "CarePlan careplan-1: status revoked, not a plan being followed" in said
    assert f"QuestionnaireResponse {flagged[-1]['id']}: status entered-in-error" in said
    assert "Observation nprs-score-1: status preliminary, not a final result" in said
    assert "entered-in-error by the sender" in said


def test_pain_sent_as_a_whole_number_quantity_imports_and_a_fraction_is_refused(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """Other systems send NPRS (LOINC 72514-3) as valueQuantity as often as valueInteger."""
    with db.session() as session:
        logbook.log_session(session, content, profile_id, day=START, today=TODAY, pain_during=3)
    bundle = export(db, content, profile_id)
    nprs = observations(bundle, "nprs-score-")[0]
    nprs["valueQuantity"] = {"value": 4, "unit": "{score}", "system": fhir_export.UCUM, "code": "{score}"}
    del nprs["valueInteger"]
    log = observations(bundle, "session-log-")[0]
    during = log["component"][0]
    during["valueQuantity"] = {"value": 5.0}
    del during["valueInteger"]
    result, other = _import(tmp_path, bundle)
    try:
        with other.session(write=False) as session:
            scores = score_service.list_scores(session, result.profile.id)
            assert [s.score for s in scores if s.instrument == "nprs"] == [4]
    finally:
        other.close()
    document, _ = fhir_import.read_bundle(copy.deepcopy(bundle))
    assert document["session_logs"][0]["pain_during"] == 5
    nprs["valueQuantity"]["value"] = 4.5
    (tmp_path / "other.db").unlink()
    refused_whole(tmp_path, bundle, r"nprs-score-1, field valueQuantity\.value: 4\.5 is not a whole")


def test_an_extension_kneefix_does_not_know_is_reported_where_it_sits(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """Not only on the resource: one on a component is reported with its place, and the rest imports."""
    with db.session() as session:
        logbook.log_session(session, content, profile_id, day=START, today=TODAY, pain_during=3)
    bundle = export(db, content, profile_id)
    log = observations(bundle, "session-log-")[0]
    log["component"][0]["extension"] = [{"url": "https://other.example/device", "valueString": "watch"}]
    result, other = _import(tmp_path, bundle)
    other.close()
    assert any(
        line.endswith("extension https://other.example/device (at component[0].extension[0]) not read")
        for line in result.not_imported
    ), result.not_imported


def _restful(bundle: Bundle, base: str) -> Bundle:
    """The Bundle as a server writes it: fullUrl BASE/Type/id, references relative (Type/id)."""
    relative = {
        e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]
    }

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: relative.get(v, v) if k == "reference" else rewrite(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    entries = [
        {"fullUrl": f"{base}/{relative[e['fullUrl']]}", "resource": rewrite(e["resource"])}
        for e in bundle["entry"]
    ]
    return {**bundle, "entry": entries}


def test_relative_references_resolve_against_a_restful_full_url_only(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """FHIR's rule: ``Patient/1`` resolves inside a Bundle only against the base of the referring
    entry's RESTful fullUrl. A server's Bundle (fullUrls on its base) imports whole; with another
    base on the Patient, the same references point outside the Bundle and it is refused."""
    rich_record(db, content, profile_id)
    original, _ = fhir_import.read_bundle(copy.deepcopy(export(db, content, profile_id)))
    restful = _restful(export(db, content, profile_id), "https://ehr.example/fhir")
    document, _ = fhir_import.read_bundle(copy.deepcopy(restful))
    for kept in (original, document):
        kept["profile"].pop("created_at")
    assert document == original
    restful["entry"][0]["fullUrl"] = "https://elsewhere.example/fhir/Patient/patient-1"
    refused_whole(tmp_path, restful, r"field subject\.reference: Patient/patient-1 does not resolve")


def test_a_coded_knee_is_read_from_its_snomed_code_and_a_bundle_handed_over_is_checked_too(
    db: Database, content: Content, profile_id: int
) -> None:
    """The coding is the part meant for machines: SNOMED CT 6757004 with no text is the right knee. And
    ``read_bundle`` given a Bundle in memory runs every check ``load_bundle`` runs on a file."""
    rich_record(db, content, profile_id)
    bundle = export(db, content, profile_id)
    _squat(bundle)["bodySite"] = {"coding": [{"system": "http://snomed.info/sct", "code": "6757004"}]}
    document, _ = fhir_import.read_bundle(copy.deepcopy(bundle))
    assert next(c for c in document["technique_checks"] if c["movement"] == "squat")["side"] == "right"
    _one(bundle, "Patient")["modifierExtension"] = [{"url": "https://x.example/m", "valueBoolean": True}]
    with pytest.raises(InputError, match="modifier extension"):
        fhir_import.read_bundle(bundle)
    for malformed in ({"resourceType": "Bundle", "type": "collection", "entry": [1]}, [1, 2]):
        with pytest.raises(InputError):
            fhir_import.read_bundle(malformed)  # type: ignore[arg-type]


def test_another_systems_session_component_is_reported_not_lost(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    with db.session() as session:
        logbook.log_session(session, content, profile_id, day=START, today=TODAY, pain_during=3)
    bundle = export(db, content, profile_id)
    log = observations(bundle, "session-log-")[0]
    loinc = {"system": "http://loinc.org", "code": "72514-3"}
    log["component"].append({"code": {"coding": [loinc], "text": "Pain at rest"}, "valueInteger": 2})
    document, reader = fhir_import.read_bundle(bundle)
    assert document["session_logs"][0]["pain_during"] == 3
    assert any(line.endswith("(Pain at rest) not read") for line in reader.skipped), reader.skipped
