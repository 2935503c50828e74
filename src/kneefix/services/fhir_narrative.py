"""A human-readable narrative (``Resource.text``) for each resource of kneefix's FHIR export.

Most of kneefix's codes are its own (exercises, red flags, technique measures): a clinic's record
system knows none of them, and shows a resource it cannot interpret by its narrative. So each resource
carries a short generated one, written from the resource's own content (never from anything the
resource does not hold, so the two cannot disagree). FHIR asks for XHTML in a ``div`` in the XHTML
namespace with no scripts, styles or event attributes: only ``p``, ``ul``, ``li`` and escaped text are
written here (dom-6 "a resource should have narrative").
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

Resource = dict[str, Any]
XHTML = "http://www.w3.org/1999/xhtml"


def _concept(concept: Any) -> str:
    """A CodeableConcept in words: its text, else its first display, else its first code."""
    if not isinstance(concept, dict):
        return ""
    codings = concept.get("coding") or [{}]
    return str(concept.get("text") or codings[0].get("display") or codings[0].get("code") or "")


def _value(node: Resource) -> str:
    """An Observation's (or component's) value in words, or why it is absent."""
    if "valueQuantity" in node:
        quantity = node["valueQuantity"]
        return f"{quantity.get('value')} {quantity.get('unit', '')}".strip()
    if "valueCodeableConcept" in node:
        return _concept(node["valueCodeableConcept"])
    if "valueBoolean" in node:
        return "yes" if node["valueBoolean"] else "no"
    for key in ("valueInteger", "valueString"):
        if key in node:
            return str(node[key])
    absent = node.get("dataAbsentReason")
    return f"no value ({_concept(absent)})" if absent else ""


def _answer(item: Resource) -> str:
    values = []
    for answer in item.get("answer") or ():
        if "valueCoding" in answer:
            values.append(str(answer["valueCoding"].get("display") or answer["valueCoding"].get("code")))
        else:
            values.append(_value(answer))
    return ", ".join(values)


def _patient(resource: Resource) -> list[str]:
    name = (resource.get("name") or [{}])[0].get("text", "")
    born = resource.get("birthDate")
    return [f"{name}" + (f", born {born}" if born else "")]


def _practitioner(resource: Resource) -> list[str]:
    name = (resource.get("name") or [{}])[0].get("text")
    mail = (resource.get("telecom") or [{}])[0].get("value")
    return [" ".join(part for part in (name, f"({mail})" if mail else None) if part) or "A clinician"]


def _care_team(resource: Resource) -> list[str]:
    return [str(resource.get("name", ""))] + [
        str(participant["member"].get("display", "")) for participant in resource.get("participant") or ()
    ]


def _questionnaire(resource: Resource) -> list[str]:
    return [f"{resource.get('title')} (version {resource.get('version')}): {len(resource['item'])} items"]


def _response(resource: Resource) -> list[str]:
    lines = [f"Answers given {resource.get('authored')}"]
    for item in resource.get("item") or ():
        question = item.get("text") or item["linkId"]
        if item.get("item"):
            yes = [str(sub.get("text") or sub["linkId"]) for sub in item["item"] if _answer(sub) == "yes"]
            lines.append(f"{question}: {'; '.join(yes) if yes else 'none answered yes'}")
        else:
            lines.append(f"{question}{' ' if question.endswith('?') else ': '}{_answer(item)}")
    return lines


def _observation(resource: Resource) -> list[str]:
    when = resource.get("effectiveDateTime", "")
    head = f"{_concept(resource.get('code'))}, {when} ({resource.get('status')})"
    value = _value(resource)
    lines = [f"{head}: {value}" if value else head]
    for component in resource.get("component") or ():
        lines.append(f"{_concept(component.get('code'))}: {_value(component)}")
    return lines


def _flag(resource: Resource) -> list[str]:
    advice = next((e.get("valueString") for e in resource.get("extension") or () if "valueString" in e), "")
    return [f"{_concept(resource.get('code'))} ({resource.get('status')})", str(advice)]


def _care_plan(resource: Resource) -> list[str]:
    lines = [f"{resource.get('title')} ({resource.get('status')})", str(resource.get("description", ""))]
    lines += [str(activity["detail"].get("description", "")) for activity in resource.get("activity") or ()]
    return lines


def _document(resource: Resource) -> list[str]:
    attachment = resource["content"][0]["attachment"]
    return [f"{attachment.get('title')}: {attachment.get('url')}"]


_LINES: dict[str, Callable[[Resource], list[str]]] = {
    "Patient": _patient,
    "Practitioner": _practitioner,
    "CareTeam": _care_team,
    "Questionnaire": _questionnaire,
    "QuestionnaireResponse": _response,
    "Observation": _observation,
    "Flag": _flag,
    "CarePlan": _care_plan,
    "DocumentReference": _document,
}


def narrative(resource: Resource) -> Resource:
    """``Resource.text`` for one exported resource: its first line as a paragraph, the rest a list."""
    lines = [line for line in _LINES[resource["resourceType"]](resource) if line]
    body = f"<p>{escape(lines[0])}</p>" if lines else "<p></p>"
    if len(lines) > 1:
        body += "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines[1:]) + "</ul>"
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}
