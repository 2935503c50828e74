"""A FHIR R4 Bundle (one person's record) back into kneefix, all of it or nothing.

The Bundle is checked whole before anything is written: JSON, a ``Bundle`` of type ``collection`` or
``transaction``, FHIR version 4 (the kneefix version tag, when present), every resource valid for the
R4B models, every reference resolving inside the Bundle, every value in kneefix's ranges. A problem is
an :class:`~kneefix.errors.InputError` naming the resource and the field. What kneefix keeps is then
rebuilt as its own export document and imported by :mod:`kneefix.storage.export`, in one transaction.
Resources and extensions kneefix keeps nothing for are listed in the result, not silently dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kneefix.content.loader import Content, load_content
from kneefix.errors import InputError
from kneefix.limits import PAIN_MAX, PAIN_MIN
from kneefix.programme.clock import parse_time_zone
from kneefix.programme.screening import check_red_flag_ids, questions_for
from kneefix.services import fhir_bindings, record_checks
from kneefix.services import fhir_export as fx
from kneefix.services import profiles as profile_service
from kneefix.services.technique import MOVEMENTS
from kneefix.storage import export as export_store
from kneefix.storage import profiles as profile_store
from kneefix.storage.records import ProfileInfo

KNOWN_TYPES = {
    "Patient",
    "CareTeam",
    "Practitioner",
    "Questionnaire",
    "QuestionnaireResponse",
    "Observation",
    "Flag",
    "CarePlan",
}
# Extensions kneefix writes (and reads, or knows it can pass over: an option's score, an item's range).
OUR_EXTENSIONS = {
    fx.EXT_ADVICE,
    fx.EXT_CLEARANCE,
    fx.EXT_SETTINGS,
    fx.EXT_OUTCOME,
    fx.EXT_FLAG_DETAIL,
    fx.EXT_REP,
    fx.EXT_LANDING,
    fx.EXT_ORDINAL,
    fx.EXT_MIN,
    fx.EXT_MAX,
}
NOON = dt.time(12, 0, tzinfo=dt.UTC)  # a day-only record's stored moment (kneefix keeps the day)


@dataclass(frozen=True)
class FhirImport:
    profile: ProfileInfo
    imported: int  # resources read into the record
    not_imported: tuple[str, ...]  # what kneefix keeps nothing for, one line each


def _where(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType', 'resource')} {resource.get('id', '(no id)')}"


def _fail(resource: dict[str, Any], field: str, problem: str) -> InputError:
    return InputError(f"{_where(resource)}, field {field}: {problem}. Nothing was imported.")


def _exercise_code(resource: dict[str, Any], index: int, component: dict[str, Any]) -> str:
    """The kneefix exercise id a session component names (an exercise done, or marked "this hurt")."""
    codings = ((component.get("valueCodeableConcept") or {}).get("coding")) or ()
    found = [c.get("code") for c in codings if isinstance(c, dict) and c.get("system") == fx.SYSTEM_EXERCISE]
    if len(found) != 1 or not isinstance(found[0], str) or not found[0]:
        field = f"component[{index}].valueCodeableConcept"
        raise _fail(resource, field, f"must name one exercise with the system {fx.SYSTEM_EXERCISE}")
    return found[0]


def load_bundle(path: Path) -> dict[str, Any]:
    """Read the file as a Bundle (InputError when it is not JSON or not a Bundle); ``read_bundle``
    checks the rest."""
    data = export_store.load_export_file(path.expanduser())
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        kind = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise InputError(f"{path} is not a FHIR Bundle (resourceType is {kind!r}).")
    return data


def check_bundle(data: dict[str, Any]) -> dict[str, Any]:
    """Every check a Bundle passes before it is read (the file's, or one handed over in memory)."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise InputError("This is not a FHIR Bundle (its resourceType is not Bundle).")
    if data.get("type") not in ("collection", "transaction"):
        raise InputError(f"Bundle, field type: {data.get('type')!r} is not collection or transaction.")
    for tag in (data.get("meta") or {}).get("tag") or ():
        version_tag = isinstance(tag, dict) and tag.get("system") == f"{fx.BASE}/fhir-version"
        if version_tag and not str(tag.get("code", "")).startswith("4."):
            raise InputError(
                f"Bundle, field meta.tag: FHIR version {tag.get('code')!r}; kneefix reads R4 (4.x)."
            )
    entries = data.get("entry") or []
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise InputError("Bundle, field entry: must be a list of entries. Nothing was imported.")
    try:
        Bundle.model_validate(data)
    except ValidationError as error:
        raise _validation_problem(entries, error) from None
    _check_modifiers(data)
    for resource, field, problem in fhir_bindings.problems(data):
        raise _fail(resource, field, problem)
    _check_requests(data["type"], entries)
    _check_unique(entries)
    _check_references(entries)
    return data


def _extension_items(node: object, key: str, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(field, item) for each item of every ``key`` list (``extension`` or ``modifierExtension``) under
    ``node``, at any depth but not inside a Bundle entry's resource; an item's own parts are its own."""
    if isinstance(node, dict):
        for name, inner in node.items():
            here = f"{path}.{name}" if path else name
            if name == key and isinstance(inner, list):
                for index, item in enumerate(inner):
                    yield f"{here}[{index}]", item if isinstance(item, dict) else {}
            elif name != "resource":
                yield from _extension_items(inner, key, here)
    elif isinstance(node, list):
        for index, inner in enumerate(node):
            yield from _extension_items(inner, key, f"{path}[{index}]")


def _check_modifiers(data: dict[str, Any]) -> None:
    """A modifier extension or ``implicitRules`` can change what a resource means (a "not done", a
    local rule set), and kneefix defines and understands none: reading such a resource as if they were
    not there could invert it, so the Bundle is refused (FHIR: a receiver SHALL NOT ignore them)."""
    bundle = {"resourceType": "Bundle", "id": data.get("id", "(no id)")}
    owners = [(bundle, data)] + [
        (entry["resource"], entry["resource"])
        for entry in data.get("entry") or ()
        if isinstance(entry.get("resource"), dict)
    ]
    for owner, node in owners:
        if "implicitRules" in node:
            rules = f"{node['implicitRules']!r}: rules kneefix does not know govern this resource"
            raise _fail(owner, "implicitRules", rules)
        for field, item in _extension_items(node, "modifierExtension"):
            url = item.get("url")
            meaning = f"modifier extension {url} is not one kneefix understands; it may change the meaning"
            raise _fail(owner, field, meaning)


def _check_requests(kind: str, entries: list[dict[str, Any]]) -> None:
    """A transaction's entries each carry a request (FHIR invariant bdl-3) that kneefix can honour: it
    creates one new record, so only a plain POST or PUT of the entry's own resource; a collection's
    carry none. A response belongs to response Bundles only (bdl-4)."""
    for index, entry in enumerate(entries):
        found = entry.get("resource")
        resource: dict[str, Any] = found if isinstance(found, dict) else {}
        where = f"Bundle, field entry[{index}]"
        request = entry.get("request")
        if "response" in entry:
            raise InputError(
                f"{where}.response: only a response Bundle carries responses. Nothing was imported."
            )
        if kind != "transaction":
            if request is not None:
                raise InputError(
                    f"{where}.request: a collection Bundle carries no requests (FHIR invariant bdl-3); "
                    "send it as a transaction. Nothing was imported."
                )
            continue
        if not isinstance(request, dict):
            raise InputError(
                f"{where}.request: every entry of a transaction needs a request (FHIR invariant bdl-3). "
                "Nothing was imported."
            )
        method, url = request.get("method"), str(request.get("url", ""))
        if method != "POST":
            raise InputError(
                f"{where}.request.method: {method}; an import creates a new record, so kneefix carries out "
                "POST only (a PUT updates a resource at its id, which an import does not). "
                "Nothing was imported."
            )
        conditions = sorted(key for key in request if key.startswith("if"))
        if conditions:
            raise InputError(
                f"{where}.request.{conditions[0]}: kneefix does not carry out conditional requests "
                "(it always creates a new record). Nothing was imported."
            )
        if url != resource.get("resourceType"):  # no query: a conditional create is not carried out
            raise InputError(
                f"{where}.request.url: {url!r} does not name the entry's {resource.get('resourceType')}. "
                "Nothing was imported."
            )


def _check_unique(entries: list[dict[str, Any]]) -> None:
    """Each fullUrl once (FHIR invariant bdl-7), and each type and id once: a reference must name one
    resource, not whichever came last."""
    seen: set[str] = set()
    for entry in entries:
        found = entry.get("resource")
        resource: dict[str, Any] = found if isinstance(found, dict) else {}
        for key in (entry.get("fullUrl"), f"{resource.get('resourceType')}/{resource.get('id')}"):
            if key is None or key.endswith("/None"):
                continue
            if key in seen:
                raise _fail(
                    resource,
                    "fullUrl" if key == entry.get("fullUrl") else "id",
                    f"{key} is in the Bundle twice",
                )
            seen.add(key)


def _validation_problem(entries: list[Any], error: ValidationError) -> InputError:
    first = error.errors()[0]
    location = list(first["loc"])
    where, field = "Bundle", ".".join(str(part) for part in location)
    if len(location) >= 3 and location[0] == "entry" and isinstance(location[1], int):
        entry = entries[location[1]] if location[1] < len(entries) else {}
        resource = entry.get("resource", {}) if isinstance(entry, dict) else {}
        where = _where(resource) if isinstance(resource, dict) else where
        field = ".".join(str(part) for part in location[3:]) or "resource"
    return InputError(f"{where}, field {field}: {str(first['msg']).rstrip('.')}. Nothing was imported.")


def _refs(node: object, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        value = node.get("reference")
        if isinstance(value, str):
            yield path + ".reference" if path else "reference", value
        for key, inner in node.items():
            yield from _refs(inner, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, inner in enumerate(node):
            yield from _refs(inner, f"{path}[{index}]")


RESTFUL = re.compile(r"^(?P<base>https?://.+)/[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}(/_history/[^/]+)?$")


def resolve(reference: str, own_full_url: object, full_urls: set[str]) -> str | None:
    """The fullUrl a reference resolves to inside the Bundle, by FHIR's rules (R4 Bundle, "Resolving
    references"): a URN or an absolute URL must be an entry's fullUrl; a relative ``Type/id`` resolves
    only against the base of a RESTful fullUrl of the resource holding it. In a Bundle of ``urn:uuid``
    fullUrls, ``Patient/7`` means the Patient 7 on the sender's server, not whichever Patient here has
    the id 7, so it does not resolve here."""
    if reference in full_urls:
        return reference
    if ":" in reference.split("/", 1)[0]:  # urn:uuid:…, urn:oid:…, https://…
        return None
    found = RESTFUL.match(str(own_full_url or ""))
    absolute = f"{found.group('base')}/{reference}" if found else None
    return absolute if absolute in full_urls else None


def _check_references(entries: list[dict[str, Any]]) -> None:
    full_urls = {str(entry["fullUrl"]) for entry in entries if entry.get("fullUrl")}
    for entry in entries:
        resource = entry.get("resource", {})
        for field, value in _refs(resource):
            if not value.startswith("#") and resolve(value, entry.get("fullUrl"), full_urls) is None:
                raise _fail(resource, field, f"{value} does not resolve inside the Bundle")


# ----- reading resources back -------------------------------------------------------------------


def _form(reference: object) -> str:
    """A canonical reference's URL without its ``|version``."""
    return str(reference).split("|", 1)[0]


def _unknown_extensions(node: object) -> Iterator[tuple[str, str]]:
    """(field, url) of each extension under ``node`` that kneefix does not know, at any depth."""
    for field, item in _extension_items(node, "extension"):
        if item.get("url") not in OUR_EXTENSIONS:
            yield field, str(item.get("url"))


def _concept_words(concept: Any) -> str:
    """A CodeableConcept in words for a message: its text, else its codes."""
    if not isinstance(concept, dict):
        return "no code"
    codes = ", ".join(f"{system}|{code}" for system, code in sorted(_codes(concept)))
    return str(concept.get("text") or codes or "no code")


def _codes(concept: dict[str, Any] | None) -> set[tuple[str, str]]:
    return {(c.get("system", ""), c.get("code", "")) for c in (concept or {}).get("coding", [])}


def _sub(extension: list[dict[str, Any]] | None, url: str) -> list[dict[str, Any]]:
    for item in extension or ():
        if item.get("url") == url:
            return list(item.get("extension") or [])
    return []


def _values(parts: list[dict[str, Any]], url: str) -> list[Any]:
    found = []
    for part in parts:
        if part.get("url") == url:
            found += [value for key, value in part.items() if key.startswith("value")]
    return found


def _day(resource: dict[str, Any], field: str) -> dt.date:
    text = resource.get(field)
    if not isinstance(text, str) or len(text) < 10:
        raise _fail(resource, field, "a day (YYYY-MM-DD) is needed")
    return dt.date.fromisoformat(text[:10])


def _moment(resource: dict[str, Any], field: str, text: object) -> str:
    if not isinstance(text, str):
        raise _fail(resource, field, "missing")
    if len(text) == 10:
        return dt.datetime.combine(dt.date.fromisoformat(text), NOON).isoformat()
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise _fail(resource, field, f"{text} has no time zone offset")
    return moment.isoformat()


def _ranged(resource: dict[str, Any], field: str, value: object, low: float, high: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise _fail(resource, field, f"{value!r} is outside {low:g} to {high:g}")
    return float(value)


def _pain(resource: dict[str, Any], field: str, value: object) -> int:
    return round(_ranged(resource, field, value, PAIN_MIN, PAIN_MAX))


def _exact(resource: dict[str, Any], field: str, quantity: dict[str, Any]) -> None:
    """A comparator (``>3``) changes what a value means (FHIR: a modifier element); kneefix keeps exact
    values, so one is refused rather than read as the number."""
    if "comparator" in quantity:
        raise _fail(
            resource, f"{field}.comparator", f"{quantity['comparator']!r}: kneefix keeps exact values only"
        )


def _measured(
    resource: dict[str, Any], field: str, node: dict[str, Any], ucum: str, low: float, high: float
) -> float:
    """``node``'s ``valueQuantity`` in the UCUM unit kneefix keeps (another unit would be a silently
    different number: 0.042 s read as ms), exact and in range; ``field`` is where ``node`` is."""
    prefix = f"{field}." if field else ""
    quantity = node.get("valueQuantity")
    if not isinstance(quantity, dict):
        raise _fail(resource, f"{prefix}valueQuantity", f"missing; a value in {ucum} is needed")
    _exact(resource, f"{prefix}valueQuantity", quantity)
    if quantity.get("code") != ucum or quantity.get("system", fx.UCUM) != fx.UCUM:
        unit = quantity.get("code") or quantity.get("unit")
        raise _fail(
            resource, f"{prefix}valueQuantity.code", f"{unit!r}; kneefix reads this value in {ucum} (UCUM)"
        )
    return _ranged(resource, f"{prefix}valueQuantity.value", quantity.get("value"), low, high)


def _rating(resource: dict[str, Any], field: str, node: dict[str, Any]) -> int:
    """A 0-10 rating from ``node``'s ``valueInteger``, or a whole-number ``valueQuantity`` (other systems
    send NPRS, LOINC 72514-3, either way; unitless, ``{score}`` or ``1``); ``field`` is where ``node`` is."""
    prefix = f"{field}." if field else ""
    if "valueQuantity" in node:
        quantity = node.get("valueQuantity") or {}
        _exact(resource, f"{prefix}valueQuantity", quantity)
        if quantity.get("code") not in (None, "{score}", "1"):
            raise _fail(
                resource,
                f"{prefix}valueQuantity.code",
                f"{quantity.get('code')!r}: a 0-10 rating has no unit",
            )
        value = quantity.get("value")
        if isinstance(value, float) and not value.is_integer():
            raise _fail(resource, f"{prefix}valueQuantity.value", f"{value} is not a whole 0-10 rating")
        return _pain(resource, f"{prefix}valueQuantity.value", value)
    return _pain(resource, f"{prefix}valueInteger", node.get("valueInteger"))


# A technique check's measures and the unit each is kept in ("" for a call or a count).
REP_MEASURE_UNITS = {"lag-ms": "ms", "initiation": "", "depth-deg": "deg"}
REP_KEYS = {"lag-ms": "lag_ms", "depth-deg": "depth_deg"}  # the report's names of the measured values
LANDING_MEASURE_UNITS = {fx.fhir_id(key): "deg" for key, _ in fx.LANDING_MEASURES} | {"less-measured": ""}

# Statuses whose data kneefix takes as given; anything else is reported and left out.
FINAL_OBSERVATION = ("final", "amended", "corrected")
FINISHED_RESPONSE = ("completed", "amended")
FOLLOWED_PLAN = ("active", "on-hold")  # completed: the sender's plan is over, not one to rebuild
# Resource types that hold one person's data: their subject must be the Bundle's Patient.
SUBJECT_TYPES = ("Observation", "QuestionnaireResponse", "Flag", "CarePlan", "CareTeam", "DocumentReference")


class _Reader:
    def __init__(self, entries: list[dict[str, Any]]) -> None:
        held = [entry for entry in entries if isinstance(entry.get("resource"), dict)]
        self.resources = [entry["resource"] for entry in held]
        self.by_url: dict[str, Any] = {str(e["fullUrl"]): e["resource"] for e in held if e.get("fullUrl")}
        self.url_of = {id(e["resource"]): e.get("fullUrl") for e in held}
        self.full_urls = set(self.by_url)
        self.zone: str | None = None
        self.current: dict[str, Any] = {}
        self.skipped: list[str] = []
        self.used = 0
        self.sources: dict[str, list[dict[str, Any]]] = {}  # document part -> the resource of each record
        self.active_flags: list[dict[str, Any]] = []

    def document(self) -> dict[str, Any]:
        patients = [r for r in self.resources if r["resourceType"] == "Patient"]
        if len(patients) != 1:
            raise InputError(
                f"Bundle, field entry: a person's record holds one Patient, this holds {len(patients)}."
            )
        patient = patients[0]
        doc: dict[str, Any] = {
            "format": export_store.FORMAT,
            "format_version": export_store.FORMAT_VERSION,
            "generator": "kneefix FHIR import",
            "profile": self.profile(patient),
            "screenings": [],
            "scores": [],
            "session_logs": [],
            "technique_checks": [],
            "run_checks": [],
        }
        parts = ("screenings", "scores", "session_logs", "technique_checks", "run_checks")
        for resource in self.resources:
            sizes = {part: len(doc[part]) for part in parts}
            self.read(resource, doc, patient)
            for part in parts:  # which record(s) this resource became, to name it in a later problem
                self.sources.setdefault(part, []).extend([resource] * (len(doc[part]) - sizes[part]))
        return doc

    def read(self, resource: dict[str, Any], doc: dict[str, Any], patient: dict[str, Any]) -> None:
        """One resource into the document (or into the list of what was not read)."""
        self.current = resource
        kind = resource["resourceType"]
        self.note_extensions(resource)
        if kind in SUBJECT_TYPES:
            self.check_subject(resource, patient)
        status = resource.get("status")
        if kind == "DocumentReference" and resource.get("id", "").startswith("check-"):
            embedded = any("data" in c.get("attachment", {}) for c in resource.get("content") or ())
            self.skipped.append(
                f"{_where(resource)}: a technique check's file; "
                + (
                    "it is in the Bundle, but a check comes back with its measures, not its files"
                    if embedded
                    else "a link to the exporting server; the file is not in the Bundle, so it is not "
                    "imported"
                )
            )
        elif kind not in KNOWN_TYPES:
            self.skipped.append(f"{_where(resource)}: kneefix keeps no such record")
        elif kind == "Patient" or (
            kind == "Questionnaire" and resource.get("url") in (fx.KUJALA_URL, fx.SCREENING_URL)
        ):
            self.used += 1
        elif kind == "Practitioner":
            self.skipped.append(
                f"{_where(resource)}: not imported: an import creates no accounts, so a Practitioner "
                "cannot become a kneefix clinician account; ask the clinician to link again with an "
                "invite"
            )
        elif kind == "CareTeam":
            self.skipped.append(
                f"{_where(resource)}: the clinicians the record was shared with are not imported "
                "(an import creates no accounts); each can link again with an invite"
            )
        elif kind == "CarePlan" and status not in FOLLOWED_PLAN:
            self.skipped.append(f"{_where(resource)}: status {status}, not a plan being followed")
        elif kind == "CarePlan" and "profile" in self.sources:
            first = _where(self.sources["profile"][0])
            raise _fail(
                resource, "status", f"{status}, and {first} is followed too; a record follows one plan"
            )
        elif kind == "CarePlan":
            doc["profile"]["settings"] = self.settings(resource)
            self.sources["profile"] = [resource]
        elif kind == "QuestionnaireResponse" and status not in FINISHED_RESPONSE:
            if status != "entered-in-error" and _says_yes_to_a_warning_sign(resource):
                raise _fail(
                    resource,
                    "status",
                    f"{status}, with a warning sign answered yes; kneefix does not import a record past an "
                    "unfinished screening's warning sign (send the finished screening)",
                )
            self.skipped.append(f"{_where(resource)}: status {status}, not a finished questionnaire")
        elif kind == "QuestionnaireResponse" and _form(resource.get("questionnaire")) == fx.SCREENING_URL:
            doc["screenings"].append(self.screening(resource))
        elif kind == "Observation":
            self.observation(resource, doc)
        elif kind == "Flag" and status == "active":
            self.used += 1
            self.active_flags.append(resource)
        elif kind == "Flag" and status == "entered-in-error":
            self.skipped.append(f"{_where(resource)}: marked entered-in-error by the sender")
        elif kind == "Flag" and status == "inactive":
            self.skipped.append(
                f"{_where(resource)}: the clearance (by a clinician's account) is not imported"
            )
        elif kind in ("Flag", "QuestionnaireResponse"):
            self.used += 1  # a flag is its screening's; a Kujala response is read with its score
        else:
            self.skipped.append(f"{_where(resource)}: not a kneefix questionnaire")

    def target(self, resource: dict[str, Any], reference: str) -> Any:
        """What a reference in ``resource`` points at inside the Bundle (None: nothing here)."""
        found = resolve(reference, self.url_of.get(id(resource)), self.full_urls)
        return self.by_url.get(found) if found else None

    def check_subject(self, resource: dict[str, Any], patient: dict[str, Any]) -> None:
        """One person's data names that person: a resource about someone else (or no one) is refused,
        not filed under the wrong record."""
        reference = (resource.get("subject") or {}).get("reference")
        if reference is None:
            raise _fail(resource, "subject", "missing; a record's data must name its Patient")
        if self.target(resource, str(reference)) is not patient:
            raise _fail(resource, "subject.reference", f"{reference} is not the Bundle's Patient")

    def note_extensions(self, resource: dict[str, Any]) -> None:
        for field, url in _unknown_extensions(resource):
            place = "" if field.startswith("extension[") else f" (at {field})"
            self.skipped.append(f"{_where(resource)}: extension {url}{place} not read")

    def profile(self, patient: dict[str, Any]) -> dict[str, Any]:
        names = patient.get("name") or [{}]
        first = names[0]
        name = first.get("text") or " ".join([*first.get("given", []), first.get("family", "")]).strip()
        if not name:
            raise _fail(patient, "name", "a name or alias is needed")
        birth = patient.get("birthDate")
        year = int(birth[:4]) if isinstance(birth, str) and birth[:4].isdigit() else None
        if year is not None and not 1900 <= year <= 2200:
            raise _fail(patient, "birthDate", f"{birth} is outside 1900 to 2200")
        if patient.get("active") is False:  # a modifier: the sender no longer uses this record
            raise _fail(patient, "active", "false; the sender marks this Patient's record as not in use")
        for identifier in patient.get("identifier") or ():
            named = f"{identifier.get('system')}|{identifier.get('value')}"
            self.skipped.append(
                f"{_where(patient)}: identifier {named} not kept "
                "(the imported record is a new person here, with this server's own)"
            )
        now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        return {"name": name[:100], "birth_year": year, "created_at": now, "settings": None}

    def settings(self, plan: dict[str, Any]) -> dict[str, Any] | None:
        self.used += 1
        parts = _sub(plan.get("extension"), fx.EXT_SETTINGS)
        start = (plan.get("period") or {}).get("start")
        if not parts or not start:
            self.skipped.append(f"{_where(plan)}: no kneefix plan settings, so no plan (take the screening)")
            return None
        for url in ("protocol", "days-per-week", "runs", "guideline-additions", "time-zone"):
            if len(_values(parts, url)) > 1:  # which one would be a guess
                raise _fail(plan, f"extension[{fx.EXT_SETTINGS}].{url}", "given more than once")
        zones = _values(parts, "time-zone")
        self.zone = zones[0] if zones else None
        if self.zone is not None:
            try:
                parse_time_zone(str(self.zone))
            except InputError as error:
                raise _fail(plan, f"extension[{fx.EXT_SETTINGS}].time-zone", str(error).rstrip(".")) from None

        def one(url: str) -> Any:
            found = _values(parts, url)
            if not found:
                raise _fail(plan, f"extension[{fx.EXT_SETTINGS}].{url}", "missing")
            return found[0]

        return {
            "equipment": _values(parts, "equipment"),
            "days_per_week": one("days-per-week"),
            "runs": one("runs"),
            "start_date": start[:10],
            "protocol_id": one("protocol"),
            "guideline_additions": one("guideline-additions"),
            "training_weekdays": _values(parts, "training-weekday") or None,
        }

    def screening(self, response: dict[str, Any]) -> dict[str, Any]:
        """One screening's answers. Strict, because a lost "yes" to a warning sign would let the plan run:
        each question once, one answer where one is asked, no question the screening does not have,
        and (unless a warning sign stopped it) every warning-sign question asked at that age answered."""
        self.used += 1
        answers: dict[str, Any] = {}
        fields = {"age": "age", "pain-now": "pain_now", "days-per-week": "days_per_week", "runs": "runs"}
        seen: set[str] = set()
        for index, item in enumerate(response.get("item") or ()):
            link, given = item.get("linkId"), item.get("answer") or []
            where = f"item[{index}]"
            if link not in (*fields, "symptoms", "red-flags"):
                raise _fail(
                    response, f"{where}.linkId", f"{link!r} is not a question of the kneefix screening"
                )
            if link in seen:
                raise _fail(
                    response, f"{where}.linkId", f"{link} is in the response twice (FHIR invariant qrs-2)"
                )
            seen.add(link)
            values = [value for answer in given for key, value in answer.items() if key.startswith("value")]
            if link in fields and len(values) > 1:
                raise _fail(response, f"{where}.answer", f"{len(values)} answers to {link}, which takes one")
            if link in fields and values:
                answers[fields[link]] = values[0]
            elif link == "symptoms":
                answers["symptoms"] = [value.get("code") for value in values]
            elif link == "red-flags":
                answers["red_flags"] = self.warning_signs(response, index, item)
        if "pain_now" in answers:
            answers["pain_now"] = _pain(response, "item[pain-now].answer", answers["pain_now"])
        else:
            answers["not_asked"] = ["pain_now"]
        outcome = _sub(response.get("extension"), fx.EXT_OUTCOME)
        verdicts = _values(outcome, "verdict")
        if not verdicts:  # a screening's verdict decides whether the plan may run: none, no screening
            raise _fail(
                response, f"extension[{fx.EXT_OUTCOME}].verdict", "missing; the screening's verdict is needed"
            )
        return {
            "taken_at": _moment(response, "authored", response.get("authored")),
            "answers": answers,
            "verdict": verdicts[0],
            "red_flags": _values(outcome, "red-flag"),
            "messages": _values(outcome, "message"),
        }

    def warning_signs(self, response: dict[str, Any], index: int, group: dict[str, Any]) -> dict[str, bool]:
        """The yes/no answers of the warning-sign group: each question once, one yes or no each."""
        found: dict[str, bool] = {}
        for number, item in enumerate(group.get("item") or ()):
            where = f"item[{index}].item[{number}]"
            link = str(item.get("linkId"))
            flag = link.removeprefix("red-flag-").replace("-", "_")
            if not link.startswith("red-flag-") or flag in found:
                problem = "is in the group twice" if flag in found else "is not a warning-sign question"
                raise _fail(response, f"{where}.linkId", f"{link} {problem}")
            given = item.get("answer") or []
            if len(given) != 1 or not isinstance(given[0].get("valueBoolean"), bool):
                raise _fail(response, f"{where}.answer", "a warning-sign question takes one yes or no")
            found[flag] = given[0]["valueBoolean"]
        return found

    def observation(self, resource: dict[str, Any], doc: dict[str, Any]) -> None:
        codes = _codes(resource.get("code"))
        systems = {system for system, _ in codes}
        status = resource.get("status")
        technique = fx.SYSTEM_MOVEMENT in systems
        if status == "entered-in-error":
            self.skipped.append(f"{_where(resource)}: marked entered-in-error by the sender, so not imported")
        elif technique and status == "registered":
            self.skipped.append(
                f"{_where(resource)}: a technique check whose analysis had not finished on the exporting "
                "server; send the video again to check it here"
            )
        elif status not in FINAL_OBSERVATION and not (technique and status == "cancelled"):
            self.skipped.append(f"{_where(resource)}: status {status}, not a final result, so not imported")
        elif (fx.LOINC, fx.NPRS_LOINC) in codes:
            doc["scores"].append(self.score(resource, "nprs", _rating(resource, "", resource), []))
        elif (fx.SYSTEM_SCORE, fx.KUJALA_TOTAL) in codes:
            score = _measured(resource, "", resource, "{score}", 0, 100)
            doc["scores"].append(self.score(resource, "kujala", score, self.kujala_letters(resource)))
        elif (fx.SYSTEM_LOG, fx.RUN_CHECK) in codes:
            doc["run_checks"].append(self.run_check(resource))
        elif fx.SYSTEM_LOG in systems:
            doc["session_logs"].append(
                self.log(resource, "run" if (fx.SYSTEM_LOG, "run") in codes else "session")
            )
        elif technique:
            doc["technique_checks"].append(self.check(resource))
        else:
            self.skipped.append(f"{_where(resource)}: an observation kneefix does not keep")

    def score(
        self, resource: dict[str, Any], instrument: str, value: float, letters: list[str]
    ) -> dict[str, Any]:
        self.used += 1
        day = _day(resource, "effectiveDateTime")
        moment = dt.datetime.combine(day, NOON).isoformat()
        return {
            "instrument": instrument,
            "date": day.isoformat(),
            "score": value,
            "answers": letters,
            "created_at": moment,
        }

    def kujala_letters(self, resource: dict[str, Any]) -> list[str]:
        for link in resource.get("derivedFrom") or ():
            response = self.target(resource, str(link.get("reference")))
            if not isinstance(response, dict) or response.get("status") not in FINISHED_RESPONSE:
                continue
            if _form(response.get("questionnaire")) == fx.KUJALA_URL:
                items = sorted(response.get("item") or (), key=lambda item: int(item.get("linkId", 0)))
                return [self.kujala_letter(response, item) for item in items if item.get("answer")]
        return []

    def kujala_letter(self, response: dict[str, Any], item: dict[str, Any]) -> str:
        """The option letter of a Kujala answer coded ``ITEM-LETTER`` for its own item."""
        coding = item["answer"][0].get("valueCoding") or {}
        number, _, letter = str(coding.get("code", "")).partition("-")
        if coding.get("system") != fx.SYSTEM_KUJALA_ANSWER or number != item.get("linkId") or not letter:
            field = f"item[{item.get('linkId')}].answer[0].valueCoding"
            raise _fail(
                response, field, f"must be a {fx.SYSTEM_KUJALA_ANSWER} code for item {item.get('linkId')}"
            )
        return letter

    def log(self, resource: dict[str, Any], kind: str) -> dict[str, Any]:
        self.used += 1
        day = _day(resource, "effectiveDateTime")
        moment = dt.datetime.combine(day, NOON).isoformat()
        completed = _measured(resource, "", resource, "%", 0, 100)  # none: not "all done"
        log: dict[str, Any] = {
            "date": day.isoformat(),
            "completed": completed / 100,
            "pain_during": None,
            "pain_after": None,
            "next_morning_pain": None,
            "exercises_done": [],
            "hurt": [],
            "note": " ".join(note.get("text", "") for note in resource.get("note") or ()),
            "created_at": moment,
            "updated_at": moment,
            "kind": kind,
        }
        fields = {
            "pain-during": "pain_during",
            "pain-after": "pain_after",
            "next-morning-pain": "next_morning_pain",
        }
        readable = {*fields, fx.LOG_EXERCISE_DONE, fx.LOG_EXERCISE_HURT}
        readable |= {"run-minutes", "run-distance"} if kind == "run" else set()
        for index, component in enumerate(resource.get("component") or ()):
            ours = [code for system, code in _codes(component.get("code")) if system == fx.SYSTEM_LOG]
            code = next((c for c in ours if c in readable), None)
            if code is None:  # another system's component (a LOINC pain, a device's reading): said, not lost
                named = _concept_words(component.get("code"))
                self.skipped.append(f"{_where(resource)}: component[{index}] ({named}) not read")
            elif code in fields:
                if log[fields[code]] is not None:
                    raise _fail(resource, f"component[{index}]", f"{code} is in the session twice")
                log[fields[code]] = _rating(resource, f"component[{index}]", component)
            elif code in (fx.LOG_EXERCISE_DONE, fx.LOG_EXERCISE_HURT):
                exercise = _exercise_code(resource, index, component)
                log["exercises_done" if code == fx.LOG_EXERCISE_DONE else "hurt"].append(exercise)
            else:
                unit = "min" if code == "run-minutes" else "km"
                log["run_minutes" if code == "run-minutes" else "run_distance_km"] = _measured(
                    resource, f"component[{index}]", component, unit, 0.01, 1000
                )
        return log

    def measure(
        self, resource: dict[str, Any], index: int, component: dict[str, Any], code: str, unit: str
    ) -> Any:
        """One technique measure: a call (hips, knees, together), a LESS count, or a value in its UCUM
        unit and within what a joint angle or a lag can be; None where the analysis had none."""
        field = f"component[{index}]"
        if code == "initiation":
            called = [
                c for s, c in _codes(component.get("valueCodeableConcept")) if s == fx.SYSTEM_INITIATION
            ]
            if called and called[0] not in fx.INITIATION_DISPLAY:
                raise _fail(
                    resource, f"{field}.valueCodeableConcept", f"{called[0]!r} is not a call kneefix makes"
                )
            return called[0] if called else "unknown"
        if code == "less-measured":
            return (
                round(_ranged(resource, f"{field}.valueInteger", component.get("valueInteger"), 0, 30))
                if "valueInteger" in component
                else None
            )
        if "valueQuantity" not in component:
            return None
        low, high = (-5000, 5000) if unit == "ms" else (-180, 180)
        return _measured(resource, field, component, unit, low, high)

    def side(self, resource: dict[str, Any]) -> str | None:
        """The filmed knee: the SNOMED CT coding first (the part meant for machines), else the text."""
        site = resource.get("bodySite")
        if not site:
            return None
        by_code = {code: side for side, (code, _) in fx.KNEE_SITE.items()}
        coded = [by_code[code] for system, code in _codes(site) if system == fx.SNOMED and code in by_code]
        text = str(site.get("text", "")).strip().lower().removesuffix(" knee")
        side = coded[0] if coded else text
        if side not in fx.KNEE_SITE:
            raise _fail(resource, "bodySite", f"{site.get('text')!r} is not a left or right knee")
        return side

    def run_check(self, resource: dict[str, Any]) -> dict[str, Any]:
        """A readiness check: both pains are needed (a check with one missing is not a check)."""
        self.used += 1
        day = _day(resource, "effectiveDateTime")
        pains: dict[str, int] = {}
        for index, component in enumerate(resource.get("component") or ()):
            for system, code in _codes(component.get("code")):
                if system == fx.SYSTEM_LOG and code in (fx.RUN_CHECK_WALK, fx.RUN_CHECK_HOP):
                    pains[code] = _rating(resource, f"component[{index}]", component)
        for code, label in ((fx.RUN_CHECK_WALK, "walk"), (fx.RUN_CHECK_HOP, "hop")):
            if code not in pains:
                raise _fail(resource, "component", f"the {label} pain ({code}) is missing")
        return {
            "date": day.isoformat(),
            "walk_pain": pains[fx.RUN_CHECK_WALK],
            "hop_pain": pains[fx.RUN_CHECK_HOP],
            "created_at": dt.datetime.combine(day, NOON).isoformat(),
        }

    def check(self, resource: dict[str, Any]) -> dict[str, Any]:
        self.used += 1
        movement = next(code for system, code in _codes(resource.get("code")) if system == fx.SYSTEM_MOVEMENT)
        if movement not in MOVEMENTS:
            choices = ", ".join(MOVEMENTS)
            raise _fail(resource, "code.coding", f"{movement!r} is not a movement kneefix checks ({choices})")
        reps: dict[int, dict[str, Any]] = {}
        landings: dict[int, dict[str, Any]] = {}
        seen: set[tuple[str, int, str]] = set()
        for index, component in enumerate(resource.get("component") or ()):
            code = next((c for s, c in _codes(component.get("code")) if s == fx.SYSTEM_MEASURE), "")
            rep_number = _values(component.get("extension") or [], fx.EXT_REP)
            landing_number = _values(component.get("extension") or [], fx.EXT_LANDING)
            kind = "rep" if rep_number else "landing"
            known = REP_MEASURE_UNITS if rep_number else LANDING_MEASURE_UNITS
            if code not in known or len(rep_number) + len(landing_number) != 1:
                self.skipped.append(
                    f"{_where(resource)}: component[{index}] is not one rep's or landing's measure"
                )
                continue
            number = (rep_number or landing_number)[0]
            if (kind, number, code) in seen:  # a second value would silently replace the first
                raise _fail(
                    resource, f"component[{index}]", f"{kind} {number}'s {code} is in the check twice"
                )
            seen.add((kind, number, code))
            value = self.measure(resource, index, component, code, known[code])
            if kind == "rep":
                rep = reps.setdefault(number, {"rep": number})
                if code == "initiation":
                    rep["initiation"] = value
                    reason = (component.get("dataAbsentReason") or {}).get("text")
                    if reason:
                        rep["initiation_note"] = reason
                else:
                    rep[REP_KEYS[code]] = value
            else:
                landing = landings.setdefault(number, {"landing": number})
                landing["less_total_measured" if code == "less-measured" else code.replace("-", "_")] = value
        report: dict[str, Any] = {}
        if reps:
            report["reps"] = [reps[n] for n in sorted(reps)]
        if landings:
            report["landings"] = [landings[n] for n in sorted(landings)]
        side = self.side(resource)
        moment = _moment(resource, "effectiveDateTime", resource.get("effectiveDateTime"))
        failed = resource.get("status") == "cancelled"
        return {
            "created_at": moment,
            "movement": movement,
            "side": side,
            "status": "failed" if failed else "done",
            "error": ((resource.get("dataAbsentReason") or {}).get("text") or "The analysis failed.")
            if failed
            else None,
            "original_filename": None,
            "report": None if failed else report,
            "summary": None,
            "finished_at": moment,
        }


def _says_yes_to_a_warning_sign(node: object) -> bool:
    """Whether any warning-sign question under ``node`` is answered yes, at any depth."""
    if isinstance(node, dict):
        link = str(node.get("linkId", ""))
        if link.startswith("red-flag-") and any(
            a.get("valueBoolean") is True for a in node.get("answer") or ()
        ):
            return True
        return any(_says_yes_to_a_warning_sign(inner) for inner in node.get("item") or ())
    return False


def _check_warning_signs(reader: _Reader, document: dict[str, Any], content: Content) -> None:
    """A red flag the Bundle holds must pause the imported plan: each active kneefix red-flag Flag is
    raised by an imported screening, and a screening that let the plan start answered every warning-sign
    question asked at its age (kneefix's own screening refuses less; so does its import)."""
    screenings = document["screenings"]
    raised = {flag for s in screenings if s["verdict"] == "refer_now" for flag in s["red_flags"]}
    for flag in reader.active_flags:
        ours = [code for system, code in _codes(flag.get("code")) if system == fx.SYSTEM_RED_FLAG]
        if not ours:
            text = (flag.get("code") or {}).get("text")
            reader.skipped.append(
                f"{_where(flag)}: an active Flag kneefix does not know ({text}); not imported: review it "
                "with the person before they train"
            )
        for code in ours:
            if code not in raised:
                raise _fail(flag, "code", f"active red flag {code}, but no imported screening raises it")
    for index, screening in enumerate(screenings):
        source = reader.sources["screenings"][index]
        asked = screening["answers"].get("red_flags") or {}
        age = screening["answers"].get("age")
        if not isinstance(age, int):
            if screening["verdict"] != "refer_now":
                raise _fail(source, "item[age]", "missing; which warning signs apply depends on the age")
            continue
        try:
            check_red_flag_ids(asked, age, content)
        except InputError as error:
            raise _fail(source, "item[red-flags]", str(error).rstrip(".")) from None
        unanswered = [flag.id for flag in questions_for(age, content) if flag.id not in asked]
        if unanswered and screening["verdict"] != "refer_now":
            raise _fail(
                source,
                "item[red-flags]",
                f"{', '.join(unanswered)} not answered; a screening that lets the plan start answers every "
                f"warning-sign question asked at age {age}",
            )


def read_bundle(data: dict[str, Any], content: Content | None = None) -> tuple[dict[str, Any], _Reader]:
    """The kneefix export document the Bundle holds, and what was and was not read; checked against
    the content (``record_checks``; the packaged content unless given)."""
    check_bundle(data)  # read_bundle trusts nothing it was handed
    reader = _Reader(list(data.get("entry") or []))
    try:
        document = reader.document()
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, StopIteration) as error:
        # valid FHIR, but not in the shape kneefix writes (e.g. a date with no day, a linkId not a number)
        problem = f"{type(error).__name__}: {error}"
        raise InputError(
            f"{_where(reader.current)}: cannot be read as kneefix data ({problem}). Nothing was imported."
        ) from None
    try:
        export_store.parse_export(document)
    except InputError as error:
        raise InputError(
            f"The Bundle does not make a kneefix record: {error} Nothing was imported."
        ) from error
    content = content or load_content()
    _check_warning_signs(reader, document, content)
    try:
        record_checks.check_record(content, document)
    except record_checks.RecordError as error:
        sources = reader.sources.get(error.part) or []
        index = error.index or 0
        source = sources[index] if index < len(sources) else {"resourceType": "Bundle"}
        raise _fail(source, error.field, error.problem) from None
    return document, reader


def import_fhir(
    session: Session,
    path: Path,
    *,
    name: str | None = None,
    overwrite: bool = False,
    user_id: int | None = None,
    content: Content | None = None,
) -> FhirImport:
    """Create a profile from a FHIR Bundle file (checked whole first; one transaction)."""
    document, reader = read_bundle(load_bundle(path), content)
    profile_id = export_store.import_profile(session, document, name, user_id=user_id, overwrite=overwrite)
    if reader.zone:
        profile_service.set_time_zone(session, profile_id, reader.zone)
    return FhirImport(profile_store.get_profile(session, profile_id), reader.used, tuple(reader.skipped))
